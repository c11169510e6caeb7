package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/interlock-e2ee/interlock/envelope"
)

// Issue #16 item 7: OpenWhatsApp dropped every field it does not model. It
// now keeps the decrypted, unpadded waE2E.Message in Raw, so a bridge can
// read all that WhatsApp sent (here field 35, extendedTextMessage, and an
// unknown field 9999).
func TestIssue16Item7_OpenWhatsAppKeepsRaw(t *testing.T) {
	ctx := context.Background()
	alice, bob := pair(t, true)
	body, err := (&envelope.WhatsAppMessage{Text: "hi"}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ext := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "https://example.org")
	body = protowire.AppendBytes(protowire.AppendTag(body, 35, protowire.BytesType), ext)
	body = protowire.AppendVarint(protowire.AppendTag(body, 9999, protowire.VarintType), 42)
	padded, err := envelope.PadWhatsApp(rand.Reader, body)
	if err != nil {
		t.Fatal(err)
	}
	typ, ct, err := alice.Encrypt(ctx, bobAddr, padded)
	if err != nil {
		t.Fatal(err)
	}
	encType, _ := envelope.WhatsAppEncType(typ)
	got, err := envelope.OpenWhatsApp(ctx, bob, aliceAddr, encType, ct)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "hi" || !bytes.Equal(got.Raw, body) {
		t.Fatalf("Text %q, Raw %x; want Raw %x", got.Text, got.Raw, body)
	}
	// Marshal encodes the modelled fields only: Raw is what was received.
	again, _ := got.Marshal()
	if back, err := envelope.ParseWhatsAppMessage(again); err != nil || back.Raw != nil || back.Text != "hi" {
		t.Fatalf("%+v, %v", back, err)
	}
}
