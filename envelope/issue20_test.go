package envelope_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
)

// plaintextEnvelope wraps body in a PLAINTEXT_CONTENT envelope from alice to
// bob, as a malicious server can: nothing in it is authenticated.
func plaintextEnvelope(t *testing.T, body []byte) []byte {
	t.Helper()
	env, err := (&envelope.Envelope{
		Type: envelope.TypePlaintextContent, SourceServiceID: aliceAddr.Name, SourceDevice: aliceAddr.DeviceID,
		DestinationServiceID: bobAddr.Name, ClientTimestamp: 1700000000000, Content: body, Urgent: true,
	}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// plaintextContent is libsignal's PlaintextContent layout around any
// Content: 0xC0 ‖ Content ‖ 0x80.
func plaintextContent(t *testing.T, c *envelope.Content) []byte {
	t.Helper()
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{envelope.PlaintextContentMarker}, b...), 0x80)
}

// TestIssue20Item4_ForgedPlaintextContent: issue #20 item 4. A server can
// put any Content in a PLAINTEXT_CONTENT envelope and name any contact as
// its source. Open used to return it as (from, *Content, nil), exactly like
// a message the session decrypted and authenticated: "wire 5,000 EUR" from
// Alice. It must come out of Open as an error, never as content.
func TestIssue20Item4_ForgedPlaintextContent(t *testing.T) {
	ctx := context.Background()
	_, bob := pair(t, false)
	forged := &envelope.Content{DataMessage: &envelope.DataMessage{Body: "wire 5,000 EUR to DE89 3704 0044 0532 0130 00", Timestamp: 1700000000000}}
	env := plaintextEnvelope(t, plaintextContent(t, forged))
	for name, c := range map[string]*session.Cipher{"with cipher": bob, "nil cipher": nil} {
		from, content, err := envelope.Open(ctx, c, env)
		if err == nil || content != nil {
			t.Fatalf("%s: Open(forged PLAINTEXT_CONTENT) = %v, %+v, %v; want an error and no content", name, from, content, err)
		}
		if !errors.Is(err, session.ErrInvalidMessage) {
			t.Errorf("%s: error %v does not wrap session.ErrInvalidMessage", name, err)
		}
	}
}

// forgedPlaintextContents are PLAINTEXT_CONTENT bodies a server can write:
// anything but a lone, valid DecryptionErrorMessage (issue #20 item 4).
func forgedPlaintextContents(t *testing.T) map[string][]byte {
	t.Helper()
	dem := (&session.DecryptionErrorMessage{Timestamp: 1700000000000, DeviceID: 2}).Bytes()
	// DataMessage{body 1: "wire 5,000 EUR", timestamp 7}
	data := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "wire 5,000 EUR")
	data = protowire.AppendVarint(protowire.AppendTag(data, 7, protowire.VarintType), 1700000000000)
	field := func(b []byte, n protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(b, n, protowire.BytesType), v)
	}
	pc := func(content []byte) []byte {
		return append(append([]byte{envelope.PlaintextContentMarker}, content...), 0x80)
	}
	return map[string][]byte{
		"DataMessage":              plaintextContent(t, &envelope.Content{DataMessage: &envelope.DataMessage{Body: "wire 5,000 EUR", Timestamp: 1700000000000}}),
		"DEM then DataMessage":     pc(field(field(nil, 8, dem), 1, data)),
		"DataMessage then DEM":     pc(field(field(nil, 1, data), 8, dem)),
		"DEM and sender key":       pc(field(field(nil, 8, dem), 7, []byte{0x33, 0x08, 0x01})),
		"sender key only":          pc(field(nil, 7, []byte{0x33, 0x08, 0x01})),
		"sync message and DEM":     pc(field(field(nil, 2, []byte{0x0a, 0x00}), 8, dem)),
		"DEM and unknown field":    pc(field(field(nil, 8, dem), 99, []byte("x"))),
		"two DEMs":                 pc(field(field(nil, 8, dem), 8, dem)),
		"DEM as varint":            pc(protowire.AppendVarint(protowire.AppendTag(nil, 8, protowire.VarintType), 1)),
		"DEM without timestamp":    pc(field(nil, 8, []byte{0x18, 0x02})),
		"DEM with bad ratchet key": pc(field(nil, 8, field(nil, 1, make([]byte, 33)))),
		"NullMessage":              plaintextContent(t, &envelope.Content{Null: &envelope.NullMessage{Padding: []byte{1, 2}}}),
		"Receipt":                  plaintextContent(t, &envelope.Content{Receipt: &envelope.ReceiptMessage{Type: envelope.ReceiptRead, Timestamps: []uint64{1}}}),
		"empty Content":            {envelope.PlaintextContentMarker, 0x80},
		"marker only":              {envelope.PlaintextContentMarker},
		"empty":                    {},
		"no marker":                append(field(nil, 8, dem), 0x80),
		"no padding boundary":      append([]byte{envelope.PlaintextContentMarker}, field(nil, 8, dem)...),
		"bad padding":              append(pc(field(nil, 8, dem)), 0x01),
		"truncated field":          pc(field(nil, 8, dem)[:4]),
	}
}

