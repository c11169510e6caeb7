package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/session"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

func vectorField(t *testing.T, file string, path ...any) string {
	t.Helper()
	b := vectortest.Read(t, file)
	var v any
	json.Unmarshal(b, &v)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v.(string)
}

func inspectRun(t *testing.T, input []byte, format string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run([]string{"inspect", "--format", format}, bytes.NewReader(input), &out, &errb)
	return code, out.String(), errb.String()
}

func TestInspect(t *testing.T) {
	b64 := func(s string) []byte { b, _ := base64.StdEncoding.DecodeString(s); return b }
	env, _ := envelope.SealPlaintextContent(session.Address{Name: "a", DeviceID: 1}, session.Address{Name: "b", DeviceID: 1},
		&envelope.Content{DecryptionErrorMessage: []byte{0x10, 0x05}}, 9)
	body, _ := (&envelope.Content{DataMessage: &envelope.DataMessage{Body: "hi"}}).Marshal()
	tr := (&envelope.MessageTransport{ApplicationPayload: []byte{1, 2}, PayloadVersion: 2, Padding: []byte{3, 3, 3}}).Marshal()
	v2 := append([]byte{0x22}, make([]byte, 32+16+32+40)...)
	v2sent := append([]byte{0x23, 1, 0x00}, make([]byte, 16)...) // one ACI recipient
	v2sent = append(v2sent, 1, 0x01, 0x02)                       // device 1, registration 258, last
	v2sent = append(v2sent, make([]byte, 48+32+40)...)
	kyber := append([]byte{0x08}, make([]byte, 1568)...)
	cases := []struct {
		name, kind string
		in         []byte
	}{
		{"prekey", "PreKeySignalMessage", []byte(vectorField(t, "libsignal-pqxdh-session.json", "transcript", 0, "ciphertext"))},
		{"skdm", "SenderKeyDistributionMessage (libsignal)", []byte(vectorField(t, "libsignal-sender-key.json", "distribution_message"))},
		{"skm", "SenderKeyMessage (libsignal)", []byte(vectorField(t, "libsignal-sender-key.json", "messages", 0, "ciphertext"))},
		{"skdm-wa", "SenderKeyDistributionMessage (WhatsApp layout)", []byte(vectorField(t, "mau-sender-key.json", "distribution_message"))},
		{"skm-wa", "SenderKeyMessage (WhatsApp layout)", []byte(vectorField(t, "mau-sender-key.json", "messages", 0, "ciphertext"))},
		{"sealed-v1", "sealed sender v1 (UnidentifiedSenderMessage)", b64(vectorField(t, "libsignal-sealed-sender-v1.json", "vectors", 0, "ciphertext"))},
		{"sealed-v2", "sealed sender v2 (received)", v2},
		{"sealed-v2-sent", "sealed sender v2 (sent, multi-recipient)", v2sent},
		{"envelope", "Signal Envelope", env},
		{"content", "Signal Content (padded)", envelope.PadSignal(body)},
		{"transport", "MessageTransport (Messenger/Instagram)", tr},
		{"key", "Curve25519 public key", []byte(hex.EncodeToString(append([]byte{5}, make([]byte, 32)...)))},
		{"kyber", "Kyber-1024 public key", kyber},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := inspectRun(t, c.in, "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var r report
			if err := json.Unmarshal([]byte(out), &r); err != nil || r.Kind != c.kind || len(r.Fields) == 0 {
				t.Fatalf("got %q (%v), want %q", r.Kind, err, c.kind)
			}
			if code, out, _ := inspectRun(t, c.in, "text"); code != 0 || !strings.HasPrefix(out, c.kind) {
				t.Fatalf("text: %q", out)
			}
		})
	}
}

func TestInspectGarbage(t *testing.T) {
	for _, in := range [][]byte{nil, []byte("hello world"), {0x44, 0xff, 0xff}, {0x23, 0xff, 0xff, 0xff, 0xff, 0x0f}, {0x11}, bytes.Repeat([]byte{0xC0}, 3)} {
		code, out, errs := inspectRun(t, in, "text")
		if code != 1 || out != "" || strings.Count(errs, "\n") != 1 {
			t.Fatalf("%x: exit %d, stdout %q, stderr %q", in, code, out, errs)
		}
	}
}

// FuzzInspect: no input panics the inspector.
func FuzzInspect(f *testing.F) {
	f.Add([]byte{0x23, 1, 0, 1, 2})
	f.Add(append([]byte{0x33}, make([]byte, 70)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		inspect(b)
	})
}
