package sealedsender_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/sealedsender"
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
