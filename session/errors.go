package session

import (
	"errors"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/ratchet"
)

// Sentinel errors; check them with errors.Is. Errors returned by this package
// wrap exactly one of them (ErrTooFar and ErrDuplicateMessage also match
// ErrInvalidMessage's family only through their own sentinel).
var (
	// ErrInvalidMessage: malformed bytes, bad MAC, bad padding, wrong version,
	// truncated data.
	ErrInvalidMessage = errors.New("session: invalid message")
	// ErrDuplicateMessage: the message key was already used.
	ErrDuplicateMessage = errors.New("session: duplicate message")
	// ErrTooFar: the counter jumps more than ratchet.MaxForwardJumps ahead.
	ErrTooFar = errors.New("session: message from too far into the future")
	// ErrUntrustedIdentity: the remote identity differs from the trusted one.
	ErrUntrustedIdentity = errors.New("session: untrusted identity")
	// ErrNoSession: no usable session with that address.
	ErrNoSession = errors.New("session: no session")
	// ErrInvalidPreKey: a referenced one-time, signed or Kyber prekey is
	// unknown or already used.
	ErrInvalidPreKey = errors.New("session: invalid prekey")
	// ErrInvalidKey: a malformed or low-order public key, or an unknown type.
	ErrInvalidKey = prekey.ErrInvalidKey
	// ErrInvalidSignature: a prekey signature does not verify.
	ErrInvalidSignature = prekey.ErrInvalidSignature
	// ErrUnsupported: the peer or bundle needs something the policy forbids
	// (for example a bundle without a Kyber prekey under RequirePQXDH).
	ErrUnsupported = errors.New("session: unsupported by policy")
)

// ratchetErr maps the state machine's errors to this package's sentinels.
func ratchetErr(err error) error {
	switch {
	case errors.Is(err, ratchet.ErrDuplicateMessage):
		return ErrDuplicateMessage
	case errors.Is(err, ratchet.ErrTooFar):
		return ErrTooFar
	}
	return err
}
