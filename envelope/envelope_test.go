package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/media"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
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
		padded, err := envelope.PadWhatsApp(rand.Reader, []byte("payload"))
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
	for _, typ := range []session.MessageType{session.TypeSignal, session.TypePreKey, session.TypePlaintext} {
		et, err := envelope.EnvelopeTypeOf(typ)
		if err != nil {
			t.Fatal(err)
		}
		back, err := envelope.CiphertextType(et)
		if err != nil || back != typ {
			t.Fatalf("%d → %v → %d", typ, et, back)
		}
		if int32(et) != int32(signalpb.Envelope_Type(et)) || et.String() != signalpb.Envelope_Type(et).String() {
			t.Fatalf("%v differs from the protobuf enum", et)
		}
	}
	if et, _ := envelope.EnvelopeTypeOf(session.TypeSignal); et != envelope.TypeDoubleRatchet || int(et) != 1 || et.String() != "DOUBLE_RATCHET" {
		t.Fatal("DOUBLE_RATCHET")
	}
	if _, err := envelope.EnvelopeTypeOf(session.TypeSenderKey); err == nil {
		t.Fatal("sender key has a plain envelope type")
	}
	for _, et := range []envelope.EnvelopeType{envelope.TypeUnknown, envelope.TypeUnidentifiedSender, envelope.TypeServerDeliveryReceipt, 7} {
		if _, err := envelope.CiphertextType(et); err == nil {
			t.Fatalf("%v mapped", et)
		}
	}
	if envelope.EnvelopeType(7).String() != "EnvelopeType(7)" || envelope.ReceiptRead.String() != "READ" || envelope.TypingStopped.String() != "STOPPED" {
		t.Fatal("String")
	}
	for _, typ := range []session.MessageType{session.TypeSignal, session.TypePreKey, session.TypeSenderKey} {
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

// photoContent is a DataMessage with every year-one field, and the same
// message built with the generated protobuf types.
func photoContent() (*envelope.Content, *signalpb.Content) {
	c := &envelope.Content{DataMessage: &envelope.DataMessage{
		Body:        "hello with a photo",
		Timestamp:   1700000000000,
		ExpireTimer: 3600, ExpireTimerVersion: 2,
		Attachments: []envelope.AttachmentPointer{{
			CDNKey: "abc", CDNNumber: 3, ContentType: "image/jpeg",
			Key: make([]byte, 64), Size: 1234, Digest: make([]byte, 32),
			IncrementalMAC: make([]byte, 64), ChunkSize: 65536,
			Width: 640, Height: 480, Caption: "cat", UploadTimestamp: 1699999999999,
		}, {CDNID: 77, ContentType: "audio/aac", Flags: envelope.AttachmentVoiceMessage, Key: []byte{1}, Size: 5}},
		Quote: &envelope.Quote{ID: 1690000000000, AuthorACI: aliceAddr.Name, Text: "earlier",
			Attachments: []envelope.QuotedAttachment{{ContentType: "image/png", Thumbnail: &envelope.AttachmentPointer{CDNKey: "t", Key: []byte{2}}}}},
		Reaction: &envelope.Reaction{Emoji: "👍", TargetAuthorACI: bobAddr.Name, TargetSentTimestamp: 1680000000000},
		Delete:   &envelope.Delete{TargetSentTimestamp: 1670000000000},
	}, SenderKeyDistributionMessage: []byte{0x33, 1, 2, 3}}
	pb := &signalpb.Content{Content: &signalpb.Content_DataMessage{DataMessage: &signalpb.DataMessage{
		Body:        proto.String("hello with a photo"),
		Timestamp:   proto.Uint64(1700000000000),
		ExpireTimer: proto.Uint32(3600), ExpireTimerVersion: proto.Uint32(2),
		Attachments: []*signalpb.AttachmentPointer{{
			AttachmentIdentifier: &signalpb.AttachmentPointer_CdnKey{CdnKey: "abc"},
			CdnNumber:            proto.Uint32(3), ContentType: proto.String("image/jpeg"),
			Key: make([]byte, 64), Size: proto.Uint32(1234), Digest: make([]byte, 32),
			IncrementalMac: make([]byte, 64), ChunkSize: proto.Uint32(65536),
			Width: proto.Uint32(640), Height: proto.Uint32(480), Caption: proto.String("cat"), UploadTimestamp: proto.Uint64(1699999999999),
		}, {
			AttachmentIdentifier: &signalpb.AttachmentPointer_CdnId{CdnId: 77}, ContentType: proto.String("audio/aac"),
			Flags: proto.Uint32(1), Key: []byte{1}, Size: proto.Uint32(5),
		}},
		Quote: &signalpb.DataMessage_Quote{Id: proto.Uint64(1690000000000), AuthorAci: proto.String(aliceAddr.Name), Text: proto.String("earlier"),
			Attachments: []*signalpb.DataMessage_Quote_QuotedAttachment{{ContentType: proto.String("image/png"),
				Thumbnail: &signalpb.AttachmentPointer{AttachmentIdentifier: &signalpb.AttachmentPointer_CdnKey{CdnKey: "t"}, Key: []byte{2}}}}},
		Reaction: &signalpb.DataMessage_Reaction{Emoji: proto.String("👍"), TargetAuthorAci: proto.String(bobAddr.Name), TargetSentTimestamp: proto.Uint64(1680000000000)},
		Delete:   &signalpb.DataMessage_Delete{TargetSentTimestamp: proto.Uint64(1670000000000)},
	}}, SenderKeyDistributionMessage: []byte{0x33, 1, 2, 3}}
	return c, pb
}

// TestWireBytes checks that the package's types encode to exactly the bytes
// the generated protobuf code writes for the same message, and that what
// they parse re-encodes to the same bytes.
func TestWireBytes(t *testing.T) {
	c, pb := photoContent()
	dem := []byte{0x0a, 0x01, 0x02}
	cases := []struct {
		name string
		c    *envelope.Content
		pb   *signalpb.Content
	}{
		{"data", c, pb},
		{"receipt", &envelope.Content{Receipt: &envelope.ReceiptMessage{Type: envelope.ReceiptDelivery, Timestamps: []uint64{1, 2}}},
			&signalpb.Content{Content: &signalpb.Content_ReceiptMessage{ReceiptMessage: &signalpb.ReceiptMessage{Type: signalpb.ReceiptMessage_DELIVERY.Enum(), Timestamp: []uint64{1, 2}}}}},
		{"typing", &envelope.Content{Typing: &envelope.TypingMessage{Timestamp: 9, Action: envelope.TypingStarted, GroupID: []byte{7}}},
			&signalpb.Content{Content: &signalpb.Content_TypingMessage{TypingMessage: &signalpb.TypingMessage{Timestamp: proto.Uint64(9), Action: signalpb.TypingMessage_STARTED.Enum(), GroupId: []byte{7}}}}},
		{"decryption error", &envelope.Content{DecryptionErrorMessage: dem},
			&signalpb.Content{Content: &signalpb.Content_DecryptionErrorMessage{DecryptionErrorMessage: dem}}},
		{"null", &envelope.Content{Null: &envelope.NullMessage{Padding: []byte{0, 0}}},
			&signalpb.Content{Content: &signalpb.Content_NullMessage{NullMessage: &signalpb.NullMessage{Padding: []byte{0, 0}}}}},
		{"skdm only", &envelope.Content{SenderKeyDistributionMessage: []byte{0x33}}, &signalpb.Content{SenderKeyDistributionMessage: []byte{0x33}}},
	}
	for _, tc := range cases {
		got, err := tc.c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := proto.Marshal(tc.pb)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: %x, generated code writes %x", tc.name, got, want)
		}
		back, err := envelope.ParseContent(envelope.PadSignal(got))
		if err != nil || !reflect.DeepEqual(back, tc.c) {
			t.Fatalf("%s: parsed %+v, %v", tc.name, back, err)
		}
		again, _ := back.Marshal()
		if !bytes.Equal(again, want) {
			t.Fatalf("%s: re-encoded differently", tc.name)
		}
	}

	// Fields this package does not model survive a round trip.
	syncMessage := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte{0x0a, 0x00})
	pb.ProtoReflect().SetUnknown(syncMessage)
	raw, _ := proto.Marshal(pb)
	back, err := envelope.ParseContent(envelope.PadSignal(raw))
	if err != nil || back.Unknown == nil {
		t.Fatalf("unknown field: %v", err)
	}
	if again, _ := back.Marshal(); !bytes.Equal(again, raw) {
		t.Fatal("unknown field lost")
	}

	// At most one of the oneof members; at most one CDN identifier.
	if _, err := (&envelope.Content{DataMessage: &envelope.DataMessage{}, Typing: &envelope.TypingMessage{}}).Marshal(); err == nil {
		t.Fatal("two contents encoded")
	}
	if _, err := (&envelope.Content{DataMessage: &envelope.DataMessage{Attachments: []envelope.AttachmentPointer{{CDNID: 1, CDNKey: "k"}}}}).Marshal(); err == nil {
		t.Fatal("two CDN identifiers encoded")
	}

	// Envelope: urgent defaults to true.
	e := &envelope.Envelope{Type: envelope.TypePreKeyMessage, SourceServiceID: aliceAddr.Name, SourceDevice: 1,
		DestinationServiceID: bobAddr.Name, ClientTimestamp: 5, ServerTimestamp: 6, ServerGUID: "guid", Content: []byte{1, 2}, Urgent: true, Story: true}
	epb := &signalpb.Envelope{Type: signalpb.Envelope_PREKEY_MESSAGE.Enum(), SourceServiceId: proto.String(aliceAddr.Name), SourceDeviceId: proto.Uint32(1),
		DestinationServiceId: proto.String(bobAddr.Name), ClientTimestamp: proto.Uint64(5), ServerTimestamp: proto.Uint64(6), ServerGuid: proto.String("guid"),
		Content: []byte{1, 2}, Story: proto.Bool(true)}
	got, _ := e.Marshal()
	want, _ := proto.Marshal(epb)
	if !bytes.Equal(got, want) {
		t.Fatalf("envelope %x, generated %x", got, want)
	}
	if back, err := envelope.ParseEnvelope(got); err != nil || !reflect.DeepEqual(back, e) {
		t.Fatalf("envelope parsed %+v, %v", back, err)
	}
	e.Urgent, epb.Urgent = false, proto.Bool(false)
	got, _ = e.Marshal()
	want, _ = proto.Marshal(epb)
	if back, _ := envelope.ParseEnvelope(got); !bytes.Equal(got, want) || back.Urgent {
		t.Fatal("urgent false")
	}
}

