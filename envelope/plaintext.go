package envelope

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
)

// contentDecryptionErrorMessage is Content's decryptionErrorMessage field
// (SignalService.proto), the only field a PlaintextContent may carry.
const contentDecryptionErrorMessage protowire.Number = 8

// ErrUnauthenticatedContent is returned by Open for a PLAINTEXT_CONTENT
// envelope (issue #20 item 4). Such an envelope is not encrypted: anyone who
// can deliver envelopes, the server first, can write one and name any
// contact as its source, so its content must never be mistaken for a
// message a session decrypted. Signal sends exactly one thing this way, a
// DecryptionErrorMessage; read it with OpenPlaintextContent, which returns
// it as an UnauthenticatedRequest and refuses anything else. The error wraps
// session.ErrInvalidMessage.
var ErrUnauthenticatedContent = fmt.Errorf("%w: envelope: PLAINTEXT_CONTENT is not authenticated (read its decryption error message with OpenPlaintextContent)", session.ErrInvalidMessage)

// UnauthenticatedRequest is what OpenPlaintextContent returns: a request to
// resend a message (a DecryptionErrorMessage) that travelled unencrypted in
// a PLAINTEXT_CONTENT envelope. Nothing in it is authenticated. From is the
// source the server asserts, the message's fields are whatever the server
// (or anyone) wrote. Act on it only as Signal's clients do with a retry
// request: if DecryptionErrorMessage.DeviceID is your own device and you sent
// From a message at DecryptionErrorMessage.Timestamp, resend that message,
// encrypted as usual; archive the session with From first only when the
// request's RatchetKey is that of the session's current state (libsignal's
// current_ratchet_key_matches), so that a forged or stale request cannot
// reset a working session. Never show it as a message from From, and let it
// change nothing else.
type UnauthenticatedRequest struct {
	// From is the envelope's source as the server asserts it.
	From session.Address
	// Envelope is the parsed envelope (server GUID, server timestamp, …).
	Envelope *Envelope
	// DecryptionErrorMessage identifies the message to resend.
	DecryptionErrorMessage *session.DecryptionErrorMessage
}

// ParsePlaintextContent parses libsignal's PlaintextContent, the body of a
// PLAINTEXT_CONTENT envelope or of a sealed-sender message of type
// session.TypePlaintext, and returns the DecryptionErrorMessage it carries.
// libsignal builds a PlaintextContent only from a DecryptionErrorMessage
// (rust/protocol/src/protocol.rs, From<DecryptionErrorMessage>): 0xC0 ‖
// Content{decryptionErrorMessage 8} ‖ 0x80. Zeros after the 0x80 are
// accepted (Signal's padding; libsignal writes none). The Content must hold
// field 8 once and nothing else: a DataMessage, a
// SenderKeyDistributionMessage, a second field 8 or any other field, known
// or not, is refused (Signal-Android's EnvelopeContentValidator refuses the
// known ones; unknown ones are refused too so that nothing unauthenticated
// is read past this function). The DecryptionErrorMessage must parse
// (session.ParseDecryptionErrorMessage). Errors wrap
// session.ErrInvalidMessage. Never panics.
func ParsePlaintextContent(b []byte) (*session.DecryptionErrorMessage, error) {
	if len(b) > session.MaxMessageSize {
		return nil, invalid("plaintext content of %d bytes", len(b))
	}
	if len(b) == 0 || b[0] != PlaintextContentMarker {
		return nil, invalid("plaintext content without the 0xC0 marker")
	}
	body, err := UnpadSignal(b[1:])
	if err != nil {
		return nil, err
	}
	var dem []byte
	found := false
	err = walk(body, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case n != contentDecryptionErrorMessage:
			return invalid("plaintext content carries Content field %d: only a decryption error message may travel unencrypted", n)
		case typ != protowire.BytesType:
			return invalid("plaintext content: decryption error message of wire type %d", typ)
		case found:
			return invalid("plaintext content carries two decryption error messages")
		}
		dem, found = v, true
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, invalid("plaintext content carries no decryption error message")
	}
	m, err := session.ParseDecryptionErrorMessage(dem)
	if err != nil {
		return nil, invalid("plaintext content: %w", err)
	}
	return m, nil
}

// OpenPlaintextContent parses a PLAINTEXT_CONTENT envelope and returns the
// DecryptionErrorMessage it carries as an UnauthenticatedRequest (see
// ParsePlaintextContent for what is accepted). Any other envelope type, and
// any other content, is an error wrapping session.ErrInvalidMessage. No
// cipher is needed: nothing is decrypted, nothing stored is changed.
func OpenPlaintextContent(envelope []byte) (*UnauthenticatedRequest, error) {
	e, err := ParseEnvelope(envelope)
	if err != nil {
		return nil, err
	}
	from, err := Sender(e)
	if err != nil {
		return nil, err
	}
	if e.Type != TypePlaintextContent {
		return nil, invalid("OpenPlaintextContent: a %v envelope (use Open)", e.Type)
	}
	m, err := ParsePlaintextContent(e.Content)
	if err != nil {
		return nil, err
	}
	return &UnauthenticatedRequest{From: from, Envelope: e, DecryptionErrorMessage: m}, nil
}
