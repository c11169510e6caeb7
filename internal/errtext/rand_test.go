package errtext_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/media"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// TestIssue16Item6NilRand: every function taking a rand io.Reader takes it
// first (after a context) and reads crypto/rand.Reader when it is nil
// (issue #16 item 6); media, PadWhatsApp and GenerateRegistrationID used to
// dereference the nil reader.
func TestIssue16Item6NilRand(t *testing.T) {
	ctx := context.Background()
	if _, err := prekey.GenerateRegistrationID(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prekey.GenerateKEMKeyPair(nil, prekey.Kyber1024); err != nil {
		t.Fatal(err)
	}
	if _, err := envelope.PadWhatsApp(nil, []byte("x")); err != nil {
		t.Fatal(err)
	}
	var blob bytes.Buffer
	if _, err := media.EncryptWhatsApp(nil, &blob, bytes.NewReader([]byte("image")), media.Image); err != nil {
		t.Fatal(err)
	}
	blob.Reset()
	if _, err := media.EncryptSignal(nil, &blob, bytes.NewReader([]byte("file")), 4); err != nil {
		t.Fatal(err)
	}
	alice, bob := newPeer(t, "alice-aci"), newPeer(t, "bob-aci")
	c := session.NewCipher(alice.store, session.WithRand(nil))
	if err := c.ProcessBundle(ctx, bob.addr, bob.bundle(t)); err != nil {
		t.Fatal(err)
	}
	msg := &envelope.WhatsAppMessage{Text: "hi"}
	if _, _, err := envelope.SealWhatsApp(ctx, nil, c, bob.addr, msg); err != nil {
		t.Fatal(err)
	}
}
