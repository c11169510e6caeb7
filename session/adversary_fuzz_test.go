package session_test

// Issue #20, acceptance: "a fuzz target or property test for the class
// behind items 1–3 and 10–11 (any accepted message was authenticated by the
// identity pinned for its account and bound to its addresses; no ciphertext
// decrypts twice from any address)".
//
// A world of three accounts named by service IDs (UUIDs), four devices in
// all (two of one account, sharing its key as in the signal flavour), each
// with its own MemoryStore (identities pinned per account, its own
// account named with WithOwnName) and a Cipher that knows its own address
// (WithLocalAddress). Honest devices start sessions from bundles with and
// without one-time prekeys and, in the signal mode (RequirePQXDH), with
// one-time or last-resort Kyber prekeys; in the whatsapp mode (AllowX3DH)
// the bundles carry no Kyber prekey and sessions are version 3. The server
// is the adversary: every message goes through it, and the schedule — the
// fuzz input — chooses its moves:
//
//   - deliver honestly in order, out of order, or drop;
//   - replay any ciphertext seen to any device, as from any address;
//   - relabel the sender: another device of the account, another account,
//     the account's "PNI:" form, a ghost;
//   - swap the identity-key field of a PreKeySignalMessage for any known
//     identity key, or wrap any SignalMessage seen in the header of any
//     PreKeySignalMessage seen (item 1's thief);
//   - re-encode a base key or a ratchet key non-canonically (item 3);
//   - invent a device of a known account with its own identity key (a
//     ghost, item 10) that sends to, or is sent to by, an honest device;
//   - reinstall a device with a new identity (its account's devices link
//     again with it); the old installations, with their sessions, become
//     thieves the adversary controls, which send, and wrap their messages
//     in a PreKeySignalMessage naming the key now pinned (item 1).
//
// The applications act too: a user accepts an identity that was refused (a
// safety-number change; after a reinstallation, possibly at once), or
// deletes a session.
//
// The oracle, checked after every decryption:
//
//	(a) an accepted plaintext is exactly what the claimed sender address
//	    encrypted for this recipient installation (a ledger of every
//	    encryption; each plaintext carries its ledger ID);
//	(b) no ledger entry is accepted twice, anywhere, from any address;
//	(c) the identity that authenticated it (the key of the installation
//	    that encrypted it) is the one the model pins for the claimed
//	    sender's account (trust on first use, then only what the
//	    application accepted), and the store's Identity says the same;
//	(d) a refused message leaves the recipient's record for the claimed
//	    address byte for byte, its stored identities, and the prekeys the
//	    message names as they were;
//
// plus every trust decision on the sending side (ProcessBundle, Encrypt)
// agrees with the model's pins, and liveness: an honest message delivered
// for the first time to the installation it was encrypted for decrypts,
// and after the schedule every pair of honest devices exchanges messages
// both ways (starting a new session where a deletion, a reinstallation or
// an accepted relabel lost the old one), unless the model says trust
// legitimately fails (a key the user did not accept, a ghost or a
// reinstallation that won trust on first use) — then it must fail with
// ErrUntrustedIdentity; once every user has verified every account's
// current key, every such pair must get through too.
//
// TestAdversarialDeliveryProperty runs directed schedules (one per item)
// and 250 seeded random ones (INTERLOCK_ADV_SCHEDULES=n for a longer
// sweep); FuzzAdversarialDelivery takes the schedule from the fuzzer.
//
// Documented limits the model allows, and counts (session/doc.go): a
// version 3 PreKeySignalMessage has no address binding (X3DH has none), so
// one relabelled before any state with its base key is in the record is
// accepted from the wrong address; one without a one-time prekey is caught
// as a replay only while its state is in the record; and a late
// SignalMessage for an archived session other than the newest may be
// refused (issue #20 item 5's bound).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
)

// advAccounts are the accounts' service IDs (ACIs).
var advAccounts = []string{
	"5f2a7c1e-0b3d-4e6f-8a9b-0c1d2e3f4a5b",
	"9e8d7c6b-5a49-4382-b1a0-f9e8d7c6b5a4",
	"3c4d5e6f-7a8b-49c0-9d1e-2f3a4b5c6d7e",
}

// advLayout places the honest devices: account index and device ID.
var advLayout = []struct {
	acct int
	dev  uint32
}{{0, 1}, {0, 2}, {1, 1}, {2, 1}}

const (
	advMaxSteps   = 64
	advGhostFirst = 7 // device IDs of ghosts start here
)

type advRole int

const (
	advHonest advRole = iota
	advGhost
	advThief
)

// advDev is one installation: a party plus the model's view of it.
type advDev struct {
	*party
	install int
	role    advRole
	spk     prekey.SignedPreKeyRecord
	lr      prekey.KyberPreKeyRecord // last-resort Kyber prekey (signal mode)
	// pins is the model: the identity key each account is pinned to here.
	pins map[string]prekey.IdentityKey
	// refused is the last key refused as untrusted, per address (what a
	// user may then accept).
	refused map[session.Address]prekey.IdentityKey
	// bases holds, per address, the canonical base keys of the sessions
	// that PreKeySignalMessages accepted from it started (and that no
	// deletion has removed): what the record can still recognise.
	bases map[session.Address]map[[32]byte]bool
	// lost holds, per address, the base keys of bases a deletion removed.
	lost map[session.Address]map[[32]byte]bool
	// copies holds, per base key of a version 3 session that a relabelled
	// PreKeySignalMessage copied to other addresses here, the addresses
	// that hold it (the original sender's included).
	copies map[[32]byte]map[session.Address]bool
	// lastFrom is the claimed sender of the last message accepted here.
	lastFrom *session.Address
}

// pin returns the key the model pins for account name here: the local key
// for the own account (WithOwnName), else the first key trusted or the
// last one the user accepted.
func (d *advDev) pin(name string) (prekey.IdentityKey, bool) {
	if name == d.addr.Name {
		return d.id.PublicKey(), true
	}
	k, ok := d.pins[name]
	return k, ok
}

// pinOK reports whether the model trusts key for account name here.
func (d *advDev) pinOK(name string, key prekey.IdentityKey) bool {
	p, ok := d.pin(name)
	return !ok || p.Equal(key)
}

func (d *advDev) setPin(name string, key prekey.IdentityKey) {
	if name != d.addr.Name {
		d.pins[name] = key
	}
}

// advMsg is one ledger entry: a ciphertext an installation produced.
type advMsg struct {
	id               int
	to               *advDev // the recipient installation at encryption time
	fromAddr, toAddr session.Address
	identity         prekey.IdentityKey // the key that authenticates it
	typ              session.MessageType
	ct, pt           []byte
	session          []byte // base key of the state that encrypted it
	attempted        bool   // delivered genuinely once, or dropped
}

