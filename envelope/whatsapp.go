package envelope

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/interlock-e2ee/interlock/media"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
)

// WhatsApp's `<enc type="…">` names of the session message types.
const (
	EncMsg   = "msg"   // session.TypeSignal
	EncPkMsg = "pkmsg" // session.TypePreKey
	EncSkMsg = "skmsg" // session.TypeSenderKey
)

// WhatsAppEncType maps a session message type to WhatsApp's enc type.
func WhatsAppEncType(ciphertextType session.MessageType) (string, error) {
	switch ciphertextType {
	case session.TypeSignal:
		return EncMsg, nil
	case session.TypePreKey:
		return EncPkMsg, nil
	case session.TypeSenderKey:
		return EncSkMsg, nil
	}
	return "", invalid("no WhatsApp enc type for message type %d", ciphertextType)
}

// ParseWhatsAppEncType is the inverse of WhatsAppEncType.
func ParseWhatsAppEncType(s string) (session.MessageType, error) {
	switch s {
	case EncMsg:
		return session.TypeSignal, nil
	case EncPkMsg:
		return session.TypePreKey, nil
	case EncSkMsg:
		return session.TypeSenderKey, nil
	}
	return 0, invalid("unknown WhatsApp enc type %q", s)
}

// MediaKind says which waE2E media message a WhatsAppMedia is.
type MediaKind int

// The four media messages this package reads and writes.
const (
	ImageMessage    MediaKind = 3 // waE2E.Message field numbers
	DocumentMessage MediaKind = 7
	AudioMessage    MediaKind = 8
	VideoMessage    MediaKind = 9
)

// MediaKindFor returns the media message that carries a blob encrypted with
// kind's keys: media.Image → ImageMessage, Video → VideoMessage, Audio →
// AudioMessage, Document → DocumentMessage. Other kinds (history, app state,
// thumbnails, …) travel in other messages and are refused.
func MediaKindFor(kind media.Kind) (MediaKind, error) {
	switch kind {
	case media.Image:
		return ImageMessage, nil
	case media.Video:
		return VideoMessage, nil
	case media.Audio:
		return AudioMessage, nil
	case media.Document:
		return DocumentMessage, nil
	}
	return 0, fmt.Errorf("envelope: no media message for media kind %v", kind)
}

// Kind returns the media.Kind whose keys (HKDF info) encrypt this message's
// blob; 0 for an unknown MediaKind.
func (k MediaKind) Kind() media.Kind {
	switch k {
	case ImageMessage:
		return media.Image
	case VideoMessage:
		return media.Video
	case AudioMessage:
		return media.Audio
	case DocumentMessage:
		return media.Document
	}
	return 0
}

// NewWhatsAppMediaMessage builds the message that points at a blob
// media.EncryptWhatsApp made with kind: its media key, fileSHA256,
// fileEncSHA256, fileLength and, for audio and video, the streaming sidecar.
// The caller adds where the blob was uploaded (URL, DirectPath,
// MediaKeyTimestamp) and what it is (MimeType, Caption, Width, Height, …).
func NewWhatsAppMediaMessage(kind media.Kind, info *media.WhatsAppInfo) (*WhatsAppMessage, error) {
	k, err := MediaKindFor(kind)
	if err != nil {
		return nil, err
	}
	if info == nil || len(info.MediaKey) != media.MediaKeySize {
		return nil, fmt.Errorf("envelope: media metadata without a %d-byte media key", media.MediaKeySize)
	}
	return &WhatsAppMessage{Kind: k, Media: &WhatsAppMedia{
		MediaKey:         clone(info.MediaKey),
		FileSHA256:       clone(info.FileSHA256),
		FileEncSHA256:    clone(info.FileEncSHA256),
		FileLength:       info.FileLength,
		StreamingSidecar: clone(info.StreamingSidecar),
	}}, nil
}

