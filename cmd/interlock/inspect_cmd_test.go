package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
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
	server, sender := testCertificates(t)
	sm, _ := decodeInput([]byte(vectorField(t, "libsignal-pqxdh-session.json", "transcript", 1, "ciphertext")))
	usmc, err := sealedsender.NewContent(session.TypeSignal, sender, sm, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	dem := &session.DecryptionErrorMessage{Timestamp: 1700000000000, DeviceID: 2}
	ratchet, _ := prekey.GenerateKeyPair(rand.Reader)
	demKey := &session.DecryptionErrorMessage{RatchetKey: ratchet.Public, Timestamp: 1700000000000, DeviceID: 2}
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
		// issue #17 item 3: libsignal's certificates, decryption error
		// messages and plaintext contents.
		{"server-certificate", "ServerCertificate", server.Bytes()},
		{"sender-certificate", "SenderCertificate", sender.Bytes()},
		{"sender-certificate-b64", "SenderCertificate", []byte(base64.StdEncoding.EncodeToString(sender.Bytes()))},
		{"sealed-content", "UnidentifiedSenderMessageContent (sealed sender, decrypted)", usmc.Bytes()},
		{"decryption-error", "DecryptionErrorMessage", dem.Bytes()},
		{"decryption-error-key", "DecryptionErrorMessage", demKey.Bytes()},
		{"plaintext-content", "PlaintextContent", session.NewPlaintextContent(demKey).Bytes()},
	}
	schema, err := loadSchema("testdata/inspect.schema.json")
	if err != nil {
		t.Fatal(err)
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
			if err := schema.validate([]byte(out)); err != nil {
				t.Fatalf("not valid against testdata/inspect.schema.json: %v\n%s", err, out)
			}
			if code, out, _ := inspectRun(t, c.in, "text"); code != 0 || !strings.HasPrefix(out, c.kind) {
				t.Fatalf("text: %q", out)
			}
		})
	}
}

func TestInspectGarbage(t *testing.T) {
	schema, err := loadSchema("testdata/inspect.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][]byte{nil, []byte("hello world"), {0x44, 0xff, 0xff}, {0x23, 0xff, 0xff, 0xff, 0xff, 0x0f}, {0x11}, bytes.Repeat([]byte{0xC0}, 3)} {
		code, out, errs := inspectRun(t, in, "text")
		if code != 1 || out != "" || !strings.HasPrefix(errs, "interlock inspect: ") {
			t.Fatalf("%x: exit %d, stdout %q, stderr %q", in, code, out, errs)
		}
		code, out, _ = inspectRun(t, in, "json")
		if code != 1 {
			t.Fatalf("%x: json: exit %d", in, code)
		}
		if err := schema.validate([]byte(out)); err != nil {
			t.Fatalf("%x: %v\n%s", in, err, out)
		}
	}
}

// TestIssue17Item3_Candidates: input no kind accepts lists the kinds it
// resembles, each with the exact error its parser returned (issue #17 item
// 3: it used to say only "unrecognised").
func TestIssue17Item3_Candidates(t *testing.T) {
	msg, _ := decodeInput([]byte(vectorField(t, "libsignal-pqxdh-session.json", "transcript", 1, "ciphertext")))
	cut := msg[:len(msg)-3]
	_, want := session.ParseSignalMessage(cut)
	_, wantPre := session.ParsePreKeySignalMessage(cut)
	if want == nil || wantPre == nil {
		t.Fatal("a truncated message parses")
	}
	_, err := inspect(cut)
	ue, ok := err.(*unrecognisedError)
	if !ok {
		t.Fatalf("error %T %v", err, err)
	}
	got := map[string]string{}
	for _, c := range ue.Candidates {
		got[c.Kind] = c.Error
	}
	if got["SignalMessage"] != want.Error() || got["PreKeySignalMessage"] != wantPre.Error() || len(ue.Candidates) > maxCandidates {
		t.Fatalf("candidates %q, want SignalMessage: %q and PreKeySignalMessage: %q", ue.Candidates, want, wantPre)
	}
	code, _, errs := inspectRun(t, cut, "text")
	if code != 1 || !strings.Contains(errs, "\n  SignalMessage: "+want.Error()+"\n") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}

	// A PlaintextContent that carries more than a DecryptionErrorMessage is
	// refused with envelope.ParsePlaintextContent's reason.
	body, _ := (&envelope.Content{DataMessage: &envelope.DataMessage{Body: "forged"}}).Marshal()
	forged := append(append([]byte{envelope.PlaintextContentMarker}, body...), 0x80)
	_, wantPT := envelope.ParsePlaintextContent(forged)
	_, err = inspect(forged)
	if ue, ok := err.(*unrecognisedError); !ok || len(ue.Candidates) != 1 || ue.Candidates[0] != (candidate{"PlaintextContent", wantPT.Error()}) {
		t.Fatalf("forged plaintext content: %v", err)
	}
}

// TestIssue17Item3_CertificateFields: a sender certificate shows its sender,
// expiry and the embedded server certificate, and says no signature was
// checked.
func TestIssue17Item3_CertificateFields(t *testing.T) {
	_, sender := testCertificates(t)
	r, err := inspect(sender.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, f := range r.Fields {
		got[f.Name] = f.Value
	}
	if got["sender_uuid"] != "9d0652a3-dcc3-4d11-975f-74d61598733f" || got["sender_device"] != uint32(3) ||
		got["signer.id"] != uint32(7) || got["signature_checked"] != false || got["sender_e164"] != "+14151231234" {
		t.Fatalf("fields %v", got)
	}
}

// testCertificates issues a server certificate (ID 7) and a sender
// certificate for device 3 of a fixed ACI.
func testCertificates(t testing.TB) (*sealedsender.ServerCertificate, *sealedsender.SenderCertificate) {
	t.Helper()
	root, _ := prekey.GenerateKeyPair(rand.Reader)
	serverKey, _ := prekey.GenerateKeyPair(rand.Reader)
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	server, err := sealedsender.NewServerCertificate(rand.Reader, root.Private, 7, serverKey.Public)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
		UUID: "9d0652a3-dcc3-4d11-975f-74d61598733f", E164: "+14151231234", DeviceID: 3,
		IdentityKey: id.PublicKey(), Expires: time.UnixMilli(1900000000000),
	}, server, serverKey.Private)
	if err != nil {
		t.Fatal(err)
	}
	return server, sender
}

// FuzzInspect: no input panics the inspector.
func FuzzInspect(f *testing.F) {
	f.Add([]byte{0x23, 1, 0, 1, 2})
	f.Add(append([]byte{0x33}, make([]byte, 70)...))
	// issue #17 item 3: the new kinds.
	server, sender := testCertificates(f)
	f.Add(server.Bytes())
	f.Add(sender.Bytes())
	f.Add((&session.DecryptionErrorMessage{Timestamp: 1, DeviceID: 2}).Bytes())
	f.Add(session.NewPlaintextContent(&session.DecryptionErrorMessage{Timestamp: 1}).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		inspect(b)
	})
}
