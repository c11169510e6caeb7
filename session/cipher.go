package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/interlock-e2ee/interlock/internal/adversary"
	"github.com/interlock-e2ee/interlock/internal/aescbc"
	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/ratchet"
	"github.com/interlock-e2ee/interlock/ratchet/spqr"
)

// Policy chooses which key agreements a Cipher accepts.
type Policy int

const (
	// RequirePQXDH (the default, libsignal's behaviour and the `signal`
	// flavour): sessions are version 4 only; a bundle without a Kyber prekey
	// is refused with ErrUnsupported and version 3 messages are rejected, so
	// no peer or server can downgrade a session to X3DH.
	RequirePQXDH Policy = iota
	// AllowX3DH (the `whatsapp` flavour): PQXDH when the bundle has a Kyber
	// prekey, X3DH (version 3) otherwise; both versions are accepted.
	AllowX3DH
)

// SPQRPolicy chooses whether version 4 sessions run the triple ratchet
// (SPQR, Double Ratchet rev. 3 §5) and whether a peer may decline it.
type SPQRPolicy int

const (
	// PreferSPQR (the default) offers SPQR on every new version 4 session
	// and accepts a peer that never sends it (libsignal 0.74–0.91): the
	// session then continues as a plain Double Ratchet, as libsignal does.
	PreferSPQR SPQRPolicy = iota
	// RequireSPQR refuses a peer that does not speak SPQR (libsignal 0.92+).
	RequireSPQR
	// NoSPQR never offers it: new sessions are plain Double Ratchet.
	NoSPQR
)

// Option configures a Cipher.
type Option func(*Cipher)

// WithSPQR sets the triple-ratchet policy (default PreferSPQR).
func WithSPQR(p SPQRPolicy) Option { return func(c *Cipher) { c.spqr = p } }

// WithPolicy sets the version policy (default RequirePQXDH).
func WithPolicy(p Policy) Option { return func(c *Cipher) { c.policy = p } }

// WithRand sets the randomness source (default crypto/rand; nil keeps the
// default). Only tests and vector generators should set it.
func WithRand(r io.Reader) Option {
	return func(c *Cipher) {
		if r != nil {
			c.rand = r
		}
	}
}

// WithClock sets the time source (default time.Now).
func WithClock(now func() time.Time) Option { return func(c *Cipher) { c.now = now } }

// WithLocalAddress tells the Cipher its own address. It then writes
// libsignal's address binding (sender and recipient, under the MAC) into the
// version 4 PreKeySignalMessages it sends, as libsignal ≥ 0.91 does, and
// checks both halves of a received binding; without it only the sender half
// is checked. Addresses whose names are not service IDs (a UUID, or "PNI:"
// and a UUID) have no binding.
func WithLocalAddress(a Address) Option { return func(c *Cipher) { c.local = &a } }

// Cipher encrypts and decrypts 1:1 messages over a Store. It is safe for
// concurrent use: operations on one address are serialised, operations on
// different addresses run in parallel.
type Cipher struct {
	store  Store
	policy Policy
	spqr   SPQRPolicy
	rand   io.Reader
	now    func() time.Time
	local  *Address // WithLocalAddress

	observer func(context.Context, IdentityEvent) error // WithIdentityObserver (identity.go)
	hooks    *hooks                                     // WithLogger, WithMetrics (logging.go)

	mu    sync.Mutex
	locks map[Address]*addrLock

	// preKeys serialises PreKeySignalMessages over a store that is not a
	// Transactor, across addresses: prekeys are loaded, then removed after
	// the decryption, and two addresses must not both spend one.
	preKeys sync.Mutex
}

type addrLock struct {
	sync.Mutex
	refs int
}

