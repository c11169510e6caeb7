package sealedsender_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// withStore rebuilds p's store and cipher with opts (an identity scope).
func (p *party) withStore(opts ...session.StoreOption) *party {
	p.store = session.NewMemoryStore(p.id, p.regID, opts...)
	p.cipher = session.NewCipher(p.store)
	return p
}

// Issue #16 item 5: RecipientsFromStore took the identity key of a user's
// first device for all its devices. Sealed sender v2 encrypts each
// recipient's key material to one identity key per service ID, so a device
// with another key could not decrypt and nothing said so at send time.
// Under PerDevice, devices of one account with different keys are now an
// error before anything is sent; under PerAccount (the default) they share
// the account's key and every device decrypts.
func TestIssue16Item5_RecipientsFromStorePerDeviceKeys(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, 1)

	t.Run("PerDevice", func(t *testing.T) {
		alice := newParty(t, aliceUUID, 1).withStore(session.WithIdentityScope(session.PerDevice))
		bob1 := newParty(t, bobUUID, 1)
		bob2 := newParty(t, bobUUID, 2) // its own identity key, as WhatsApp devices have
		alice.connect(t, bob1)
		// The application vouches for Bob's second device (package adv).
		if _, err := alice.store.SaveIdentity(ctx, bob2.addr, bob2.id.PublicKey()); err != nil {
			t.Fatal(err)
		}
		alice.connect(t, bob2)
		_, err := sealedsender.RecipientsFromStore(ctx, alice.store, []session.Address{bob1.addr, bob2.addr})
		if !errors.Is(err, sealedsender.ErrIdentityKeyMismatch) || !errors.Is(err, sealedsender.ErrInvalidArgument) {
			t.Fatalf("devices with different identity keys: %v, want ErrIdentityKeyMismatch", err)
		}
		// Each device alone is a valid recipient with its own key.
		for _, b := range []*party{bob1, bob2} {
			rs, err := sealedsender.RecipientsFromStore(ctx, alice.store, []session.Address{b.addr})
			if err != nil || !rs[0].IdentityKey.Equal(b.id.PublicKey()) {
				t.Fatalf("%s: %+v, %v", b.addr, rs, err)
			}
		}
	})

	t.Run("PerAccount", func(t *testing.T) {
		alice := newParty(t, aliceUUID, 1)
		bob1 := newParty(t, bobUUID, 1)
		bob2 := newPartyWith(t, bobUUID, 2, bob1.id) // the account's key
		alice.connect(t, bob1)
		alice.connect(t, bob2)
		rs, err := sealedsender.RecipientsFromStore(ctx, alice.store, []session.Address{bob1.addr, bob2.addr})
		if err != nil || len(rs) != 1 || len(rs[0].Devices) != 2 {
			t.Fatalf("%+v, %v", rs, err)
		}
		content, _ := sealedsender.NewContent(session.TypePlaintext, srv.issue(t, alice), []byte("x"), sealedsender.HintDefault, nil)
		sent, err := sealedsender.EncryptMultiRecipient(rand.Reader, rs, nil, alice.id, content)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []*party{bob1, bob2} {
			m, err := sealedsender.SplitForRecipient(sent, rs[0].ServiceID, b.addr.DeviceID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sealedsender.DecryptToContent(b.id, m); err != nil {
				t.Fatalf("%s: %v", b.addr, err)
			}
		}
	})
}

var _ = prekey.KeyTypeDJB
