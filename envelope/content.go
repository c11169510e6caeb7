package envelope

import (
	"fmt"
	"math"

	"github.com/interlock-e2ee/interlock/media"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/proto"
)

// EnvelopeType is a Signal Envelope's type (SignalService.proto
// Envelope.Type): it says how the server-delivered content is to be
// decrypted.
type EnvelopeType int32

// The envelope types (2 and 7 are reserved: sender-key messages travel
// sealed, as UNIDENTIFIED_SENDER).
const (
	TypeUnknown               EnvelopeType = 0
	TypeDoubleRatchet         EnvelopeType = 1 // a SignalMessage (was CIPHERTEXT)
	TypePreKeyMessage         EnvelopeType = 3 // a PreKeySignalMessage
	TypeServerDeliveryReceipt EnvelopeType = 5 // no content
	TypeUnidentifiedSender    EnvelopeType = 6 // sealed sender v1 or v2 (package sealedsender)
	TypePlaintextContent      EnvelopeType = 8 // 0xC0 ‖ padded Content ‖ …
)

// String returns the protobuf name ("DOUBLE_RATCHET", "PREKEY_MESSAGE", …).
func (t EnvelopeType) String() string {
	if n, ok := signalpb.Envelope_Type_name[int32(t)]; ok {
		return n
	}
	return fmt.Sprintf("EnvelopeType(%d)", int32(t))
}

// Envelope is what the Signal server delivers to a device (Signal-Android's
// SignalService.proto Envelope). Strings and numbers that are empty or zero
// are absent on the wire, except Urgent: it defaults to true, so
// ParseEnvelope reports true when the field is absent and Marshal writes it
// only when it is false.
type Envelope struct {
	Type                       EnvelopeType // 1
	SourceServiceID            string       // 11: "<ACI UUID>" or "PNI:<UUID>"
	SourceServiceIDBinary      []byte       // 19: ACI 16 bytes, PNI 0x01 ‖ 16 bytes
	SourceDevice               uint32       // 7
	DestinationServiceID       string       // 13
	DestinationServiceIDBinary []byte       // 20
	ClientTimestamp            uint64       // 5: ms, the sender's timestamp (DataMessage.Timestamp)
	ServerTimestamp            uint64       // 10: ms
	ServerGUID                 string       // 9
	ServerGUIDBinary           []byte       // 21: 16-byte UUID
	Content                    []byte       // 8: the ciphertext (see Type)
	Ephemeral                  bool         // 12
	Urgent                     bool         // 14 (default true)
	Story                      bool         // 16
	UpdatedPNI                 string       // 15
	UpdatedPNIBinary           []byte       // 22
	ReportSpamToken            []byte       // 17
	Unknown                    []byte       // fields this package does not model, as they came
}

// Marshal encodes the envelope as the Go protobuf runtime writes it (field
// order: see the package documentation). Urgent is left out when true; the
// Signal server writes it either way.
func (e *Envelope) Marshal() ([]byte, error) {
	pb := &signalpb.Envelope{
		SourceServiceIdBinary:      e.SourceServiceIDBinary,
		DestinationServiceIdBinary: e.DestinationServiceIDBinary,
		ServerGuidBinary:           e.ServerGUIDBinary,
		UpdatedPniBinary:           e.UpdatedPNIBinary,
		ReportSpamToken:            e.ReportSpamToken,
		Content:                    e.Content,
	}
	if e.Type != 0 {
		pb.Type = signalpb.Envelope_Type(e.Type).Enum()
	}
	pb.SourceServiceId = optString(e.SourceServiceID)
	pb.SourceDeviceId = optUint32(e.SourceDevice)
	pb.DestinationServiceId = optString(e.DestinationServiceID)
	pb.ClientTimestamp = optUint64(e.ClientTimestamp)
	pb.ServerTimestamp = optUint64(e.ServerTimestamp)
	pb.ServerGuid = optString(e.ServerGUID)
	pb.Ephemeral = optBool(e.Ephemeral)
	if !e.Urgent {
		pb.Urgent = proto.Bool(false)
	}
	pb.Story = optBool(e.Story)
	pb.UpdatedPni = optString(e.UpdatedPNI)
	return marshal(pb, e.Unknown)
}

