package session_test

// Regression tests for issue #20 items 1, 3, 11, 13 and 15 (the adversarial
// review's findings in the 1:1 cipher). Each failed on the code before its
// fix.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// craftPreKey re-encodes a PreKeySignalMessage with the given identity key
// field and inner SignalMessage: what a thief or a server can build, since
// the outer message has no MAC of its own.
func craftPreKey(t *testing.T, orig []byte, identity prekey.IdentityKey, inner []byte) []byte {
	t.Helper()
	out, ok := craftAdv(orig, identity, inner) // adversary_fuzz_test.go
	if !ok {
		t.Fatal("not a PreKeySignalMessage")
	}
	return out
}

// Item 1: the identity that authenticated a PreKeySignalMessage for an
// existing session is that session's, and only it may be checked and pinned.
func TestIssue20Item1PreKeyIdentityFieldCannotReviveUntrustedState(t *testing.T) {
	ctx := context.Background()
	oldAlice, bob := newParty(t, "alice"), newParty(t, "bob")
	if err := oldAlice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	first := oldAlice.send(t, bob, "hello")
	bob.recv(t, oldAlice, first)
	oldAlice.recv(t, bob, bob.send(t, oldAlice, "hi"))

	// Alice reinstalls with a new identity K2; Bob accepts the change.
	newAlice := newParty(t, "alice")
	if err := newAlice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	w := newAlice.send(t, bob, "new phone")
	if _, err := bob.cipher.Decrypt(ctx, newAlice.addr, w.typ, w.ct); !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("new identity before acceptance: %v", err)
	}
	if _, err := bob.store.SaveIdentity(ctx, newAlice.addr, newAlice.id.PublicKey()); err != nil {
		t.Fatal(err)
	}
	bob.recv(t, newAlice, w)
	before := bob.record(t, oldAlice.addr)

	// The thief holds the old phone (K1, no longer trusted).
	evil := oldAlice.send(t, bob, "evil")
	if evil.typ != session.TypeSignal {
		t.Fatalf("thief's message type %d", evil.typ)
	}
	if _, err := bob.cipher.Decrypt(ctx, oldAlice.addr, evil.typ, evil.ct); !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("plain SignalMessage from the old identity: %v", err)
	}
	for _, tc := range []struct {
		name     string
		identity prekey.IdentityKey
	}{
		{"trusted K2 in the identity field", newAlice.id.PublicKey()},
		{"old K1 in the identity field", oldAlice.id.PublicKey()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forged := craftPreKey(t, first.ct, tc.identity, evil.ct)
			if pt, err := bob.cipher.Decrypt(ctx, oldAlice.addr, session.TypePreKey, forged); err == nil {
				t.Fatalf("forged PreKeySignalMessage accepted: %q", pt)
			}
			if !bytes.Equal(bob.record(t, oldAlice.addr), before) {
				t.Fatal("refused message changed the record")
			}
		})
	}
	// The conversation with the new installation goes on.
	bob.recv(t, newAlice, newAlice.send(t, bob, "still here"))
	newAlice.recv(t, bob, bob.send(t, newAlice, "welcome back"))
}

// flipBaseKeyTopBit re-encodes the base key of a PreKeySignalMessage with the
// unused top bit of u set: the same point for X25519.
func flipBaseKeyTopBit(t *testing.T, raw []byte) []byte {
	t.Helper()
	m, err := session.ParsePreKeySignalMessage(raw)
	if err != nil {
		t.Fatal(err)
	}
	kb := m.BaseKey.Bytes()
	i := bytes.Index(raw, kb)
	if i < 0 {
		t.Fatal("base key not found")
	}
	out := bytes.Clone(raw)
	out[i+32] ^= 0x80
	return out
}

