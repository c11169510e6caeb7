package sealedsender_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// TestIssue20Item7_ZeroNowChecksExpiry: issue #20 item 7. A zero
// DecryptOptions.Now (or a zero validation time given to Validate) used to
// give a negative UnixMilli, which skipped the expiry check: a certificate
// that expired in 2019 was accepted. Zero now means time.Now.
func TestIssue20Item7_ZeroNowChecksExpiry(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, 1)
	alice, bob := newParty(t, aliceUUID, 1), newParty(t, bobUUID, 1)
	alice.connect(t, bob)
	expired := srv.issueAt(t, alice, time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC))

	if err := expired.Validate(srv.root.Public, time.Time{}); !errors.Is(err, sealedsender.ErrExpired) {
		t.Fatalf("Validate at the zero time: %v, want ErrExpired", err)
	}
	if err := expired.Validate(srv.root.Public, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Fatal("Validate before 1970 accepted")
	}

	sealed, err := sealedsender.EncryptMessage(ctx, nil, alice.cipher, alice.store, bob.addr, expired, []byte("stale"))
	if err != nil {
		t.Fatal(err)
	}
	opts := srv.opts(bob)
	opts.Now = time.Time{}
	if _, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed, opts); !errors.Is(err, sealedsender.ErrExpired) {
		t.Fatalf("DecryptMessage with a zero Now: %v, want ErrExpired", err)
	}

	// Zero means now: a fresh certificate still opens.
	sealed, err = sealedsender.EncryptMessage(ctx, nil, alice.cipher, alice.store, bob.addr, srv.issue(t, alice), []byte("fresh"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed, opts); err != nil || string(res.Plaintext) != "fresh" {
		t.Fatalf("fresh certificate with a zero Now: %v", err)
	}

	// Issuing: a zero expiry is a mistake, not "expired in 1970".
	for _, exp := range []time.Time{{}, time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if _, err := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
			UUID: aliceUUID, DeviceID: 1, IdentityKey: alice.id.PublicKey(), Expires: exp,
		}, srv.cert, srv.key.Private); !errors.Is(err, sealedsender.ErrInvalidArgument) {
			t.Fatalf("expiry %v: %v, want ErrInvalidArgument", exp, err)
		}
	}
}

// mallory is the service turned attacker (issue #20 item 12): it holds the
// certificate signing key, so it can certify its own identity key for any
// address.
type mallory struct {
	srv *server
	id  prekey.IdentityKeyPair
}

func newMallory(t *testing.T, srv *server) *mallory {
	t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &mallory{srv: srv, id: id}
}

// seal mints a certificate for as with Mallory's identity key and seals
// (typ, inner) under it to to, with sealed sender v1 or v2: a well-formed
// sealed message whose certificate verifies under the trust root.
func (m *mallory) seal(t *testing.T, v2 bool, as session.Address, to *party, typ session.MessageType, inner []byte) []byte {
	t.Helper()
	cert, err := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
		UUID: as.Name, DeviceID: as.DeviceID, IdentityKey: m.id.PublicKey(), Expires: m.srv.expires,
	}, m.srv.cert, m.srv.key.Private)
	if err != nil {
		t.Fatal(err)
	}
	return sealAs(t, v2, m.id, cert, to, typ, inner)
}