// WhatsAppCheck returns what media.DecryptWhatsApp must verify for this
// message (fileEncSHA256, sidecar, fileSHA256):
//
//	media.DecryptWhatsApp(dst, blob, blobSize, msg.Kind.Kind(), msg.Media.MediaKey, msg.Media.WhatsAppCheck())
func (m *WhatsAppMedia) WhatsAppCheck() *media.WhatsAppCheck {
	return &media.WhatsAppCheck{FileEncSHA256: m.FileEncSHA256, StreamingSidecar: m.StreamingSidecar, FileSHA256: m.FileSHA256}
}

// WhatsAppMedia is the subset of waE2E's ImageMessage, VideoMessage,
// AudioMessage and DocumentMessage that describes the blob (see package media).
type WhatsAppMedia struct {
	URL               string
	DirectPath        string
	MimeType          string
	Caption           string
	FileName          string // documents
	MediaKey          []byte
	FileSHA256        []byte
	FileEncSHA256     []byte
	FileLength        uint64
	MediaKeyTimestamp int64
	Width, Height     uint32 // images and videos
	Seconds           uint32 // audio and video
	PTT               bool   // audio: a voice note
	StreamingSidecar  []byte // audio and video
}

// mediaFields are the field numbers of one media message (0: absent). From
// whatsmeow's proto/waE2E/WAWebProtobufsE2E.proto (commit 33cfac51, 2026).
type mediaFields struct {
	url, mime, caption, fileName, sha, length, key, encSha, directPath, keyTS,
	width, height, seconds, ptt, sidecar protowire.Number
}

var fieldsOf = map[MediaKind]mediaFields{
	ImageMessage:    {url: 1, mime: 2, caption: 3, sha: 4, length: 5, height: 6, width: 7, key: 8, encSha: 9, directPath: 11, keyTS: 12},
	VideoMessage:    {url: 1, mime: 2, sha: 3, length: 4, seconds: 5, key: 6, caption: 7, height: 9, width: 10, encSha: 11, directPath: 13, keyTS: 14, sidecar: 18},
	AudioMessage:    {url: 1, mime: 2, sha: 3, length: 4, seconds: 5, ptt: 6, key: 7, encSha: 8, directPath: 9, keyTS: 10, sidecar: 18},
	DocumentMessage: {url: 1, mime: 2, sha: 4, length: 5, key: 7, fileName: 8, encSha: 9, directPath: 10, keyTS: 11, caption: 20},
}

// WhatsAppMessage is a minimal waE2E.Message: text (conversation, field 1)
// and at most one media message (fields 3, 7, 8, 9). Parsing models only
// these; the rest is in Raw when the message comes from OpenWhatsApp.
type WhatsAppMessage struct {
	Text  string
	Kind  MediaKind // 0: no media
	Media *WhatsAppMedia
	// Raw is the whole waE2E.Message as received: decrypted,
	// authenticated by the session and unpadded, with every field, those
	// Interlock does not model included (replies, reactions, extended text,
	// protocol messages…). OpenWhatsApp sets it, so a bridge can unmarshal
	// it with a full waE2E schema (whatsmeow's waE2E.Message, for example);
	// ParseWhatsAppMessage leaves it nil (its caller has the bytes) and
	// Marshal ignores it (issue #16 item 7).
	Raw []byte
}

func appendString(b []byte, n protowire.Number, s string) []byte {
	if n == 0 || s == "" {
		return b
	}
	return protowire.AppendString(protowire.AppendTag(b, n, protowire.BytesType), s)
}

func appendBytes(b []byte, n protowire.Number, v []byte) []byte {
	if n == 0 || v == nil {
		return b
	}
	return protowire.AppendBytes(protowire.AppendTag(b, n, protowire.BytesType), v)
}

func appendVarint(b []byte, n protowire.Number, v uint64) []byte {
	if n == 0 || v == 0 {
		return b
	}
	return protowire.AppendVarint(protowire.AppendTag(b, n, protowire.VarintType), v)
}

// mediaField is one field of a media message: its number in that message and
// how to append it.
type mediaField struct {
	n   protowire.Number
	enc func([]byte, protowire.Number) []byte
}

