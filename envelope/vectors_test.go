package envelope_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/proto"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

// Vectors from independent implementations (testdata/vectors/README.md):
// whatsapp-padding.json and whatsapp-message.json from Baileys
// (interop/whatsapp-media/gen-envelope-vectors.js), signal-padding.json and
// signal-envelope.json from Signal-Android's libsignal-service
// (interop/signal-envelope/GenVectors.java).

// TestWhatsAppPaddingVectors: Baileys' writeRandomPadMax16 output unpads to
// the payload and Interlock pads to the same bytes given the same N; the
// malformed inputs are rejected (Baileys itself accepts some of them).
func TestWhatsAppPaddingVectors(t *testing.T) {
	var f struct {
		Vectors []struct {
			ID          int    `json:"id"`
			Comment     string `json:"comment"`
			Payload     []byte `json:"payload"`
			Padded      []byte `json:"padded"`
			N           int    `json:"n"`
			Expect      string `json:"expect"`
			ExpectError string `json:"expect_error"`
		} `json:"vectors"`
	}
	vectortest.Load(t, "whatsapp-padding.json", &f)
	valid, invalid := 0, 0
	for _, v := range f.Vectors {
		if v.ExpectError != "" {
			invalid++
			if got, err := envelope.UnpadWhatsApp(v.Padded); !errors.Is(err, session.ErrInvalidMessage) {
				t.Errorf("vector %d (%s): UnpadWhatsApp = %x, %v; want an invalid-message error", v.ID, v.Comment, got, err)
			}
			continue
		}
		valid++
		got, err := envelope.UnpadWhatsApp(v.Padded)
		if err != nil || !bytes.Equal(got, v.Payload) {
			t.Errorf("vector %d (%s): UnpadWhatsApp = %x, %v; want %x", v.ID, v.Comment, got, err, v.Payload)
		}
		if v.N > 15 {
			continue // Interlock draws N from 1-15 (whatsmeow); WhatsApp Web also draws 16
		}
		padded, err := envelope.PadWhatsApp(bytes.NewReader([]byte{byte(v.N)}), v.Payload)
		if err != nil || !bytes.Equal(padded, v.Padded) {
			t.Errorf("vector %d (%s): PadWhatsApp with N=%d = %x, %v; want %x", v.ID, v.Comment, v.N, padded, err, v.Padded)
		}
	}
	if valid == 0 || invalid == 0 {
		t.Fatalf("%d valid and %d invalid vectors", valid, invalid)
	}
}

type waMediaFields struct {
	URL               string `json:"url"`
	MimeType          string `json:"mimetype"`
	Caption           string `json:"caption"`
	FileName          string `json:"fileName"`
	DirectPath        string `json:"directPath"`
	FileSHA256        []byte `json:"fileSha256"`
	MediaKey          []byte `json:"mediaKey"`
	FileEncSHA256     []byte `json:"fileEncSha256"`
	StreamingSidecar  []byte `json:"streamingSidecar"`
	FileLength        uint64 `json:"fileLength"`
	MediaKeyTimestamp int64  `json:"mediaKeyTimestamp"`
	Height            uint32 `json:"height"`
	Width             uint32 `json:"width"`
	Seconds           uint32 `json:"seconds"`
	PTT               bool   `json:"ptt"`
}

