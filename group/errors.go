package group

import "errors"

// Limits, as libsignal's consts.rs sets them (docs/wire-formats.md#double-ratchet,
// limits).
const (
	// MaxForwardJumps is how far a message's iteration may lie ahead of the
	// receiving chain (libsignal's MAX_FORWARD_JUMPS). go.mau.fi/libsignal
	// allows 2,000.
	MaxForwardJumps = 25_000
	// MaxMessageKeys is how many skipped message keys one state keeps; the
	// oldest are dropped first (MAX_MESSAGE_KEYS).
	MaxMessageKeys = 2_000
	// MaxSenderKeyStates is how many states a Record keeps for one
	// (sender, distribution); the oldest is dropped first
	// (MAX_SENDER_KEY_STATES).
	MaxSenderKeyStates = 5
)

// Version is the sender-key message version: written as the byte 0x33; only
// the high nibble is read, and it must be 3.
const Version = 3

// SignatureSize is the length of the XEdDSA signature that ends a
// SenderKeyMessage.
const SignatureSize = 64

// ChainKeySize is the length of a chain key (and of a message key seed).
const ChainKeySize = 32

// MaxMessageSize bounds every message this package parses.
const MaxMessageSize = 16 << 20

// Sentinel errors; check them with errors.Is. Every error this package
// returns for a message wraps one of them; a bad signature wraps both
// ErrInvalidSignature and ErrInvalidMessage.
var (
	// ErrInvalidMessage: malformed bytes, wrong version, wrong layout, bad
	// signature, bad padding, a distribution ID that does not match.
	ErrInvalidMessage = errors.New("group: invalid message")
	// ErrInvalidSignature: the message's XEdDSA signature does not verify
	// under the sender's signing key. Also matches ErrInvalidMessage.
	ErrInvalidSignature = errors.New("group: invalid signature")
	// ErrInvalidKey: a distribution message carries a malformed signing key.
	ErrInvalidKey = errors.New("group: invalid key")
	// ErrDuplicateMessage: the message key for that iteration was already
	// used (or dropped as too old).
	ErrDuplicateMessage = errors.New("group: duplicate message")
	// ErrTooFar: the iteration is more than MaxForwardJumps ahead.
	ErrTooFar = errors.New("group: message from too far into the future")
	// ErrNoSenderKey: no state for that sender, distribution and chain ID
	// (no distribution message processed, or it was replaced).
	ErrNoSenderKey = errors.New("group: no sender key")
	// ErrInvalidRecord: a stored record does not parse or is inconsistent.
	ErrInvalidRecord = errors.New("group: invalid record")
)