// NewCipher returns a Cipher over store.
func NewCipher(store Store, opts ...Option) *Cipher {
	c := &Cipher{store: store, rand: rand.Reader, now: time.Now, locks: map[Address]*addrLock{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

var addrLockPool = sync.Pool{New: func() any { return new(addrLock) }}

// lock serialises work on one address; call the returned lock's unlock. A
// lock lives in the map only while someone holds or waits for it.
func (c *Cipher) lock(addr Address) unlocker {
	c.mu.Lock()
	l := c.locks[addr]
	if l == nil {
		l = addrLockPool.Get().(*addrLock)
		c.locks[addr] = l
	}
	l.refs++
	c.mu.Unlock()
	l.Lock()
	return unlocker{c, addr, l}
}

type unlocker struct {
	c    *Cipher
	addr Address
	l    *addrLock
}

func (u unlocker) unlock() {
	u.l.Unlock()
	u.c.mu.Lock()
	if u.l.refs--; u.l.refs == 0 {
		delete(u.c.locks, u.addr)
		addrLockPool.Put(u.l)
	}
	u.c.mu.Unlock()
}

func (c *Cipher) allows(version int) bool {
	return version == prekey.Version4 || c.policy == AllowX3DH
}

// newSPQR returns the SPQR state of a new version 4 session, or nil.
func (c *Cipher) newSPQR(version int, dir spqr.Direction, key [32]byte) (*spqr.State, error) {
	if version != prekey.Version4 || c.spqr == NoSPQR {
		return nil, nil
	}
	min := spqr.V0
	if c.spqr == RequireSPQR {
		min = spqr.V1
	}
	return spqr.NewState(spqr.Params{Direction: dir, Version: spqr.V1, MinVersion: min, AuthKey: key[:]})
}

// within runs fn as one unit of work: in a transaction when the store is a
// Transactor, directly otherwise. The caller holds the address lock.
func (c *Cipher) within(ctx context.Context, fn func(st Store) error) error {
	if t, ok := c.store.(Transactor); ok {
		return t.Transact(ctx, fn)
	}
	return fn(c.store)
}

// ProcessBundle starts a new session with addr from its prekey bundle (X3DH
// §3.3 / PQXDH §3.3 as the initiator). The bundle's signatures and identity
// are checked first; the new state becomes current and the old one is
// archived. The next Encrypt produces a PreKeySignalMessage.
func (c *Cipher) ProcessBundle(ctx context.Context, addr Address, b *prekey.Bundle) error {
	defer c.lock(addr).unlock()
	return c.within(ctx, func(st Store) error { return c.processBundle(ctx, st, addr, b) })
}

func (c *Cipher) processBundle(ctx context.Context, store Store, addr Address, b *prekey.Bundle) error {
	if err := b.Verify(); err != nil {
		return err
	}
	version := prekey.Version3
	if b.HasKyberPreKey() {
		version = prekey.Version4
	} else if !c.allows(prekey.Version3) {
		return fmt.Errorf("%w: bundle has no Kyber prekey and PQXDH is required", ErrUnsupported)
	}
	trusted, err := store.IsTrustedIdentity(ctx, addr, b.IdentityKey, Sending)
	if err != nil {
		return err
	}
	if !trusted {
		return untrusted(ctx, store, addr, b.IdentityKey)
	}
	ours, err := store.IdentityKeyPair(ctx)
	if err != nil {
		return err
	}
	regID, err := store.LocalRegistrationID(ctx)
	if err != nil {
		return err
	}
	init, err := prekey.Initiate(c.rand, ours, b, version)
	if err != nil {
		return err
	}
	rs, err := ratchet.InitAlice(c.rand, init.RootKey, init.ChainKey, b.SignedPreKey)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	pq, err := c.newSPQR(version, spqr.A2B, init.PQRatchetKey)
	if err != nil {
		return err
	}
	ns := &State{
		version:        version,
		localIdentity:  ours.PublicKey(),
		remoteIdentity: b.IdentityKey,
		localRegID:     regID,
		remoteRegID:    b.RegistrationID,
		ratchet:        rs,
		aliceBaseKey:   init.BaseKey.Public.Bytes(),
		isAlice:        true,
		pq:             pq,
		pending: &pendingPreKey{
			preKeyID:        b.PreKeyID,
			hasPreKeyID:     b.HasPreKey(),
			signedPreKeyID:  b.SignedPreKeyID,
			baseKey:         init.BaseKey.Public,
			kyberPreKeyID:   b.KyberPreKeyID,
			kyberCiphertext: init.KyberCiphertext,
			timestamp:       c.now(),
		},
	}
	rec, err := store.LoadSession(ctx, addr)
	if errors.Is(err, ErrCorruptRecord) {
		rec, err = nil, nil // the new session replaces it (issue #20 item 17)
	}
	if err != nil {
		return err
	}
	if err := checkDowngrade(rec, addr, version); err != nil {
		return err
	}
	if rec == nil {
		rec = NewRecord()
	}
	archived := rec.current != nil
	rec.promote(ns)
	if err := c.saveIdentity(ctx, store, addr, b.IdentityKey); err != nil {
		return err
	}
	if err := store.StoreSession(ctx, addr, rec); err != nil {
		return err
	}
	if c.hooks != nil {
		if archived {
			c.logArchived(ctx, addr, true)
		}
		c.logCreated(ctx, addr, version, "initiator")
	}
	return nil
}

// Encrypt encrypts plaintext for addr and returns the message type
// (TypeSignal or TypePreKey) and the wire bytes (Double Ratchet §3.4).
func (c *Cipher) Encrypt(ctx context.Context, addr Address, plaintext []byte) (typ MessageType, msg []byte, err error) {
	defer c.lock(addr).unlock()
	if _, ok := c.store.(Transactor); !ok {
		return c.encrypt(ctx, c.store, addr, plaintext)
	}
	return c.encryptTx(ctx, addr, plaintext)
}

// encryptTx is Encrypt in a transaction; apart so that Encrypt's results
// do not escape to the heap.
func (c *Cipher) encryptTx(ctx context.Context, addr Address, plaintext []byte) (typ MessageType, msg []byte, err error) {
	err = c.within(ctx, func(st Store) error {
		typ, msg, err = c.encrypt(ctx, st, addr, plaintext)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return typ, msg, nil
}

func (c *Cipher) encrypt(ctx context.Context, store Store, addr Address, plaintext []byte) (MessageType, []byte, error) {
	rec, err := store.LoadSession(ctx, addr)
	if err != nil {
		return 0, nil, err
	}
	if rec == nil || rec.current == nil {
		return 0, nil, fmt.Errorf("%w: %s", ErrNoSession, addr)
	}
	st := rec.current
	if st.pending != nil && c.now().Sub(st.pending.timestamp) > MaxUnacknowledgedSessionAge {
		return 0, nil, fmt.Errorf("%w: unanswered session with %s expired", ErrNoSession, addr)
	}
	trusted, err := store.IsTrustedIdentity(ctx, addr, st.remoteIdentity, Sending)
	if err != nil {
		return 0, nil, err
	}
	if !trusted {
		return 0, nil, untrusted(ctx, store, addr, st.remoteIdentity)
	}
	var pqNext *spqr.State
	var pqMsg, pqKey []byte
	if dev, ok := adversary.PQRatchetOf(ctx); ok && st.pq != nil {
		// The conformance peer's adversary mode (internal/adversary): a
		// message keyed without SPQR, its pq_ratchet omitted or of a chosen
		// version; the SPQR state does not advance.
		pqMsg = dev.Bytes()
	} else if st.pq != nil {
		if pqNext, pqMsg, pqKey, err = st.pq.Send(c.rand); err != nil {
			return 0, nil, err
		}
	}
	h, mk, err := st.ratchet.SendSalted(pqKey)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %w", ErrNoSession, err)
	}
	if pqNext != nil {
		st.pq = pqNext
	}
	var addrs []byte
	if st.pending != nil && st.version == prekey.Version4 && c.local != nil {
		var buf [AddressBindingSize]byte
		if b, ok := appendAddressBinding(buf[:0], *c.local, addr); ok {
			addrs = b
		}
	}
	msg, err := sealSignalMessage(st.version, h, &mk, plaintext, pqMsg, addrs, st.localIdentity, st.remoteIdentity)
	if err != nil {
		return 0, nil, err
	}
	typ := TypeSignal
	if st.pending != nil {
		typ = TypePreKey
		msg = appendPreKeySignalMessage(make([]byte, 0, len(msg)+1700), st.version, st.localRegID, st.pending, st.localIdentity, msg)
	}
	if err := store.StoreSession(ctx, addr, rec); err != nil {
		return 0, nil, err
	}
	return typ, msg, nil
}

// Decrypt decrypts a message of the given type (TypeSignal or TypePreKey)
// from addr. On any error no stored state changes.
func (c *Cipher) Decrypt(ctx context.Context, addr Address, typ MessageType, ciphertext []byte) ([]byte, error) {
	return c.decrypt(ctx, addr, typ, ciphertext, nil) // commit.go
}

// DecryptSignalMessage decrypts a whisper message with the current or an
// archived state; a state that decrypts becomes current (libsignal's
// promotion). On any error no stored state changes. With a Transactor that
// is also a SessionVersioner, a message that does not decrypt opens no
// transaction.
func (c *Cipher) DecryptSignalMessage(ctx context.Context, addr Address, m *SignalMessage) ([]byte, error) {
	o := c.newOp(nil)
	pt, err := c.decryptSignalMessage(ctx, addr, m, o)
	c.report(ctx, addr, TypeSignal, m.Counter, true, o, err)
	return pt, err
}

// decryptSignalMessage is DecryptSignalMessage; o, when not nil, carries a
// commit function (commit.go) and collects what the hooks report.
func (c *Cipher) decryptSignalMessage(ctx context.Context, addr Address, m *SignalMessage, o *op) (pt []byte, err error) {
	defer c.lock(addr).unlock()
	t, ok := c.store.(Transactor)
	if !ok {
		return c.decryptSignal(ctx, c.store, addr, m, o)
	}
	if vs, ok := c.store.(SessionVersioner); ok {
		// Decrypt outside the transaction; lock only to commit (issue #20
		// item 5).
		return c.decryptSignalSnapshot(ctx, t, vs, addr, m, o)
	}
	return c.decryptSignalTx(ctx, addr, m, o)
}

// decryptSignalTx is DecryptSignalMessage in a transaction.
func (c *Cipher) decryptSignalTx(ctx context.Context, addr Address, m *SignalMessage, o *op) (pt []byte, err error) {
	err = c.within(ctx, func(st Store) error {
		pt, err = c.decryptSignal(ctx, st, addr, m, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pt, nil
}

func (c *Cipher) decryptSignal(ctx context.Context, store Store, addr Address, m *SignalMessage, o *op) ([]byte, error) {
	rec, err := store.LoadSession(ctx, addr)
	if err != nil {
		return nil, err
	}
	if rec == nil || (rec.current == nil && len(rec.previous) == 0) {
		return nil, fmt.Errorf("%w: %s", ErrNoSession, addr)
	}
	prev := rec.current
	pt, st, err := c.decryptWithRecord(rec, m)
	if err != nil {
		if mutant.On(mutant.StateOnFailure) {
			store.StoreSession(ctx, addr, rec) // mutant: what the failed trial changed is kept
		}
		return nil, err
	}
	if err := o.checkWant(addr, st.remoteIdentity); err != nil {
		return nil, err
	}
	if err := c.commitBefore(ctx, store, addr, st.remoteIdentity, pt, o); err != nil {
		return nil, err
	}
	if err := c.checkAndSaveIdentity(ctx, store, addr, st.remoteIdentity); err != nil {
		return nil, err
	}
	if err := store.StoreSession(ctx, addr, rec); err != nil {
		return nil, err
	}
	if err := c.commitInside(ctx, store, pt, o); err != nil {
		return nil, err
	}
	o.noteSignal(prev, st)
	return pt, nil
}

func (c *Cipher) checkAndSaveIdentity(ctx context.Context, store Store, addr Address, k prekey.IdentityKey) error {
	trusted, err := store.IsTrustedIdentity(ctx, addr, k, Receiving)
	if err != nil {
		return err
	}
	if !trusted {
		return untrusted(ctx, store, addr, k)
	}
	return c.saveIdentity(ctx, store, addr, k)
}

// decryptWithRecord tries the current state, then at most one archived
// state (archivedTrial). On success the record is updated in memory (and
// the winning state promoted); on failure it is untouched.
//
// The work a message can cause before it is authenticated is bounded
// (issue #20 item 5): the current state with libsignal's limits, then one
// archived state with MaxArchivedForwardJumps, so a forged message costs at
// most about twice an honest message with the same header. libsignal tries
// every archived state in full (up to 41 DH steps and 41 × MaxForwardJumps
// chain steps).
func (c *Cipher) decryptWithRecord(rec *Record, m *SignalMessage) ([]byte, *State, error) {
	var work *ratchet.Work
	if workHook != nil {
		work = new(ratchet.Work)
		defer func() { workHook(*work) }()
	}
	var firstErr error
	if cur := rec.current; cur != nil {
		pt, err := c.decryptWithStateLimited(cur, m, ratchet.Limits{MaxJump: ratchet.MaxForwardJumps, NewChain: true, Work: work})
		if err == nil {
			return pt, cur, nil
		}
		// A ratchet key the current state has received on belongs to the
		// current session: no archived state can hold its chain.
		if errors.Is(err, ErrDuplicateMessage) || cur.ratchet.HasReceiverChain(m.RatchetKey) {
			return nil, nil, err
		}
		firstErr = err
	}
	i, lim, err := archivedTrial(rec, m, work)
	if firstErr == nil {
		firstErr = err
	}
	if i < 0 {
		if firstErr == nil {
			firstErr = invalid("%v", errNoState)
		}
		return nil, nil, firstErr
	}
	st := rec.previous[i].s
	pt, err := c.decryptWithStateLimited(st, m, lim)
	if err == nil {
		rec.promotePrevious(i)
		return pt, st, nil
	}
	if errors.Is(err, ErrDuplicateMessage) || firstErr == nil {
		return nil, nil, err
	}
	return nil, nil, firstErr
}

// decryptWithState authenticates and decrypts m with st, within libsignal's
// limits; st changes only on success.
func (c *Cipher) decryptWithState(st *State, m *SignalMessage) ([]byte, error) {
	return c.decryptWithStateLimited(st, m, ratchet.Limits{MaxJump: ratchet.MaxForwardJumps, NewChain: true})
}

// decryptWithStateLimited is decryptWithState within lim. The header checks
// that cost nothing come first: the version here, the counter and the chain
// in ratchet.State.ReceiveLimited before any derivation.
func (c *Cipher) decryptWithStateLimited(st *State, m *SignalMessage, lim ratchet.Limits) ([]byte, error) {
	if len(m.raw) <= MACSize {
		// A SignalMessage not made by ParseSignalMessage has no MAC to check.
		return nil, invalid("signal message without its serialized form")
	}
	if m.Version != st.version {
		return nil, invalid("message version %d, session version %d", m.Version, st.version)
	}
	if workHook != nil && lim.Work == nil {
		// A decryption outside decryptWithRecord (a PreKeySignalMessage)
		// reports its own work.
		lim.Work = new(ratchet.Work)
		defer func(w *ratchet.Work) { workHook(*w) }(lim.Work)
	}
	var pqNext *spqr.State
	salt := func() ([]byte, error) {
		if st.pq == nil {
			return nil, nil
		}
		next, key, err := st.pq.Recv(m.PQRatchet)
		switch {
		case errors.Is(err, spqr.ErrTooFar):
			return nil, fmt.Errorf("%w: post-quantum ratchet: %w", ErrTooFar, err)
		case err != nil:
			return nil, invalid("post-quantum ratchet: %v", err)
		}
		pqNext = next
		return key, nil
	}
	var pt []byte
	h := ratchet.Header{RatchetKey: m.RatchetKey, Counter: m.Counter, PreviousCounter: m.PreviousCounter}
	err := st.ratchet.ReceiveLimited(c.rand, h, lim, salt, func(mk ratchet.MessageKeys) error {
		k := newMsgKeys(&mk)
		defer k.clear()
		if !m.verifyMAC(k, st.remoteIdentity, st.localIdentity) {
			return invalid("bad MAC")
		}
		var err error
		if pt, err = aescbc.Decrypt(k.mk.CipherKey[:], k.mk.IV[:], m.Ciphertext); err != nil {
			return invalid("%v", err)
		}
		return nil
	})
	if err != nil {
		err = ratchetErr(err)
		if !errors.Is(err, ErrInvalidMessage) && !errors.Is(err, ErrDuplicateMessage) && !errors.Is(err, ErrTooFar) {
			err = invalid("%v", err)
		}
		return nil, err
	}
	st.pending = nil // the peer has answered: stop sending PreKeySignalMessages
	if pqNext != nil {
		st.pq = pqNext
	}
	return pt, nil
}

// DecryptPreKeyMessage decrypts a message that may start a session (X3DH §3.4
// / PQXDH §3.4 as the responder). A repeat of a message whose session exists
// is decrypted with that session. The one-time prekey is removed and the
// Kyber prekey marked used only after the message decrypts.
func (c *Cipher) DecryptPreKeyMessage(ctx context.Context, addr Address, m *PreKeySignalMessage) ([]byte, error) {
	o := c.newOp(nil)
	pt, err := c.decryptPreKeyMessage(ctx, addr, m, o)
	c.report(ctx, addr, TypePreKey, m.Message.Counter, true, o, err)
	return pt, err
}

// decryptPreKeyMessage is DecryptPreKeyMessage; o as in
// decryptSignalMessage.
func (c *Cipher) decryptPreKeyMessage(ctx context.Context, addr Address, m *PreKeySignalMessage, o *op) (pt []byte, err error) {
	defer c.lock(addr).unlock()
	pre, err := c.preflightPreKey(ctx, addr, m)
	if err != nil {
		return nil, err
	}
	if _, ok := c.store.(Transactor); !ok {
		// One first message relabelled as from two addresses at once must
		// not load a one-time prekey twice before either removes it.
		c.preKeys.Lock()
		defer c.preKeys.Unlock()
	}
	err = c.within(ctx, func(st Store) error {
		if pre != nil {
			// Decrypted already on a snapshot (snapshot.go): commit that
			// result if the record is still the snapshot's.
			done, p, err := c.commitRepeat(ctx, st, addr, m, pre, o)
			if done || err != nil {
				pt = p
				return err
			}
		}
		pt, err = c.decryptPreKey(ctx, st, addr, m, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	return pt, nil
}

func (c *Cipher) decryptPreKey(ctx context.Context, store Store, addr Address, m *PreKeySignalMessage, o *op) ([]byte, error) {
	if !c.allows(m.Version) {
		return nil, fmt.Errorf("%w: version %d prekey message and PQXDH is required", ErrInvalidMessage, m.Version)
	}
	// Address binding first: it costs no key derivation (issue #20 item 11).
	if err := c.checkAddressBinding(addr, m.Message.Addresses); err != nil {
		return nil, err
	}
	rec, err := store.LoadSession(ctx, addr)
	if errors.Is(err, ErrCorruptRecord) {
		// Only a new session can come of it: it replaces the record
		// (issue #20 item 17).
		rec, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	var old *Record // what to put back if a later write fails (no Transactor)
	_, atomic := c.store.(Transactor)
	if rec == nil {
		rec = NewRecord()
	} else if !atomic {
		old = rec.Clone()
	}
	var pt []byte
	var st *State
	var used consumed
	hadCurrent := rec.current != nil
	i := rec.findBaseKey(m.Version, m.BaseKey)
	switch {
	case i == -1:
		st = rec.current
	case i >= 0:
		st = rec.previous[i].s
	}
	if st != nil {
		// A repeat of a message whose session exists (issue #20 item 1): what
		// authenticates the message is that state's MAC, keyed to the state's
		// remote identity, not the message's unauthenticated identity field.
		// The field must name that identity, and that identity is the one
		// checked and pinned.
		trustedKey := st.remoteIdentity
		if mutant.On(mutant.IdentityFieldTrusted) {
			trustedKey = m.IdentityKey // mutant: the unauthenticated field checked (and below, pinned)
		} else if !st.remoteIdentity.Equal(m.IdentityKey) {
			return nil, invalid("prekey message names another identity than its session's")
		}
		if err := c.checkTrust(ctx, store, addr, trustedKey); err != nil {
			return nil, err
		}
		if pt, err = c.decryptWithState(st, m.Message); err != nil {
			return nil, err
		}
		if i >= 0 {
			rec.promotePrevious(i)
		}
	} else {
		// A new session: the identity field enters the key agreement (X3DH
		// §3.3, PQXDH §3.3), so a message that decrypts was sent by its
		// holder. A version 3 session with a device that has spoken version
		// 4 is a downgrade, whichever side starts it (issue #20 item 13).
		if err := checkDowngrade(rec, addr, m.Version); err != nil {
			return nil, err
		}
		if err := c.checkTrust(ctx, store, addr, m.IdentityKey); err != nil {
			return nil, err
		}
		if st, used, err = c.respond(ctx, store, m); err != nil {
			return nil, err
		}
		if pt, err = c.decryptWithState(st, m.Message); err != nil {
			return nil, err
		}
		rec.promote(st)
	}
	pinned := st.remoteIdentity
	if mutant.On(mutant.IdentityFieldTrusted) {
		pinned = m.IdentityKey
	}
	if err := c.commitBefore(ctx, store, addr, pinned, pt, o); err != nil {
		return nil, err
	}
	if err := c.commitPreKey(ctx, store, addr, m, rec, old, pinned, used, atomic); err != nil {
		return nil, err
	}
	if err := c.commitInside(ctx, store, pt, o); err != nil {
		return nil, err
	}
	o.notePreKey(m, i, hadCurrent, used)
	return pt, nil
}

// checkTrust refuses an identity the store does not trust for addr.
func (c *Cipher) checkTrust(ctx context.Context, store Store, addr Address, k prekey.IdentityKey) error {
	trusted, err := store.IsTrustedIdentity(ctx, addr, k, Receiving)
	if err != nil {
		return err
	}
	if !trusted {
		return untrusted(ctx, store, addr, k)
	}
	return nil
}

// consumed names the prekeys a new session was built on: the one-time
// prekey (nil when the message names none) and the Kyber prekey (nil in
// version 3).
type consumed struct {
	opk *prekey.PreKeyRecord
	kpk *prekey.KyberPreKeyRecord
}

// commitPreKey stores what a decrypted PreKeySignalMessage changed: the
// record, the consumed prekeys and the sender's identity. With a Transactor
// these writes are one transaction. Without one (issue #20 item 15) they run
// in this order — record, one-time prekey, Kyber prekey (the replay check of
// a last-resort key), identity — and a failure puts back what the earlier
// writes changed (the prekeys, then the old record; old nil meaning none), so
// that a message refused at any point, a replay included, leaves no trace and
// a message that failed on a store fault can be decrypted again, with no
// prekey left usable after a session was built on it. One case cannot be put
// back: a fault at the identity, the last write, after a last-resort Kyber
// prekey recorded the base key; the message is then refused as a replay.
func (c *Cipher) commitPreKey(ctx context.Context, store Store, addr Address, m *PreKeySignalMessage, rec, old *Record, identity prekey.IdentityKey, used consumed, atomic bool) (err error) {
	if err := store.StoreSession(ctx, addr, rec); err != nil {
		return err
	}
	var removedPreKey, removedKyber bool
	if !atomic {
		defer func() {
			if err == nil {
				return
			}
			if removedPreKey {
				if e := store.StorePreKey(ctx, used.opk); e != nil {
					err = errors.Join(err, fmt.Errorf("session: restoring one-time prekey %d: %w", used.opk.ID, e))
				}
			}
			if removedKyber {
				if e := store.StoreKyberPreKey(ctx, used.kpk); e != nil {
					err = errors.Join(err, fmt.Errorf("session: restoring Kyber prekey %d: %w", used.kpk.ID, e))
				}
			}
			if old == nil {
				old = NewRecord()
			}
			if e := store.StoreSession(ctx, addr, old); e != nil {
				err = errors.Join(err, fmt.Errorf("session: restoring the record of %s: %w", addr, e))
			}
		}()
	}
	if used.opk != nil {
		if err := store.RemovePreKey(ctx, used.opk.ID); err != nil {
			return err
		}
		removedPreKey = true
	}
	if used.kpk != nil {
		if err := store.MarkKyberPreKeyUsed(ctx, m.KyberPreKeyID, m.SignedPreKeyID, m.BaseKey); err != nil {
			return err
		}
		removedKyber = !used.kpk.LastResort
	}
	if err := c.saveIdentity(ctx, store, addr, identity); err != nil {
		return err
	}
	return nil
}

// respond builds the responder's new state for m.
func (c *Cipher) respond(ctx context.Context, store Store, m *PreKeySignalMessage) (*State, consumed, error) {
	ours, err := store.IdentityKeyPair(ctx)
	if err != nil {
		return nil, consumed{}, err
	}
	regID, err := store.LocalRegistrationID(ctx)
	if err != nil {
		return nil, consumed{}, err
	}
	spk, err := store.LoadSignedPreKey(ctx, m.SignedPreKeyID)
	if err != nil {
		return nil, consumed{}, err
	}
	r := &prekey.Response{
		Version:       m.Version,
		Ours:          ours,
		SignedPreKey:  spk.KeyPair,
		TheirIdentity: m.IdentityKey,
		TheirBaseKey:  m.BaseKey,
	}
	var used consumed
	if m.HasPreKeyID {
		if used.opk, err = store.LoadPreKey(ctx, m.PreKeyID); err != nil {
			return nil, consumed{}, err
		}
		r.OneTimePreKey = &used.opk.KeyPair
	}
	if m.Version == prekey.Version4 {
		if used.kpk, err = store.LoadKyberPreKey(ctx, m.KyberPreKeyID); err != nil {
			return nil, consumed{}, err
		}
		r.KyberPreKey = &used.kpk.KeyPair.Secret
		r.KyberCiphertext = m.KyberCiphertext
	}
	secrets, err := prekey.Respond(r)
	if err != nil {
		if errors.Is(err, prekey.ErrInvalidKey) {
			return nil, consumed{}, fmt.Errorf("%w: %w", ErrInvalidMessage, err)
		}
		return nil, consumed{}, err
	}
	pq, err := c.newSPQR(m.Version, spqr.B2A, secrets.PQRatchetKey)
	if err != nil {
		return nil, consumed{}, err
	}
	return &State{
		version:        m.Version,
		localIdentity:  ours.PublicKey(),
		remoteIdentity: m.IdentityKey,
		localRegID:     regID,
		remoteRegID:    m.RegistrationID,
		ratchet:        ratchet.InitBob(secrets.RootKey, secrets.ChainKey, spk.KeyPair),
		aliceBaseKey:   m.BaseKey.Bytes(),
		pq:             pq,
	}, used, nil
}

// SessionVersion reports the message version of the current session with
// addr, or 0 when there is none.
func (c *Cipher) SessionVersion(ctx context.Context, addr Address) (int, error) {
	defer c.lock(addr).unlock()
	rec, err := c.store.LoadSession(ctx, addr)
	if err != nil || rec == nil || rec.current == nil {
		return 0, err
	}
	return rec.current.version, nil
}