type advStats struct {
	schedules, steps                        int
	accepted, refused                       int
	adversarial, adversarialAccepted        int
	limitV3Relabel, limitV3Replay, archived int
	untrustedAsModelled, pairsChecked       int
	pairsTrustFailed, recovered             int
	moves                                   map[string]int
}

func (s *advStats) String() string {
	keys := make([]string, 0, len(s.moves))
	for k := range s.moves {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, s.moves[k])
	}
	return fmt.Sprintf("%d schedules, %d moves (%s); %d decryptions accepted, %d refused; "+
		"%d adversarial deliveries, %d accepted as documented limits (v3 relabel %d, v3 replay %d); "+
		"%d late messages refused by item 5's bound; %d untrusted as modelled; "+
		"%d pairs checked, %d trust legitimately failed, %d recovered by a new session",
		s.schedules, s.steps, strings.TrimSpace(b.String()), s.accepted, s.refused,
		s.adversarial, s.adversarialAccepted, s.limitV3Relabel, s.limitV3Replay,
		s.archived, s.untrustedAsModelled, s.pairsChecked, s.pairsTrustFailed, s.recovered)
}

type advWorld struct {
	t        *testing.T
	ctx      context.Context
	v3       bool
	devs     []*advDev // current honest installations, by slot
	ghosts   []*advDev
	thieves  []*advDev
	keys     []prekey.IdentityKey // every identity key the server has seen
	pool     []*advMsg            // every message the server has seen
	pending  []*advMsg            // honest messages not yet delivered or dropped
	held     []*advMsg            // thieves' messages the adversary holds
	accepted map[int]string       // ledger ID -> how it was first accepted ("" or a documented limit)
	lossy    map[[2]session.Address]bool
	installs int
	log      []string
	st       *advStats
	// lastArchived: the last delivery of exchangeOnce was refused within
	// item 5's documented bound on archived states.
	lastArchived bool
}

func newAdvWorld(t *testing.T, v3 bool, st *advStats) *advWorld {
	w := &advWorld{
		t: t, ctx: context.Background(), v3: v3, st: st,
		accepted: map[int]string{}, lossy: map[[2]session.Address]bool{},
	}
	// In the signal flavour an account's devices share its identity key.
	ids := make([]prekey.IdentityKeyPair, len(advAccounts))
	for i := range ids {
		id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
		w.must(err)
		ids[i] = id
	}
	for _, l := range advLayout {
		w.devs = append(w.devs, w.newInstallWith(session.Address{Name: advAccounts[l.acct], DeviceID: l.dev}, advHonest, ids[l.acct]))
	}
	return w
}

func (w *advWorld) logf(format string, args ...any) {
	w.log = append(w.log, fmt.Sprintf(format, args...))
}

// fail reports an oracle violation with the schedule that led to it.
func (w *advWorld) fail(format string, args ...any) {
	w.t.Helper()
	log := w.log
	if len(log) > 40 {
		log = log[len(log)-40:]
	}
	w.t.Fatalf("oracle violation (%s mode): %s\nschedule (last %d moves):\n  %s",
		map[bool]string{false: "signal/PQXDH", true: "whatsapp/X3DH"}[w.v3],
		fmt.Sprintf(format, args...), len(log), strings.Join(log, "\n  "))
}

func (w *advWorld) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// newInstall creates an installation at addr with a fresh identity, a
// signed prekey and (signal mode) a last-resort Kyber prekey.
func (w *advWorld) newInstall(addr session.Address, role advRole) *advDev {
	w.t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	w.must(err)
	return w.newInstallWith(addr, role, id)
}

// newInstallWith is newInstall with a given identity.
func (w *advWorld) newInstallWith(addr session.Address, role advRole, id prekey.IdentityKeyPair) *advDev {
	w.t.Helper()
	reg, err := prekey.GenerateRegistrationID(rand.Reader)
	w.must(err)
	st := session.NewMemoryStore(id, reg, session.WithOwnName(addr.Name))
	opts := []session.Option{session.WithLocalAddress(addr)}
	if w.v3 {
		opts = append(opts, session.WithPolicy(session.AllowX3DH))
	}
	d := &advDev{
		party:   &party{addr: addr, id: id, regID: reg, store: st, cipher: session.NewCipher(st, opts...), nextID: 100},
		install: w.installs, role: role,
		pins: map[string]prekey.IdentityKey{}, refused: map[session.Address]prekey.IdentityKey{},
		bases: map[session.Address]map[[32]byte]bool{}, lost: map[session.Address]map[[32]byte]bool{},
		copies: map[[32]byte]map[session.Address]bool{},
	}
	w.installs++
	d.spk, err = prekey.GenerateSignedPreKey(rand.Reader, id, 1, time.Now())
	w.must(err)
	w.must(st.StoreSignedPreKey(w.ctx, &d.spk))
	if !w.v3 {
		d.lr, err = prekey.GenerateKyberPreKey(rand.Reader, id, 1, true, time.Now())
		w.must(err)
		w.must(st.StoreKyberPreKey(w.ctx, &d.lr))
	}
	if !w.known(id.PublicKey()) {
		w.keys = append(w.keys, id.PublicKey())
	}
	return d
}

func (w *advWorld) known(k prekey.IdentityKey) bool {
	for _, kk := range w.keys {
		if kk.Equal(k) {
			return true
		}
	}
	return false
}

// bundle is what the server hands out for d: one-time prekey or not; in
// the signal mode a fresh one-time Kyber prekey or the last-resort one.
func (w *advWorld) bundle(d *advDev, oneTime, lastResort bool) *prekey.Bundle {
	w.t.Helper()
	b := &prekey.Bundle{
		RegistrationID: d.regID, DeviceID: d.addr.DeviceID, IdentityKey: d.id.PublicKey(),
		SignedPreKeyID: d.spk.ID, SignedPreKey: d.spk.KeyPair.Public, SignedPreKeySignature: d.spk.Signature,
	}
	if oneTime {
		pks, err := prekey.GeneratePreKeys(rand.Reader, d.nextID, 1)
		w.must(err)
		d.nextID++
		w.must(d.store.StorePreKey(w.ctx, &pks[0]))
		b.PreKeyID, b.PreKey = pks[0].ID, pks[0].KeyPair.Public
	}
	if !w.v3 {
		k := d.lr
		if !lastResort {
			var err error
			k, err = prekey.GenerateKyberPreKey(rand.Reader, d.id, d.nextID, false, time.Now())
			w.must(err)
			d.nextID++
			w.must(d.store.StoreKyberPreKey(w.ctx, &k))
		}
		b.KyberPreKeyID, b.KyberPreKey, b.KyberPreKeySignature = k.ID, k.KeyPair.Public, k.Signature
	}
	return b
}

func pairKey(a, b session.Address) [2]session.Address {
	if a.String() > b.String() {
		a, b = b, a
	}
	return [2]session.Address{a, b}
}

