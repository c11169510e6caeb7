package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// Opener returns a new, empty store for a local account with the given
// identity and registration ID. Stores opened within one test should share
// the same backing database where there is one (each as its own account), so
// the suite can check that they stay isolated.
type Opener func(t *testing.T, identity prekey.IdentityKeyPair, registrationID uint32) session.Store

// Run runs the whole suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"LocalIdentity", testLocalIdentity},
		{"Sessions", testSessions},
		{"DeleteSession", testDeleteSession}, // delete.go
		{"Identities", testIdentities},
		{"PreKeys", testPreKeys},
		{"SignedPreKeys", testSignedPreKeys},
		{"KyberPreKeys", testKyberPreKeys},
		{"KyberLastResortUses", testKyberLastResortUses},
		{"KyberLastResortReplay", testKyberLastResortReplay},
		{"Isolation", testIsolation},
		{"TransactCommit", testTransactCommit},
		{"TransactRollback", testTransactRollback},
		{"TransactNested", testTransactNested},
		{"Concurrent", testConcurrent},
		{"Conversation", testConversation},
		{"ConversationX3DH", testConversationX3DH},
		{"PreKeyLifecycle", testPreKeyLifecycle},     // lifecycle.go
		{"SessionManagement", testSessionManagement}, // lifecycle.go
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// Account is a local party for the suite's tests: an identity and its store.
type Account struct {
	Addr     session.Address
	Identity prekey.IdentityKeyPair
	RegID    uint32
	Store    session.Store
	nextID   uint32
}

// NewAccount generates an identity and opens a store for it.
func NewAccount(t testing.TB, name string, open func(prekey.IdentityKeyPair, uint32) session.Store) *Account {
	t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := prekey.GenerateRegistrationID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &Account{Addr: session.Address{Name: name, DeviceID: 1}, Identity: id, RegID: reg, Store: open(id, reg), nextID: 1}
}

func newAccount(t *testing.T, open Opener, name string) *Account {
	return NewAccount(t, name, func(id prekey.IdentityKeyPair, reg uint32) session.Store { return open(t, id, reg) })
}