func envelopeFromPB(pb *signalpb.Envelope) *Envelope {
	return &Envelope{
		Type:                       EnvelopeType(pb.GetType()),
		SourceServiceID:            pb.GetSourceServiceId(),
		SourceServiceIDBinary:      pb.SourceServiceIdBinary,
		SourceDevice:               pb.GetSourceDeviceId(),
		DestinationServiceID:       pb.GetDestinationServiceId(),
		DestinationServiceIDBinary: pb.DestinationServiceIdBinary,
		ClientTimestamp:            pb.GetClientTimestamp(),
		ServerTimestamp:            pb.GetServerTimestamp(),
		ServerGUID:                 pb.GetServerGuid(),
		ServerGUIDBinary:           pb.ServerGuidBinary,
		Content:                    pb.Content,
		Ephemeral:                  pb.GetEphemeral(),
		Urgent:                     pb.GetUrgent(),
		Story:                      pb.GetStory(),
		UpdatedPNI:                 pb.GetUpdatedPni(),
		UpdatedPNIBinary:           pb.UpdatedPniBinary,
		ReportSpamToken:            pb.ReportSpamToken,
		Unknown:                    unknown(pb),
	}
}

// Content is the plaintext of a 1:1 or sender-key message, before padding
// (SignalService.proto Content). At most one of DataMessage, Null, Receipt,
// Typing and DecryptionErrorMessage is set (a oneof on the wire);
// SenderKeyDistributionMessage may accompany any of them. Contents this
// package does not model (sync, call, story, edit, … messages) are kept in
// Unknown as raw protobuf fields.
type Content struct {
	DataMessage *DataMessage    // 1
	Null        *NullMessage    // 4
	Receipt     *ReceiptMessage // 5
	Typing      *TypingMessage  // 6
	// DecryptionErrorMessage (8) is a serialized DecryptionErrorMessage
	// (session.ParseDecryptionErrorMessage); nil when absent.
	DecryptionErrorMessage []byte
	// SenderKeyDistributionMessage (7) is a serialized
	// SenderKeyDistributionMessage (package group); nil when absent.
	SenderKeyDistributionMessage []byte
	Unknown                      []byte
}

// NullMessage is Signal's NullMessage: random padding, sent to refresh a
// session or to hide traffic.
type NullMessage struct {
	Padding []byte
}

// ReceiptType says what a ReceiptMessage acknowledges.
type ReceiptType int32

// The receipt types.
const (
	ReceiptDelivery ReceiptType = 0
	ReceiptRead     ReceiptType = 1
	ReceiptViewed   ReceiptType = 2
)

// String returns the protobuf name ("DELIVERY", "READ", "VIEWED").
func (t ReceiptType) String() string {
	if n, ok := signalpb.ReceiptMessage_Type_name[int32(t)]; ok {
		return n
	}
	return fmt.Sprintf("ReceiptType(%d)", int32(t))
}

// ReceiptMessage acknowledges the DataMessages sent at Timestamps. Its Type
// is always written, even DELIVERY, as Signal's clients do.
type ReceiptMessage struct {
	Type       ReceiptType // 1
	Timestamps []uint64    // 2
}

// TypingAction says whether typing started or stopped.
type TypingAction int32

// The typing actions.
const (
	TypingStarted TypingAction = 0
	TypingStopped TypingAction = 1
)

// String returns the protobuf name ("STARTED", "STOPPED").
func (a TypingAction) String() string {
	if n, ok := signalpb.TypingMessage_Action_name[int32(a)]; ok {
		return n
	}
	return fmt.Sprintf("TypingAction(%d)", int32(a))
}

// TypingMessage is a typing indicator; GroupID is set in groups. Its Action
// is always written, even STARTED.
type TypingMessage struct {
	Timestamp uint64       // 1
	Action    TypingAction // 2
	GroupID   []byte       // 3
}