// Item 3: a non-canonical re-encoding of a version 3 base key must not start
// the same session again.
func TestIssue20Item3NonCanonicalBaseKeyReplay(t *testing.T) {
	ctx := context.Background()
	for _, kyber := range []bool{false, true} {
		t.Run(fmt.Sprintf("kyber=%v", kyber), func(t *testing.T) {
			alice := newParty(t, "alice", session.WithPolicy(session.AllowX3DH))
			bob := newParty(t, "bob", session.WithPolicy(session.AllowX3DH))
			if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, false, kyber)); err != nil {
				t.Fatal(err)
			}
			w := alice.send(t, bob, "pay 100")
			bob.recv(t, alice, w)
			before := bob.record(t, alice.addr)
			replay := flipBaseKeyTopBit(t, w.ct)
			if pt, err := bob.cipher.Decrypt(ctx, alice.addr, session.TypePreKey, replay); err == nil {
				t.Fatalf("re-encoded base key decrypted again: %q", pt)
			} else if !errors.Is(err, session.ErrInvalidMessage) {
				t.Fatalf("re-encoded base key: %v, want ErrInvalidMessage", err)
			}
			if !bytes.Equal(bob.record(t, alice.addr), before) {
				t.Fatal("refused message changed the record")
			}
		})
	}
}

// Item 3, the ratchet key: a SignalMessage whose ratchet key is not
// canonical is refused when parsed.
func TestIssue20Item3NonCanonicalRatchetKey(t *testing.T) {
	alice, bob := established(t)
	w := alice.send(t, bob, "x")
	m, err := session.ParseSignalMessage(w.ct)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(w.ct, m.RatchetKey.Bytes())
	bad := bytes.Clone(w.ct)
	bad[i+32] ^= 0x80
	if _, err := session.ParseSignalMessage(bad); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("non-canonical ratchet key: %v", err)
	}
}

const (
	aliceACI = "0f9c1b2e-3d4a-4b5c-8d6e-7f8091a2b3c4"
	bobACI   = "a1b2c3d4-e5f6-4789-8abc-def012345678"
	carolACI = "c0c0c0c0-1111-4222-8333-444455556666"
)

func newServiceParty(t *testing.T, name string, local bool) *party {
	t.Helper()
	var opts []session.Option
	if local {
		opts = append(opts, session.WithLocalAddress(session.Address{Name: name, DeviceID: 1}))
	}
	return newParty(t, name, opts...)
}

// Item 11: the address binding libsignal ≥ 0.91 writes is written by
// Interlock too and checked on receipt.
func TestIssue20Item11AddressBinding(t *testing.T) {
	ctx := context.Background()
	for _, bobKnowsHimself := range []bool{true, false} {
		t.Run(fmt.Sprintf("local=%v", bobKnowsHimself), func(t *testing.T) {
			alice := newServiceParty(t, aliceACI, true)
			bob := newServiceParty(t, bobACI, bobKnowsHimself)
			if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
				t.Fatal(err)
			}
			w := alice.send(t, bob, "hello")
			m, err := session.ParsePreKeySignalMessage(w.ct)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Message.Addresses) != session.AddressBindingSize {
				t.Fatalf("address binding of %d bytes", len(m.Message.Addresses))
			}
			for _, from := range []session.Address{
				{Name: aliceACI, DeviceID: 60},
				{Name: carolACI, DeviceID: 1},
				{Name: "PNI:" + aliceACI, DeviceID: 1},
				{Name: "alice@s.whatsapp.net", DeviceID: 1},
			} {
				if _, err := bob.cipher.Decrypt(ctx, from, w.typ, w.ct); !errors.Is(err, session.ErrInvalidMessage) {
					t.Fatalf("relabelled as %s: %v, want ErrInvalidMessage", from, err)
				}
				if bob.record(t, from) != nil {
					t.Fatalf("relabelled message stored a session for %s", from)
				}
			}
			// The one-time prekey was not spent: the genuine delivery works.
			bob.recv(t, alice, w)
			alice.recv(t, bob, bob.send(t, alice, "hi"))
		})
	}
	t.Run("wrong recipient", func(t *testing.T) {
		alice := newServiceParty(t, aliceACI, true)
		bob := newServiceParty(t, bobACI, true)
		carol := newServiceParty(t, carolACI, true)
		// Carol publishes Bob's bundle under her name (the server's swap);
		// Alice's message names Bob as its recipient.
		if err := alice.cipher.ProcessBundle(ctx, carol.addr, bob.bundle(t, true, true)); err != nil {
			t.Fatal(err)
		}
		w := alice.send(t, carol, "for carol")
		if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, w.ct); !errors.Is(err, session.ErrInvalidMessage) {
			t.Fatalf("message bound to another recipient: %v", err)
		}
	})
	t.Run("no binding without service IDs", func(t *testing.T) {
		alice := newParty(t, "alice", session.WithLocalAddress(session.Address{Name: "alice", DeviceID: 1}))
		bob := newParty(t, "bob")
		if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
			t.Fatal(err)
		}
		w := alice.send(t, bob, "hello")
		m, err := session.ParsePreKeySignalMessage(w.ct)
		if err != nil {
			t.Fatal(err)
		}
		if m.Message.Addresses != nil {
			t.Fatal("binding written for names that are not service IDs")
		}
		bob.recv(t, alice, w)
	})
}