// Bundle stores fresh prekeys under new IDs and returns the bundle naming
// them; oneTime and kyber choose the optional parts.
func (a *Account) Bundle(t testing.TB, oneTime, kyber bool) *prekey.Bundle {
	t.Helper()
	ctx := context.Background()
	id := a.nextID
	a.nextID++
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, a.Identity, id, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.StoreSignedPreKey(ctx, &spk); err != nil {
		t.Fatal(err)
	}
	b := &prekey.Bundle{
		RegistrationID: a.RegID, DeviceID: a.Addr.DeviceID, IdentityKey: a.Identity.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
	}
	if oneTime {
		pks, err := prekey.GeneratePreKeys(rand.Reader, id, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Store.StorePreKey(ctx, &pks[0]); err != nil {
			t.Fatal(err)
		}
		b.PreKeyID, b.PreKey = pks[0].ID, pks[0].KeyPair.Public
	}
	if kyber {
		k, err := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, id, false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Store.StoreKyberPreKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
		b.KyberPreKeyID, b.KyberPreKey, b.KyberPreKeySignature = k.ID, k.KeyPair.Public, k.Signature
	}
	return b
}

func randomIdentity(t testing.TB) prekey.IdentityKey {
	t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id.PublicKey()
}

// sessionRecord returns a record holding a real session state with peer.
func sessionRecord(t *testing.T, open Opener) (*session.Record, session.Address) {
	t.Helper()
	ctx := context.Background()
	alice := newAccount(t, open, "alice")
	bob := newAccount(t, open, "bob")
	if err := session.NewCipher(alice.Store).ProcessBundle(ctx, bob.Addr, bob.Bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	r, err := alice.Store.LoadSession(ctx, bob.Addr)
	if err != nil || r == nil || r.Current() == nil {
		t.Fatalf("LoadSession after ProcessBundle = %v, %v", r, err)
	}
	return r, bob.Addr
}

func mustMarshal(t *testing.T, m interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testLocalIdentity(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	id, err := a.Store.IdentityKeyPair(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !id.PublicKey().Equal(a.Identity.PublicKey()) || !bytes.Equal(id.PrivateKey().Bytes(), a.Identity.PrivateKey().Bytes()) {
		t.Error("IdentityKeyPair differs from the one the store was opened with")
	}
	reg, err := a.Store.LocalRegistrationID(ctx)
	if err != nil || reg != a.RegID {
		t.Errorf("LocalRegistrationID = %d, %v; want %d", reg, err, a.RegID)
	}
}

func testSessions(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	st := a.Store
	addr := session.Address{Name: "bob", DeviceID: 2}
	if r, err := st.LoadSession(ctx, addr); err != nil || r != nil {
		t.Fatalf("LoadSession of unknown address = %v, %v; want nil, nil", r, err)
	}
	rec, _ := sessionRecord(t, open)
	if err := st.StoreSession(ctx, addr, rec); err != nil {
		t.Fatal(err)
	}
	got, err := st.LoadSession(ctx, addr)
	if err != nil || got == nil {
		t.Fatalf("LoadSession = %v, %v", got, err)
	}
	if !bytes.Equal(mustMarshal(t, got), mustMarshal(t, rec)) {
		t.Error("stored session differs from the loaded one")
	}
	// The loaded record is the caller's: changing it changes nothing stored.
	got.ArchiveCurrent()
	again, err := st.LoadSession(ctx, addr)
	if err != nil || again.Current() == nil {
		t.Fatalf("modifying a loaded record changed the store: %v, %v", again, err)
	}
	// Overwrite with the archived form.
	if err := st.StoreSession(ctx, addr, got); err != nil {
		t.Fatal(err)
	}
	again, err = st.LoadSession(ctx, addr)
	if err != nil || again.Current() != nil || again.ArchivedStates() != 1 {
		t.Fatalf("after overwrite: current %v, archived %d, err %v", again.Current(), again.ArchivedStates(), err)
	}
	// Another device of the same name is another address.
	if r, err := st.LoadSession(ctx, session.Address{Name: "bob", DeviceID: 3}); err != nil || r != nil {
		t.Errorf("LoadSession of another device = %v, %v; want nil, nil", r, err)
	}
	// Names are opaque: long, Unicode, with separators.
	odd := session.Address{Name: "ünïcødé.name/with 'quotes'; and.dots." + string(bytes.Repeat([]byte("x"), 300)), DeviceID: 0xFFFFFFFF}
	if err := st.StoreSession(ctx, odd, rec); err != nil {
		t.Fatal(err)
	}
	if r, err := st.LoadSession(ctx, odd); err != nil || r == nil {
		t.Errorf("LoadSession(odd address) = %v, %v", r, err)
	}
}

func testIdentities(t *testing.T, open Opener) {
	ctx := context.Background()
	st := newAccount(t, open, "alice").Store
	addr := session.Address{Name: "bob", DeviceID: 1}
	k1, k2 := randomIdentity(t), randomIdentity(t)

	if _, ok, err := st.Identity(ctx, addr); err != nil || ok {
		t.Fatalf("Identity of unknown address: ok=%v err=%v", ok, err)
	}
	for _, dir := range []session.Direction{session.Sending, session.Receiving} {
		if ok, err := st.IsTrustedIdentity(ctx, addr, k1, dir); err != nil || !ok {
			t.Fatalf("first use not trusted (%v, %v)", ok, err)
		}
	}
	if replaced, err := st.SaveIdentity(ctx, addr, k1); err != nil || replaced {
		t.Fatalf("first SaveIdentity = %v, %v; want false, nil", replaced, err)
	}
	if k, ok, err := st.Identity(ctx, addr); err != nil || !ok || !k.Equal(k1) {
		t.Fatalf("Identity = %v, %v, %v", k, ok, err)
	}
	if replaced, err := st.SaveIdentity(ctx, addr, k1); err != nil || replaced {
		t.Fatalf("SaveIdentity of the same key = %v, %v; want false, nil", replaced, err)
	}
	for _, dir := range []session.Direction{session.Sending, session.Receiving} {
		if ok, err := st.IsTrustedIdentity(ctx, addr, k1, dir); err != nil || !ok {
			t.Errorf("stored key not trusted (%v, %v)", ok, err)
		}
		if ok, err := st.IsTrustedIdentity(ctx, addr, k2, dir); err != nil || ok {
			t.Errorf("different key trusted (%v, %v)", ok, err)
		}
	}
	// Issue #20 item 10: the key is the account's (session.PerAccount, the
	// default). Another device of bob — one the server just added — is
	// trusted with bob's key only; another account still trusts on first
	// use.
	other := session.Address{Name: "bob", DeviceID: 2}
	if ok, err := st.IsTrustedIdentity(ctx, other, k2, session.Sending); err != nil || ok {
		t.Errorf("a new device of a known account trusted with another key (%v, %v)", ok, err)
	}
	if ok, err := st.IsTrustedIdentity(ctx, other, k1, session.Receiving); err != nil || !ok {
		t.Errorf("a new device with the account's key not trusted (%v, %v)", ok, err)
	}
	if k, ok, err := st.Identity(ctx, other); err != nil || !ok || !k.Equal(k1) {
		t.Errorf("Identity of a new device = %v, %v, %v; want the account's key", k, ok, err)
	}
	carol := session.Address{Name: "carol", DeviceID: 9}
	if ok, err := st.IsTrustedIdentity(ctx, carol, k2, session.Sending); err != nil || !ok {
		t.Errorf("another account not trusted on first use (%v, %v)", ok, err)
	}
	if bs, ok := st.(session.BatchIdentityStore); ok {
		got, err := bs.AreTrustedIdentities(ctx, map[session.Address]prekey.IdentityKey{
			addr: k1, other: k2, {Name: "bob", DeviceID: 7}: k1,
			carol: k1, {Name: "carol", DeviceID: 1}: k2, // unpinned, disagreeing
			{Name: "dave", DeviceID: 1}: k2, {Name: "dave", DeviceID: 2}: k2,
		}, session.Sending)
		if err != nil {
			t.Fatal(err)
		}
		want := map[session.Address]bool{addr: true, other: false, {Name: "bob", DeviceID: 7}: true,
			carol: false, {Name: "carol", DeviceID: 1}: false,
			{Name: "dave", DeviceID: 1}: true, {Name: "dave", DeviceID: 2}: true}
		for a, w := range want {
			if got[a] != w {
				t.Errorf("AreTrustedIdentities[%s] = %v, want %v", a, got[a], w)
			}
		}
	}
	if ds, ok := st.(session.DeviceIdentityStore); ok {
		if ch, err := ds.SaveDeviceIdentity(ctx, other, k1); err != nil || ch != session.IdentityNewDevice {
			t.Errorf("SaveDeviceIdentity of a new device = %v, %v; want new device", ch, err)
		}
		if ch, err := ds.SaveDeviceIdentity(ctx, carol, k2); err != nil || ch != session.IdentityNewAccount {
			t.Errorf("SaveDeviceIdentity of a new account = %v, %v; want new account", ch, err)
		}
		if ch, err := ds.SaveDeviceIdentity(ctx, carol, k2); err != nil || ch != session.IdentityUnchanged {
			t.Errorf("SaveDeviceIdentity again = %v, %v; want unchanged", ch, err)
		}
	}
	if replaced, err := st.SaveIdentity(ctx, addr, k2); err != nil || !replaced {
		t.Fatalf("SaveIdentity of a new key = %v, %v; want true, nil", replaced, err)
	}
	if k, ok, err := st.Identity(ctx, addr); err != nil || !ok || !k.Equal(k2) {
		t.Fatalf("Identity after replacement = %v, %v, %v", k, ok, err)
	}
	if ok, err := st.IsTrustedIdentity(ctx, addr, k1, session.Receiving); err != nil || ok {
		t.Errorf("replaced key still trusted (%v, %v)", ok, err)
	}
	// Trusting the new key (the `trust` op) replaces it for every device.
	if ok, err := st.IsTrustedIdentity(ctx, other, k2, session.Receiving); err != nil || !ok {
		t.Errorf("the account's new key not trusted for its other device (%v, %v)", ok, err)
	}
}

func testPreKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	st := newAccount(t, open, "alice").Store
	if _, err := st.LoadPreKey(ctx, 1); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Fatalf("LoadPreKey(unknown) error = %v, want ErrInvalidPreKey", err)
	}
	pks, err := prekey.GeneratePreKeys(rand.Reader, 0xFFFFFD, 3) // IDs wrap: 0xFFFFFD, 0xFFFFFE, 1
	if err != nil {
		t.Fatal(err)
	}
	for i := range pks {
		if err := st.StorePreKey(ctx, &pks[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range pks {
		got, err := st.LoadPreKey(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || !bytes.Equal(mustMarshal(t, got), mustMarshal(t, &want)) {
			t.Errorf("prekey %d does not round-trip", want.ID)
		}
	}
	if err := st.RemovePreKey(ctx, pks[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LoadPreKey(ctx, pks[1].ID); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("LoadPreKey(removed) error = %v, want ErrInvalidPreKey", err)
	}
	if err := st.RemovePreKey(ctx, pks[1].ID); err != nil {
		t.Errorf("removing an absent prekey: %v", err)
	}
	if _, err := st.LoadPreKey(ctx, pks[0].ID); err != nil {
		t.Errorf("removing one prekey removed another: %v", err)
	}
	// Storing under an existing ID replaces.
	repl, _ := prekey.GeneratePreKeys(rand.Reader, pks[0].ID, 1)
	if err := st.StorePreKey(ctx, &repl[0]); err != nil {
		t.Fatal(err)
	}
	if got, err := st.LoadPreKey(ctx, pks[0].ID); err != nil || !got.KeyPair.Public.Equal(repl[0].KeyPair.Public) {
		t.Errorf("StorePreKey did not replace (%v)", err)
	}
}

func testSignedPreKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	st := a.Store
	if _, err := st.LoadSignedPreKey(ctx, 7); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Fatalf("LoadSignedPreKey(unknown) error = %v, want ErrInvalidPreKey", err)
	}
	ts := time.UnixMilli(time.Now().UnixMilli())
	for _, id := range []uint32{7, 0xFFFFFFFF} {
		spk, err := prekey.GenerateSignedPreKey(rand.Reader, a.Identity, id, ts)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.StoreSignedPreKey(ctx, &spk); err != nil {
			t.Fatal(err)
		}
		got, err := st.LoadSignedPreKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != id || !got.Timestamp.Equal(ts) || !bytes.Equal(got.Signature, spk.Signature) ||
			!bytes.Equal(mustMarshal(t, got), mustMarshal(t, &spk)) {
			t.Errorf("signed prekey %d does not round-trip", id)
		}
	}
}

func testKyberPreKeys(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	st := a.Store
	if _, err := st.LoadKyberPreKey(ctx, 1); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Fatalf("LoadKyberPreKey(unknown) error = %v, want ErrInvalidPreKey", err)
	}
	ts := time.UnixMilli(time.Now().UnixMilli())
	oneTime, err := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, 1, false, ts)
	if err != nil {
		t.Fatal(err)
	}
	lastResort, err := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, 2, true, ts)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*prekey.KyberPreKeyRecord{&oneTime, &lastResort} {
		if err := st.StoreKyberPreKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		got, err := st.LoadKyberPreKey(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != k.ID || got.LastResort != k.LastResort || !got.Timestamp.Equal(ts) ||
			!bytes.Equal(mustMarshal(t, got), mustMarshal(t, k)) {
			t.Errorf("Kyber prekey %d does not round-trip", k.ID)
		}
	}
	base := randomBaseKey(t)
	if err := st.MarkKyberPreKeyUsed(ctx, 1, 1, base); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LoadKyberPreKey(ctx, 1); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("one-time Kyber prekey after use: error %v, want ErrInvalidPreKey", err)
	}
	// A one-time Kyber prekey is used once, whatever the base key.
	if err := st.MarkKyberPreKeyUsed(ctx, 1, 1, randomBaseKey(t)); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("marking a used one-time Kyber prekey used again: %v, want ErrInvalidPreKey", err)
	}
	if err := st.MarkKyberPreKeyUsed(ctx, 2, 1, base); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LoadKyberPreKey(ctx, 2); err != nil {
		t.Errorf("last-resort Kyber prekey removed by use: %v", err)
	}
	if err := st.MarkKyberPreKeyUsed(ctx, 99, 1, base); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("marking an unknown Kyber prekey used: %v, want ErrInvalidPreKey", err)
	}
}