// DataMessage is a message the user sees: text, attachments, a quote, a
// reaction, a deletion, a timer change (SignalService.proto DataMessage).
type DataMessage struct {
	Body               string              // 1
	Attachments        []AttachmentPointer // 2
	Flags              uint32              // 4: END_SESSION 1, EXPIRATION_TIMER_UPDATE 2, PROFILE_KEY_UPDATE 4
	ExpireTimer        uint32              // 5: seconds; 0 = off
	ExpireTimerVersion uint32              // 23
	ProfileKey         []byte              // 6
	Timestamp          uint64              // 7: ms; equals the envelope's ClientTimestamp
	Quote              *Quote              // 8
	IsViewOnce         bool                // 14
	Reaction           *Reaction           // 16
	Delete             *Delete             // 17
	Unknown            []byte              // groupV2, sticker, preview, mentions, …
}

// QuoteType is a Quote's type: NORMAL 0, GIFT_BADGE 1, POLL 2.
type QuoteType uint32

// The quote types.
const (
	QuoteNormal    QuoteType = 0
	QuoteGiftBadge QuoteType = 1
	QuotePoll      QuoteType = 2
)

// Quote is a reply's reference to an earlier message, identified by its
// sent timestamp and author.
type Quote struct {
	ID              uint64             // 1: the quoted message's timestamp
	AuthorACI       string             // 5
	AuthorACIBinary []byte             // 8
	Text            string             // 3
	Attachments     []QuotedAttachment // 4
	Type            QuoteType          // 7
}

// QuotedAttachment describes an attachment of the quoted message.
type QuotedAttachment struct {
	ContentType string             // 1
	FileName    string             // 2
	Thumbnail   *AttachmentPointer // 3
}

// Reaction adds (or, with Remove, withdraws) an emoji reaction to the message
// sent at TargetSentTimestamp by the target author.
type Reaction struct {
	Emoji                 string // 1
	Remove                bool   // 2
	TargetAuthorACI       string // 4
	TargetAuthorACIBinary []byte // 6
	TargetSentTimestamp   uint64 // 5
}

// Delete deletes for everyone the sender's message sent at
// TargetSentTimestamp.
type Delete struct {
	TargetSentTimestamp uint64 // 1
}

// Attachment flags (AttachmentPointer.Flags).
const (
	AttachmentVoiceMessage uint32 = 1
	AttachmentBorderless   uint32 = 2
	AttachmentGIF          uint32 = 8
)

// AttachmentPointer says where an encrypted attachment is (CDN number and
// CDNID or CDNKey) and how to decrypt and check it (Key, Size, Digest,
// IncrementalMAC, ChunkSize: see package media). At most one of CDNID and
// CDNKey is set.
type AttachmentPointer struct {
	CDNID           uint64 // 1 (fixed64), CDN 0
	CDNKey          string // 15, CDN 2 and 3
	CDNNumber       uint32 // 14
	ClientUUID      []byte // 20
	ContentType     string // 2
	Key             []byte // 3: 64 bytes, AES-256 key ‖ HMAC-SHA256 key
	Size            uint32 // 4: plaintext size, before padding
	Thumbnail       []byte // 5
	Digest          []byte // 6: SHA-256 of the blob
	IncrementalMAC  []byte // 19
	ChunkSize       uint32 // 17: incremental MAC chunk size
	FileName        string // 7
	Flags           uint32 // 8: AttachmentVoiceMessage, AttachmentBorderless, AttachmentGIF
	Width, Height   uint32 // 9, 10
	Caption         string // 11
	BlurHash        string // 12
	UploadTimestamp uint64 // 13: ms
}