// TestWhatsAppMessageVectors: waE2E.Messages encoded by Baileys parse to the
// recorded fields, and Interlock encodes those fields to Baileys' bytes.
func TestWhatsAppMessageVectors(t *testing.T) {
	var f struct {
		Vectors []struct {
			ID      int    `json:"id"`
			Comment string `json:"comment"`
			Fields  struct {
				Text  string         `json:"text"`
				Kind  string         `json:"kind"`
				Media *waMediaFields `json:"media"`
			} `json:"fields"`
			Message   []byte `json:"message"`
			Padded    []byte `json:"padded"`
			Reencoded []byte `json:"reencoded"`
			ParseOnly bool   `json:"parse_only"`
		} `json:"vectors"`
	}
	vectortest.Load(t, "whatsapp-message.json", &f)
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	kinds := map[string]envelope.MediaKind{"image": envelope.ImageMessage, "video": envelope.VideoMessage,
		"audio": envelope.AudioMessage, "document": envelope.DocumentMessage}
	seen := map[envelope.MediaKind]bool{}
	for _, v := range f.Vectors {
		want := &envelope.WhatsAppMessage{Text: v.Fields.Text}
		if m := v.Fields.Media; m != nil {
			k, ok := kinds[v.Fields.Kind]
			if !ok {
				t.Fatalf("vector %d: kind %q", v.ID, v.Fields.Kind)
			}
			seen[k] = true
			want.Kind = k
			want.Media = &envelope.WhatsAppMedia{
				URL: m.URL, DirectPath: m.DirectPath, MimeType: m.MimeType, Caption: m.Caption, FileName: m.FileName,
				MediaKey: m.MediaKey, FileSHA256: m.FileSHA256, FileEncSHA256: m.FileEncSHA256, FileLength: m.FileLength,
				MediaKeyTimestamp: m.MediaKeyTimestamp, Width: m.Width, Height: m.Height, Seconds: m.Seconds, PTT: m.PTT,
				StreamingSidecar: m.StreamingSidecar,
			}
		}
		got, err := envelope.ParseWhatsAppMessage(v.Message)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("vector %d (%s): ParseWhatsAppMessage = %+v, %v; want %+v", v.ID, v.Comment, got, err, want)
		}
		unpadded, err := envelope.UnpadWhatsApp(v.Padded)
		if err != nil || !bytes.Equal(unpadded, v.Message) {
			t.Errorf("vector %d (%s): UnpadWhatsApp(encodeWAMessage output) = %x, %v", v.ID, v.Comment, unpadded, err)
		}
		wantBytes := v.Message
		if v.ParseOnly {
			wantBytes = v.Reencoded
		}
		b, err := want.Marshal()
		if err != nil || !bytes.Equal(b, wantBytes) {
			t.Errorf("vector %d (%s): Marshal = %x, %v\nwant (Baileys) %x", v.ID, v.Comment, b, err, wantBytes)
		}
	}
	if len(seen) != len(kinds) {
		t.Fatalf("media kinds covered: %v", seen)
	}
}

// TestSignalPaddingVectors: Interlock pads as Signal-Android's
// PushTransportDetails does, unpads its and other senders' padding, and
// rejects what Signal-Android only logs.
func TestSignalPaddingVectors(t *testing.T) {
	var f struct {
		Vectors []struct {
			ID          int    `json:"id"`
			Comment     string `json:"comment"`
			Content     []byte `json:"content"`
			Padded      []byte `json:"padded"`
			UnpadOnly   bool   `json:"unpad_only"`
			ExpectError string `json:"expect_error"`
		} `json:"vectors"`
	}
	vectortest.Load(t, "signal-padding.json", &f)
	valid, invalid := 0, 0
	for _, v := range f.Vectors {
		if v.ExpectError != "" {
			invalid++
			if got, err := envelope.UnpadSignal(v.Padded); !errors.Is(err, session.ErrInvalidMessage) {
				t.Errorf("vector %d (%s): UnpadSignal = %x, %v; want an invalid-message error", v.ID, v.Comment, got, err)
			}
			continue
		}
		valid++
		got, err := envelope.UnpadSignal(v.Padded)
		if err != nil || !bytes.Equal(got, v.Content) {
			t.Errorf("vector %d (%s): UnpadSignal = %x, %v; want %x", v.ID, v.Comment, got, err, v.Content)
		}
		if !v.UnpadOnly {
			if p := envelope.PadSignal(v.Content); !bytes.Equal(p, v.Padded) {
				t.Errorf("vector %d (%s): PadSignal = %x; want %x", v.ID, v.Comment, p, v.Padded)
			}
		}
	}
	if valid == 0 || invalid == 0 {
		t.Fatalf("%d valid and %d invalid vectors", valid, invalid)
	}
}