// marshal encodes the media message with its fields in field-number order,
// as WhatsApp's clients (protobufjs in WhatsApp Web and Baileys, Go protobuf in
// whatsmeow) write them.
func (m *WhatsAppMedia) marshal(f mediaFields) []byte {
	var ptt uint64
	if m.PTT {
		ptt = 1
	}
	fields := []mediaField{
		{f.url, func(b []byte, n protowire.Number) []byte { return appendString(b, n, m.URL) }},
		{f.mime, func(b []byte, n protowire.Number) []byte { return appendString(b, n, m.MimeType) }},
		{f.caption, func(b []byte, n protowire.Number) []byte { return appendString(b, n, m.Caption) }},
		{f.fileName, func(b []byte, n protowire.Number) []byte { return appendString(b, n, m.FileName) }},
		{f.sha, func(b []byte, n protowire.Number) []byte { return appendBytes(b, n, m.FileSHA256) }},
		{f.length, func(b []byte, n protowire.Number) []byte { return appendVarint(b, n, m.FileLength) }},
		{f.seconds, func(b []byte, n protowire.Number) []byte { return appendVarint(b, n, uint64(m.Seconds)) }},
		{f.ptt, func(b []byte, n protowire.Number) []byte { return appendVarint(b, n, ptt) }},
		{f.height, func(b []byte, n protowire.Number) []byte { return appendVarint(b, n, uint64(m.Height)) }},
		{f.width, func(b []byte, n protowire.Number) []byte { return appendVarint(b, n, uint64(m.Width)) }},
		{f.key, func(b []byte, n protowire.Number) []byte { return appendBytes(b, n, m.MediaKey) }},
		{f.encSha, func(b []byte, n protowire.Number) []byte { return appendBytes(b, n, m.FileEncSHA256) }},
		{f.directPath, func(b []byte, n protowire.Number) []byte { return appendString(b, n, m.DirectPath) }},
		{f.keyTS, func(b []byte, n protowire.Number) []byte { return appendVarint(b, n, uint64(m.MediaKeyTimestamp)) }},
		{f.sidecar, func(b []byte, n protowire.Number) []byte { return appendBytes(b, n, m.StreamingSidecar) }},
	}
	slices.SortFunc(fields, func(a, b mediaField) int { return cmp.Compare(a.n, b.n) })
	var b []byte
	for _, fl := range fields {
		b = fl.enc(b, fl.n) // absent (0) numbers and empty values write nothing
	}
	return b
}

// Marshal encodes the message as a waE2E.Message.
func (m *WhatsAppMessage) Marshal() ([]byte, error) {
	b := appendString(nil, 1, m.Text)
	if m.Media != nil {
		f, ok := fieldsOf[m.Kind]
		if !ok {
			return nil, fmt.Errorf("envelope: unknown media kind %d", m.Kind)
		}
		b = appendBytes(b, protowire.Number(m.Kind), nonNil(m.Media.marshal(f)))
	}
	return b, nil
}