// Item 13: a Kyber-stripped bundle does not move a device that spoke
// version 4 back to X3DH, even under AllowX3DH.
func TestIssue20Item13StrippedBundleRefused(t *testing.T) {
	ctx := context.Background()
	alice := newParty(t, "alice", session.WithPolicy(session.AllowX3DH))
	bob := newParty(t, "bob", session.WithPolicy(session.AllowX3DH))
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	bob.recv(t, alice, alice.send(t, bob, "pq"))
	alice.recv(t, bob, bob.send(t, alice, "pq too"))
	before := alice.record(t, bob.addr)
	err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, false))
	if !errors.Is(err, session.ErrDowngrade) || !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("stripped bundle: %v, want ErrDowngrade", err)
	}
	if !bytes.Equal(alice.record(t, bob.addr), before) {
		t.Fatal("refused bundle changed the record")
	}
	// Archived too: a new version 4 session archives the first; a stripped
	// bundle is still refused.
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, false)); !errors.Is(err, session.ErrDowngrade) {
		t.Fatalf("stripped bundle with version 4 current: %v", err)
	}
	// A device never seen speaking version 4 gets X3DH under AllowX3DH.
	carol := newParty(t, "carol", session.WithPolicy(session.AllowX3DH))
	if err := alice.cipher.ProcessBundle(ctx, carol.addr, carol.bundle(t, true, false)); err != nil {
		t.Fatalf("first X3DH session: %v", err)
	}
}

// faultStore is a Store without Transactor whose failAt-th write fails.
type faultStore struct {
	session.Store
	writes, failAt int
	log            []string
}

var errFault = errors.New("injected store fault")

func (f *faultStore) write(name string) error {
	f.writes++
	f.log = append(f.log, name)
	if f.writes == f.failAt {
		return errFault
	}
	return nil
}

func (f *faultStore) StoreSession(ctx context.Context, a session.Address, r *session.Record) error {
	if err := f.write("StoreSession"); err != nil {
		return err
	}
	return f.Store.StoreSession(ctx, a, r)
}

func (f *faultStore) SaveIdentity(ctx context.Context, a session.Address, k prekey.IdentityKey) (bool, error) {
	if err := f.write("SaveIdentity"); err != nil {
		return false, err
	}
	return f.Store.SaveIdentity(ctx, a, k)
}

func (f *faultStore) RemovePreKey(ctx context.Context, id uint32) error {
	if err := f.write("RemovePreKey"); err != nil {
		return err
	}
	return f.Store.RemovePreKey(ctx, id)
}

func (f *faultStore) MarkKyberPreKeyUsed(ctx context.Context, id, spk uint32, base prekey.PublicKey) error {
	if err := f.write("MarkKyberPreKeyUsed"); err != nil {
		return err
	}
	return f.Store.MarkKyberPreKeyUsed(ctx, id, spk, base)
}