// sealAs seals (typ, inner) under cert with sealer's identity, v1 or v2.
func sealAs(t *testing.T, v2 bool, sealer prekey.IdentityKeyPair, cert *sealedsender.SenderCertificate, to *party, typ session.MessageType, inner []byte) []byte {
	t.Helper()
	content, err := sealedsender.NewContent(typ, cert, inner, sealedsender.HintDefault, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !v2 {
		b, err := sealedsender.Encrypt(rand.Reader, to.id.PublicKey(), sealer, content)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	id := mustServiceID(t, to.addr.Name)
	sent, err := sealedsender.EncryptMultiRecipient(rand.Reader, []sealedsender.Recipient{{
		ServiceID: id, IdentityKey: to.id.PublicKey(),
		Devices: []sealedsender.Device{{ID: to.addr.DeviceID, RegistrationID: to.regID}},
	}}, nil, sealer, content)
	if err != nil {
		t.Fatal(err)
	}
	b, err := sealedsender.SplitForRecipient(sent, id, to.addr.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// storeSnapshot is what a refused message must leave unchanged in p's store
// for addr: its record (serialized), its identity, and p's prekeys.
func storeSnapshot(t *testing.T, p *party, addr session.Address, kyberIDs ...uint32) string {
	t.Helper()
	ctx := context.Background()
	var b bytes.Buffer
	rec, err := p.store.LoadSession(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	if rec != nil {
		raw, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("record ")
		b.Write(raw)
	}
	if k, ok, err := p.store.Identity(ctx, addr); err != nil {
		t.Fatal(err)
	} else if ok {
		b.WriteString(" identity ")
		b.Write(k.Bytes())
	}
	for _, id := range kyberIDs {
		if _, err := p.store.LoadKyberPreKey(ctx, id); err != nil {
			b.WriteString(" kyber prekey gone")
		}
	}
	return b.String()
}

func bothVersions(t *testing.T, fn func(t *testing.T, v2 bool)) {
	t.Run("v1", func(t *testing.T) { fn(t, false) })
	t.Run("v2", func(t *testing.T) { fn(t, true) })
}

// TestIssue20Item12_MintedCertificatePreKeyMessage: issue #20 item 12. The
// service mints a certificate for carol.9 (or for alice.1, before Bob has
// pinned Alice) with its own identity key and wraps Alice's genuine
// PreKeySignalMessage (seen when she sent it unsealed). It used to decrypt,
// as Alice's text certified from carol.9, and leave a session under
// carol.9. It must be refused, leave no stored state, and the genuine
// message must still open afterwards.
func TestIssue20Item12_MintedCertificatePreKeyMessage(t *testing.T) {
	bothVersions(t, func(t *testing.T, v2 bool) {
		ctx := context.Background()
		srv, evil, alice, bob := mintedScene(t, false)
		typ, inner, err := alice.cipher.Encrypt(ctx, bob.addr, []byte("meet at noon"))
		if err != nil || typ != session.TypePreKey {
			t.Fatalf("type %d: %v", typ, err)
		}
		kyberIDs := []uint32{1}
		carol9 := session.Address{Name: carolUUID, DeviceID: 9}
		for _, as := range []session.Address{carol9, alice.addr} {
			before := storeSnapshot(t, bob, as, kyberIDs...)
			res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, evil.seal(t, v2, as, bob, typ, inner), srv.opts(bob))
			if err == nil {
				t.Fatalf("minted certificate for %v accepted: %q from %v", as, res.Plaintext, res.Sender)
			}
			if !errors.Is(err, session.ErrUntrustedIdentity) {
				t.Fatalf("minted certificate for %v: %v, want ErrUntrustedIdentity", as, err)
			}
			if after := storeSnapshot(t, bob, as, kyberIDs...); after != before {
				t.Fatalf("refused message for %v changed the store", as)
			}
		}
		// The genuine delivery still opens, from Alice; now that Bob pins
		// Alice's key, a minted alice.1 certificate fails the
		// pinned-identity check itself.
		genuineThenPinned(t, v2, srv, evil, alice, bob, typ, inner, "meet at noon")
	})
}

// TestIssue20Item12_MintedCertificateSignalMessage: issue #20 item 12, the
// SignalMessage variant. Bob holds a session under carol.9 that Alice's
// identity authenticates, with nothing pinned for carol.9 (how it got
// there — a relabelled first message, an import — does not matter here).
// Alice's genuine SignalMessage sealed under a minted carol.9 certificate
// with the service's key used to decrypt as certified from carol.9; the
// session's identity differs from the certificate's, so it is refused and
// the record is untouched.
func TestIssue20Item12_MintedCertificateSignalMessage(t *testing.T) {
	bothVersions(t, func(t *testing.T, v2 bool) {
		ctx := context.Background()
		srv, evil, alice, bob := mintedScene(t, true)
		typ, inner, err := alice.cipher.Encrypt(ctx, bob.addr, []byte("wire 100 EUR"))
		if err != nil || typ != session.TypeSignal {
			t.Fatalf("type %d: %v", typ, err)
		}
		carol9 := session.Address{Name: carolUUID, DeviceID: 9}
		rec, err := bob.store.LoadSession(ctx, alice.addr)
		if err != nil || rec == nil {
			t.Fatalf("Bob's session with Alice: %v", err)
		}
		if err := bob.store.StoreSession(ctx, carol9, rec); err != nil {
			t.Fatal(err)
		}

		before := storeSnapshot(t, bob, carol9)
		res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, evil.seal(t, v2, carol9, bob, typ, inner), srv.opts(bob))
		if err == nil {
			t.Fatalf("minted certificate accepted: %q from %v", res.Plaintext, res.Sender)
		}
		if !errors.Is(err, session.ErrUntrustedIdentity) || !errors.Is(err, sealedsender.ErrInvalidMessage) {
			t.Fatalf("minted certificate: %v, want ErrInvalidMessage and ErrUntrustedIdentity", err)
		}
		if after := storeSnapshot(t, bob, carol9); after != before {
			t.Fatal("refused message changed the store")
		}

		// Alice's genuine delivery opens, from Alice, and a minted alice.1
		// certificate fails the pinned identity.
		genuineThenPinned(t, v2, srv, evil, alice, bob, typ, inner, "wire 100 EUR")
	})
}

// mintedScene is the scene of the item-12 tests: the service srv (one
// trust root), Mallory holding its certificate signing key, and Alice with
// a session to Bob; after one round trip when answered, so that her next
// message is a SignalMessage.
func mintedScene(t *testing.T, answered bool) (srv *server, evil *mallory, alice, bob *party) {
	t.Helper()
	srv = newServer(t, 1)
	evil = newMallory(t, srv)
	alice, bob = newParty(t, aliceUUID, 1), newParty(t, bobUUID, 1)
	alice.connect(t, bob)
	if answered {
		exchange(t, alice, bob)
	}
	return srv, evil, alice, bob
}

// genuineThenPinned: Alice's genuine sealed delivery of (typ, inner), under
// her own certificate, opens as want from Alice; Bob then pins her key, so
// her next message sealed by Mallory under a minted alice.1 certificate is
// refused with ErrUntrustedIdentity.
func genuineThenPinned(t *testing.T, v2 bool, srv *server, evil *mallory, alice, bob *party, typ session.MessageType, inner []byte, want string) {
	t.Helper()
	ctx := context.Background()
	res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealAs(t, v2, alice.id, srv.issue(t, alice), bob, typ, inner), srv.opts(bob))
	if err != nil || string(res.Plaintext) != want || res.Sender != alice.addr {
		t.Fatalf("genuine message: %v", err)
	}
	typ2, inner2, err := alice.cipher.Encrypt(ctx, bob.addr, []byte("again"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, evil.seal(t, v2, alice.addr, bob, typ2, inner2), srv.opts(bob)); !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("minted alice.1 certificate after pinning: %v", err)
	}
}

// exchange runs one round trip so that a's next message is a SignalMessage.
func exchange(t *testing.T, a, b *party) {
	t.Helper()
	ctx := context.Background()
	typ, m, err := a.cipher.Encrypt(ctx, b.addr, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.cipher.Decrypt(ctx, a.addr, typ, m); err != nil {
		t.Fatal(err)
	}
	typ, m, err = b.cipher.Encrypt(ctx, a.addr, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.cipher.Decrypt(ctx, b.addr, typ, m); err != nil {
		t.Fatal(err)
	}
}

// TestIssue20Item12_MintedCertificateDecryptionError: issue #20 item 12, the
// plaintext-content variant. A decryption-error request under a minted
// "alice.1 + the service's key" certificate used to be returned with Sender
// alice.1 although Bob pins Alice's real key; one from an address Bob pins
// no identity for cannot be attributed and is refused too. Alice's genuine
// request is returned.
func TestIssue20Item12_MintedCertificateDecryptionError(t *testing.T) {
	bothVersions(t, func(t *testing.T, v2 bool) {
		ctx := context.Background()
		srv, evil, alice, bob := mintedScene(t, true)
		typ, failed, err := bob.cipher.Encrypt(ctx, alice.addr, []byte("lost"))
		if err != nil {
			t.Fatal(err)
		}
		dem, err := session.NewDecryptionErrorMessage(failed, typ, 1700000000000, bob.addr.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		request := session.NewPlaintextContent(dem).Bytes()

		res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, evil.seal(t, v2, alice.addr, bob, session.TypePlaintext, request), srv.opts(bob))
		if err == nil {
			t.Fatalf("minted alice.1 certificate accepted: from %v", res.Sender)
		}
		if !errors.Is(err, session.ErrUntrustedIdentity) {
			t.Fatalf("minted alice.1 certificate: %v, want ErrUntrustedIdentity", err)
		}
		dave := session.Address{Name: daveUUID, DeviceID: 1}
		if res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, evil.seal(t, v2, dave, bob, session.TypePlaintext, request), srv.opts(bob)); !errors.Is(err, session.ErrUntrustedIdentity) {
			t.Fatalf("request from an address with no pinned identity: %+v, %v", res, err)
		}

		res, err = sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealAs(t, v2, alice.id, srv.issue(t, alice), bob, session.TypePlaintext, request), srv.opts(bob))
		if err != nil || res.Sender != alice.addr || res.Type != session.TypePlaintext || !bytes.Equal(res.Content.Contents(), request) {
			t.Fatalf("genuine request: %+v, %v", res, err)
		}
	})
}
