package session

import (
	"context"
	"fmt"

	"github.com/interlock-e2ee/interlock/prekey"
)

// CommitFunc receives the plaintext of a message that has decrypted and
// authenticated, together with the Store of the unit of work that stores the
// decryption (issue #16, "must have" 1): the role of libsignal-java's
// DecryptionCallback and of whatsmeow's event buffer. An application stores
// the plaintext, or the event it makes of it, through tx, so that a crash
// leaves the message either handled with the ratchet advanced, or neither —
// decryptable again.
//
// With a store that is a Transactor, tx is the Store the transaction's
// function was given (for sqlstore, a *sqlstore.Store whose SQL transaction
// sqlstore.SQLTx returns); fn runs last in that transaction, after the
// record, the consumed prekeys and the identity were written through it. An
// error from fn rolls all of it back: the decryption returns that error
// (errors.Is and errors.As see it; FailureKindOf says FailureAborted) and the
// same message can be decrypted again.
//
// fn runs with the address's lock held and, on SQLite, the database's write
// lock: it must be short, must not call back into the Cipher, and must
// write only through tx (another connection to the same SQLite database
// would wait for this transaction forever). plaintext is the slice the
// decryption returns.
type CommitFunc func(ctx context.Context, tx Store, plaintext []byte) error

// commitError marks an error returned by a CommitFunc; it reads as, and
// unwraps to, that error.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// DecryptAndCommit is Decrypt that runs fn in the unit of work that stores
// the decryption, and returns the plaintext once that unit has committed.
//
// With a Transactor (sqlstore), fn runs inside the store's transaction, last:
// the message is stored with fn's writes or not at all. With a
// SessionVersioner the message is still decrypted first on a snapshot,
// outside any transaction (issue #20 item 5): a message that does not
// authenticate never reaches fn and opens no transaction.
//
// Without a Transactor (MemoryStore, or an application store with none)
// nothing can be rolled back, so fn runs once the message has authenticated
// and its sender's identity was checked, before the first write: an error
// from fn means nothing is stored and the message can be decrypted again.
// If fn succeeds and a write then fails (a store fault, or a first message
// on a last-resort Kyber prekey found to be a replay by
// MarkKyberPreKeyUsed, or an identity observer's veto), DecryptAndCommit
// returns that error, and what fn stored stays: such a store delivers at
// least once, never zero times, and the application must tolerate a
// message handed to fn twice, or a replayed one whose decryption then
// failed. Use a Transactor where that matters.
func (c *Cipher) DecryptAndCommit(ctx context.Context, addr Address, typ MessageType, ciphertext []byte, fn CommitFunc) ([]byte, error) {
	if fn == nil {
		return nil, errNilCommit
	}
	return c.decrypt(ctx, addr, typ, ciphertext, fn)
}

// DecryptFromIdentityAndCommit is DecryptFromIdentity with fn run as
// DecryptAndCommit runs it. Package sealedsender uses it.
func (c *Cipher) DecryptFromIdentityAndCommit(ctx context.Context, addr Address, typ MessageType, ciphertext []byte, want prekey.IdentityKey, fn CommitFunc) ([]byte, error) {
	if fn == nil {
		return nil, errNilCommit
	}
	return c.decryptFromIdentity(ctx, addr, typ, ciphertext, want, fn)
}

// decrypt is Decrypt, with fn run as DecryptAndCommit runs it when not nil.
func (c *Cipher) decrypt(ctx context.Context, addr Address, typ MessageType, ciphertext []byte, fn CommitFunc) ([]byte, error) {
	o := c.newOp(fn)
	switch typ {
	case TypeSignal:
		m, err := ParseSignalMessage(ciphertext)
		if err != nil {
			c.report(ctx, addr, typ, 0, false, o, err)
			return nil, err
		}
		pt, err := c.decryptSignalMessage(ctx, addr, m, o)
		c.report(ctx, addr, typ, m.Counter, true, o, err)
		return pt, err
	case TypePreKey:
		m, err := ParsePreKeySignalMessage(ciphertext)
		if err != nil {
			c.report(ctx, addr, typ, 0, false, o, err)
			return nil, err
		}
		pt, err := c.decryptPreKeyMessage(ctx, addr, m, o)
		c.report(ctx, addr, typ, m.Message.Counter, true, o, err)
		return pt, err
	}
	err := invalid("unknown message type %d", typ)
	c.report(ctx, addr, typ, 0, false, o, err)
	return nil, err
}

