package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"reflect"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
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
	p, _ := envelope.PadWhatsApp([]byte("hello"), rand.Reader)
	f.Add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := envelope.UnpadWhatsApp(b)
		if err == nil && (len(got) >= len(b) || !bytes.HasPrefix(b, got)) {
			t.Fatal("unpad grew or changed the payload")
		}
	})
}

func FuzzParseEnvelope(f *testing.F) {
	env, _ := envelope.SealPlaintextContent(aliceAddr, bobAddr, &envelope.Content{DecryptionErrorMessage: []byte{1}}, 1)
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

// FuzzOpen feeds arbitrary envelopes to a cipher with a live session.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	alice, bob := pair(f, false)
	env, _ := envelope.Seal(ctx, alice, aliceAddr, bobAddr, &envelope.Content{DataMessage: &envelope.DataMessage{Body: "x"}}, 1)
	f.Add(env)
	f.Fuzz(func(t *testing.T, b []byte) {
		envelope.Open(ctx, bob, b)
	})
}