// testIsolation: two stores of one database share nothing.
func testIsolation(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	b := newAccount(t, open, "alice") // same address, other account
	addr := session.Address{Name: "carol", DeviceID: 1}
	rec, _ := sessionRecord(t, open)
	if err := a.Store.StoreSession(ctx, addr, rec); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.SaveIdentity(ctx, addr, randomIdentity(t)); err != nil {
		t.Fatal(err)
	}
	pks, _ := prekey.GeneratePreKeys(rand.Reader, 5, 1)
	if err := a.Store.StorePreKey(ctx, &pks[0]); err != nil {
		t.Fatal(err)
	}
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, a.Identity, 5, time.Now())
	if err := a.Store.StoreSignedPreKey(ctx, &spk); err != nil {
		t.Fatal(err)
	}
	kpk, _ := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, 5, true, time.Now())
	if err := a.Store.StoreKyberPreKey(ctx, &kpk); err != nil {
		t.Fatal(err)
	}

	if r, err := b.Store.LoadSession(ctx, addr); err != nil || r != nil {
		t.Errorf("other account sees the session (%v, %v)", r, err)
	}
	if _, ok, err := b.Store.Identity(ctx, addr); err != nil || ok {
		t.Errorf("other account sees the identity (%v, %v)", ok, err)
	}
	if ok, err := b.Store.IsTrustedIdentity(ctx, addr, randomIdentity(t), session.Receiving); err != nil || !ok {
		t.Errorf("other account does not trust on first use (%v, %v)", ok, err)
	}
	if _, err := b.Store.LoadPreKey(ctx, 5); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("other account sees the prekey (%v)", err)
	}
	if _, err := b.Store.LoadSignedPreKey(ctx, 5); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("other account sees the signed prekey (%v)", err)
	}
	if _, err := b.Store.LoadKyberPreKey(ctx, 5); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("other account sees the Kyber prekey (%v)", err)
	}
	if id, _ := b.Store.IdentityKeyPair(ctx); !id.PublicKey().Equal(b.Identity.PublicKey()) {
		t.Error("other account has the wrong identity")
	}
	// Writes and removals in one account leave the other alone.
	if err := b.Store.RemovePreKey(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.LoadPreKey(ctx, 5); err != nil {
		t.Errorf("removal in another account removed the prekey: %v", err)
	}
}