// decryptFromIdentity is DecryptFromIdentity, with fn run as
// DecryptAndCommit runs it when not nil. See DecryptFromIdentity for how the
// identity that authenticates a message is found.
func (c *Cipher) decryptFromIdentity(ctx context.Context, addr Address, typ MessageType, ciphertext []byte, want prekey.IdentityKey, fn CommitFunc) ([]byte, error) {
	o := c.newOp(fn)
	if want.IsZero() {
		err := fmt.Errorf("%w: no required identity", ErrUntrustedIdentity)
		c.report(ctx, addr, typ, 0, false, o, err)
		return nil, err
	}
	switch typ {
	case TypeSignal:
		m, err := ParseSignalMessage(ciphertext)
		if err != nil {
			c.report(ctx, addr, typ, 0, false, o, err)
			return nil, err
		}
		// One decryption: the state that authenticates m is compared with
		// want before anything is written (checkWant).
		if o == nil {
			o = &op{}
		}
		o.want = want
		pt, err := c.decryptSignalMessage(ctx, addr, m, o)
		c.report(ctx, addr, typ, m.Counter, true, o, err)
		return pt, err
	case TypePreKey:
		m, err := ParsePreKeySignalMessage(ciphertext)
		if err != nil {
			c.report(ctx, addr, typ, 0, false, o, err)
			return nil, err
		}
		var pt []byte
		if !m.IdentityKey.Equal(want) {
			err = &IdentityMismatchError{Addr: addr, Want: want, Got: m.IdentityKey}
		} else {
			pt, err = c.decryptPreKeyMessage(ctx, addr, m, o)
		}
		c.report(ctx, addr, typ, m.Message.Counter, true, o, err)
		return pt, err
	}
	err := invalid("unknown message type %d", typ)
	c.report(ctx, addr, typ, 0, false, o, err)
	return nil, err
}

// checkWant refuses a message authenticated by identity when o requires
// another one (DecryptFromIdentity). Called after the decryption of a copy
// of the record and before any write, so a refusal changes nothing.
func (o *op) checkWant(addr Address, identity prekey.IdentityKey) error {
	if o == nil || o.want.IsZero() || identity.Equal(o.want) {
		return nil
	}
	return &IdentityMismatchError{Addr: addr, Want: o.want, Got: identity}
}

// commitBefore runs o's commit function for a store without a Transactor,
// before the decryption's first write: the message has authenticated, and
// identity, the identity that authenticated it, is checked here to be
// trusted for addr (the writes would check it again). With a Transactor, or
// without a commit function, it does nothing.
func (c *Cipher) commitBefore(ctx context.Context, st Store, addr Address, identity prekey.IdentityKey, pt []byte, o *op) error {
	if o == nil || o.commit == nil {
		return nil
	}
	if _, atomic := c.store.(Transactor); atomic {
		return nil
	}
	if err := c.checkTrust(ctx, st, addr, identity); err != nil {
		return err
	}
	return runCommit(ctx, o.commit, st, pt)
}

// commitInside runs o's commit function last in a Transactor's transaction,
// after every write of the decryption; tx is the transaction's Store.
// Without a Transactor, or without a commit function, it does nothing.
func (c *Cipher) commitInside(ctx context.Context, tx Store, pt []byte, o *op) error {
	if o == nil || o.commit == nil {
		return nil
	}
	if _, atomic := c.store.(Transactor); !atomic {
		return nil
	}
	return runCommit(ctx, o.commit, tx, pt)
}

// errNilCommit is returned by the AndCommit methods for a nil fn.
var errNilCommit = fmt.Errorf("%w: nil commit function", ErrInvalidArgument)

func runCommit(ctx context.Context, fn CommitFunc, st Store, pt []byte) error {
	if v, ok := st.(*deviceView); ok {
		st = v.Store
	}
	if err := fn(ctx, st, pt); err != nil {
		return &commitError{err}
	}
	return nil
}

// noteSignal records what a SignalMessage's decryption did to the record:
// st decrypted it and prev was the current state before.
func (o *op) noteSignal(prev, st *State) {
	if o == nil {
		return
	}
	o.promoted = st != prev
	o.archived = o.promoted && prev != nil
	o.created = false
	o.hasOPK, o.hasKPK = false, false
}

// notePreKey records what a PreKeySignalMessage's decryption did: i is the
// index findBaseKey returned (-2: a new session), hadCurrent whether the
// record had a current state, used the prekeys a new session consumed.
func (o *op) notePreKey(m *PreKeySignalMessage, i int, hadCurrent bool, used consumed) {
	if o == nil {
		return
	}
	o.version = m.Version
	o.created = i == -2
	o.promoted = i >= 0
	o.archived = i != -1 && hadCurrent
	o.hasOPK, o.hasKPK = used.opk != nil, used.kpk != nil
	if o.hasOPK {
		o.opk = used.opk.ID
	}
	if o.hasKPK {
		o.kpk, o.lastResort = used.kpk.ID, used.kpk.LastResort
	}
}
