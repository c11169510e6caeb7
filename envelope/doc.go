// Package envelope frames the plaintexts that travel inside (and the
// envelopes that travel around) Signal-protocol ciphertexts, for the three
// clients Interlock talks to.
//
//   - Signal: Content (DataMessage with body, attachments, quote, reaction,
//     delete, timer; ReceiptMessage; TypingMessage; NullMessage;
//     decryptionErrorMessage 8; senderKeyDistributionMessage 7) padded with
//     PadSignal (Content ‖ 0x80 ‖ zeros to 80·⌈(n+2)/80⌉ − 1 bytes;
//     Signal-Android PushTransportDetails) and carried in an Envelope whose
//     type says how to decrypt it (DOUBLE_RATCHET 1 ↔ session.TypeSignal,
//     PREKEY_MESSAGE 3 ↔ session.TypePreKey, PLAINTEXT_CONTENT 8 ↔
//     session.TypePlaintext; UNIDENTIFIED_SENDER 6 is package
//     sealedsender's; EnvelopeTypeOf and CiphertextType).
//     Field numbers: Signal-Android's SignalService.proto
//     (lib/libsignal-service/src/main/protowire), in ../proto/signalservice.proto.
//     Seal and Open do a whole plain (non-sealed) message in one call.
//     PLAINTEXT_CONTENT carries only a DecryptionErrorMessage, unencrypted:
//     SealPlaintextContent writes it, OpenPlaintextContent (and
//     ParsePlaintextContent, for the body of a sealed-sender message of type
//     session.TypePlaintext) reads it; Open refuses it.
//   - WhatsApp (`<enc v="2">`): waE2E.Message ‖ N bytes of value N, N 1–15
//     (whatsmeow message.go padMessage/unpadMessage). WhatsAppMessage is a
//     minimal waE2E.Message: conversation 1 and imageMessage 3,
//     documentMessage 7, audioMessage 8, videoMessage 9 with the fields that
//     describe a blob (see package media), numbered as in whatsmeow's
//     proto/waE2E/WAWebProtobufsE2E.proto. SealWhatsApp and OpenWhatsApp.
//   - Messenger and Instagram (`<enc v="3">`): MessageTransport
//     (whatsmeow proto/waMsgTransport), whose integral.padding holds the N
//     bytes of N; no outer padding. SealMessenger and OpenMessenger.
//
// Message types map to WhatsApp's enc types with WhatsAppEncType ("msg",
// "pkmsg", "skmsg").
//
// Envelope, Content, DataMessage, AttachmentPointer and their parts are this
// package's own Go types: empty strings, zero numbers and nil slices are
// absent on the wire (Envelope.Urgent, true by default, is written only when
// false). They are encoded through the generated code in proto/signalpb, so
// the bytes are those the Go protobuf runtime writes: field-number order,
// except that the member of a oneof (Content's dataMessage, receiptMessage,
// …; AttachmentPointer's cdnId or cdnKey) comes after the other fields.
// Signal's clients order fields differently among themselves (Wire on
// Android and protopiler on Desktop write .proto declaration order), so no
// encoder is byte-identical to all of them; every order parses the same.
// Fields they do not model (sync, call, story and edit messages, group
// context, …) are kept as raw protobuf in the Unknown fields of Envelope,
// Content and DataMessage, and re-encoded after the known ones. The WhatsApp
// and Messenger messages are encoded by hand with protowire, keep only the
// fields listed and drop the rest.
//
// The media helpers connect this package to package media:
// NewAttachmentPointer turns what media.EncryptSignal returns into an
// AttachmentPointer and AttachmentPointer.SignalCheck gives
// media.DecryptSignal what to verify; NewWhatsAppMediaMessage and
// WhatsAppMedia.WhatsAppCheck do the same for media.EncryptWhatsApp and
// media.DecryptWhatsApp.
//
// # Security considerations
//
// Every parser bounds its input to session.MaxMessageSize, never panics
// (each has a fuzz target) and returns errors wrapping
// session.ErrInvalidMessage. Unpadding is strict: Signal padding must be
// zeros back to a 0x80 marker, WhatsApp padding exactly N bytes of value
// N ≥ 1. Open decrypts with the address the envelope names: a plain envelope's
// source is asserted by the server, and the session's identity-key check is
// what authenticates the sender; the ciphertext's MAC is checked by the
// session before any field of the Content is read. A Content that fails to
// parse after a successful decryption has still advanced the ratchet, as in
// libsignal. Padding lengths are drawn from the caller's rand (crypto/rand in
// production) without modulo bias.
//
// Every Content, WhatsAppMessage and MessageTransport that Open, OpenWhatsApp
// and OpenMessenger return was decrypted and authenticated by a session;
// nothing else comes out of them (issue #20 item 4). A PLAINTEXT_CONTENT
// envelope is not encrypted, so anyone who delivers envelopes (the server
// first) can write one under any source: Open returns
// ErrUnauthenticatedContent for it, whatever it holds, and
// OpenPlaintextContent returns only a DecryptionErrorMessage, as an
// UnauthenticatedRequest, refusing a Content with any other field (a
// DataMessage, a SenderKeyDistributionMessage, an unknown field, a second
// field 8) or a message that does not parse. libsignal itself accepts any
// body after the 0xC0 marker and leaves the check to the client
// (Signal-Android's EnvelopeContentValidator); here it is the library's. The
// request's sender, timestamp, device and ratchet key are the server's word:
// use it only to resend a message you did send, and to archive a session
// only when the ratchet key is the current one. Envelope types other than
// DOUBLE_RATCHET, PREKEY_MESSAGE and PLAINTEXT_CONTENT (sealed sender, server
// receipts, unknown) and WhatsApp enc types other than msg and pkmsg (skmsg
// needs a group cipher; plaintext and msmsg are not supported) are errors.
package envelope
