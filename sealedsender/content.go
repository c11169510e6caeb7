package sealedsender

import (
	"bytes"
	"fmt"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// MaxMessageSize bounds every sealed message and content this package
// parses or produces.
const MaxMessageSize = session.MaxMessageSize

// ContentHint tells the recipient what to do when a message cannot be
// decrypted. Values other than the named ones are kept as they are, as
// libsignal does.
type ContentHint uint32

// Content hints.
const (
	// HintDefault: the sender will not resend; show an error at once. It is
	// encoded by leaving the field out.
	HintDefault ContentHint = 0
	// HintResendable: the sender will try to resend; delay any error.
	HintResendable ContentHint = 1
	// HintImplicit: show no error (receipts, typing indicators…).
	HintImplicit ContentHint = 2
)

// UnidentifiedSenderMessageContent is what every sealed sender version
// encrypts (proto UnidentifiedSenderMessage.Message): the inner message, its
// type, the sender's certificate, a content hint and an optional group ID.
// It is immutable.
type UnidentifiedSenderMessageContent struct {
	raw      []byte
	typ      session.MessageType
	cert     *SenderCertificate
	contents []byte
	hint     ContentHint
	groupID  []byte
}

// Message types inside the content are session's: TypePreKey (3),
// TypeSignal (2), TypeSenderKey (7), TypePlaintext (8). The protobuf numbers
// differ only for prekey messages (1).
func typeToProto(typ session.MessageType) (signalpb.UnidentifiedSenderMessage_Message_Type, bool) {
	switch typ {
	case session.TypePreKey:
		return signalpb.UnidentifiedSenderMessage_Message_PREKEY_MESSAGE, true
	case session.TypeSignal:
		return signalpb.UnidentifiedSenderMessage_Message_MESSAGE, true
	case session.TypeSenderKey:
		return signalpb.UnidentifiedSenderMessage_Message_SENDERKEY_MESSAGE, true
	case session.TypePlaintext:
		return signalpb.UnidentifiedSenderMessage_Message_PLAINTEXT_CONTENT, true
	}
	return 0, false
}

func typeFromProto(t signalpb.UnidentifiedSenderMessage_Message_Type) (session.MessageType, bool) {
	switch t {
	case signalpb.UnidentifiedSenderMessage_Message_PREKEY_MESSAGE:
		return session.TypePreKey, true
	case signalpb.UnidentifiedSenderMessage_Message_MESSAGE:
		return session.TypeSignal, true
	case signalpb.UnidentifiedSenderMessage_Message_SENDERKEY_MESSAGE:
		return session.TypeSenderKey, true
	case signalpb.UnidentifiedSenderMessage_Message_PLAINTEXT_CONTENT:
		return session.TypePlaintext, true
	}
	return 0, false
}

// NewContent builds the content for an inner message of type typ (one of
// session.TypePreKey, TypeSignal, TypeSenderKey, TypePlaintext). An empty
// groupID is left out, as is HintDefault.
func NewContent(typ session.MessageType, cert *SenderCertificate, contents []byte, hint ContentHint, groupID []byte) (*UnidentifiedSenderMessageContent, error) {
	pt, ok := typeToProto(typ)
	if !ok {
		return nil, wrap(ErrInvalidArgument, "message type %d", typ)
	}
	if cert == nil {
		return nil, wrap(ErrInvalidArgument, "no sender certificate")
	}
	pb := &signalpb.UnidentifiedSenderMessage_Message{
		Type:              &pt,
		SenderCertificate: cert.raw,
		Content:           nonNil(contents),
	}
	if hint != HintDefault {
		h := signalpb.UnidentifiedSenderMessage_Message_ContentHint(hint)
		pb.ContentHint = &h
	}
	if len(groupID) > 0 {
		pb.GroupId = groupID
	}
	raw, err := proto.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("sealedsender: %w", err)
	}
	if len(raw) > MaxMessageSize {
		return nil, wrap(ErrInvalidArgument, "content of %d bytes", len(raw))
	}
	c := &UnidentifiedSenderMessageContent{raw: raw, typ: typ, cert: cert, contents: bytes.Clone(pb.Content), hint: hint}
	if len(groupID) > 0 {
		c.groupID = bytes.Clone(groupID)
	}
	return c, nil
}

// ParseContent parses a serialized content. Type, sender certificate and
// contents are required (libsignal's rules); the certificate is parsed but
// not validated.
func ParseContent(b []byte) (*UnidentifiedSenderMessageContent, error) {
	if len(b) > MaxMessageSize {
		return nil, invalid("content of %d bytes", len(b))
	}
	var pb signalpb.UnidentifiedSenderMessage_Message
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, invalid("content: %v", err)
	}
	if pb.Type == nil {
		// An unknown type is kept among the unknown fields by proto2's
		// closed enums, so it also lands here.
		return nil, invalid("content without a known message type")
	}
	typ, ok := typeFromProto(*pb.Type)
	if !ok {
		return nil, invalid("content message type %d", *pb.Type)
	}
	if pb.SenderCertificate == nil || pb.Content == nil {
		return nil, invalid("content without sender certificate or contents")
	}
	cert, err := ParseSenderCertificate(pb.SenderCertificate)
	if err != nil {
		return nil, err
	}
	hint := HintDefault
	if pb.ContentHint != nil {
		hint = ContentHint(*pb.ContentHint)
	}
	// proto2 enums are closed: a hint this package does not name is an
	// unknown field. Keep its value, as libsignal does.
	if v, ok := lastVarint(pb.ProtoReflect().GetUnknown(), 4); ok {
		hint = ContentHint(uint32(v))
	}
	return &UnidentifiedSenderMessageContent{
		raw:      bytes.Clone(b),
		typ:      typ,
		cert:     cert,
		contents: pb.Content,
		hint:     hint,
		groupID:  pb.GroupId,
	}, nil
}

// lastVarint returns the last varint value of field num in raw protobuf
// bytes (the unknown fields of a message).
func lastVarint(b []byte, num protowire.Number) (uint64, bool) {
	var out uint64
	found := false
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return out, found
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return out, found
			}
			out, found = v, true
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return out, found
		}
		b = b[l:]
	}
	return out, found
}

// Bytes returns a copy of the serialized content.
func (c *UnidentifiedSenderMessageContent) Bytes() []byte { return bytes.Clone(c.raw) }

// Type returns the inner message type (session.TypePreKey, TypeSignal,
// TypeSenderKey or TypePlaintext).
func (c *UnidentifiedSenderMessageContent) Type() session.MessageType { return c.typ }

// SenderCertificate returns the sender's certificate (not yet validated
// when the content was parsed).
func (c *UnidentifiedSenderMessageContent) SenderCertificate() *SenderCertificate { return c.cert }

// Contents returns a copy of the inner message.
func (c *UnidentifiedSenderMessageContent) Contents() []byte { return bytes.Clone(c.contents) }

// ContentHint returns the content hint.
func (c *UnidentifiedSenderMessageContent) ContentHint() ContentHint { return c.hint }

// GroupID returns a copy of the group ID, or nil when there is none.
func (c *UnidentifiedSenderMessageContent) GroupID() []byte { return bytes.Clone(c.groupID) }

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