// markLossy records that the sessions between a and b may have lost state
// legitimately: an old message of theirs may fail, a new session is needed.
func (w *advWorld) markLossy(a, b session.Address) { w.lossy[pairKey(a, b)] = true }

func (w *advWorld) isLossy(a, b session.Address) bool { return w.lossy[pairKey(a, b)] }

// current returns the honest installation at addr, or nil.
func (w *advWorld) current(addr session.Address) *advDev {
	for _, d := range w.devs {
		if d.addr == addr {
			return d
		}
	}
	return nil
}

// checkTrustDecision compares a sending-side trust decision with the model.
func (w *advWorld) checkTrustDecision(x *advDev, addr session.Address, key prekey.IdentityKey, err error, what string) {
	w.t.Helper()
	want := x.pinOK(addr.Name, key)
	got := !errors.Is(err, session.ErrUntrustedIdentity)
	if err != nil && got {
		w.fail("%s: %s to %s: unexpected error %v", what, x.addr, addr, err)
	}
	if want != got {
		w.fail("%s: %s to %s: trusted=%v, but the model pins %v for the account (key %v)",
			what, x.addr, addr, got, w.keyName(x.pin(addr.Name)), w.keyName(key, true))
	}
	if !got {
		w.st.untrustedAsModelled++
		x.refused[addr] = key
	}
}

// keyName names a key by its index in w.keys, for messages.
func (w *advWorld) keyName(k prekey.IdentityKey, ok bool) string {
	if !ok {
		return "nothing"
	}
	for i, kk := range w.keys {
		if kk.Equal(k) {
			return fmt.Sprintf("K%d", i)
		}
	}
	return "an unknown key"
}

// startSession runs ProcessBundle at x for to's current bundle and checks
// the trust decision; it reports whether a session was started.
func (w *advWorld) startSession(x, to *advDev, oneTime, lastResort bool) bool {
	w.t.Helper()
	b := w.bundle(to, oneTime, lastResort)
	err := x.cipher.ProcessBundle(w.ctx, to.addr, b)
	w.checkTrustDecision(x, to.addr, b.IdentityKey, err, "ProcessBundle")
	if err != nil {
		return false
	}
	if _, ok := x.pin(to.addr.Name); !ok {
		x.setPin(to.addr.Name, b.IdentityKey)
	}
	return true
}

// send encrypts a fresh ledger entry at x for to (the installation now at
// that address), starting a session when there is none or forceNew; on an
// untrusted current session it starts a new one, as an application would.
// It returns nil when trust (as modelled) forbids it.
func (w *advWorld) send(x, to *advDev, oneTime, lastResort, forceNew bool) *advMsg {
	w.t.Helper()
	v, err := x.cipher.SessionVersion(w.ctx, to.addr)
	w.must(err)
	if v == 0 || forceNew {
		if !w.startSession(x, to, oneTime, lastResort) {
			return nil
		}
	}
	m := &advMsg{id: len(w.pool) + 1, to: to, fromAddr: x.addr, toAddr: to.addr, identity: x.id.PublicKey()}
	m.pt = fmt.Appendf(nil, "adv#%d#%s>%s", m.id, x.addr, to.addr)
	for try := 0; ; try++ {
		rec, err := x.store.LoadSession(w.ctx, to.addr)
		w.must(err)
		remote := rec.Current().RemoteIdentity()
		m.session = rec.Current().BaseKey()
		m.typ, m.ct, err = x.cipher.Encrypt(w.ctx, to.addr, m.pt)
		if err == nil {
			break
		}
		w.checkTrustDecision(x, to.addr, remote, err, "Encrypt")
		if try > 0 || x.role != advHonest || !w.startSession(x, to, oneTime, lastResort) {
			return nil
		}
	}
	w.pool = append(w.pool, m)
	w.logf("#%d %s %s -> %s (%s)", m.id, map[session.MessageType]string{session.TypeSignal: "signal", session.TypePreKey: "prekey"}[m.typ],
		x.addr, to.addr, map[advRole]string{advHonest: "honest", advGhost: "ghost", advThief: "thief"}[x.role])
	return m
}

// canonical returns a base key's u-coordinate with the unused top bit
// cleared: the key X25519 sees.
func canonical(k prekey.PublicKey) [32]byte { return canonicalBytes(k.Bytes()) }

// canonicalBytes is canonical for a serialized key (type byte and u).
func canonicalBytes(b []byte) [32]byte {
	var u [32]byte
	if len(b) == 33 {
		copy(u[:], b[1:])
	}
	u[31] &= 0x7f
	return u
}

type advDelivery struct {
	err      error
	accepted bool
}

