package session

import "context"

// DeleteSession removes the session record of addr: its current state and
// every archived one (libsignal's SessionStore has no such call; Signal
// apps delete the row). The next Encrypt fails with ErrNoSession until a
// new session is started, and messages of the deleted session no longer
// decrypt. It also removes a record that does not parse
// (*CorruptRecordError). Deleting a session that does not exist is not an
// error. It serialises with every other operation on addr.
func (c *Cipher) DeleteSession(ctx context.Context, addr Address) error {
	defer c.lock(addr).unlock()
	return c.within(ctx, func(st Store) error { return st.DeleteSession(ctx, addr) })
}
