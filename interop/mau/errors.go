package mau

import (
	"errors"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/signalerror"
)

// Error kinds of the conformance peer protocol.
const (
	KindInvalidMessage    = "invalid_message"
	KindDuplicateMessage  = "duplicate_message"
	KindUntrustedIdentity = "untrusted_identity"
	KindNoSession         = "no_session"
	KindInvalidKey        = "invalid_key"
	KindInvalidSignature  = "invalid_signature"
	KindInvalidPrekey     = "invalid_prekey"
	KindTooFar            = "too_far"
	KindUnsupported       = "unsupported"
	KindOther             = "other"
)

// OpError is a failure with a peer-protocol error kind.
type OpError struct {
	Kind string
	Err  error
}

func (e *OpError) Error() string { return e.Kind + ": " + e.Err.Error() }

func (e *OpError) Unwrap() error { return e.Err }

func opErr(kind, format string, args ...any) *OpError {
	return &OpError{Kind: kind, Err: fmt.Errorf("mau: "+format, args...)}
}

// classify maps an error returned by go.mau.fi/libsignal to a kind. The
// library wraps its sentinels with %w, so errors.Is sees through the
// context it adds. fallback is used for everything not recognised.
func classify(err error, fallback string) *OpError {
	var oe *OpError
	if errors.As(err, &oe) {
		return oe
	}
	kind := fallback
	switch {
	case errors.Is(err, signalerror.ErrOldCounter):
		kind = KindDuplicateMessage
	case errors.Is(err, signalerror.ErrTooFarIntoFuture):
		kind = KindTooFar
	case errors.Is(err, signalerror.ErrUntrustedIdentity):
		kind = KindUntrustedIdentity
	case errors.Is(err, signalerror.ErrNoSessionForUser),
		errors.Is(err, signalerror.ErrUninitializedSession),
		errors.Is(err, signalerror.ErrNoSenderKeyForUser),
		errors.Is(err, signalerror.ErrNoSenderKeyStateForID),
		errors.Is(err, signalerror.ErrNoSenderKeyStatesInRecord):
		kind = KindNoSession
	case errors.Is(err, signalerror.ErrNoSignedPreKey),
		errors.Is(err, signalerror.ErrNoOneTimeKeyFound):
		kind = KindInvalidPrekey
	case errors.Is(err, signalerror.ErrInvalidSignature):
		kind = KindInvalidSignature
	case errors.Is(err, ecc.ErrBadKeyType):
		kind = KindInvalidKey
	case errors.Is(err, signalerror.ErrBadMAC),
		errors.Is(err, signalerror.ErrWrongMessageVersion),
		errors.Is(err, signalerror.ErrOldMessageVersion),
		errors.Is(err, signalerror.ErrUnknownMessageVersion),
		errors.Is(err, signalerror.ErrIncompleteMessage),
		errors.Is(err, signalerror.ErrSenderKeyStateVerificationFailed),
		// ErrNoValidSessions is what SessionCipher.DecryptWithRecord
		// returns for every failure but ErrOldCounter once the current
		// state failed (bad MAC, too far, wrong version, ...); the peer
		// diagnoses it further before it gets here.
		errors.Is(err, signalerror.ErrNoValidSessions):
		kind = KindInvalidMessage
	}
	return &OpError{Kind: kind, Err: err}
}