// deliver hands ct to r as from claimed, checks the oracle and updates the
// model. m is the ledger entry the bytes came from; genuine is set for the
// first honest delivery of m to the installation it was encrypted for.
func (w *advWorld) deliver(r *advDev, claimed session.Address, typ session.MessageType, ct []byte, what string, m *advMsg, genuine bool) advDelivery {
	w.t.Helper()
	ctx := w.ctx
	before := r.record(w.t, claimed)
	idBefore, hadID, err := r.store.Identity(ctx, claimed)
	w.must(err)
	devBefore, hadDev, err := r.store.DeviceIdentity(ctx, claimed)
	w.must(err)
	var pk *session.PreKeySignalMessage
	var opkHad, kyberHad bool
	if typ == session.TypePreKey {
		if p, err := session.ParsePreKeySignalMessage(bytes.Clone(ct)); err == nil {
			pk = p
			if p.HasPreKeyID {
				_, err := r.store.LoadPreKey(ctx, p.PreKeyID)
				opkHad = err == nil
			}
			if p.Version == prekey.Version4 {
				_, err := r.store.LoadKyberPreKey(ctx, p.KyberPreKeyID)
				kyberHad = err == nil
			}
		}
	}
	var curBase []byte
	archived := 0
	if rec, err := r.store.LoadSession(ctx, claimed); err == nil && rec != nil {
		if c := rec.Current(); c != nil {
			curBase = c.BaseKey()
		}
		archived = rec.ArchivedStates()
	}

	pt, derr := r.cipher.Decrypt(ctx, claimed, typ, bytes.Clone(ct))
	w.logf("   %s to %s as from %s: %v", what, r.addr, claimed, errOr(derr))
	if !genuine {
		w.st.adversarial++
	}
	if derr != nil {
		w.st.refused++
		// (d) a refused message changes nothing.
		if after := r.record(w.t, claimed); !bytes.Equal(after, before) {
			w.fail("refused %s changed %s's record for %s (%v)", what, r.addr, claimed, derr)
		}
		idAfter, hasID, err := r.store.Identity(ctx, claimed)
		w.must(err)
		devAfter, hasDev, err := r.store.DeviceIdentity(ctx, claimed)
		w.must(err)
		if hasID != hadID || (hadID && !idAfter.Equal(idBefore)) || hasDev != hadDev || (hadDev && !devAfter.Equal(devBefore)) {
			w.fail("refused %s changed the identity %s stores for %s (%v)", what, r.addr, claimed, derr)
		}
		if pk != nil {
			if _, err := r.store.LoadPreKey(ctx, pk.PreKeyID); pk.HasPreKeyID && opkHad && err != nil {
				w.fail("refused %s consumed one-time prekey %d at %s", what, pk.PreKeyID, r.addr)
			}
			if _, err := r.store.LoadKyberPreKey(ctx, pk.KyberPreKeyID); kyberHad && err != nil {
				w.fail("refused %s consumed Kyber prekey %d at %s", what, pk.KyberPreKeyID, r.addr)
			}
		}
		var ue *session.UntrustedIdentityError
		if errors.As(derr, &ue) {
			r.refused[claimed] = ue.Key
		}
		if genuine {
			w.checkLiveness(r, claimed, m, derr, curBase, archived)
		}
		return advDelivery{err: derr}
	}

	// Accepted: the oracle.
	w.st.accepted++
	e := w.entry(pt)
	if e == nil || !bytes.Equal(pt, e.pt) {
		w.fail("%s to %s as from %s decrypted to %q, which no one encrypted", what, r.addr, claimed, pt)
	}
	limit := ""
	if w.v3 {
		v3pk := pk != nil && pk.Version == prekey.Version3
		fresh := v3pk && !r.bases[claimed][canonical(pk.BaseKey)]
		sb := canonicalBytes(e.session)
		switch {
		case fresh && claimed != e.fromAddr:
			limit = "v3 relabel"
			w.st.limitV3Relabel++
			if r.copies[sb] == nil {
				r.copies[sb] = map[session.Address]bool{e.fromAddr: true}
			}
			r.copies[sb][claimed] = true
		case r.copies[sb][claimed] && r.copies[sb][e.fromAddr]:
			// The session was copied to claimed by a relabelled message:
			// each of its messages may be accepted at every copy.
			limit = "v3 relabelled session"
			w.st.limitV3Relabel++
		case fresh && !pk.HasPreKeyID && w.wasAccepted(e.id):
			limit = "v3 replay"
			w.st.limitV3Replay++
		case w.wasAccepted(e.id) && r.lost[claimed][canonicalBytes(e.session)]:
			// The session was deleted, then started again from a
			// PreKeySignalMessage without one-time prekey: the same
			// limit, for every message of that session.
			limit = "v3 replay of a deleted session"
			w.st.limitV3Replay++
		}
	}
	if prev, ok := w.accepted[e.id]; ok && limit == "" && prev != "" {
		// The first acceptance was a documented v3 limit (a copy of the
		// session at a relabelled address); this one is the original's.
		limit = prev + ", then the original"
		w.st.limitV3Replay++
	}
	// (a) what the claimed sender encrypted for this very installation.
	if limit == "" && (claimed != e.fromAddr || r != e.to) {
		w.fail("%s accepted at %s (installation %d) as from %s: it is #%d, which %s encrypted for %s (installation %d)",
			what, r.addr, r.install, claimed, e.id, e.fromAddr, e.toAddr, e.to.install)
	}
	// (b) never twice.
	if limit == "" && w.wasAccepted(e.id) {
		w.fail("%s: #%d (%s -> %s) decrypted a second time, at %s as from %s", what, e.id, e.fromAddr, e.toAddr, r.addr, claimed)
	}
	// (c) authenticated by the identity pinned for the claimed account.
	if p, ok := r.pin(claimed.Name); ok && !p.Equal(e.identity) {
		w.fail("%s accepted at %s as from %s: authenticated by %s (the key of the installation that encrypted #%d), but the account is pinned to %s",
			what, r.addr, claimed, w.keyName(e.identity, true), e.id, w.keyName(p, true))
	}
	if k, ok, err := r.store.Identity(ctx, claimed); err != nil || !ok || !k.Equal(e.identity) {
		w.fail("%s accepted at %s as from %s: the store pins %s for the account, the message was authenticated by %s (%v)",
			what, r.addr, claimed, w.keyName(k, ok), w.keyName(e.identity, true), err)
	}
	r.setPin(claimed.Name, e.identity)
	if !w.wasAccepted(e.id) {
		w.accepted[e.id] = limit
	}
	if pk != nil {
		if r.bases[claimed] == nil {
			r.bases[claimed] = map[[32]byte]bool{}
		}
		r.bases[claimed][canonical(pk.BaseKey)] = true
	}
	if limit != "" || !genuine {
		w.st.adversarialAccepted++
		// What the adversary made r accept legitimately (a thief or a ghost
		// the model trusts, a documented v3 limit) may displace the state
		// the honest devices share.
		w.markLossy(r.addr, claimed)
		w.markLossy(r.addr, e.fromAddr)
		if limit != "" {
			w.logf("   (accepted as the documented %s limit)", limit)
		}
	}
	c := claimed
	r.lastFrom = &c
	return advDelivery{accepted: true}
}

func (w *advWorld) wasAccepted(id int) bool {
	_, ok := w.accepted[id]
	return ok
}

func errOr(err error) string {
	if err == nil {
		return "accepted"
	}
	return err.Error()
}

// checkLiveness: the first genuine delivery of an honest message was
// refused; that is a failure unless the model explains it.
func (w *advWorld) checkLiveness(r *advDev, claimed session.Address, m *advMsg, err error, curBase []byte, archived int) {
	w.t.Helper()
	switch {
	case w.isLossy(r.addr, claimed):
		// The recipient may no longer hold the session (or, after a
		// reinstallation, the sender's key may no longer be pinned).
	case !r.pinOK(claimed.Name, m.identity):
		if !errors.Is(err, session.ErrUntrustedIdentity) {
			w.fail("#%d from %s, whose key is not pinned at %s, refused with %v, want ErrUntrustedIdentity", m.id, claimed, r.addr, err)
		}
		w.st.untrustedAsModelled++
	case m.typ == session.TypeSignal && archived >= 2 && !bytes.Equal(curBase, m.session) && errors.Is(err, session.ErrInvalidMessage):
		w.st.archived++ // item 5's documented bound on archived states
	default:
		w.fail("honest #%d (%s -> %s), delivered once to the installation it was encrypted for, refused: %v", m.id, m.fromAddr, m.toAddr, err)
	}
}

// entry returns the ledger entry a plaintext names.
func (w *advWorld) entry(pt []byte) *advMsg {
	s, ok := strings.CutPrefix(string(pt), "adv#")
	if !ok {
		return nil
	}
	n, _, ok := strings.Cut(s, "#")
	if !ok {
		return nil
	}
	i, err := strconv.Atoi(n)
	if err != nil || i < 1 || i > len(w.pool) {
		return nil
	}
	return w.pool[i-1]
}