// NewAttachmentPointer fills an AttachmentPointer with what
// media.EncryptSignal returned (key, plaintext size, digest, incremental MAC
// and its chunk size). The caller adds where the blob was uploaded (CDNKey,
// CDNNumber, UploadTimestamp) and what it is (ContentType, FileName, Width,
// Height, Caption, …). Signal's size field is 32 bits: larger attachments are
// refused.
func NewAttachmentPointer(info *media.SignalInfo) (AttachmentPointer, error) {
	if info == nil || len(info.Key) != media.SignalKeySize {
		return AttachmentPointer{}, fmt.Errorf("envelope: attachment metadata without a %d-byte key", media.SignalKeySize)
	}
	if info.Size < 0 || info.Size > math.MaxUint32 || info.ChunkSize < 0 || int64(info.ChunkSize) > math.MaxUint32 {
		return AttachmentPointer{}, fmt.Errorf("envelope: attachment of %d bytes does not fit an AttachmentPointer", info.Size)
	}
	return AttachmentPointer{
		Key:            clone(info.Key),
		Size:           uint32(info.Size),
		Digest:         clone(info.Digest),
		IncrementalMAC: clone(info.IncrementalMAC),
		ChunkSize:      uint32(info.ChunkSize),
	}, nil
}

// SignalCheck returns what media.DecryptSignal must verify for this pointer
// (digest, incremental MAC and chunk size):
//
//	media.DecryptSignal(dst, blob, blobSize, p.Key, int64(p.Size), p.SignalCheck())
func (p *AttachmentPointer) SignalCheck() *media.SignalCheck {
	return &media.SignalCheck{Digest: p.Digest, IncrementalMAC: p.IncrementalMAC, ChunkSize: int(p.ChunkSize)}
}

func (p *AttachmentPointer) toPB() (*signalpb.AttachmentPointer, error) {
	pb := &signalpb.AttachmentPointer{
		ClientUuid:      p.ClientUUID,
		Key:             p.Key,
		Thumbnail:       p.Thumbnail,
		Digest:          p.Digest,
		IncrementalMac:  p.IncrementalMAC,
		ContentType:     optString(p.ContentType),
		Size:            optUint32(p.Size),
		ChunkSize:       optUint32(p.ChunkSize),
		FileName:        optString(p.FileName),
		Flags:           optUint32(p.Flags),
		Width:           optUint32(p.Width),
		Height:          optUint32(p.Height),
		Caption:         optString(p.Caption),
		BlurHash:        optString(p.BlurHash),
		UploadTimestamp: optUint64(p.UploadTimestamp),
		CdnNumber:       optUint32(p.CDNNumber),
	}
	switch {
	case p.CDNID != 0 && p.CDNKey != "":
		return nil, fmt.Errorf("envelope: attachment has both a CDN ID and a CDN key")
	case p.CDNID != 0:
		pb.AttachmentIdentifier = &signalpb.AttachmentPointer_CdnId{CdnId: p.CDNID}
	case p.CDNKey != "":
		pb.AttachmentIdentifier = &signalpb.AttachmentPointer_CdnKey{CdnKey: p.CDNKey}
	}
	return pb, nil
}

func attachmentFromPB(pb *signalpb.AttachmentPointer) AttachmentPointer {
	return AttachmentPointer{
		CDNID:           pb.GetCdnId(),
		CDNKey:          pb.GetCdnKey(),
		CDNNumber:       pb.GetCdnNumber(),
		ClientUUID:      pb.ClientUuid,
		ContentType:     pb.GetContentType(),
		Key:             pb.Key,
		Size:            pb.GetSize(),
		Thumbnail:       pb.Thumbnail,
		Digest:          pb.Digest,
		IncrementalMAC:  pb.IncrementalMac,
		ChunkSize:       pb.GetChunkSize(),
		FileName:        pb.GetFileName(),
		Flags:           pb.GetFlags(),
		Width:           pb.GetWidth(),
		Height:          pb.GetHeight(),
		Caption:         pb.GetCaption(),
		BlurHash:        pb.GetBlurHash(),
		UploadTimestamp: pb.GetUploadTimestamp(),
	}
}

// Marshal encodes the content, unpadded (Seal pads it with PadSignal).
func (c *Content) Marshal() ([]byte, error) {
	pb, err := c.toPB()
	if err != nil {
		return nil, err
	}
	return marshal(pb, c.Unknown)
}

