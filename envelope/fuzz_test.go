package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/proto"
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
	env, _ := envelope.SealPlaintextContent(aliceAddr, bobAddr, &signalpb.Content{Content: &signalpb.Content_DecryptionErrorMessage{DecryptionErrorMessage: []byte{1}}}, 1)
	f.Add(env)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := envelope.ParseEnvelope(b)
		if err == nil {
			envelope.Sender(e)
			envelope.CiphertextType(e.GetType())
		}
	})
}

func FuzzParseContent(f *testing.F) {
	body, _ := proto.Marshal(&signalpb.Content{Content: &signalpb.Content_DataMessage{DataMessage: &signalpb.DataMessage{Body: proto.String("x")}}})
	f.Add(envelope.PadSignal(body))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := envelope.ParseContent(b)
		if err == nil {
			if _, err := proto.Marshal(c); err != nil {
				t.Fatal(err)
			}
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
	env, _ := envelope.Seal(ctx, alice, aliceAddr, bobAddr, &signalpb.Content{Content: &signalpb.Content_DataMessage{DataMessage: &signalpb.DataMessage{Body: proto.String("x")}}}, 1)
	f.Add(env)
	f.Fuzz(func(t *testing.T, b []byte) {
		envelope.Open(ctx, bob, b)
	})
}