// deliverHonest delivers pending[i] to the installation at its address.
func (w *advWorld) deliverHonest(i int) {
	m := w.pending[i]
	w.pending = append(w.pending[:i], w.pending[i+1:]...)
	r := w.current(m.toAddr)
	genuine := !m.attempted && r == m.to
	m.attempted = true
	w.deliver(r, m.fromAddr, m.typ, m.ct, fmt.Sprintf("deliver #%d", m.id), m, genuine)
}

// addresses the adversary relabels a sender as: every device of every
// account (honest slots, one unused), the PNI form, the ghosts.
func (w *advWorld) relabelTargets(from session.Address) []session.Address {
	var out []session.Address
	for _, a := range advAccounts {
		for _, dev := range []uint32{1, 2, 3} {
			out = append(out, session.Address{Name: a, DeviceID: dev})
		}
	}
	out = append(out, session.Address{Name: "PNI:" + from.Name, DeviceID: from.DeviceID})
	for _, g := range w.ghosts {
		out = append(out, g.addr)
	}
	filtered := out[:0]
	for _, a := range out {
		if a != from {
			filtered = append(filtered, a)
		}
	}
	return filtered
}

// advTape reads the schedule.
type advTape struct {
	b []byte
	i int
}

func (t *advTape) more() bool { return t.i < len(t.b) }

// n returns the next byte modulo k (0 once the tape is exhausted).
func (t *advTape) n(k int) int {
	if k <= 0 || t.i >= len(t.b) {
		if t.i < len(t.b) {
			t.i++
		}
		return 0
	}
	c := t.b[t.i]
	t.i++
	return int(c) % k
}

// The moves, by weight: a move's byte is its index in advMoves modulo its
// length.
const (
	mvSend = iota
	mvDeliver
	mvDeliverAny
	mvDrop
	mvReplay
	mvRelabel
	mvSwapIdentity
	mvWrap
	mvNonCanonical
	mvGhost
	mvReinstall
	mvThief
	mvAccept
	mvDelete
	mvCount
)

var advMoveNames = [mvCount]string{"send", "deliver", "deliver-any", "drop", "replay", "relabel",
	"swap-identity", "wrap", "non-canonical", "ghost", "reinstall", "thief", "accept", "delete"}

var advMoves = []int{
	mvSend, mvSend, mvSend, mvSend, mvSend,
	mvDeliver, mvDeliver, mvDeliver, mvDeliver, mvDeliverAny, mvDrop,
	mvReplay, mvReplay, mvRelabel, mvSwapIdentity, mvSwapIdentity, mvWrap, mvNonCanonical,
	mvGhost, mvReinstall, mvThief, mvThief, mvAccept, mvAccept, mvDelete,
}