// Item 15: without a Transactor, a store fault at any write of a
// PreKeySignalMessage's decryption leaves the message decryptable again, and
// once it is decrypted no prekey it used is usable.
func TestIssue20Item15StoreFaultAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	for _, lastResort := range []bool{false, true} {
		for failAt := 1; failAt <= 4; failAt++ {
			t.Run(fmt.Sprintf("lastResort=%v/fault%d", lastResort, failAt), func(t *testing.T) {
				alice := newParty(t, "alice")
				id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
				mem := session.NewMemoryStore(id, 7)
				fs := &faultStore{Store: mem}
				bob := &party{addr: session.Address{Name: "bob", DeviceID: 1}, id: id, regID: 7, store: mem, cipher: session.NewCipher(fs), nextID: 1}
				b := bob.bundle(t, true, true)
				if lastResort {
					k, err := prekey.GenerateKyberPreKey(rand.Reader, id, 99, true, time.Now())
					if err != nil {
						t.Fatal(err)
					}
					if err := mem.StoreKyberPreKey(ctx, &k); err != nil {
						t.Fatal(err)
					}
					b.KyberPreKeyID, b.KyberPreKey, b.KyberPreKeySignature = k.ID, k.KeyPair.Public, k.Signature
				}
				if err := alice.cipher.ProcessBundle(ctx, bob.addr, b); err != nil {
					t.Fatal(err)
				}
				w := alice.send(t, bob, "first")
				fs.failAt = failAt
				if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, w.ct); !errors.Is(err, errFault) {
					t.Fatalf("writes %v: decrypt with a fault at write %d: %v", fs.log, failAt, err)
				}
				if rec := bob.record(t, alice.addr); rec != nil {
					r, err := session.UnmarshalRecord(rec)
					if err != nil {
						t.Fatal(err)
					}
					if r.Current() != nil || r.ArchivedStates() != 0 {
						t.Fatalf("fault at %s left a session", fs.log[failAt-1])
					}
				}
				if _, err := mem.LoadPreKey(ctx, b.PreKeyID); err != nil {
					t.Fatalf("fault at %s lost the one-time prekey: %v", fs.log[failAt-1], err)
				}
				fs.failAt = 0
				if lastResort && fs.log[failAt-1] == "SaveIdentity" {
					// The one documented loss (commitPreKey): the base key
					// was recorded against the last-resort Kyber prekey
					// before the identity write failed; the retry is
					// refused as a replay and changes nothing.
					if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, w.ct); !errors.Is(err, session.ErrInvalidPreKey) {
						t.Fatalf("retry after a fault at SaveIdentity: %v", err)
					}
					return
				}
				bob.recv(t, alice, w) // decryptable again
				if _, err := mem.LoadPreKey(ctx, b.PreKeyID); !errors.Is(err, session.ErrInvalidPreKey) {
					t.Fatalf("one-time prekey still usable after the session was built: %v", err)
				}
				if _, err := mem.LoadKyberPreKey(ctx, b.KyberPreKeyID); (err == nil) != lastResort {
					t.Fatalf("Kyber prekey after use: %v", err)
				}
				alice.recv(t, bob, bob.send(t, alice, "answer"))
			})
		}
	}
}

// The review's "also examine" point: a decryption-error request is
// unauthenticated; CurrentRatchetKeyMatches lets an app ignore one about a
// chain that is not the current one (libsignal's
// current_ratchet_key_matches).
func TestIssue20CurrentRatchetKeyMatches(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	w := alice.send(t, bob, "lost")
	req, err := session.NewDecryptionErrorMessage(w.ct, w.typ, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := alice.cipher.CurrentRatchetKeyMatches(ctx, bob.addr, req.RatchetKey); err != nil || !ok {
		t.Fatalf("request for the current chain: %v, %v", ok, err)
	}
	bob.recv(t, alice, w)
	alice.recv(t, bob, bob.send(t, alice, "reply"))
	// Alice's next message starts a new chain: the old request is stale.
	bob.recv(t, alice, alice.send(t, bob, "new chain"))
	if ok, err := alice.cipher.CurrentRatchetKeyMatches(ctx, bob.addr, req.RatchetKey); err != nil || ok {
		t.Fatalf("request for an old chain: %v, %v", ok, err)
	}
	if ok, _ := alice.cipher.CurrentRatchetKeyMatches(ctx, session.Address{Name: "nobody", DeviceID: 1}, req.RatchetKey); ok {
		t.Fatal("no session reported a match")
	}
}
