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

// Last-resort Kyber prekeys and replays (issue #20 item 2). A
// PreKeySignalMessage built on a last-resort Kyber prekey without a one-time
// prekey consumes nothing, so the store must remember which base keys have
// started a session with each (Kyber prekey, signed prekey) pair and refuse
// the same base key again, as libsignal's mark_kyber_pre_key_used does.

// randomBaseKey returns a fresh Curve25519 public key, as a base key.
func randomBaseKey(t testing.TB) prekey.PublicKey {
	t.Helper()
	kp, err := prekey.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return kp.Public
}

// LastResortBundle stores a fresh signed prekey and a last-resort Kyber
// prekey under a new ID and returns the bundle naming them, without a
// one-time prekey: what a server hands every sender once the one-time
// prekeys have run out.
func (a *Account) LastResortBundle(t testing.TB) *prekey.Bundle {
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
	k, err := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, id, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Store.StoreKyberPreKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	return &prekey.Bundle{
		RegistrationID: a.RegID, DeviceID: a.Addr.DeviceID, IdentityKey: a.Identity.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		KyberPreKeyID: k.ID, KyberPreKey: k.KeyPair.Public, KyberPreKeySignature: k.Signature,
	}
}

// testKyberLastResortUses: the store refuses a (Kyber prekey, signed
// prekey, base key) triple it has recorded for a last-resort Kyber prekey,
// keeps the triples of each account apart, forgets them when either prekey
// is replaced by another key or removed, and lets exactly one of many
// concurrent uses of one triple succeed.
func testKyberLastResortUses(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	st := a.Store
	ts := time.Now()
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, a.Identity, 1, ts)
	k, _ := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, 2, true, ts)
	if err := st.StoreSignedPreKey(ctx, &spk); err != nil {
		t.Fatal(err)
	}
	if err := st.StoreKyberPreKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	accept := func(kyberID, signedID uint32, base prekey.PublicKey, what string) {
		t.Helper()
		if err := st.MarkKyberPreKeyUsed(ctx, kyberID, signedID, base); err != nil {
			t.Errorf("%s: %v, want it accepted", what, err)
		}
	}
	refuse := func(kyberID, signedID uint32, base prekey.PublicKey, what string) {
		t.Helper()
		err := st.MarkKyberPreKeyUsed(ctx, kyberID, signedID, base)
		if !errors.Is(err, session.ErrReusedBaseKey) || !errors.Is(err, session.ErrInvalidPreKey) {
			t.Errorf("%s: %v, want ErrReusedBaseKey (ErrInvalidPreKey)", what, err)
		}
	}

	b1, b2 := randomBaseKey(t), randomBaseKey(t)
	accept(2, 1, b1, "first use")
	refuse(2, 1, b1, "same triple again")
	accept(2, 1, b2, "another base key")
	accept(2, 3, b1, "another signed prekey")
	refuse(2, 3, b1, "the other signed prekey's triple again")
	if _, err := st.LoadKyberPreKey(ctx, 2); err != nil {
		t.Errorf("last-resort Kyber prekey removed by use: %v", err)
	}

	// Storing the same keys again (a re-upload, a restore) forgets nothing.
	if err := st.StoreKyberPreKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	if err := st.StoreSignedPreKey(ctx, &spk); err != nil {
		t.Fatal(err)
	}
	refuse(2, 1, b1, "after storing the same keys again")

	// Another account of the same database has its own uses.
	other := newAccount(t, open, "alice")
	if err := other.Store.StoreKyberPreKey(ctx, &k); err != nil {
		t.Fatal(err)
	}
	if err := other.Store.MarkKyberPreKeyUsed(ctx, 2, 1, b1); err != nil {
		t.Errorf("another account's use of the same triple: %v", err)
	}
	refuse(2, 1, b1, "after another account used the triple")

	// A new signed prekey under ID 1 forgets the triples naming ID 1 only.
	spk2, _ := prekey.GenerateSignedPreKey(rand.Reader, a.Identity, 1, ts)
	if err := st.StoreSignedPreKey(ctx, &spk2); err != nil {
		t.Fatal(err)
	}
	accept(2, 1, b1, "after the signed prekey was replaced")
	refuse(2, 3, b1, "another signed prekey's triple after ID 1 was replaced")

	// A new Kyber prekey under ID 2 forgets every triple naming ID 2.
	k2, _ := prekey.GenerateKyberPreKey(rand.Reader, a.Identity, 2, true, ts)
	if err := st.StoreKyberPreKey(ctx, &k2); err != nil {
		t.Fatal(err)
	}
	accept(2, 3, b1, "after the Kyber prekey was replaced")

	// Stores that can remove prekeys (sqlstore) forget their triples then.
	if r, ok := st.(interface {
		RemoveSignedPreKey(context.Context, uint32) error
	}); ok {
		accept(2, 5, b2, "use with signed prekey 5")
		if err := r.RemoveSignedPreKey(ctx, 5); err != nil {
			t.Fatal(err)
		}
		accept(2, 5, b2, "after signed prekey 5 was removed")
	}
	if r, ok := st.(interface {
		RemoveKyberPreKey(context.Context, uint32) error
	}); ok {
		if err := r.RemoveKyberPreKey(ctx, 2); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkKyberPreKeyUsed(ctx, 2, 1, b2); !errors.Is(err, session.ErrInvalidPreKey) {
			t.Errorf("use of a removed Kyber prekey: %v, want ErrInvalidPreKey", err)
		}
		if err := st.StoreKyberPreKey(ctx, &k2); err != nil {
			t.Fatal(err)
		}
		accept(2, 1, b1, "after the Kyber prekey was removed")
	}

	// Concurrent uses of one triple: exactly one succeeds.
	const racers = 8
	b3 := randomBaseKey(t)
	var wg sync.WaitGroup
	errs := make(chan error, racers)
	for range racers {
		wg.Go(func() { errs <- st.MarkKyberPreKeyUsed(ctx, 2, 1, b3) })
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, session.ErrReusedBaseKey):
			t.Errorf("concurrent use: %v, want nil or ErrReusedBaseKey", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent uses of one triple succeeded, want 1", ok, racers)
	}
}