// TestIssue20Item4_ForgedPlaintextContentRefused: issue #20 item 4. No
// forged PLAINTEXT_CONTENT comes out of Open (ErrUnauthenticatedContent) nor
// out of OpenPlaintextContent (an error wrapping session.ErrInvalidMessage):
// only a lone, valid DecryptionErrorMessage is read from that path.
func TestIssue20Item4_ForgedPlaintextContentRefused(t *testing.T) {
	ctx := context.Background()
	_, bob := pair(t, false)
	for name, body := range forgedPlaintextContents(t) {
		env := plaintextEnvelope(t, body)
		if _, content, err := envelope.Open(ctx, bob, env); !errors.Is(err, envelope.ErrUnauthenticatedContent) || content != nil {
			t.Errorf("%s: Open = %+v, %v; want ErrUnauthenticatedContent", name, content, err)
		}
		if req, err := envelope.OpenPlaintextContent(env); !errors.Is(err, session.ErrInvalidMessage) || req != nil {
			t.Errorf("%s: OpenPlaintextContent = %+v, %v; want an error wrapping ErrInvalidMessage", name, req, err)
		}
		if m, err := envelope.ParsePlaintextContent(body); !errors.Is(err, session.ErrInvalidMessage) || m != nil {
			t.Errorf("%s: ParsePlaintextContent = %+v, %v; want an error wrapping ErrInvalidMessage", name, m, err)
		}
	}
	// The sender side refuses to build them.
	for name, c := range map[string]*envelope.Content{
		"DataMessage":        {DataMessage: &envelope.DataMessage{Body: "wire 5,000 EUR"}},
		"DEM and sender key": {DecryptionErrorMessage: []byte{0x10, 1}, SenderKeyDistributionMessage: []byte{0x33}},
		"DEM and unknown":    {DecryptionErrorMessage: []byte{0x10, 1}, Unknown: []byte{0x12, 0x00}},
		"invalid DEM":        {DecryptionErrorMessage: []byte{0x18, 1}},
		"nil":                nil,
	} {
		if env, err := envelope.SealPlaintextContent(aliceAddr, bobAddr, c, 1); err == nil {
			t.Errorf("%s: SealPlaintextContent = %x, want an error", name, env)
		}
	}
}

