package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/proto"
)

func TestPadSignal(t *testing.T) {
	for n := range 400 {
		content := bytes.Repeat([]byte{0x80}, n) // worst case: content ending in 0x80
		padded := envelope.PadSignal(content)
		if (len(padded)+1)%envelope.SignalPaddingBlock != 0 || len(padded) < n+1 {
			t.Fatalf("%d bytes padded to %d", n, len(padded))
		}
		got, err := envelope.UnpadSignal(padded)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
	for _, bad := range [][]byte{nil, {}, {0}, {0, 0}, {1, 0}, {0x80, 0x7f}, {0x80, 0, 1}} {
		if _, err := envelope.UnpadSignal(bad); !errors.Is(err, session.ErrInvalidMessage) {
			t.Fatalf("UnpadSignal(%x): %v", bad, err)
		}
	}
	// Older clients' 160-byte blocks unpad too.
	old := append([]byte("hi\x80"), make([]byte, 156)...)
	if got, err := envelope.UnpadSignal(old); err != nil || string(got) != "hi" {
		t.Fatal("160-byte padding")
	}
}

func TestPadWhatsApp(t *testing.T) {
	seen := map[int]bool{}
	for range 500 {
		padded, err := envelope.PadWhatsApp([]byte("payload"), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		n := len(padded) - 7
		if n < 1 || n > 15 {
			t.Fatalf("padding of %d bytes", n)
		}
		seen[n] = true
		got, err := envelope.UnpadWhatsApp(padded)
		if err != nil || string(got) != "payload" {
			t.Fatal(err)
		}
	}
	if len(seen) != 15 {
		t.Fatalf("only %d padding lengths drawn", len(seen))
	}
	for _, bad := range [][]byte{nil, {0}, {2}, {1, 2}, {3, 3, 2, 3}, {5, 5, 5, 5}} {
		if _, err := envelope.UnpadWhatsApp(bad); !errors.Is(err, session.ErrInvalidMessage) {
			t.Fatalf("UnpadWhatsApp(%x): %v", bad, err)
		}
	}
}

func TestTypeMapping(t *testing.T) {
	for _, typ := range []int{session.TypeSignal, session.TypePreKey, session.TypePlaintext} {
		et, err := envelope.EnvelopeType(typ)
		if err != nil {
			t.Fatal(err)
		}
		back, err := envelope.CiphertextType(et)
		if err != nil || back != typ {
			t.Fatalf("%d → %v → %d", typ, et, back)
		}
	}
	if et, _ := envelope.EnvelopeType(session.TypeSignal); et != signalpb.Envelope_DOUBLE_RATCHET || int(et) != 1 {
		t.Fatal("DOUBLE_RATCHET")
	}
	if _, err := envelope.EnvelopeType(session.TypeSenderKey); err == nil {
		t.Fatal("sender key has a plain envelope type")
	}
	for _, et := range []signalpb.Envelope_Type{signalpb.Envelope_UNKNOWN, signalpb.Envelope_UNIDENTIFIED_SENDER, signalpb.Envelope_SERVER_DELIVERY_RECEIPT, 7} {
		if _, err := envelope.CiphertextType(et); err == nil {
			t.Fatalf("%v mapped", et)
		}
	}
	for _, typ := range []int{session.TypeSignal, session.TypePreKey, session.TypeSenderKey} {
		s, err := envelope.WhatsAppEncType(typ)
		if err != nil {
			t.Fatal(err)
		}
		if back, err := envelope.ParseWhatsAppEncType(s); err != nil || back != typ {
			t.Fatalf("%d → %s → %d", typ, s, back)
		}
	}
	if _, err := envelope.ParseWhatsAppEncType("frank"); err == nil {
		t.Fatal("unknown enc type")
	}
}

func TestSealOpenSignal(t *testing.T) {
	ctx := context.Background()
	alice, bob := pair(t, false)
	content := &signalpb.Content{Content: &signalpb.Content_DataMessage{DataMessage: &signalpb.DataMessage{
		Body:      proto.String("hello with a photo"),
		Timestamp: proto.Uint64(1700000000000),
		Attachments: []*signalpb.AttachmentPointer{{
			AttachmentIdentifier: &signalpb.AttachmentPointer_CdnKey{CdnKey: "abc"},
			CdnNumber:            proto.Uint32(3), ContentType: proto.String("image/jpeg"),
			Key: make([]byte, 64), Size: proto.Uint32(1234), Digest: make([]byte, 32),
			IncrementalMac: make([]byte, 64), ChunkSize: proto.Uint32(65536),
			Width: proto.Uint32(640), Height: proto.Uint32(480), Caption: proto.String("cat"),
		}},
	}}}
	env, err := envelope.Seal(ctx, alice, aliceAddr, bobAddr, content, 1700000000000)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := envelope.ParseEnvelope(env)
	if e.GetType() != signalpb.Envelope_PREKEY_MESSAGE {
		t.Fatalf("first envelope type %v", e.GetType())
	}
	from, got, err := envelope.Open(ctx, bob, env)
	if err != nil {
		t.Fatal(err)
	}
	if from != aliceAddr || !proto.Equal(got, content) {
		t.Fatalf("from %v, content %v", from, got)
	}
	if _, _, err := envelope.Open(ctx, bob, env); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Fatalf("replay: %v", err)
	}

	reply := &signalpb.Content{Content: &signalpb.Content_ReceiptMessage{ReceiptMessage: &signalpb.ReceiptMessage{
		Type: signalpb.ReceiptMessage_READ.Enum(), Timestamp: []uint64{1700000000000}}}}
	env, err = envelope.Seal(ctx, bob, bobAddr, aliceAddr, reply, 1700000000001)
	if err != nil {
		t.Fatal(err)
	}
	from, got, err = envelope.Open(ctx, alice, env)
	if err != nil || from != bobAddr || !proto.Equal(got, reply) {
		t.Fatalf("reply: %v", err)
	}
	e, _ = envelope.ParseEnvelope(env)
	if e.GetType() != signalpb.Envelope_DOUBLE_RATCHET {
		t.Fatalf("reply envelope type %v", e.GetType())
	}

	// Tampered content fails without changing the session.
	env, _ = envelope.Seal(ctx, bob, bobAddr, aliceAddr, reply, 1700000000002)
	e, _ = envelope.ParseEnvelope(env)
	e.Content[len(e.Content)-1] ^= 1
	bad, _ := proto.Marshal(e)
	if _, _, err := envelope.Open(ctx, alice, bad); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("tampered: %v", err)
	}
	if _, _, err := envelope.Open(ctx, alice, env); err != nil {
		t.Fatalf("original after tampered copy: %v", err)
	}
}