// walk calls fn for every field of a protobuf message; fn gets the field's
// bytes (length-delimited) or value (varint).
func walk(b []byte, fn func(n protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return invalid("protobuf tag: %v", protowire.ParseError(l))
		}
		b = b[l:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, l = protowire.ConsumeVarint(b)
		default:
			l = protowire.ConsumeFieldValue(n, typ, b)
		}
		if l < 0 {
			return invalid("protobuf field %d: %v", n, protowire.ParseError(l))
		}
		b = b[l:]
		if err := fn(n, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

func parseMedia(b []byte, f mediaFields) (*WhatsAppMedia, error) {
	m := new(WhatsAppMedia)
	strs := map[protowire.Number]*string{f.url: &m.URL, f.mime: &m.MimeType, f.caption: &m.Caption, f.fileName: &m.FileName, f.directPath: &m.DirectPath}
	byts := map[protowire.Number]*[]byte{f.sha: &m.FileSHA256, f.key: &m.MediaKey, f.encSha: &m.FileEncSHA256, f.sidecar: &m.StreamingSidecar}
	delete(strs, 0)
	delete(byts, 0)
	err := walk(b, func(n protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if p, ok := strs[n]; ok {
			if typ != protowire.BytesType {
				return invalid("media field %d: wire type %d", n, typ)
			}
			*p = string(v)
			return nil
		}
		if p, ok := byts[n]; ok {
			if typ != protowire.BytesType {
				return invalid("media field %d: wire type %d", n, typ)
			}
			*p = append([]byte{}, v...)
			return nil
		}
		var dst func(uint64)
		switch n {
		case f.length:
			dst = func(x uint64) { m.FileLength = x }
		case f.keyTS:
			dst = func(x uint64) { m.MediaKeyTimestamp = int64(x) }
		case f.width:
			dst = func(x uint64) { m.Width = uint32(x) }
		case f.height:
			dst = func(x uint64) { m.Height = uint32(x) }
		case f.seconds:
			dst = func(x uint64) { m.Seconds = uint32(x) }
		case f.ptt:
			dst = func(x uint64) { m.PTT = x != 0 }
		default:
			return nil // not ours
		}
		if n == 0 || typ != protowire.VarintType {
			if n == 0 {
				return nil
			}
			return invalid("media field %d: wire type %d", n, typ)
		}
		dst(x)
		return nil
	})
	return m, err
}

// ParseWhatsAppMessage parses a waE2E.Message (after UnpadWhatsApp), keeping
// the text and the first of the four media messages.
func ParseWhatsAppMessage(b []byte) (*WhatsAppMessage, error) {
	if len(b) > session.MaxMessageSize {
		return nil, invalid("message of %d bytes", len(b))
	}
	m := new(WhatsAppMessage)
	err := walk(b, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if n == 1 {
			if typ != protowire.BytesType {
				return invalid("conversation: wire type %d", typ)
			}
			m.Text = string(v)
			return nil
		}
		f, ok := fieldsOf[MediaKind(n)]
		if !ok || m.Media != nil {
			return nil
		}
		if typ != protowire.BytesType {
			return invalid("media message %d: wire type %d", n, typ)
		}
		media, err := parseMedia(v, f)
		if err != nil {
			return err
		}
		m.Kind, m.Media = MediaKind(n), media
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// SealWhatsApp encodes msg, pads it (PadWhatsApp) and encrypts it for to:
// the plaintext of a WhatsApp `<enc v="2" type="…">` node.
func SealWhatsApp(ctx context.Context, rand io.Reader, c *session.Cipher, to session.Address, msg *WhatsAppMessage) (encType string, ciphertext []byte, err error) {
	body, err := msg.Marshal()
	if err != nil {
		return "", nil, err
	}
	padded, err := PadWhatsApp(rand, body)
	if err != nil {
		return "", nil, err
	}
	typ, ct, err := c.Encrypt(ctx, to, padded)
	if err != nil {
		return "", nil, err
	}
	encType, err = WhatsAppEncType(typ)
	return encType, ct, err
}

// OpenWhatsApp decrypts an `<enc v="2">` payload from from, unpads it and
// parses the message. The result's Raw holds the unpadded message bytes,
// every field included.
func OpenWhatsApp(ctx context.Context, c *session.Cipher, from session.Address, encType string, ciphertext []byte) (*WhatsAppMessage, error) {
	pt, err := decrypt(ctx, c, from, encType, ciphertext)
	if err != nil {
		return nil, err
	}
	body, err := UnpadWhatsApp(pt)
	if err != nil {
		return nil, err
	}
	m, err := ParseWhatsAppMessage(body)
	if err != nil {
		return nil, err
	}
	m.Raw = body[:len(body):len(body)] // appending never touches the padding
	return m, nil
}

func decrypt(ctx context.Context, c *session.Cipher, from session.Address, encType string, ciphertext []byte) ([]byte, error) {
	typ, err := ParseWhatsAppEncType(encType)
	if err != nil {
		return nil, err
	}
	if typ == session.TypeSenderKey {
		return nil, invalid("skmsg needs a group cipher")
	}
	return c.Decrypt(ctx, from, typ, ciphertext)
}
