package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/ratchet"
)

// MaxArchivedForwardJumps is how far ahead of a receiving chain a message
// tried on an archived state may be (issue #20 item 5). The current state
// keeps libsignal's ratchet.MaxForwardJumps; an archived state only decrypts
// late messages of a session the peer has left (or, after simultaneous
// initiation, the first ones of the session the peer kept), whose gaps are
// the messages lost on the way. It equals ratchet.MaxMessageKeys: a longer
// jump would drop skipped keys of the chain anyway. libsignal applies
// MaxForwardJumps to every archived state, which lets one forged message
// cost 41 times the work of the largest honest one.
const MaxArchivedForwardJumps = ratchet.MaxMessageKeys

// workHook, when not nil, receives the Double Ratchet derivations each
// decryption of a SignalMessage spent (set by tests through export_test.go).
var workHook func(ratchet.Work)

// SessionVersioner is implemented by a Transactor that can tell cheaply
// whether the record stored for an address has changed. With it the Cipher
// decrypts a SignalMessage outside any transaction, from a snapshot of the
// record, and opens the transaction only for a message that authenticated
// (issue #20 item 5): a forged message then never holds a write lock (on
// SQLite, the whole database's), whatever it costs to reject.
//
// A version is opaque: two versions of one address's record are
// bytes.Equal only if the stored records are equal (the serialized record
// itself is a valid version). nil stands for "no record".
type SessionVersioner interface {
	// LoadSessionVersion is LoadSession together with the version of the
	// record it returns. The Cipher calls it outside any transaction.
	LoadSessionVersion(ctx context.Context, addr Address) (*Record, []byte, error)
	// SessionVersion returns the version of the record stored for addr now.
	// Called on the Store a Transact function is given, it also keeps the
	// record from changing until the transaction ends (a row lock where
	// transactions can run concurrently).
	SessionVersion(ctx context.Context, addr Address) ([]byte, error)
}