// step plays one move read from the tape.
func (w *advWorld) step(t *advTape) {
	w.t.Helper()
	mv := advMoves[t.n(len(advMoves))]
	w.st.moves[advMoveNames[mv]]++
	w.st.steps++
	n := len(w.devs)
	switch mv {
	case mvSend:
		x := w.devs[t.n(n)]
		to := w.devs[t.n(n)]
		if to == x {
			to = w.devs[(indexOf(w.devs, x)+1)%n]
		}
		kind := t.n(16)
		if m := w.send(x, to, kind&1 == 0, kind&2 != 0, kind&12 == 12); m != nil {
			w.pending = append(w.pending, m)
		}
	case mvDeliver:
		if len(w.pending) > 0 {
			w.deliverHonest(0)
		}
	case mvDeliverAny:
		i := t.n(len(w.pending))
		if len(w.pending) > 0 {
			w.deliverHonest(i)
		}
	case mvDrop:
		i := t.n(len(w.pending))
		if len(w.pending) > 0 {
			m := w.pending[i]
			m.attempted = true
			w.pending = append(w.pending[:i], w.pending[i+1:]...)
			w.logf("   drop #%d", m.id)
		}
	case mvReplay:
		k, rb, cb := t.n(256), t.n(256), t.n(256)
		// Half the time a PreKeySignalMessage: the replay that could start
		// a session again.
		from := w.pool
		if k&1 == 1 {
			from = w.poolOf(session.TypePreKey)
		}
		if len(from) == 0 {
			return
		}
		m := from[(k>>1)%len(from)]
		r := w.current(m.toAddr)
		if rb&1 == 1 || r == nil {
			r = w.devs[(rb>>1)%n]
		}
		claimed := m.fromAddr
		if cb%4 == 3 {
			ts := w.relabelTargets(m.fromAddr)
			claimed = ts[(cb>>2)%len(ts)]
		}
		w.deliver(r, claimed, m.typ, m.ct, fmt.Sprintf("replay #%d", m.id), m, false)
	case mvRelabel:
		k, cb := t.n(len(w.pool)), t.n(256)
		if len(w.pool) == 0 {
			return
		}
		m := w.pool[k]
		r := w.current(m.toAddr)
		if r == nil {
			return
		}
		ts := w.relabelTargets(m.fromAddr)
		w.deliver(r, ts[cb%len(ts)], m.typ, m.ct, fmt.Sprintf("relabelled #%d", m.id), m, false)
	case mvSwapIdentity:
		k, ib, cb := t.n(256), t.n(256), t.n(256)
		// Half the time a message in transit, which the adversary then
		// never delivers as it was; else any seen.
		var m *advMsg
		if k&1 == 1 {
			m = w.takeInTransit(k >> 1)
		}
		if m == nil {
			pre := w.poolOf(session.TypePreKey)
			if len(pre) == 0 {
				return
			}
			m = pre[(k>>1)%len(pre)]
		}
		r, claimed := w.target(m, cb)
		if r == nil {
			return
		}
		key := w.chooseKey(r, claimed, ib)
		ct, ok := craftAdv(m.ct, key, nil)
		if ok {
			w.deliver(r, claimed, session.TypePreKey, ct, fmt.Sprintf("#%d with identity %s", m.id, w.keyName(key, true)), m, false)
		}
	case mvWrap:
		pb, sb, ib := t.n(256), t.n(256), t.n(256)
		pre := w.poolOf(session.TypePreKey)
		if len(pre) == 0 {
			return
		}
		p := pre[pb%len(pre)]
		// The adversary prefers a SignalMessage between the same addresses:
		// the inner message of a state the recipient may still hold.
		var same []*advMsg
		for _, s := range w.pool {
			if s.fromAddr == p.fromAddr && s.toAddr == p.toAddr && s != p {
				same = append(same, s)
			}
		}
		if len(same) == 0 || sb&1 == 1 {
			same = w.pool
		}
		s := same[(sb>>1)%len(same)]
		inner := innerOf(s)
		r := w.current(p.toAddr)
		if inner == nil || r == nil {
			return
		}
		key := w.chooseKey(r, p.fromAddr, ib)
		if ct, ok := craftAdv(p.ct, key, inner); ok {
			w.deliver(r, p.fromAddr, session.TypePreKey, ct,
				fmt.Sprintf("#%d wrapped in #%d's header with identity %s", s.id, p.id, w.keyName(key, true)), s, false)
		}
	case mvNonCanonical:
		k, which := t.n(len(w.pool)), t.n(2)
		if len(w.pool) == 0 {
			return
		}
		m := w.pool[k]
		r := w.current(m.toAddr)
		if r == nil {
			return
		}
		ct, what := flipAdv(m, which == 0)
		if ct != nil {
			w.deliver(r, m.fromAddr, m.typ, ct, fmt.Sprintf("#%d with a non-canonical %s", m.id, what), m, false)
		}
	case mvGhost:
		a, rb, kind := t.n(len(advAccounts)), t.n(n), t.n(16)
		g := w.newInstall(session.Address{Name: advAccounts[a], DeviceID: advGhostFirst + uint32(len(w.ghosts))}, advGhost)
		w.ghosts = append(w.ghosts, g)
		r := w.devs[rb]
		w.logf("ghost %s (%s) appears", g.addr, w.keyName(g.id.PublicKey(), true))
		if kind&4 != 0 {
			// The server lists the ghost among the account's devices: an
			// honest device starts a session with it and sends.
			if m := w.send(r, g, kind&1 == 0, kind&2 != 0, false); m != nil {
				w.deliver(g, r.addr, m.typ, m.ct, fmt.Sprintf("deliver #%d", m.id), m, false)
			}
			return
		}
		if m := w.send(g, r, kind&1 == 0, kind&2 != 0, false); m != nil {
			w.deliver(r, g.addr, m.typ, m.ct, fmt.Sprintf("ghost #%d", m.id), m, false)
		}
	case mvReinstall:
		// The device registers again with a new identity; in the signal
		// flavour the key is the account's, so its other devices link
		// again with it. The old installations become thieves.
		name := w.devs[t.n(n)].addr.Name
		verify := t.n(2) == 1
		id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
		w.must(err)
		for slot, old := range w.devs {
			if old.addr.Name != name {
				continue
			}
			old.role = advThief
			w.thieves = append(w.thieves, old)
			nd := w.newInstallWith(old.addr, advHonest, id)
			w.devs[slot] = nd
			for _, d := range w.devs {
				w.markLossy(d.addr, nd.addr)
			}
			for _, g := range w.ghosts {
				w.markLossy(g.addr, nd.addr)
			}
			w.logf("%s reinstalls: %s -> %s; the old installation is a thief", nd.addr, w.keyName(old.id.PublicKey(), true), w.keyName(nd.id.PublicKey(), true))
		}
		if verify {
			// The account's contacts verify the new key at once (they hold
			// sessions with the old installations: item 1's set-up).
			for _, r := range w.devs {
				if r.addr.Name == name {
					continue
				}
				addr := session.Address{Name: name, DeviceID: 1}
				if _, err := r.store.SaveIdentity(w.ctx, addr, id.PublicKey()); err != nil {
					w.fail("%s accepting the new key of %s: %v", r.addr, name, err)
				}
				r.setPin(name, id.PublicKey())
			}
			w.logf("their contacts accept %s", w.keyName(id.PublicKey(), true))
		}
	case mvThief:
		k, rb, how := t.n(256), t.n(256), t.n(3)
		if len(w.thieves) == 0 {
			return
		}
		th := w.thieves[k%len(w.thieves)]
		// The thief sends to a peer it still holds a session with.
		for i := range n {
			r := w.devs[(rb+i)%n]
			if r.addr == th.addr {
				continue
			}
			if v, err := th.cipher.SessionVersion(w.ctx, r.addr); err != nil || v == 0 {
				continue
			}
			m := w.send(th, r, false, false, false)
			switch {
			case m == nil:
			case how == 0:
				w.deliver(r, th.addr, m.typ, m.ct, fmt.Sprintf("thief #%d", m.id), m, false)
			case how == 1:
				w.held = append(w.held, m) // for the adversary to doctor
			default:
				// Item 1's thief: the message in a PreKeySignalMessage of
				// its session naming the key r now pins for the account.
				key, ok := r.pin(th.addr.Name)
				if !ok {
					key = th.id.PublicKey()
				}
				hdr := m
				if m.typ == session.TypeSignal {
					hdr = nil
					for _, p := range w.pool {
						// Either side's first message names the session's
						// base key.
						if p.typ == session.TypePreKey && bytes.Equal(p.session, m.session) {
							hdr = p
						}
					}
				}
				if hdr == nil {
					return
				}
				if ct, ok := craftAdv(hdr.ct, key, innerOf(m)); ok {
					w.deliver(r, th.addr, session.TypePreKey, ct,
						fmt.Sprintf("thief #%d in #%d's header with identity %s", m.id, hdr.id, w.keyName(key, true)), m, false)
				}
			}
			return
		}
	case mvAccept:
		rb, ab := t.n(n), t.n(256)
		r := w.devs[rb]
		addrs := make([]session.Address, 0, len(r.refused))
		for a := range r.refused {
			if a.Name != r.addr.Name {
				addrs = append(addrs, a)
			}
		}
		if len(addrs) == 0 {
			return
		}
		sort.Slice(addrs, func(i, j int) bool { return addrs[i].String() < addrs[j].String() })
		a := addrs[ab%len(addrs)]
		key := r.refused[a]
		delete(r.refused, a)
		if _, err := r.store.SaveIdentity(w.ctx, a, key); err != nil {
			w.fail("%s accepting %s for %s: %v", r.addr, w.keyName(key, true), a, err)
		}
		r.setPin(a.Name, key)
		w.logf("%s's user accepts %s for %s", r.addr, w.keyName(key, true), a)
	case mvDelete:
		rb, pb := t.n(n), t.n(256)
		r := w.devs[rb]
		var a session.Address
		if pb&1 == 1 && r.lastFrom != nil {
			a = *r.lastFrom
		} else {
			a = w.devs[(pb>>1)%n].addr
		}
		w.must(r.cipher.DeleteSession(w.ctx, a))
		for b := range r.bases[a] {
			if r.lost[a] == nil {
				r.lost[a] = map[[32]byte]bool{}
			}
			r.lost[a][b] = true
		}
		delete(r.bases, a)
		w.markLossy(r.addr, a)
		w.logf("%s deletes its session with %s", r.addr, a)
	}
}

func indexOf(ds []*advDev, d *advDev) int {
	for i, x := range ds {
		if x == d {
			return i
		}
	}
	return -1
}

// takeInTransit removes and returns the i-th (modulo) PreKeySignalMessage
// still in transit (honest and pending, or held from a thief), or nil.
func (w *advWorld) takeInTransit(i int) *advMsg {
	var cands []*advMsg
	for _, l := range [][]*advMsg{w.pending, w.held} {
		for _, m := range l {
			if m.typ == session.TypePreKey {
				cands = append(cands, m)
			}
		}
	}
	if len(cands) == 0 {
		return nil
	}
	m := cands[i%len(cands)]
	m.attempted = true
	for _, l := range []*[]*advMsg{&w.pending, &w.held} {
		for j, x := range *l {
			if x == m {
				*l = append((*l)[:j], (*l)[j+1:]...)
				break
			}
		}
	}
	return m
}

