package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/session"
)

func FuzzUnpadSignal(f *testing.F) {
	f.Add(envelope.PadSignal([]byte("hello")))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := envelope.UnpadSignal(b)
		if err == nil && !bytes.Equal(envelope.PadSignal(got)[:len(got)+1], b[:len(got)+1]) {
			t.Fatal("unpad/pad mismatch")
		}
	})
}

func FuzzUnpadWhatsApp(f *testing.F) {
	p, _ := envelope.PadWhatsApp(rand.Reader, []byte("hello"))
	f.Add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := envelope.UnpadWhatsApp(b)
		if err == nil && (len(got) >= len(b) || !bytes.HasPrefix(b, got)) {
			t.Fatal("unpad grew or changed the payload")
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	env, _ := envelope.SealPlaintextContent(aliceAddr, bobAddr, &envelope.Content{DecryptionErrorMessage: []byte{0x10, 1}}, 1)
	f.Add(env)
	full, _ := (&envelope.Envelope{Type: envelope.TypeDoubleRatchet, SourceServiceIDBinary: make([]byte, 16), SourceDevice: 2,
		ServerGUID: "g", ServerTimestamp: 3, Content: []byte{4}, Story: true, ReportSpamToken: []byte{5}}).Marshal()
	f.Add(full)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := envelope.ParseEnvelope(b)
		if err != nil {
			if e != nil {
				t.Fatal("envelope and error")
			}
			return
		}
		envelope.Sender(e)
		envelope.CiphertextType(e.Type)
		// What parses re-encodes, and parses to the same envelope.
		again, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		e2, err := envelope.ParseEnvelope(again)
		if err != nil || !reflect.DeepEqual(e, e2) {
			t.Fatalf("re-parse: %v\n%+v\n%+v", err, e, e2)
		}
		if again2, _ := e2.Marshal(); !bytes.Equal(again, again2) {
			t.Fatal("encoding not stable")
		}
	})
}

func FuzzParseContent(f *testing.F) {
	c, _ := photoContent()
	body, _ := c.Marshal()
	f.Add(envelope.PadSignal(body))
	body, _ = (&envelope.Content{Receipt: &envelope.ReceiptMessage{Type: envelope.ReceiptRead, Timestamps: []uint64{1, 2}}}).Marshal()
	f.Add(envelope.PadSignal(body))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := envelope.ParseContent(b)
		if err != nil {
			if c != nil {
				t.Fatal("content and error")
			}
			return
		}
		again, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		c2, err := envelope.ParseContent(envelope.PadSignal(again))
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-parse: %v\n%+v\n%+v", err, c, c2)
		}
		if again2, _ := c2.Marshal(); !bytes.Equal(again, again2) {
			t.Fatal("encoding not stable")
		}
	})
}

func FuzzParseWhatsAppMessage(f *testing.F) {
	m := &envelope.WhatsAppMessage{Text: "t", Kind: envelope.AudioMessage, Media: &envelope.WhatsAppMedia{MediaKey: []byte{1}, Seconds: 3, PTT: true}}
	b, _ := m.Marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := envelope.ParseWhatsAppMessage(b)
		if err != nil {
			return
		}
		// What parses re-encodes and parses to the same thing.
		again, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := envelope.ParseWhatsAppMessage(again)
		if err != nil || m2.Text != m.Text || m2.Kind != m.Kind {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func FuzzParseMessageTransport(f *testing.F) {
	f.Add((&envelope.MessageTransport{ApplicationPayload: []byte{1}, PayloadVersion: 2, Padding: []byte{1}, SKDM: []byte{3}}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := envelope.ParseMessageTransport(b)
		if err != nil {
			return
		}
		again, err := envelope.ParseMessageTransport(tr.Marshal())
		if err != nil || !bytes.Equal(again.Marshal(), tr.Marshal()) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

// FuzzOpen feeds arbitrary envelopes to a cipher with a live session. No
// Content comes out of an envelope the session did not decrypt (issue #20
// item 4): never of a PLAINTEXT_CONTENT envelope, never with an error.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	alice, bob := pair(f, false)
	env, _ := envelope.Seal(ctx, alice, aliceAddr, bobAddr, &envelope.Content{DataMessage: &envelope.DataMessage{Body: "x"}}, 1)
	f.Add(env)
	forged, _ := (&envelope.Content{DataMessage: &envelope.DataMessage{Body: "wire 5,000 EUR"}}).Marshal()
	forged, _ = (&envelope.Envelope{Type: envelope.TypePlaintextContent, SourceServiceID: aliceAddr.Name, SourceDevice: 1,
		Content: append(append([]byte{envelope.PlaintextContentMarker}, forged...), 0x80)}).Marshal()
	f.Add(forged)
	f.Fuzz(func(t *testing.T, b []byte) {
		_, content, err := envelope.Open(ctx, bob, b)
		if content == nil {
			return
		}
		if err != nil {
			t.Fatal("content and error")
		}
		if e, _ := envelope.ParseEnvelope(b); e.Type != envelope.TypeDoubleRatchet && e.Type != envelope.TypePreKeyMessage {
			t.Fatalf("content out of a %v envelope", e.Type)
		}
	})
}

// FuzzParsePlaintextContent: issue #20 item 4. What parses is libsignal's
// PlaintextContent around a lone DecryptionErrorMessage, and only that: the
// Content holds field 8 and nothing else, and re-wrapping the message
// (session.NewPlaintextContent) parses to the same bytes.
func FuzzParsePlaintextContent(f *testing.F) {
	f.Add(session.NewPlaintextContent(&session.DecryptionErrorMessage{Timestamp: 1700000000000, DeviceID: 1}).Bytes())
	ct, _ := hex.DecodeString("c04204100118028000") // 0xC0, Content{8: {timestamp 1, device 2}}, 0x80, one zero
	f.Add(ct)
	data, _ := (&envelope.Content{DataMessage: &envelope.DataMessage{Body: "wire 5,000 EUR"}}).Marshal()
	f.Add(append(append([]byte{envelope.PlaintextContentMarker}, data...), 0x80))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := envelope.ParsePlaintextContent(b)
		if err != nil {
			if m != nil || !errors.Is(err, session.ErrInvalidMessage) {
				t.Fatalf("message and error, or error not ErrInvalidMessage: %v", err)
			}
			return
		}
		c, err := envelope.ParseContent(b[1:])
		if err != nil || c.DataMessage != nil || c.Null != nil || c.Receipt != nil || c.Typing != nil ||
			c.SenderKeyDistributionMessage != nil || len(c.Unknown) != 0 || !bytes.Equal(c.DecryptionErrorMessage, m.Bytes()) {
			t.Fatalf("accepted a Content that is not a lone decryption error message: %+v, %v", c, err)
		}
		again, err := envelope.ParsePlaintextContent(session.NewPlaintextContent(m).Bytes())
		if err != nil || !bytes.Equal(again.Bytes(), m.Bytes()) {
			t.Fatalf("re-wrap: %v", err)
		}
	})
}