// TestIssue20Item4_DecryptionErrorUnauthenticated: issue #20 item 4. A
// genuine DecryptionErrorMessage, as libsignal wraps it
// (session.NewPlaintextContent), comes out of OpenPlaintextContent as an
// UnauthenticatedRequest, and out of Open only as ErrUnauthenticatedContent.
func TestIssue20Item4_DecryptionErrorUnauthenticated(t *testing.T) {
	ctx := context.Background()
	alice, bob := pair(t, false)
	typ, ct, err := alice.Encrypt(ctx, bobAddr, []byte("undecryptable for some reason"))
	if err != nil {
		t.Fatal(err)
	}
	dem, err := session.NewDecryptionErrorMessage(ct, typ, 1700000000000, aliceAddr.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	body := session.NewPlaintextContent(dem).Bytes()
	sealed, err := envelope.SealPlaintextContent(aliceAddr, bobAddr, &envelope.Content{DecryptionErrorMessage: dem.Bytes()}, 1700000000000)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := envelope.ParseEnvelope(sealed); !bytes.Equal(e.Content, body) {
		t.Fatalf("SealPlaintextContent body %x, libsignal layout %x", e.Content, body)
	}
	for name, b := range map[string][]byte{"libsignal layout": body, "zero-padded": append(bytes.Clone(body), 0, 0, 0)} {
		env := plaintextEnvelope(t, b)
		from, content, err := envelope.Open(ctx, bob, env)
		if !errors.Is(err, envelope.ErrUnauthenticatedContent) || !errors.Is(err, session.ErrInvalidMessage) || content != nil {
			t.Errorf("%s: Open = %v, %+v, %v; want ErrUnauthenticatedContent", name, from, content, err)
		}
		req, err := envelope.OpenPlaintextContent(env)
		if err != nil {
			t.Fatalf("%s: OpenPlaintextContent: %v", name, err)
		}
		got := req.DecryptionErrorMessage
		if req.From != aliceAddr || req.Envelope.Type != envelope.TypePlaintextContent || got.RatchetKey.IsZero() || !got.RatchetKey.Equal(dem.RatchetKey) ||
			got.Timestamp != dem.Timestamp || got.DeviceID != dem.DeviceID || !bytes.Equal(got.Bytes(), dem.Bytes()) {
			t.Errorf("%s: OpenPlaintextContent = %+v (%+v)", name, req, got)
		}
	}
	// The DecryptionErrorMessage path reads PLAINTEXT_CONTENT envelopes only.
	env, err := envelope.Seal(ctx, alice, aliceAddr, bobAddr, &envelope.Content{DataMessage: &envelope.DataMessage{Body: "hi"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if req, err := envelope.OpenPlaintextContent(env); !errors.Is(err, session.ErrInvalidMessage) || req != nil {
		t.Errorf("OpenPlaintextContent(PREKEY_MESSAGE) = %+v, %v", req, err)
	}
}

// TestIssue20Item4_NoUndecryptedContent: issue #20 item 4 audit. No other
// path of the package returns content that a session did not decrypt:
// envelope types without a session message (sealed sender, server receipts,
// unknown) and WhatsApp/Messenger enc types other than msg and pkmsg
// (skmsg needs a group cipher; "plaintext", "msmsg" and unknown types are
// not read) are errors with no content.
func TestIssue20Item4_NoUndecryptedContent(t *testing.T) {
	ctx := context.Background()
	_, bob := pair(t, true)
	for _, typ := range []envelope.EnvelopeType{envelope.TypeUnknown, 2, envelope.TypeServerDeliveryReceipt, envelope.TypeUnidentifiedSender, 7, 9, 99} {
		body := plaintextContent(t, &envelope.Content{DataMessage: &envelope.DataMessage{Body: "wire 5,000 EUR"}})
		env, err := (&envelope.Envelope{Type: typ, SourceServiceID: aliceAddr.Name, SourceDevice: 1, Content: body, Urgent: true}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, content, err := envelope.Open(ctx, bob, env); err == nil || content != nil {
			t.Errorf("Open(type %v) = %+v, %v; want an error", typ, content, err)
		}
	}
	data := append([]byte{0x0a, 0x0e}, "wire 5,000 EUR"...)
	padded, _ := envelope.PadWhatsApp(bytes.NewReader([]byte{3}), data)
	tr := (&envelope.MessageTransport{ApplicationPayload: data, PayloadVersion: 2, Padding: []byte{1}}).Marshal()
	for _, encType := range []string{"skmsg", "plaintext", "msmsg", "", "MSG"} {
		if m, err := envelope.OpenWhatsApp(ctx, bob, aliceAddr, encType, padded); !errors.Is(err, session.ErrInvalidMessage) || m != nil {
			t.Errorf("OpenWhatsApp(%q) = %+v, %v; want ErrInvalidMessage", encType, m, err)
		}
		if m, err := envelope.OpenMessenger(ctx, bob, aliceAddr, encType, tr); !errors.Is(err, session.ErrInvalidMessage) || m != nil {
			t.Errorf("OpenMessenger(%q) = %+v, %v; want ErrInvalidMessage", encType, m, err)
		}
	}
}