func (w *advWorld) poolOf(typ session.MessageType) []*advMsg {
	var out []*advMsg
	for _, m := range w.pool {
		if m.typ == typ {
			out = append(out, m)
		}
	}
	return out
}

// target picks where a doctored message goes: its own recipient, as from
// its sender (cb%4 != 3) or from a relabelled address.
func (w *advWorld) target(m *advMsg, cb int) (*advDev, session.Address) {
	r := w.current(m.toAddr)
	claimed := m.fromAddr
	if cb%4 == 3 {
		ts := w.relabelTargets(m.fromAddr)
		claimed = ts[(cb>>2)%len(ts)]
	}
	return r, claimed
}

// chooseKey picks the identity field the adversary writes: half the time
// the key r pins for the claimed account (the one that passes a check of
// the field), else any key seen.
func (w *advWorld) chooseKey(r *advDev, claimed session.Address, ib int) prekey.IdentityKey {
	if r != nil && ib&1 == 0 {
		if k, ok := r.pin(claimed.Name); ok {
			return k
		}
	}
	return w.keys[(ib>>1)%len(w.keys)]
}

// innerOf returns the SignalMessage bytes of m (the inner one of a
// PreKeySignalMessage).
func innerOf(m *advMsg) []byte {
	if m.typ == session.TypeSignal {
		return m.ct
	}
	p, err := session.ParsePreKeySignalMessage(bytes.Clone(m.ct))
	if err != nil {
		return nil
	}
	return p.Message.Bytes()
}

// craftAdv re-encodes a PreKeySignalMessage with another identity key field
// and, when inner is not nil, another inner SignalMessage: the outer
// message has no MAC, so anyone can.
func craftAdv(orig []byte, identity prekey.IdentityKey, inner []byte) ([]byte, bool) {
	m, err := session.ParsePreKeySignalMessage(bytes.Clone(orig))
	if err != nil {
		return nil, false
	}
	if inner == nil {
		inner = m.Message.Bytes()
	}
	out := []byte{orig[0]}
	if m.HasPreKeyID {
		out = protowire.AppendTag(out, 1, protowire.VarintType)
		out = protowire.AppendVarint(out, uint64(m.PreKeyID))
	}
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendBytes(out, m.BaseKey.Bytes())
	out = protowire.AppendTag(out, 3, protowire.BytesType)
	out = protowire.AppendBytes(out, identity.Bytes())
	out = protowire.AppendTag(out, 4, protowire.BytesType)
	out = protowire.AppendBytes(out, inner)
	out = protowire.AppendTag(out, 5, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(m.RegistrationID))
	out = protowire.AppendTag(out, 6, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(m.SignedPreKeyID))
	if m.KyberCiphertext != nil {
		out = protowire.AppendTag(out, 7, protowire.VarintType)
		out = protowire.AppendVarint(out, uint64(m.KyberPreKeyID))
		out = protowire.AppendTag(out, 8, protowire.BytesType)
		out = protowire.AppendBytes(out, m.KyberCiphertext)
	}
	return out, true
}

// flipAdv sets the unused top bit of the u-coordinate of m's base key
// (baseKey, PreKeySignalMessages only) or ratchet key: the same point for
// X25519, other bytes.
func flipAdv(m *advMsg, baseKey bool) ([]byte, string) {
	var key []byte
	what := "ratchet key"
	if m.typ == session.TypePreKey {
		p, err := session.ParsePreKeySignalMessage(bytes.Clone(m.ct))
		if err != nil {
			return nil, ""
		}
		key = p.Message.RatchetKey.Bytes()
		if baseKey {
			key, what = p.BaseKey.Bytes(), "base key"
		}
	} else {
		s, err := session.ParseSignalMessage(bytes.Clone(m.ct))
		if err != nil {
			return nil, ""
		}
		key = s.RatchetKey.Bytes()
	}
	i := bytes.Index(m.ct, key)
	if i < 0 {
		return nil, ""
	}
	out := bytes.Clone(m.ct)
	out[i+32] ^= 0x80
	return out, what
}

// finish ends the adversary's schedule and checks liveness: every pair of
// honest installations exchanges messages both ways unless the model says
// trust fails between them.
func (w *advWorld) finish() {
	w.t.Helper()
	w.logf("-- the adversary stops; liveness --")
	failed := w.livenessRound(nil)
	// Then every user verifies every account's current key (the safety
	// numbers), undoing what ghosts and reinstallations did to trust: now
	// the pairs that could not must get through too.
	if len(failed) == 0 {
		return
	}
	w.logf("-- every user verifies every account's key --")
	for _, x := range w.devs {
		for _, y := range w.devs {
			if y.addr.Name == x.addr.Name || x.pinOK(y.addr.Name, y.id.PublicKey()) {
				continue
			}
			if _, err := x.store.SaveIdentity(w.ctx, y.addr, y.id.PublicKey()); err != nil {
				w.fail("%s accepting %s for %s: %v", x.addr, w.keyName(y.id.PublicKey(), true), y.addr, err)
			}
			x.setPin(y.addr.Name, y.id.PublicKey())
		}
	}
	if again := w.livenessRound(failed); len(again) > 0 {
		w.fail("%d pairs still without trust after every key was verified", len(again))
	}
}

// livenessRound checks every pair of honest installations (only those in
// only, when it is not nil) and returns those the model says cannot trust
// each other.
func (w *advWorld) livenessRound(only map[[2]session.Address]bool) (trustFailed map[[2]session.Address]bool) {
	w.t.Helper()
	trustFailed = map[[2]session.Address]bool{}
	for i, x := range w.devs {
		for _, y := range w.devs[i+1:] {
			if only != nil && !only[pairKey(x.addr, y.addr)] {
				continue
			}
			w.st.pairsChecked++
			trustOK := x.pinOK(y.addr.Name, y.id.PublicKey()) && y.pinOK(x.addr.Name, x.id.PublicKey())
			if !trustOK {
				w.st.pairsTrustFailed++
				trustFailed[pairKey(x.addr, y.addr)] = true
				w.exchangeRefused(x, y)
				continue
			}
			// First on the sessions they hold.
			if !w.exchangeOnce(x, y, false) {
				if !w.isLossy(x.addr, y.addr) && !w.lastArchived {
					w.fail("%s and %s, with trust intact and nothing lost between them, cannot exchange messages", x.addr, y.addr)
				}
				w.st.recovered++
				if !w.exchangeOnce(x, y, true) {
					w.fail("%s and %s cannot exchange messages even on a new session", x.addr, y.addr)
				}
			}
		}
	}
	return trustFailed
}

