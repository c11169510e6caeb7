package group

import "context"

// SenderKeyTransactor is implemented by a SenderKeyStore that can make a
// load-modify-store of sender-key records one unit of work (sqlstore's
// Store: one SQL transaction that holds the record's row, also when it
// does not exist yet). Cipher runs every operation — creating our chain,
// Encrypt, DecryptMessage, ProcessDistributionMessage — inside it, so
// several processes (or Ciphers) sharing one store never step a chain from
// the same state: no iteration, hence no message key, is used twice (issue
// #19 item 1). Without it the Cipher's per-name lock serialises only the
// operations of that Cipher.
type SenderKeyTransactor interface {
	// TransactSenderKeys runs fn with a SenderKeyStore bound to one unit of
	// work: what fn stores through it is kept when fn returns nil and
	// discarded otherwise.
	TransactSenderKeys(ctx context.Context, fn func(tx SenderKeyStore) error) error
}

// transact runs fn in one unit of work of the store, when it is a
// SenderKeyTransactor, and directly on it otherwise.
func (c *Cipher) transact(ctx context.Context, fn func(st SenderKeyStore) error) error {
	if t, ok := c.store.(SenderKeyTransactor); ok {
		return t.TransactSenderKeys(ctx, fn)
	}
	return fn(c.store)
}