func TestSealOpenSignal(t *testing.T) {
	ctx := context.Background()
	alice, bob := pair(t, false)
	content, pb := photoContent()
	env, err := envelope.Seal(ctx, alice, aliceAddr, bobAddr, content, 1700000000000)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := envelope.ParseEnvelope(env)
	if e.Type != envelope.TypePreKeyMessage || !e.Urgent || e.ClientTimestamp != 1700000000000 || e.DestinationServiceID != bobAddr.Name {
		t.Fatalf("first envelope %+v", e)
	}
	// The envelope is byte for byte what the generated code writes.
	want, _ := proto.Marshal(&signalpb.Envelope{Type: signalpb.Envelope_PREKEY_MESSAGE.Enum(), SourceServiceId: proto.String(aliceAddr.Name),
		SourceDeviceId: proto.Uint32(aliceAddr.DeviceID), DestinationServiceId: proto.String(bobAddr.Name),
		ClientTimestamp: proto.Uint64(1700000000000), Content: e.Content})
	if !bytes.Equal(env, want) {
		t.Fatal("Seal's envelope differs from the generated encoding")
	}
	from, got, err := envelope.Open(ctx, bob, env)
	if err != nil {
		t.Fatal(err)
	}
	if from != aliceAddr || !reflect.DeepEqual(got, content) {
		t.Fatalf("from %v, content %+v", from, got)
	}
	if b, _ := got.Marshal(); !bytes.Equal(b, mustMarshal(t, pb)) {
		t.Fatal("decrypted content re-encodes differently")
	}
	if _, _, err := envelope.Open(ctx, bob, env); !errors.Is(err, session.ErrDuplicateMessage) {
		t.Fatalf("replay: %v", err)
	}

	reply := &envelope.Content{Receipt: &envelope.ReceiptMessage{Type: envelope.ReceiptRead, Timestamps: []uint64{1700000000000}}}
	env, err = envelope.Seal(ctx, bob, bobAddr, aliceAddr, reply, 1700000000001)
	if err != nil {
		t.Fatal(err)
	}
	from, got, err = envelope.Open(ctx, alice, env)
	if err != nil || from != bobAddr || !reflect.DeepEqual(got, reply) {
		t.Fatalf("reply: %v", err)
	}
	e, _ = envelope.ParseEnvelope(env)
	if e.Type != envelope.TypeDoubleRatchet {
		t.Fatalf("reply envelope type %v", e.Type)
	}

	// Tampered content fails without changing the session.
	env, _ = envelope.Seal(ctx, bob, bobAddr, aliceAddr, reply, 1700000000002)
	e, _ = envelope.ParseEnvelope(env)
	e.Content[len(e.Content)-1] ^= 1
	bad, _ := e.Marshal()
	if _, _, err := envelope.Open(ctx, alice, bad); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("tampered: %v", err)
	}
	if _, _, err := envelope.Open(ctx, alice, env); err != nil {
		t.Fatalf("original after tampered copy: %v", err)
	}
	if _, _, err := envelope.Open(ctx, nil, env); err == nil {
		t.Fatal("opened a ciphertext without a cipher")
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPlaintextContent(t *testing.T) {
	dem := []byte{0x10, 0x01}
	content := &envelope.Content{DecryptionErrorMessage: dem}
	env, err := envelope.SealPlaintextContent(aliceAddr, bobAddr, content, 5)
	if err != nil {
		t.Fatal(err)
	}
	req, err := envelope.OpenPlaintextContent(env)
	if err != nil || req.From != aliceAddr || !bytes.Equal(req.DecryptionErrorMessage.Bytes(), dem) || req.DecryptionErrorMessage.Timestamp != 1 {
		t.Fatalf("%v %+v", err, req)
	}
	if _, got, err := envelope.Open(context.Background(), nil, env); !errors.Is(err, envelope.ErrUnauthenticatedContent) || got != nil {
		t.Fatalf("Open(PLAINTEXT_CONTENT) = %+v, %v; want ErrUnauthenticatedContent", got, err)
	}
	if e, _ := envelope.ParseEnvelope(env); e.Type != envelope.TypePlaintextContent {
		t.Fatal(e.Type)
	}
}

func TestServiceIDBinary(t *testing.T) {
	id := []byte{0x9d, 0x06, 0x52, 0xa3, 0xdc, 0xc3, 0x4d, 0x11, 0x97, 0x5f, 0x74, 0xd6, 0x15, 0x98, 0x73, 0x3f}
	e := &envelope.Envelope{SourceServiceIDBinary: id, SourceDevice: 1}
	if a, err := envelope.Sender(e); err != nil || a != aliceAddr {
		t.Fatalf("%v %v", a, err)
	}
	if s, _ := envelope.ServiceIDString(append([]byte{1}, id...)); s != "PNI:"+aliceAddr.Name {
		t.Fatal(s)
	}
	if _, err := envelope.Sender(&envelope.Envelope{SourceServiceIDBinary: id[:5], SourceDevice: 1}); err == nil {
		t.Fatal("short service ID accepted")
	}
	b, _ := e.Marshal()
	if back, err := envelope.ParseEnvelope(b); err != nil || !bytes.Equal(back.SourceServiceIDBinary, id) {
		t.Fatal("binary service ID round trip")
	}
}

func TestMediaPointers(t *testing.T) {
	photo := bytes.Repeat([]byte("pixels"), 5000)
	var blob bytes.Buffer
	info, err := media.EncryptSignal(rand.Reader, &blob, bytes.NewReader(photo), int64(len(photo)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := envelope.NewAttachmentPointer(info)
	if err != nil || int64(p.Size) != info.Size || int(p.ChunkSize) != info.ChunkSize || !bytes.Equal(p.Key, info.Key) {
		t.Fatalf("%+v %v", p, err)
	}
	var out bytes.Buffer
	if err := media.DecryptSignal(&out, bytes.NewReader(blob.Bytes()), int64(blob.Len()), p.Key, int64(p.Size), p.SignalCheck()); err != nil || !bytes.Equal(out.Bytes(), photo) {
		t.Fatalf("decrypt with the pointer: %v", err)
	}
	p.Digest[0] ^= 1
	if err := media.DecryptSignal(io.Discard, bytes.NewReader(blob.Bytes()), int64(blob.Len()), p.Key, int64(p.Size), p.SignalCheck()); !errors.Is(err, media.ErrInvalidDigest) {
		t.Fatalf("wrong digest: %v", err)
	}
	if _, err := envelope.NewAttachmentPointer(&media.SignalInfo{Key: make([]byte, 64), Size: 1 << 32}); err == nil {
		t.Fatal("4 GiB attachment accepted")
	}
	if _, err := envelope.NewAttachmentPointer(nil); err == nil {
		t.Fatal("nil info accepted")
	}

	for _, kind := range []media.Kind{media.Image, media.Video, media.Audio, media.Document} {
		var blob bytes.Buffer
		info, err := media.EncryptWhatsApp(rand.Reader, &blob, bytes.NewReader(photo), kind)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := envelope.NewWhatsAppMediaMessage(kind, info)
		if err != nil || msg.Kind.Kind() != kind || msg.Media.FileLength != uint64(len(photo)) || (msg.Media.StreamingSidecar != nil) != kind.HasSidecar() {
			t.Fatalf("%v: %+v %v", kind, msg, err)
		}
		b, _ := msg.Marshal()
		back, err := envelope.ParseWhatsAppMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := media.DecryptWhatsApp(&out, bytes.NewReader(blob.Bytes()), int64(blob.Len()), back.Kind.Kind(), back.Media.MediaKey, back.Media.WhatsAppCheck()); err != nil || !bytes.Equal(out.Bytes(), photo) {
			t.Fatalf("%v: decrypt with the message: %v", kind, err)
		}
	}
	if _, err := envelope.NewWhatsAppMediaMessage(media.History, &media.WhatsAppInfo{MediaKey: make([]byte, 32)}); err == nil {
		t.Fatal("history blob in a media message")
	}
	if envelope.MediaKind(5).Kind() != 0 {
		t.Fatal("unknown media kind mapped")
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
	typ, ct, err := envelope.SealWhatsApp(ctx, rand.Reader, alice, bobAddr, msg)
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
	typ, ct, err := envelope.SealMessenger(ctx, rand.Reader, alice, bobAddr, tr)
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