// exchangeOnce sends x -> y, then y -> x; fresh starts a new session
// first. Refusals are reported by deliver's oracle; here it only says
// whether the three went through.
func (w *advWorld) exchangeOnce(x, y *advDev, fresh bool) bool {
	w.t.Helper()
	w.lastArchived = false
	for i, dir := range [][2]*advDev{{x, y}, {y, x}} {
		m := w.send(dir[0], dir[1], true, false, fresh && i == 0)
		if m == nil {
			if fresh {
				w.fail("%s cannot encrypt to %s on a new session although trust is intact", dir[0].addr, dir[1].addr)
			}
			return false
		}
		m.attempted = true
		archived := w.st.archived
		d := w.deliver(dir[1], m.fromAddr, m.typ, m.ct, fmt.Sprintf("deliver #%d", m.id), m, !fresh || i > 0)
		w.lastArchived = w.st.archived > archived
		if !d.accepted {
			if fresh || i > 0 {
				w.fail("%s -> %s refused after a successful exchange: %v", dir[0].addr, dir[1].addr, d.err)
			}
			return false
		}
	}
	return true
}

// exchangeRefused: trust between x and y legitimately fails; a new session
// must fail with ErrUntrustedIdentity at the sender or at the recipient.
func (w *advWorld) exchangeRefused(x, y *advDev) {
	w.t.Helper()
	for _, dir := range [][2]*advDev{{x, y}, {y, x}} {
		a, b := dir[0], dir[1]
		if !a.pinOK(b.addr.Name, b.id.PublicKey()) {
			// send checks ProcessBundle's refusal against the model.
			if m := w.send(a, b, true, false, true); m != nil {
				w.fail("%s started a session with %s whose key it does not trust", a.addr, b.addr)
			}
			continue
		}
		m := w.send(a, b, true, false, true)
		if m == nil {
			w.fail("%s cannot start a session with %s, whose key it trusts", a.addr, b.addr)
		}
		m.attempted = true
		d := w.deliver(b, a.addr, m.typ, m.ct, fmt.Sprintf("deliver #%d", m.id), m, false)
		if d.accepted || !errors.Is(d.err, session.ErrUntrustedIdentity) {
			w.fail("%s -> %s: %v, want ErrUntrustedIdentity (%s pins %s for %s)", a.addr, b.addr, errOr(d.err),
				b.addr, w.keyName(b.pin(a.addr.Name)), a.addr.Name)
		}
	}
}

// runAdversarialSchedule plays one schedule: the first byte chooses the
// mode, the rest the moves.
func runAdversarialSchedule(t *testing.T, data []byte, st *advStats) {
	t.Helper()
	if len(data) == 0 {
		return
	}
	tape := &advTape{b: data}
	w := newAdvWorld(t, tape.n(2) == 1, st)
	st.schedules++
	for i := 0; i < advMaxSteps && tape.more(); i++ {
		w.step(tape)
	}
	w.finish()
}

// advSchedule derives a schedule of n bytes from a seed (SHA-256 in counter
// mode: deterministic, and no math/rand).
func advSchedule(seed uint64, n int) []byte {
	var in [16]byte
	binary.BigEndian.PutUint64(in[:8], seed)
	out := make([]byte, 0, n+sha256.Size)
	for ctr := uint64(0); len(out) < n; ctr++ {
		binary.BigEndian.PutUint64(in[8:], ctr)
		h := sha256.Sum256(in[:])
		out = append(out, h[:]...)
	}
	return out[:n]
}

// advSeeds are directed schedules, also the fuzzer's seed corpus. Each is
// mode byte, then moves: move byte (index in advMoves) and its argument
// bytes.
func advSeeds() [][]byte {
	mb := func(mv int) byte {
		for i, m := range advMoves {
			if m == mv {
				return byte(i)
			}
		}
		panic("no such move")
	}
	send := func(x, y, kind byte) []byte { return []byte{mb(mvSend), x, y, kind} }
	deliver := []byte{mb(mvDeliver)}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return [][]byte{
		// Item 1: dev 0 and dev 2 talk; dev 0 reinstalls; its new
		// installation writes to dev 2, refused, the user accepts it; the
		// thief writes with the new key in the identity field.
		cat([]byte{0}, send(0, 2, 0), deliver, send(2, 0, 0), deliver,
			[]byte{mb(mvReinstall), 0, 0}, send(0, 2, 0), deliver,
			[]byte{mb(mvAccept), 2, 0}, []byte{mb(mvReplay), 3, 0, 0},
			[]byte{mb(mvThief), 0, 2, 1}, []byte{mb(mvWrap), 0, 2, 0}),
		// Item 2: a last-resort Kyber prekey without one-time prekey; the
		// recipient deletes the session; the server replays the message.
		cat([]byte{0}, send(0, 2, 3), deliver, []byte{mb(mvDelete), 2, 1}, []byte{mb(mvReplay), 0, 0, 0}),
		// Item 3: X3DH without one-time prekey, base key re-encoded.
		cat([]byte{1}, send(0, 2, 1), deliver, []byte{mb(mvNonCanonical), 0, 0}),
		// Item 10: a ghost of account 1 writes to a device that knows it.
		cat([]byte{0}, send(2, 0, 0), deliver, []byte{mb(mvGhost), 1, 0, 0}),
		cat([]byte{0}, send(2, 0, 0), deliver, []byte{mb(mvGhost), 1, 0, 4}),
		// Item 11: relabelled first message.
		cat([]byte{0}, send(0, 2, 0), []byte{mb(mvRelabel), 0, 0}, []byte{mb(mvRelabel), 0, 8}, deliver),
	}
}

// TestAdversarialDeliveryProperty runs the directed schedules and a few
// hundred seeded random ones through the oracle.
func TestAdversarialDeliveryProperty(t *testing.T) {
	st := &advStats{moves: map[string]int{}}
	for i, s := range advSeeds() {
		t.Run(fmt.Sprintf("directed%d", i), func(t *testing.T) { runAdversarialSchedule(t, s, st) })
	}
	n := 250
	if testing.Short() {
		n = 50
	}
	if v, err := strconv.Atoi(os.Getenv("INTERLOCK_ADV_SCHEDULES")); err == nil && v > 0 {
		n = v // a longer sweep, by hand
	}
	for seed := range uint64(n) {
		s := advSchedule(seed, 128)
		ok := t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) { runAdversarialSchedule(t, s, st) })
		if !ok {
			t.Logf("failing schedule (seed %d): %s", seed, hex.EncodeToString(s))
		}
	}
	t.Log(st)
}

// FuzzAdversarialDelivery: the fuzz input is the schedule.
func FuzzAdversarialDelivery(f *testing.F) {
	for _, s := range advSeeds() {
		f.Add(s)
	}
	for seed := range uint64(8) {
		f.Add(advSchedule(seed, 128))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 512 {
			data = data[:512]
		}
		runAdversarialSchedule(t, data, &advStats{moves: map[string]int{}})
	})
}