func TestPlaintextContent(t *testing.T) {
	dem := []byte{0x10, 0x01}
	content := &signalpb.Content{Content: &signalpb.Content_DecryptionErrorMessage{DecryptionErrorMessage: dem}}
	env, err := envelope.SealPlaintextContent(aliceAddr, bobAddr, content, 5)
	if err != nil {
		t.Fatal(err)
	}
	from, got, err := envelope.Open(context.Background(), nil, env)
	if err != nil || from != aliceAddr || !bytes.Equal(got.GetDecryptionErrorMessage(), dem) {
		t.Fatalf("%v %v", err, got)
	}
}

func TestServiceIDBinary(t *testing.T) {
	id := []byte{0x9d, 0x06, 0x52, 0xa3, 0xdc, 0xc3, 0x4d, 0x11, 0x97, 0x5f, 0x74, 0xd6, 0x15, 0x98, 0x73, 0x3f}
	e := &signalpb.Envelope{SourceServiceIdBinary: id, SourceDeviceId: proto.Uint32(1)}
	if a, err := envelope.Sender(e); err != nil || a != aliceAddr {
		t.Fatalf("%v %v", a, err)
	}
	if s, _ := envelope.ServiceIDString(append([]byte{1}, id...)); s != "PNI:"+aliceAddr.Name {
		t.Fatal(s)
	}
	if _, err := envelope.Sender(&signalpb.Envelope{SourceServiceIdBinary: id[:5], SourceDeviceId: proto.Uint32(1)}); err == nil {
		t.Fatal("short service ID accepted")
	}
}

func TestSealOpenWhatsApp(t *testing.T) {
	ctx := context.Background()
	alice, bob := pair(t, true)
	msg := &envelope.WhatsAppMessage{Text: "look", Kind: envelope.VideoMessage, Media: &envelope.WhatsAppMedia{
		URL: "https://mmg.example/v", DirectPath: "/v/t62/abc", MimeType: "video/mp4", Caption: "clip",
		MediaKey: bytes.Repeat([]byte{1}, 32), FileSHA256: bytes.Repeat([]byte{2}, 32), FileEncSHA256: bytes.Repeat([]byte{3}, 32),
		FileLength: 123456, MediaKeyTimestamp: 1700000000, Width: 640, Height: 360, Seconds: 12, StreamingSidecar: []byte("0123456789"),
	}}
	typ, ct, err := envelope.SealWhatsApp(ctx, alice, bobAddr, msg, rand.Reader)
	if err != nil || typ != envelope.EncPkMsg {
		t.Fatalf("%s %v", typ, err)
	}
	got, err := envelope.OpenWhatsApp(ctx, bob, aliceAddr, typ, ct)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != msg.Text || got.Kind != msg.Kind || !reflect.DeepEqual(got.Media, msg.Media) {
		t.Fatalf("got %+v", got.Media)
	}

	for _, kind := range []envelope.MediaKind{envelope.ImageMessage, envelope.AudioMessage, envelope.DocumentMessage} {
		m := &envelope.WhatsAppMessage{Kind: kind, Media: &envelope.WhatsAppMedia{MimeType: "x/y", MediaKey: []byte{9}, FileLength: 5, FileName: "f.pdf", PTT: kind == envelope.AudioMessage}}
		b, _ := m.Marshal()
		back, err := envelope.ParseWhatsAppMessage(b)
		if err != nil || back.Kind != kind || back.Media.MimeType != "x/y" || back.Media.FileLength != 5 || back.Media.PTT != (kind == envelope.AudioMessage) || (back.Media.FileName != "") != (kind == envelope.DocumentMessage) {
			t.Fatalf("%d: %+v %v", kind, back, err)
		}
	}
}

func TestSealOpenMessenger(t *testing.T) {
	ctx := context.Background()
	alice, bob := pair(t, true)
	tr := &envelope.MessageTransport{ApplicationPayload: []byte{0x0a, 0x02, 'h', 'i'}, PayloadVersion: 2,
		DSMDestination: "123@msgr", SKDMGroupID: "g@g.us", SKDM: []byte{0x33, 1, 2}}
	typ, ct, err := envelope.SealMessenger(ctx, alice, bobAddr, tr, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got, err := envelope.OpenMessenger(ctx, bob, aliceAddr, typ, ct)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Marshal(), tr.Marshal()) || got.PayloadVersion != 2 || got.SKDMGroupID != "g@g.us" || len(got.Padding) == 0 {
		t.Fatalf("%+v", got)
	}
	bad := &envelope.MessageTransport{Padding: []byte{2, 3}}
	if _, err := envelope.ParseMessageTransport(bad.Marshal()); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("bad padding: %v", err)
	}
}
