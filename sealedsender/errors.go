package sealedsender

import (
	"errors"
	"fmt"
)

// Sentinel errors; check them with errors.Is. Errors from the session
// package (for the inner 1:1 message of DecryptMessage) are passed through
// unchanged.
var (
	// ErrInvalidMessage: a sealed message or its content is malformed,
	// truncated, of an unknown version, fails its MAC or AEAD tag, or names a
	// sender key that differs from its certificate's.
	ErrInvalidMessage = errors.New("sealedsender: invalid message")
	// ErrInvalidCertificate: a server or sender certificate is malformed.
	ErrInvalidCertificate = errors.New("sealedsender: invalid certificate")
	// ErrInvalidSignature: a certificate is not signed by the trust root (or
	// by its server key).
	ErrInvalidSignature = errors.New("sealedsender: certificate signature does not verify")
	// ErrRevoked: the server certificate's ID is on the revocation list.
	ErrRevoked = errors.New("sealedsender: server certificate revoked")
	// ErrExpired: the sender certificate expired before the validation time.
	ErrExpired = errors.New("sealedsender: sender certificate expired")
	// ErrUnknownServerCertificate: a sender certificate names its server
	// certificate by an ID that the caller did not supply.
	ErrUnknownServerCertificate = errors.New("sealedsender: unknown server certificate ID")
	// ErrSelfSend: the message comes from our own address.
	ErrSelfSend = errors.New("sealedsender: message sent by this device")
	// ErrUnknownRecipient: a multi-recipient message has no key material for
	// that service ID and device.
	ErrUnknownRecipient = errors.New("sealedsender: not a recipient of this message")
	// ErrInvalidArgument: the caller passed an unusable value (a malformed
	// service ID, a device ID outside 1–127, a registration ID over 14 bits,
	// a certificate for another identity…).
	ErrInvalidArgument = errors.New("sealedsender: invalid argument")
)

// ErrIdentityKeyMismatch: devices of one recipient (one service ID) have
// different identity keys in the identity store. Sealed sender v2 encrypts
// each recipient's key material to a single identity key per service ID,
// as libsignal, whose identity store is per account, does; a device with
// another key could not decrypt. This happens only under
// session.PerDevice (issue #16 item 5): send to such devices one by one
// (Encrypt, sealed sender v1). It matches ErrInvalidArgument.
var ErrIdentityKeyMismatch = fmt.Errorf("%w: devices of one recipient have different identity keys", ErrInvalidArgument)

func wrap(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

func invalid(format string, args ...any) error { return wrap(ErrInvalidMessage, format, args...) }
