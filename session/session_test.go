package session_test

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/ratchet"
	"github.com/interlock-e2ee/interlock/session"
)

func TestSetupVariants(t *testing.T) {
	for _, tc := range []struct {
		oneTime, kyber bool
		policy         session.Policy
		version        int
	}{
		{true, true, session.RequirePQXDH, 4},
		{false, true, session.RequirePQXDH, 4},
		{true, false, session.AllowX3DH, 3},
		{false, false, session.AllowX3DH, 3},
		{true, true, session.AllowX3DH, 4},
	} {
		t.Run(fmt.Sprintf("onetime=%v/kyber=%v/v%d", tc.oneTime, tc.kyber, tc.version), func(t *testing.T) {
			ctx := context.Background()
			opt := session.WithPolicy(tc.policy)
			alice, bob := newParty(t, "alice", opt), newParty(t, "bob", opt)
			if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, tc.oneTime, tc.kyber)); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				w := alice.send(t, bob, fmt.Sprint("a", i))
				if w.typ != session.TypePreKey {
					t.Fatalf("message %d before any answer has type %d", i, w.typ)
				}
				bob.recv(t, alice, w)
			}
			for i := range 3 {
				alice.recv(t, bob, bob.send(t, alice, fmt.Sprint("b", i)))
			}
			w := alice.send(t, bob, "after answer")
			if w.typ != session.TypeSignal {
				t.Fatalf("after an answer the type is %d", w.typ)
			}
			bob.recv(t, alice, w)
			for _, p := range []*party{alice, bob} {
				other := bob.addr
				if p == bob {
					other = alice.addr
				}
				v, err := p.cipher.SessionVersion(ctx, other)
				if err != nil || v != tc.version {
					t.Fatalf("version %d, %v; want %d", v, err, tc.version)
				}
			}
			if tc.oneTime {
				if _, err := bob.store.LoadPreKey(ctx, 1); !errors.Is(err, session.ErrInvalidPreKey) {
					t.Fatalf("one-time prekey still stored: %v", err)
				}
			}
		})
	}
}

func TestRequirePQXDHRefusesDowngrade(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, false))
	if !errors.Is(err, session.ErrUnsupported) {
		t.Fatalf("Kyber-less bundle under RequirePQXDH: %v", err)
	}
	// A version 3 session offered by a permissive peer is refused too.
	mallory := newParty(t, "mallory", session.WithPolicy(session.AllowX3DH))
	if err := mallory.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, false)); err != nil {
		t.Fatal(err)
	}
	w := mallory.send(t, bob, "v3 please")
	if _, err := bob.cipher.Decrypt(ctx, mallory.addr, w.typ, w.ct); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("v3 prekey message under RequirePQXDH: %v", err)
	}
}

func TestBadBundleSignature(t *testing.T) {
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	b := bob.bundle(t, true, true)
	b.SignedPreKeySignature[5] ^= 1
	if err := alice.cipher.ProcessBundle(context.Background(), bob.addr, b); !errors.Is(err, session.ErrInvalidSignature) {
		t.Fatalf("bad signed prekey signature: %v", err)
	}
	b = bob.bundle(t, true, true)
	b.KyberPreKeySignature[5] ^= 1
	if err := alice.cipher.ProcessBundle(context.Background(), bob.addr, b); !errors.Is(err, session.ErrInvalidSignature) {
		t.Fatalf("bad Kyber prekey signature: %v", err)
	}
}

func TestDuplicateAndNoSession(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	w := alice.send(t, bob, "once")
	bob.recv(t, alice, w)
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, w.ct); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Fatalf("duplicate: %v", err)
	}
	carol := newParty(t, "carol")
	if _, _, err := carol.cipher.Encrypt(ctx, alice.addr, []byte("x")); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("encrypt without session: %v", err)
	}
	if _, err := carol.cipher.Decrypt(ctx, alice.addr, w.typ, w.ct); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("decrypt without session: %v", err)
	}
}

func TestReplayedPreKeyMessage(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	first := alice.send(t, bob, "first")
	bob.recv(t, alice, first)
	alice.recv(t, bob, bob.send(t, alice, "answer"))
	bob.recv(t, alice, alice.send(t, bob, "more"))
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, first.typ, first.ct); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Fatalf("replayed prekey message: %v", err)
	}
	bob.recv(t, alice, alice.send(t, bob, "still works"))
}