func (c *Content) toPB() (*signalpb.Content, error) {
	pb := &signalpb.Content{SenderKeyDistributionMessage: c.SenderKeyDistributionMessage}
	set := 0
	if c.DataMessage != nil {
		dm, err := c.DataMessage.toPB()
		if err != nil {
			return nil, err
		}
		pb.Content = &signalpb.Content_DataMessage{DataMessage: dm}
		set++
	}
	if c.Null != nil {
		pb.Content = &signalpb.Content_NullMessage{NullMessage: &signalpb.NullMessage{Padding: c.Null.Padding}}
		set++
	}
	if c.Receipt != nil {
		r := &signalpb.ReceiptMessage{Type: signalpb.ReceiptMessage_Type(c.Receipt.Type).Enum(), Timestamp: c.Receipt.Timestamps}
		pb.Content = &signalpb.Content_ReceiptMessage{ReceiptMessage: r}
		set++
	}
	if c.Typing != nil {
		t := &signalpb.TypingMessage{Timestamp: optUint64(c.Typing.Timestamp), Action: signalpb.TypingMessage_Action(c.Typing.Action).Enum(), GroupId: c.Typing.GroupID}
		pb.Content = &signalpb.Content_TypingMessage{TypingMessage: t}
		set++
	}
	if c.DecryptionErrorMessage != nil {
		pb.Content = &signalpb.Content_DecryptionErrorMessage{DecryptionErrorMessage: c.DecryptionErrorMessage}
		set++
	}
	if set > 1 {
		return nil, fmt.Errorf("envelope: content has %d of DataMessage, Null, Receipt, Typing and DecryptionErrorMessage; at most one is allowed", set)
	}
	return pb, nil
}

func contentFromPB(pb *signalpb.Content) *Content {
	c := &Content{SenderKeyDistributionMessage: pb.SenderKeyDistributionMessage, Unknown: unknown(pb)}
	switch x := pb.Content.(type) {
	case *signalpb.Content_DataMessage:
		c.DataMessage = dataMessageFromPB(x.DataMessage)
	case *signalpb.Content_NullMessage:
		c.Null = &NullMessage{Padding: x.NullMessage.GetPadding()}
	case *signalpb.Content_ReceiptMessage:
		c.Receipt = &ReceiptMessage{Type: ReceiptType(x.ReceiptMessage.GetType()), Timestamps: x.ReceiptMessage.GetTimestamp()}
	case *signalpb.Content_TypingMessage:
		c.Typing = &TypingMessage{Timestamp: x.TypingMessage.GetTimestamp(), Action: TypingAction(x.TypingMessage.GetAction()), GroupID: x.TypingMessage.GetGroupId()}
	case *signalpb.Content_DecryptionErrorMessage:
		c.DecryptionErrorMessage = nonNil(x.DecryptionErrorMessage)
	}
	return c
}

func (m *DataMessage) toPB() (*signalpb.DataMessage, error) {
	pb := &signalpb.DataMessage{
		Body:               optString(m.Body),
		Flags:              optUint32(m.Flags),
		ExpireTimer:        optUint32(m.ExpireTimer),
		ExpireTimerVersion: optUint32(m.ExpireTimerVersion),
		ProfileKey:         m.ProfileKey,
		Timestamp:          optUint64(m.Timestamp),
		IsViewOnce:         optBool(m.IsViewOnce),
	}
	for i := range m.Attachments {
		a, err := m.Attachments[i].toPB()
		if err != nil {
			return nil, err
		}
		pb.Attachments = append(pb.Attachments, a)
	}
	if q := m.Quote; q != nil {
		pq := &signalpb.DataMessage_Quote{
			Id: optUint64(q.ID), AuthorAci: optString(q.AuthorACI), AuthorAciBinary: q.AuthorACIBinary,
			Text: optString(q.Text), Type: optUint32(uint32(q.Type)),
		}
		for _, qa := range q.Attachments {
			pqa := &signalpb.DataMessage_Quote_QuotedAttachment{ContentType: optString(qa.ContentType), FileName: optString(qa.FileName)}
			if qa.Thumbnail != nil {
				t, err := qa.Thumbnail.toPB()
				if err != nil {
					return nil, err
				}
				pqa.Thumbnail = t
			}
			pq.Attachments = append(pq.Attachments, pqa)
		}
		pb.Quote = pq
	}
	if r := m.Reaction; r != nil {
		pb.Reaction = &signalpb.DataMessage_Reaction{
			Emoji: optString(r.Emoji), Remove: optBool(r.Remove), TargetAuthorAci: optString(r.TargetAuthorACI),
			TargetAuthorAciBinary: r.TargetAuthorACIBinary, TargetSentTimestamp: optUint64(r.TargetSentTimestamp),
		}
	}
	if d := m.Delete; d != nil {
		pb.Delete = &signalpb.DataMessage_Delete{TargetSentTimestamp: optUint64(d.TargetSentTimestamp)}
	}
	if len(m.Unknown) > 0 {
		pb.ProtoReflect().SetUnknown(clone(m.Unknown))
	}
	return pb, nil
}