// testKyberLastResortReplay: through session.Cipher, the first message of a
// session built on a last-resort Kyber prekey is refused when it comes
// again — relabelled as from another address, or from its own address after
// MaxArchivedStates+1 newer sessions pushed its state out of the record —
// and the refusal changes no session; each genuine newer session, from a
// fresh base key on the same prekeys, is accepted.
func testKyberLastResortReplay(t *testing.T, open Opener) {
	ctx := context.Background()
	alice, bob := newAccount(t, open, "alice"), newAccount(t, open, "bob")
	ac, bc := session.NewCipher(alice.Store), session.NewCipher(bob.Store)
	b := bob.LastResortBundle(t)
	type msg = wireMessage
	start := func(text string) msg {
		t.Helper()
		if err := ac.ProcessBundle(ctx, bob.Addr, b); err != nil {
			t.Fatal(err)
		}
		typ, ct, err := ac.Encrypt(ctx, bob.Addr, []byte(text))
		if err != nil || typ != session.TypePreKey {
			t.Fatalf("Encrypt(%q) = type %d, %v; want a PreKeySignalMessage", text, typ, err)
		}
		return msg{typ, ct, text}
	}
	recv := func(c *session.Cipher, from session.Address, m msg) {
		t.Helper()
		pt, err := c.Decrypt(ctx, from, m.typ, m.ct)
		if err != nil || string(pt) != m.pt {
			t.Fatalf("Decrypt(%q) = %q, %v", m.pt, pt, err)
		}
	}
	record := func(addr session.Address) []byte {
		t.Helper()
		r, err := bob.Store.LoadSession(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if r == nil {
			return nil
		}
		return mustMarshal(t, r)
	}
	refused := func(from session.Address, m msg) {
		t.Helper()
		before := record(from)
		pt, err := bc.Decrypt(ctx, from, m.typ, m.ct)
		if err == nil {
			t.Fatalf("replay of %q as from %s decrypted again (%q)", m.pt, from, pt)
		}
		if !errors.Is(err, session.ErrReusedBaseKey) || !errors.Is(err, session.ErrInvalidPreKey) {
			t.Fatalf("replay as from %s: %v, want ErrReusedBaseKey (ErrInvalidPreKey)", from, err)
		}
		if after := record(from); !bytes.Equal(after, before) {
			t.Errorf("the refused replay as from %s changed the stored record", from)
		}
	}

	first := start("first session")
	recv(bc, alice.Addr, first)

	// Relabelled: refused, and nothing is stored for the other address:
	// neither a session nor Alice's identity.
	mallory := session.Address{Name: "mallory", DeviceID: 1}
	refused(mallory, first)
	if _, has, err := bob.Store.Identity(ctx, mallory); err != nil || has {
		t.Errorf("the refused replay stored an identity for %s (%v, %v)", mallory, has, err)
	}

	// Newer genuine sessions on the same last-resort prekeys push the first
	// one out of the record.
	for i := range session.MaxArchivedStates + 1 {
		recv(bc, alice.Addr, start(fmt.Sprintf("newer session %d", i)))
	}
	r, err := bob.Store.LoadSession(ctx, alice.Addr)
	if err != nil || r == nil || r.ArchivedStates() != session.MaxArchivedStates {
		t.Fatalf("record after %d sessions: %v, %v", session.MaxArchivedStates+2, r, err)
	}
	refused(alice.Addr, first)

	// The live session still works both ways.
	recv(bc, alice.Addr, msgFrom(t, ac, bob.Addr, "on the live session"))
	recv(ac, bob.Addr, msgFrom(t, bc, alice.Addr, "reply"))
}

// wireMessage is a message on its way: its type, bytes and plaintext.
type wireMessage struct {
	typ session.MessageType
	ct  []byte
	pt  string
}

// msgFrom encrypts text with c for to.
func msgFrom(t *testing.T, c *session.Cipher, to session.Address, text string) wireMessage {
	t.Helper()
	typ, ct, err := c.Encrypt(context.Background(), to, []byte(text))
	if err != nil {
		t.Fatalf("Encrypt(%q): %v", text, err)
	}
	return wireMessage{typ, ct, text}
}