func TestIdentityChange(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	// Bob reinstalls: new identity, same address.
	bob2 := newParty(t, "bob")
	if err := bob2.cipher.ProcessBundle(ctx, alice.addr, alice.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	w := bob2.send(t, alice, "new phone")
	if _, err := alice.cipher.Decrypt(ctx, bob.addr, w.typ, w.ct); !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("changed identity: %v", err)
	}
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob2.bundle(t, true, true)); !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("bundle with changed identity: %v", err)
	}
	if _, err := alice.store.SaveIdentity(ctx, bob.addr, bob2.id.PublicKey()); err != nil {
		t.Fatal(err)
	}
	alice.recv(t, bob2, w)
	bob2.recv(t, alice, alice.send(t, bob2, "welcome back"))
}

func TestSimultaneousInitiation(t *testing.T) {
	ctx := context.Background()
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	if err := bob.cipher.ProcessBundle(ctx, alice.addr, alice.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	wa, wb := alice.send(t, bob, "from alice"), bob.send(t, alice, "from bob")
	bob.recv(t, alice, wa)
	alice.recv(t, bob, wb)
	for i := range 6 {
		bob.recv(t, alice, alice.send(t, bob, fmt.Sprint("a", i)))
		alice.recv(t, bob, bob.send(t, alice, fmt.Sprint("b", i)))
	}
}

func TestForwardJumpLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("derives 25,000 keys")
	}
	ctx := context.Background()
	// The Double Ratchet's own limit, exactly: without SPQR.
	alice, bob := established(t, session.WithSPQR(session.NoSPQR))
	var last wire
	for i := 0; i <= ratchet.MaxForwardJumps; i++ {
		last = alice.send(t, bob, fmt.Sprint(i))
	}
	// Alice's current chain began after Bob's answer, so its counters run
	// from 0: the last is exactly MaxForwardJumps ahead and still accepted.
	bob.recv(t, alice, last)
	// Bob's chain now expects counter MaxForwardJumps+1; this one is one further.
	for i := 0; i <= ratchet.MaxForwardJumps+1; i++ {
		last = alice.send(t, bob, fmt.Sprint(i))
	}
	before := bob.record(t, alice.addr)
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, last.typ, last.ct); !errors.Is(err, session.ErrTooFar) {
		t.Fatalf("jump of %d: %v", ratchet.MaxForwardJumps+1, err)
	}
	if !bytes.Equal(before, bob.record(t, alice.addr)) {
		t.Fatal("rejected message changed the record")
	}

	// With the triple ratchet, SPQR's chain (whose indexes start at 1) has the
	// same 25,000 bound, so a Double Ratchet jump of exactly MaxForwardJumps
	// is refused by SPQR: libsignal 0.103 behaves the same (measured live).
	alice, bob = established(t)
	for i := 0; i < ratchet.MaxForwardJumps; i++ {
		last = alice.send(t, bob, fmt.Sprint(i))
	}
	bob.recv(t, alice, last) // a jump of MaxForwardJumps-1
	for i := 0; i <= ratchet.MaxForwardJumps; i++ {
		last = alice.send(t, bob, fmt.Sprint(i))
	}
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, last.typ, last.ct); !errors.Is(err, session.ErrTooFar) {
		t.Fatalf("SPQR jump: %v", err)
	}
}

// TestFailedDecryptLeavesRecordUnchanged: bad MAC, tampered ratchet key,
// wrong version, truncation and garbage all leave the stored record
// byte-identical, and the original still decrypts afterwards.
func TestFailedDecryptLeavesRecordUnchanged(t *testing.T) {
	ctx := context.Background()
	alice, bob := established(t)
	w := alice.send(t, bob, "the original")
	variants := map[string][]byte{}
	flip := func(name string, i int, mask byte) {
		b := bytes.Clone(w.ct)
		b[i] ^= mask
		variants[name] = b
	}
	flip("bad MAC", len(w.ct)-1, 1)
	flip("version 3 byte", 0, 0x70)
	flip("version 5 byte", 0, 0x10)
	flip("ratchet key", 5, 0x20)
	flip("counter", 37, 1)
	flip("ciphertext", len(w.ct)-20, 0x80)
	variants["garbage"] = []byte("definitely not a message at all, no")
	variants["empty"] = nil
	for n := range len(w.ct) {
		variants[fmt.Sprintf("prefix %d", n)] = w.ct[:n]
	}
	before := bob.record(t, alice.addr)
	for name, v := range variants {
		for _, typ := range []session.MessageType{session.TypeSignal, session.TypePreKey} {
			if _, err := bob.cipher.Decrypt(ctx, alice.addr, typ, v); err == nil {
				t.Fatalf("%s (type %d) decrypted", name, typ)
			}
			if !bytes.Equal(before, bob.record(t, alice.addr)) {
				t.Fatalf("%s (type %d) changed the stored record", name, typ)
			}
		}
	}
	bob.recv(t, alice, w)
}