func dataMessageFromPB(pb *signalpb.DataMessage) *DataMessage {
	m := &DataMessage{
		Body:               pb.GetBody(),
		Flags:              pb.GetFlags(),
		ExpireTimer:        pb.GetExpireTimer(),
		ExpireTimerVersion: pb.GetExpireTimerVersion(),
		ProfileKey:         pb.ProfileKey,
		Timestamp:          pb.GetTimestamp(),
		IsViewOnce:         pb.GetIsViewOnce(),
		Unknown:            unknown(pb),
	}
	for _, a := range pb.GetAttachments() {
		m.Attachments = append(m.Attachments, attachmentFromPB(a))
	}
	if q := pb.GetQuote(); q != nil {
		m.Quote = &Quote{ID: q.GetId(), AuthorACI: q.GetAuthorAci(), AuthorACIBinary: q.AuthorAciBinary, Text: q.GetText(), Type: QuoteType(q.GetType())}
		for _, qa := range q.GetAttachments() {
			a := QuotedAttachment{ContentType: qa.GetContentType(), FileName: qa.GetFileName()}
			if qa.Thumbnail != nil {
				t := attachmentFromPB(qa.Thumbnail)
				a.Thumbnail = &t
			}
			m.Quote.Attachments = append(m.Quote.Attachments, a)
		}
	}
	if r := pb.GetReaction(); r != nil {
		m.Reaction = &Reaction{Emoji: r.GetEmoji(), Remove: r.GetRemove(), TargetAuthorACI: r.GetTargetAuthorAci(),
			TargetAuthorACIBinary: r.TargetAuthorAciBinary, TargetSentTimestamp: r.GetTargetSentTimestamp()}
	}
	if d := pb.GetDelete(); d != nil {
		m.Delete = &Delete{TargetSentTimestamp: d.GetTargetSentTimestamp()}
	}
	return m
}

// marshal encodes pb with extra appended as unknown fields. Encoding is
// deterministic: field-number order, oneof members after the other fields.
func marshal(pb proto.Message, extra []byte) ([]byte, error) {
	if len(extra) > 0 {
		pb.ProtoReflect().SetUnknown(clone(extra))
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("envelope: marshal: %w", err)
	}
	return nonNil(b), nil
}

// unmarshal parses a protobuf message of at most session.MaxMessageSize
// bytes into pb.
func unmarshal(what string, b []byte, pb proto.Message) error {
	if len(b) > session.MaxMessageSize {
		return invalid("%s of %d bytes", what, len(b))
	}
	if err := proto.Unmarshal(b, pb); err != nil {
		// invalid already says "envelope: "; what may be "envelope" too
		// (issue #16 item 6: no doubled prefix).
		return invalid("parsing %s: %v", what, err)
	}
	return nil
}

func unknown(pb proto.Message) []byte {
	if u := pb.ProtoReflect().GetUnknown(); len(u) > 0 {
		return clone(u)
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optUint32(v uint32) *uint32 {
	if v == 0 {
		return nil
	}
	return &v
}

func optUint64(v uint64) *uint64 {
	if v == 0 {
		return nil
	}
	return &v
}

func optBool(v bool) *bool {
	if !v {
		return nil
	}
	return &v
}