// TestSignalEnvelopeVectors: Envelopes and Contents encoded by
// Signal-Android's Wire classes (declaration order) and in field-number order
// parse to the recorded fields; Interlock's encoding of those fields is the
// field-number-order bytes; Contents padded by Signal-Android parse; the
// PLAINTEXT_CONTENT envelope carrying libsignal's PlaintextContent opens and
// SealPlaintextContent reproduces it.
func TestSignalEnvelopeVectors(t *testing.T) {
	var f struct {
		Vectors []struct {
			ID                  int             `json:"id"`
			Comment             string          `json:"comment"`
			Message             string          `json:"message"`
			Fields              json.RawMessage `json:"fields"`
			Wire                []byte          `json:"wire"`
			Canonical           []byte          `json:"canonical"`
			Padded              []byte          `json:"padded"`
			PlaintextContentDEM []byte          `json:"plaintext_content_dem"`
		} `json:"vectors"`
	}
	vectortest.Load(t, "signal-envelope.json", &f)
	counts := map[string]int{}
	for _, v := range f.Vectors {
		counts[v.Message]++
		switch v.Message {
		case "Content":
			want := new(envelope.Content)
			if err := json.Unmarshal(v.Fields, want); err != nil {
				t.Fatalf("vector %d: %v", v.ID, err)
			}
			for name, in := range map[string][]byte{"padded wire": v.Padded, "wire": envelope.PadSignal(v.Wire), "canonical": envelope.PadSignal(v.Canonical)} {
				got, err := envelope.ParseContent(in)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("vector %d (%s): ParseContent(%s) = %+v, %v; want %+v", v.ID, v.Comment, name, got, err, want)
				}
			}
			b, err := want.Marshal()
			if err != nil {
				t.Fatalf("vector %d: %v", v.ID, err)
			}
			checkEncoding(t, v.ID, v.Comment, b, v.Canonical, new(signalpb.Content), counts)
		case "Envelope":
			want := new(envelope.Envelope)
			if err := json.Unmarshal(v.Fields, want); err != nil {
				t.Fatalf("vector %d: %v", v.ID, err)
			}
			for name, in := range map[string][]byte{"wire": v.Wire, "canonical": v.Canonical} {
				got, err := envelope.ParseEnvelope(in)
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("vector %d (%s): ParseEnvelope(%s) = %+v, %v; want %+v", v.ID, v.Comment, name, got, err, want)
				}
			}
			b, err := want.Marshal()
			if err != nil {
				t.Fatalf("vector %d: %v", v.ID, err)
			}
			checkEncoding(t, v.ID, v.Comment, b, v.Canonical, new(signalpb.Envelope), counts)
			if v.PlaintextContentDEM == nil {
				continue
			}
			counts["PlaintextContent"]++
			// Issue #20 item 4: Open refuses plaintext content; the
			// DecryptionErrorMessage comes out of OpenPlaintextContent only.
			if _, content, err := envelope.Open(context.Background(), nil, v.Wire); !errors.Is(err, envelope.ErrUnauthenticatedContent) || content != nil {
				t.Errorf("vector %d (%s): Open = %+v, %v; want ErrUnauthenticatedContent", v.ID, v.Comment, content, err)
			}
			req, err := envelope.OpenPlaintextContent(v.Wire)
			if err != nil {
				t.Fatalf("vector %d (%s): OpenPlaintextContent: %v", v.ID, v.Comment, err)
			}
			from := req.From
			if from != (session.Address{Name: want.SourceServiceID, DeviceID: want.SourceDevice}) ||
				!bytes.Equal(req.DecryptionErrorMessage.Bytes(), v.PlaintextContentDEM) {
				t.Errorf("vector %d (%s): OpenPlaintextContent = %v, %x", v.ID, v.Comment, from, req.DecryptionErrorMessage.Bytes())
			}
			sealed, err := envelope.SealPlaintextContent(from, session.Address{Name: want.DestinationServiceID, DeviceID: 1},
				&envelope.Content{DecryptionErrorMessage: v.PlaintextContentDEM}, want.ClientTimestamp)
			if err != nil {
				t.Fatalf("vector %d: %v", v.ID, err)
			}
			if !bytes.Equal(sealed, b) {
				t.Errorf("vector %d (%s): SealPlaintextContent = %x\nwant Marshal's %x", v.ID, v.Comment, sealed, b)
			}
		default:
			t.Fatalf("vector %d: message %q", v.ID, v.Message)
		}
	}
	if counts["Content"] == 0 || counts["Envelope"] == 0 || counts["PlaintextContent"] == 0 || counts["byte-for-byte"] < 10 {
		t.Fatalf("vectors covered: %v", counts)
	}
	t.Logf("%v", counts)
}

// checkEncoding compares Interlock's encoding got with the field-number-order
// encoding want. They are equal byte for byte except in two documented ways:
// the Go protobuf runtime writes the members of a oneof (Content's
// dataMessage, typingMessage, …; AttachmentPointer's cdnId/cdnKey) after the
// other fields, and Envelope.Marshal leaves out urgent when it is true (the
// default) where the server writes it. Then got and want must be the same
// message field for field.
func checkEncoding(t *testing.T, id int, comment string, got, want []byte, pb proto.Message, counts map[string]int) {
	t.Helper()
	if bytes.Equal(got, want) {
		counts["byte-for-byte"]++
		return
	}
	g, w := pb, proto.Clone(pb)
	if err := proto.Unmarshal(got, g); err != nil {
		t.Fatalf("vector %d: %v", id, err)
	}
	if err := proto.Unmarshal(want, w); err != nil {
		t.Fatalf("vector %d: %v", id, err)
	}
	if e, ok := w.(*signalpb.Envelope); ok && e.GetUrgent() && e.Urgent != nil {
		e.Urgent = nil
	}
	if !proto.Equal(g, w) {
		t.Errorf("vector %d (%s): Marshal = %x\nwant %x", id, comment, got, want)
		return
	}
	counts["same fields, other order"]++
}