// TestConversationProperty: 1,000 messages between two parties with random
// interleaving, reordering, drops and duplicates; every delivered message
// decrypts exactly once.
func TestConversationProperty(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := mrand.New(mrand.NewPCG(seed, 42))
			ctx := context.Background()
			alice, bob := newParty(t, "alice"), newParty(t, "bob")
			if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, true)); err != nil {
				t.Fatal(err)
			}
			type flight struct {
				from, to *party
				w        wire
			}
			var inflight []flight
			delivered := map[string]bool{}
			bobCanSend := false
			for i := 0; i < 1000 || len(inflight) > 0; i++ {
				if i < 1000 {
					from, to := alice, bob
					if bobCanSend && rng.IntN(2) == 0 {
						from, to = bob, alice
					}
					inflight = append(inflight, flight{from, to, from.send(t, to, fmt.Sprintf("%s-%d", from.addr.Name, i))})
				}
				// Deliver a random number of random in-flight messages.
				// Reordering is bounded: a message waits at most a few sends,
				// because a receiver keeps only ratchet.MaxReceiverChains chains
				// (libsignal's limit), so a message older than five ratchet
				// steps is legitimately undecryptable.
				for n := rng.IntN(3); (n > 0 || len(inflight) > 4) && len(inflight) > 0; n-- {
					j := rng.IntN(min(len(inflight), 3))
					f := inflight[j]
					switch r := rng.IntN(20); {
					case r == 0: // drop
						inflight = append(inflight[:j], inflight[j+1:]...)
						continue
					case r == 1: // deliver and keep a duplicate in flight
					default:
						inflight = append(inflight[:j], inflight[j+1:]...)
					}
					pt, err := f.to.cipher.Decrypt(ctx, f.from.addr, f.w.typ, f.w.ct)
					if delivered[f.w.pt] {
						if !errors.Is(err, session.ErrDuplicateMessage) {
							t.Fatalf("second delivery of %s: %v", f.w.pt, err)
						}
						continue
					}
					if err != nil {
						t.Fatalf("delivery of %s: %v", f.w.pt, err)
					}
					if string(pt) != f.w.pt {
						t.Fatalf("got %q want %q", pt, f.w.pt)
					}
					delivered[f.w.pt] = true
					if f.to == bob {
						bobCanSend = true
					}
				}
				if i >= 1000 && rng.IntN(2) == 0 && len(inflight) > 0 {
					inflight = inflight[:len(inflight)-1] // drain: drop some
				}
			}
			if len(delivered) < 800 {
				t.Fatalf("only %d messages delivered", len(delivered))
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	alice, bob := established(t)
	for i := range 10 {
		alice.send(t, bob, fmt.Sprint(i)) // dropped: skipped keys at Bob later
	}
	bob.recv(t, alice, alice.send(t, bob, "after gap"))
	raw := bob.record(t, alice.addr)
	r, err := session.UnmarshalRecord(raw)
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, again) {
		t.Fatal("record does not round-trip")
	}
}

func TestVersionPolicyKyberPreKeyTypes(t *testing.T) {
	// ML-KEM-1024 keys are not accepted by PQXDH (libsignal-client takes
	// only Kyber-1024 on the wire).
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	b := bob.bundle(t, true, false)
	kp, err := prekey.GenerateKEMKeyPair(crand.Reader, prekey.MLKEM1024)
	if err == nil {
		b.KyberPreKeyID, b.KyberPreKey = 9, kp.Public
		b.KyberPreKeySignature, _ = bob.id.Sign(crand.Reader, kp.Public.Bytes())
		if err := alice.cipher.ProcessBundle(context.Background(), bob.addr, b); err == nil {
			t.Fatal("ML-KEM-1024 prekey accepted for PQXDH")
		}
	}
}