// decryptSignalSnapshot is DecryptSignalMessage over a store that versions
// its records: decrypt from a snapshot without a transaction; on success,
// commit in a transaction if the stored record is still the snapshot's,
// and otherwise decrypt again from the stored record inside it. The
// caller holds the address lock, so within this Cipher the record changes
// only through another process or another Cipher over the same store.
func (c *Cipher) decryptSignalSnapshot(ctx context.Context, t Transactor, vs SessionVersioner, addr Address, m *SignalMessage, o *op) ([]byte, error) {
	rec, ver, err := vs.LoadSessionVersion(ctx, addr)
	if err != nil {
		return nil, err
	}
	if rec == nil || (rec.current == nil && len(rec.previous) == 0) {
		return nil, fmt.Errorf("%w: %s", ErrNoSession, addr)
	}
	// LoadSession's contract: rec is ours to modify, and decryptWithRecord
	// leaves it as it was on failure.
	prev := rec.current
	pt, st, err := c.decryptWithRecord(rec, m)
	if err != nil {
		return nil, err
	}
	if err := o.checkWant(addr, st.remoteIdentity); err != nil {
		return nil, err // refused with no transaction, as a forged message
	}
	var out []byte
	err = t.Transact(ctx, func(tx Store) error {
		txv, ok := tx.(SessionVersioner)
		if ok {
			now, err := txv.SessionVersion(ctx, addr)
			if err != nil {
				return err
			}
			ok = bytes.Equal(now, ver)
		}
		if !ok {
			// Changed since the snapshot (or unversioned inside the
			// transaction): the stored record decides.
			p, err := c.decryptSignal(ctx, tx, addr, m, o)
			out = p
			return err
		}
		if err := c.checkAndSaveIdentity(ctx, tx, addr, st.remoteIdentity); err != nil {
			return err
		}
		out = pt
		if err := tx.StoreSession(ctx, addr, rec); err != nil {
			return err
		}
		// The application's writes, last in the transaction (commit.go).
		if err := c.commitInside(ctx, tx, pt, o); err != nil {
			return err
		}
		o.noteSignal(prev, st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// archivedTrial chooses the one archived state a SignalMessage the current
// state did not decrypt is tried on, and the limits of that trial (issue #20
// item 5). Ratchet keys are random per DH step and per session, so a
// ratchet key can belong to one state only:
//
//   - an archived state that has received on m's ratchet key holds its
//     chain: only that state is tried, on that chain (no DH step);
//   - otherwise m starts a new chain, which an archived state legitimately
//     needs only for the session the peer kept after simultaneous
//     initiation, the most recently archived one: only the newest archived
//     state of m's version is tried, with one DH step.
//
// Both trials allow a jump of MaxArchivedForwardJumps, except when the
// record has no current state (ArchiveCurrent): the newest archived state
// is then the live session and gets the current state's limits. i is -1
// when no state qualifies; err is the first archived state that did not
// parse, if any.
func archivedTrial(rec *Record, m *SignalMessage, work *ratchet.Work) (i int, lim ratchet.Limits, err error) {
	lim = ratchet.Limits{MaxJump: MaxArchivedForwardJumps, Work: work}
	if rec.current == nil || mutant.On(mutant.ForgedAmplification) {
		lim.MaxJump = ratchet.MaxForwardJumps
	}
	newest := -1
	for j := range rec.previous {
		s, perr := rec.archivedState(j)
		if perr != nil {
			if err == nil {
				err = perr
			}
			continue
		}
		if s.ratchet.HasReceiverChain(m.RatchetKey) {
			return j, lim, err
		}
		if newest < 0 && s.version == m.Version {
			newest = j
		}
	}
	lim.NewChain = true
	return newest, lim, err
}

// errNoState is returned for a message no state of the record was tried on.
var errNoState = errors.New("no session state for this message")

// preKeyRepeat is a PreKeySignalMessage that repeats the base key of a
// stored session, decrypted by preflightPreKey on a snapshot of the record
// taken outside any transaction.
type preKeyRepeat struct {
	rec        *Record // the snapshot, advanced by the decryption
	ver        []byte  // its version (SessionVersioner)
	i          int     // findBaseKey's index: -1 the current state, ≥ 0 an archived one
	hadCurrent bool
	pt         []byte
}

// preflightPreKey, with a Transactor, tries a PreKeySignalMessage that
// repeats a stored session's base key — every message a session's
// initiator sends until the peer answers — on a copy of the record read
// outside any transaction, and returns the error of one that does not
// decrypt, so that such a forged message — its base key is public, its
// counter can ask for MaxForwardJumps derivations — never opens a
// transaction nor holds a write lock (issue #20 item 5, found by the red
// team; as decryptSignalSnapshot does for SignalMessages). A message that
// names no stored state is decided inside the transaction.
//
// Over a SessionVersioner the decryption is not done twice (issue #18): a
// message that decrypts is returned as a preKeyRepeat, which commitRepeat
// stores inside the transaction if the record's version has not changed
// since the snapshot. Without one, pre is nil and the transaction decrypts
// the message again from the record it reads.
func (c *Cipher) preflightPreKey(ctx context.Context, addr Address, m *PreKeySignalMessage) (pre *preKeyRepeat, err error) {
	if _, ok := c.store.(Transactor); !ok {
		return nil, nil
	}
	var (
		rec *Record
		ver []byte
	)
	vs, versioned := c.store.(SessionVersioner)
	if versioned {
		rec, ver, err = vs.LoadSessionVersion(ctx, addr)
	} else {
		rec, err = c.store.LoadSession(ctx, addr)
	}
	if err != nil || rec == nil {
		return nil, nil // the transaction decides (a corrupt record is replaced there)
	}
	i := rec.findBaseKey(m.Version, m.BaseKey)
	var st *State
	switch {
	case i == -1:
		st = rec.current
	case i >= 0:
		st = rec.previous[i].s
	}
	if st == nil {
		return nil, nil
	}
	// The checks decryptPreKey makes before any derivation.
	if !c.allows(m.Version) {
		return nil, fmt.Errorf("%w: version %d prekey message and PQXDH is required", ErrInvalidMessage, m.Version)
	}
	if err := c.checkAddressBinding(addr, m.Message.Addresses); err != nil {
		return nil, err
	}
	if !st.remoteIdentity.Equal(m.IdentityKey) {
		return nil, invalid("prekey message names another identity than its session's")
	}
	hadCurrent := rec.current != nil
	pt, err := c.decryptWithState(st, m.Message) // rec is a copy (LoadSession's contract)
	if err != nil {
		return nil, err
	}
	if !versioned || mutant.On(mutant.IdentityFieldTrusted) {
		return nil, nil
	}
	if i >= 0 {
		rec.promotePrevious(i)
	}
	return &preKeyRepeat{rec: rec, ver: ver, i: i, hadCurrent: hadCurrent, pt: pt}, nil
}

// commitRepeat, inside the transaction tx, stores what preflightPreKey's
// decryption of m changed if the record stored for addr is still the
// snapshot's (done true), with every check and write decryptPreKey makes
// for a repeated message: the identity trusted, then the record, the
// identity and the application's writes. When the record has changed
// (another process, or another Cipher over the same store) done is false
// and nothing was written: the caller decrypts m again from the stored
// record.
func (c *Cipher) commitRepeat(ctx context.Context, tx Store, addr Address, m *PreKeySignalMessage, pre *preKeyRepeat, o *op) (done bool, pt []byte, err error) {
	txv, ok := tx.(SessionVersioner)
	if !ok {
		return false, nil, nil
	}
	now, err := txv.SessionVersion(ctx, addr)
	if err != nil {
		return false, nil, err
	}
	if !bytes.Equal(now, pre.ver) {
		return false, nil, nil
	}
	identity := pre.rec.current.remoteIdentity
	if err := c.checkTrust(ctx, tx, addr, identity); err != nil {
		return true, nil, err
	}
	if err := c.commitPreKey(ctx, tx, addr, m, pre.rec, nil, identity, consumed{}, true); err != nil {
		return true, nil, err
	}
	if err := c.commitInside(ctx, tx, pre.pt, o); err != nil {
		return true, nil, err
	}
	o.notePreKey(m, pre.i, pre.hadCurrent, consumed{})
	return true, pre.pt, nil
}
