package session

import (
	"context"
	"errors"
	"fmt"
)

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

// ErrStoreUnsupported: the store does not implement the optional interface
// the call needs (SessionLister, PreKeyManager).
var ErrStoreUnsupported = errors.New("session: not supported by the store")

// SessionLister is implemented by session stores that can list the devices
// of a user they hold sessions with (MemoryStore and sqlstore.Store do).
type SessionLister interface {
	// SubDeviceSessions returns, ascending, the device IDs of name with a
	// stored session record. Unlike libsignal-java's getSubDeviceSessions,
	// which leaves out device 1, every device is listed: the primary device
	// is 1 in Signal and 0 in WhatsApp.
	SubDeviceSessions(ctx context.Context, name string) ([]uint32, error)
}

// ContainsSession reports whether addr has a current session: one that
// Encrypt can use (libsignal's SessionStore.containsSession). A record with
// only archived states, or one that does not parse (*CorruptRecordError),
// is no session.
func (c *Cipher) ContainsSession(ctx context.Context, addr Address) (bool, error) {
	defer c.lock(addr).unlock()
	r, err := c.store.LoadSession(ctx, addr)
	if errors.Is(err, ErrCorruptRecord) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return r != nil && r.Current() != nil, nil
}

// SubDeviceSessions returns, ascending, the device IDs of user name with
// which a session record is stored. It fails with ErrStoreUnsupported when the
// store is not a SessionLister.
func (c *Cipher) SubDeviceSessions(ctx context.Context, name string) ([]uint32, error) {
	l, ok := c.store.(SessionLister)
	if !ok {
		return nil, fmt.Errorf("%w: %T is not a SessionLister", ErrStoreUnsupported, c.store)
	}
	return l.SubDeviceSessions(ctx, name)
}

// DeleteAllSessions deletes the session records of every device of user
// name, as DeleteSession does for one (libsignal's deleteAllSessions). A
// session another goroutine starts with a new device meanwhile may remain.
// It needs a SessionLister store (ErrStoreUnsupported otherwise).
func (c *Cipher) DeleteAllSessions(ctx context.Context, name string) error {
	devices, err := c.SubDeviceSessions(ctx, name)
	if err != nil {
		return err
	}
	for _, d := range devices {
		if err := c.DeleteSession(ctx, Address{Name: name, DeviceID: d}); err != nil {
			return err
		}
	}
	return nil
}

// ArchiveCurrentSession archives the current session with addr
// (libsignal's SessionRecord.archiveCurrentState, what Signal apps do when
// a peer's identity changed or it asked for a session reset): Encrypt then
// fails with ErrNoSession until a new session is started, while messages
// still in flight on the archived session keep decrypting. Archiving when
// there is no current session is not an error. A record that does not parse
// fails with *CorruptRecordError (DeleteSession removes it).
func (c *Cipher) ArchiveCurrentSession(ctx context.Context, addr Address) error {
	defer c.lock(addr).unlock()
	return c.within(ctx, func(st Store) error {
		r, err := st.LoadSession(ctx, addr)
		if err != nil || r == nil || r.Current() == nil {
			return err
		}
		r.ArchiveCurrent()
		return st.StoreSession(ctx, addr, r)
	})
}