func transactor(t *testing.T, st session.Store) session.Transactor {
	t.Helper()
	tr, ok := st.(session.Transactor)
	if !ok {
		t.Skipf("%T is not a session.Transactor", st)
	}
	return tr
}

// writeEverything writes one of every kind of record through st.
func writeEverything(t *testing.T, ctx context.Context, st session.Store, a *Account, rec *session.Record, addr session.Address) error {
	t.Helper()
	if err := st.StoreSession(ctx, addr, rec); err != nil {
		return err
	}
	if _, err := st.SaveIdentity(ctx, addr, randomIdentity(t)); err != nil {
		return err
	}
	pks, _ := prekey.GeneratePreKeys(rand.Reader, 11, 1)
	if err := st.StorePreKey(ctx, &pks[0]); err != nil {
		return err
	}
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, a.Identity, 11, time.Now())
	if err := st.StoreSignedPreKey(ctx, &spk); err != nil {
		return err
	}
	kpk, _ := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, 11, false, time.Now())
	return st.StoreKyberPreKey(ctx, &kpk)
}

func testTransactCommit(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	tr := transactor(t, a.Store)
	rec, addr := sessionRecord(t, open)
	err := tr.Transact(ctx, func(tx session.Store) error {
		if err := writeEverything(t, ctx, tx, a, rec, addr); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if r, err := tx.LoadSession(ctx, addr); err != nil || r == nil {
			return fmt.Errorf("LoadSession inside the transaction = %v, %v", r, err)
		}
		_, err := tx.LoadPreKey(ctx, 11)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := a.Store.LoadSession(ctx, addr); err != nil || r == nil {
		t.Errorf("session not committed (%v, %v)", r, err)
	}
	if _, ok, err := a.Store.Identity(ctx, addr); err != nil || !ok {
		t.Errorf("identity not committed (%v, %v)", ok, err)
	}
	for name, load := range map[string]func() error{
		"prekey":        func() error { _, err := a.Store.LoadPreKey(ctx, 11); return err },
		"signed prekey": func() error { _, err := a.Store.LoadSignedPreKey(ctx, 11); return err },
		"Kyber prekey":  func() error { _, err := a.Store.LoadKyberPreKey(ctx, 11); return err },
	} {
		if err := load(); err != nil {
			t.Errorf("%s not committed: %v", name, err)
		}
	}
}

func testTransactRollback(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	tr := transactor(t, a.Store)
	rec, addr := sessionRecord(t, open)

	// Existing data, then a failed transaction that changes and removes it.
	pks, _ := prekey.GeneratePreKeys(rand.Reader, 20, 1)
	if err := a.Store.StorePreKey(ctx, &pks[0]); err != nil {
		t.Fatal(err)
	}
	kpk, _ := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, 20, false, time.Now())
	if err := a.Store.StoreKyberPreKey(ctx, &kpk); err != nil {
		t.Fatal(err)
	}
	lastResort, _ := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, 21, true, time.Now())
	if err := a.Store.StoreKyberPreKey(ctx, &lastResort); err != nil {
		t.Fatal(err)
	}
	lastResortBase := randomBaseKey(t)
	oldIdentity := randomIdentity(t)
	other := session.Address{Name: "dave", DeviceID: 1}
	if _, err := a.Store.SaveIdentity(ctx, other, oldIdentity); err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")
	err := tr.Transact(ctx, func(tx session.Store) error {
		if err := writeEverything(t, ctx, tx, a, rec, addr); err != nil {
			return err
		}
		if err := tx.RemovePreKey(ctx, 20); err != nil {
			return err
		}
		if err := tx.MarkKyberPreKeyUsed(ctx, 20, 20, randomBaseKey(t)); err != nil {
			return err
		}
		if err := tx.MarkKyberPreKeyUsed(ctx, 21, 20, lastResortBase); err != nil {
			return err
		}
		if _, err := tx.SaveIdentity(ctx, other, randomIdentity(t)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Transact returned %v, want fn's error", err)
	}
	if r, err := a.Store.LoadSession(ctx, addr); err != nil || r != nil {
		t.Errorf("rolled-back session visible (%v, %v)", r, err)
	}
	if _, ok, err := a.Store.Identity(ctx, addr); err != nil || ok {
		t.Errorf("rolled-back identity visible (%v, %v)", ok, err)
	}
	if k, ok, err := a.Store.Identity(ctx, other); err != nil || !ok || !k.Equal(oldIdentity) {
		t.Errorf("rolled-back identity replacement visible (%v, %v)", ok, err)
	}
	if _, err := a.Store.LoadPreKey(ctx, 11); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("rolled-back prekey visible (%v)", err)
	}
	if _, err := a.Store.LoadSignedPreKey(ctx, 11); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("rolled-back signed prekey visible (%v)", err)
	}
	if _, err := a.Store.LoadKyberPreKey(ctx, 11); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("rolled-back Kyber prekey visible (%v)", err)
	}
	if _, err := a.Store.LoadPreKey(ctx, 20); err != nil {
		t.Errorf("rolled-back prekey removal took effect: %v", err)
	}
	if _, err := a.Store.LoadKyberPreKey(ctx, 20); err != nil {
		t.Errorf("rolled-back Kyber prekey use took effect: %v", err)
	}
	if err := a.Store.MarkKyberPreKeyUsed(ctx, 21, 20, lastResortBase); err != nil {
		t.Errorf("rolled-back last-resort Kyber prekey use took effect: %v", err)
	}

	// A panic rolls back too, and the store keeps working.
	func() {
		defer func() { _ = recover() }()
		_ = tr.Transact(ctx, func(tx session.Store) error {
			if err := tx.StoreSession(ctx, addr, rec); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if r, err := a.Store.LoadSession(ctx, addr); err != nil || r != nil {
		t.Errorf("session written by a panicking transaction visible (%v, %v)", r, err)
	}
	if err := a.Store.StoreSession(ctx, addr, rec); err != nil {
		t.Errorf("store unusable after a panicking transaction: %v", err)
	}
}

func testTransactNested(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	tr := transactor(t, a.Store)
	rec, addr := sessionRecord(t, open)
	done := make(chan error, 1)
	go func() {
		done <- tr.Transact(ctx, func(tx session.Store) error {
			inner, ok := tx.(session.Transactor)
			if !ok {
				return nil
			}
			return inner.Transact(ctx, func(tx2 session.Store) error {
				return tx2.StoreSession(ctx, addr, rec)
			})
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nested Transact deadlocked")
	}
	if _, ok := a.Store.(session.Transactor); ok {
		if r, err := a.Store.LoadSession(ctx, addr); err != nil || r == nil {
			t.Errorf("nested write not committed (%v, %v)", r, err)
		}
	}
}

// testConcurrent: many goroutines on one store, each with its own address
// and prekey range, and all of them on one shared address.
func testConcurrent(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	rec, _ := sessionRecord(t, open)
	const workers, rounds = 8, 10
	shared := session.Address{Name: "shared", DeviceID: 1}
	keys := make([]prekey.IdentityKey, workers*rounds)
	for i := range keys {
		keys[i] = randomIdentity(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			addr := session.Address{Name: fmt.Sprintf("peer-%d", w), DeviceID: 1}
			for i := range rounds {
				id := uint32(w*rounds + i + 1)
				pks, _ := prekey.GeneratePreKeys(rand.Reader, id, 1)
				ops := []func() error{
					func() error { return a.Store.StoreSession(ctx, addr, rec) },
					func() error { return a.Store.StoreSession(ctx, shared, rec) },
					func() error { _, err := a.Store.LoadSession(ctx, shared); return err },
					func() error { _, err := a.Store.SaveIdentity(ctx, addr, keys[id-1]); return err },
					func() error { return a.Store.StorePreKey(ctx, &pks[0]) },
					func() error { _, err := a.Store.LoadPreKey(ctx, id); return err },
					func() error { return a.Store.RemovePreKey(ctx, id) },
				}
				if tr, ok := a.Store.(session.Transactor); ok {
					ops = append(ops, func() error {
						return tr.Transact(ctx, func(tx session.Store) error {
							if _, err := tx.LoadSession(ctx, shared); err != nil {
								return err
							}
							return tx.StoreSession(ctx, shared, rec)
						})
					})
				}
				for _, op := range ops {
					if err := op(); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ids := 0
	for id := uint32(1); id <= workers*rounds; id++ {
		if _, err := a.Store.LoadPreKey(ctx, id); err == nil {
			ids++
		}
	}
	if ids != 0 {
		t.Errorf("%d prekeys left after concurrent store and remove", ids)
	}
}

// Converse runs a conversation between two stores through session.Cipher:
// set-up from a bundle, both directions, out-of-order delivery, a replay and
// a tampered message, checking what the stores hold on the way.
func Converse(t testing.TB, alice, bob *Account, policy session.Policy, kyber bool) {
	t.Helper()
	ctx := context.Background()
	ac := session.NewCipher(alice.Store, session.WithPolicy(policy))
	bc := session.NewCipher(bob.Store, session.WithPolicy(policy))
	bundle := bob.Bundle(t, true, kyber)
	if err := ac.ProcessBundle(ctx, bob.Addr, bundle); err != nil {
		t.Fatal(err)
	}
	if k, ok, err := alice.Store.Identity(ctx, bob.Addr); err != nil || !ok || !k.Equal(bob.Identity.PublicKey()) {
		t.Fatalf("ProcessBundle did not save Bob's identity (%v, %v)", ok, err)
	}
	wantVersion := prekey.Version3
	if kyber {
		wantVersion = prekey.Version4
	}
	if v, err := ac.SessionVersion(ctx, bob.Addr); err != nil || v != wantVersion {
		t.Fatalf("SessionVersion = %d, %v; want %d", v, err, wantVersion)
	}

	type msg struct {
		typ session.MessageType
		ct  []byte
		pt  string
	}
	send := func(c *session.Cipher, to session.Address, text string) msg {
		t.Helper()
		typ, ct, err := c.Encrypt(ctx, to, []byte(text))
		if err != nil {
			t.Fatalf("Encrypt(%q): %v", text, err)
		}
		return msg{typ, ct, text}
	}
	recv := func(c *session.Cipher, from session.Address, m msg) {
		t.Helper()
		pt, err := c.Decrypt(ctx, from, m.typ, m.ct)
		if err != nil {
			t.Fatalf("Decrypt(%q): %v", m.pt, err)
		}
		if string(pt) != m.pt {
			t.Fatalf("Decrypt = %q, want %q", pt, m.pt)
		}
	}

	// Alice's first three messages arrive out of order.
	m1, m2, m3 := send(ac, bob.Addr, "one"), send(ac, bob.Addr, "two"), send(ac, bob.Addr, "three")
	if m1.typ != session.TypePreKey {
		t.Fatalf("first message type %d, want PreKey", m1.typ)
	}
	recv(bc, alice.Addr, m2)
	if _, err := bob.Store.LoadPreKey(ctx, bundle.PreKeyID); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Errorf("one-time prekey not consumed: %v", err)
	}
	if kyber {
		if _, err := bob.Store.LoadKyberPreKey(ctx, bundle.KyberPreKeyID); !errors.Is(err, session.ErrInvalidPreKey) {
			t.Errorf("one-time Kyber prekey not consumed: %v", err)
		}
	}
	recv(bc, alice.Addr, m3)
	recv(bc, alice.Addr, m1)
	if _, err := bc.Decrypt(ctx, alice.Addr, m1.typ, m1.ct); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Errorf("replayed PreKey message: %v, want ErrDuplicateMessage", err)
	}

	// A long exchange with ratchet steps in both directions.
	for i := range 20 {
		from, to, fromAddr, toAddr := ac, bc, alice.Addr, bob.Addr
		if i%3 != 0 {
			from, to, fromAddr, toAddr = bc, ac, bob.Addr, alice.Addr
		}
		recv(to, fromAddr, send(from, toAddr, fmt.Sprintf("message %d", i)))
	}

	// A tampered message changes nothing; the genuine one still decrypts.
	m := send(bc, alice.Addr, "genuine")
	before, err := alice.Store.LoadSession(ctx, bob.Addr)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), m.ct...)
	bad[len(bad)-1] ^= 1
	if _, err := ac.Decrypt(ctx, bob.Addr, m.typ, bad); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("tampered message: %v, want ErrInvalidMessage", err)
	}
	after, err := alice.Store.LoadSession(ctx, bob.Addr)
	if err != nil {
		t.Fatal(err)
	}
	bb, _ := before.Marshal()
	ab, _ := after.Marshal()
	if !bytes.Equal(bb, ab) {
		t.Error("a rejected message changed the stored session")
	}
	recv(ac, bob.Addr, m)
	if _, err := ac.Decrypt(ctx, bob.Addr, m.typ, m.ct); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Errorf("replayed message: %v, want ErrDuplicateMessage", err)
	}
}

func testConversation(t *testing.T, open Opener) {
	Converse(t, newAccount(t, open, "alice"), newAccount(t, open, "bob"), session.RequirePQXDH, true)
}

func testConversationX3DH(t *testing.T, open Opener) {
	Converse(t, newAccount(t, open, "alice"), newAccount(t, open, "bob"), session.AllowX3DH, false)
}
