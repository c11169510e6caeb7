package ratchet

import (
	"errors"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/kdf"
)

// Limits, equal to libsignal's (rust/protocol/src/consts.rs).
const (
	// MaxForwardJumps is how far ahead of a receiving chain a counter may be.
	MaxForwardJumps = 25_000
	// MaxMessageKeys is the number of skipped message keys kept per receiving chain;
	// the oldest are dropped first.
	MaxMessageKeys = 2_000
	// MaxReceiverChains is the number of receiving chains kept per session state.
	MaxReceiverChains = 5
)

// KDF labels of the Double Ratchet as libsignal uses them.
var (
	infoMessageKeys = []byte("WhisperMessageKeys")
	infoRatchet     = []byte("WhisperRatchet")
	seedMessageKey  = []byte{0x01}
	seedChainKey    = []byte{0x02}
)

// Errors returned by the state machine. Callers map them to their own
// sentinels; the session package wraps them in session.ErrInvalidMessage etc.
var (
	// ErrDuplicateMessage: the counter was already consumed in that chain.
	ErrDuplicateMessage = errors.New("ratchet: duplicate message")
	// ErrTooFar: the counter is more than MaxForwardJumps ahead.
	ErrTooFar = errors.New("ratchet: message from too far into the future")
	// ErrNoSenderChain: the state cannot send (a corrupt or receive-only state).
	ErrNoSenderChain = errors.New("ratchet: no sending chain")
)

// ChainKey is a symmetric-key ratchet position: the 32-byte chain key and the
// index of the next message key it yields (Double Ratchet §2.2, KDF_CK).
type ChainKey struct {
	Key   [32]byte
	Index uint32
}

// Seed returns the message-key seed HMAC-SHA256(ck, 0x01) of this position.
func (c ChainKey) Seed() [32]byte {
	return hmacSHA256(c.Key[:], seedMessageKey)
}

// Next returns the following position, HMAC-SHA256(ck, 0x02).
func (c ChainKey) Next() ChainKey {
	return ChainKey{Key: hmacSHA256(c.Key[:], seedChainKey), Index: c.Index + 1}
}

// Step returns Seed and Next with one HMAC key schedule.
func (c ChainKey) Step() (seed [32]byte, next ChainKey) {
	buf := new(stepScratch)
	next = c.stepInto(buf)
	seed = *buf.seed()
	clear(buf[:])
	return seed, next
}

// stepScratch holds a chain step and the message keys that follow: chain key
// ‖ seed ‖ next chain key. Callers clear it when done.
type stepScratch [96]byte

func (b *stepScratch) seed() *[32]byte { return (*[32]byte)(b[32:64]) }

// stepInto is Step with the seed left in buf: HMAC-SHA256(ck, 0x01) and
// HMAC-SHA256(ck, 0x02) with one key schedule.
func (c ChainKey) stepInto(buf *stepScratch) (next ChainKey) {
	copy(buf[:32], c.Key[:])
	seed, nk := kdf.HMAC2(buf[:32], seedMessageKey, seedChainKey)
	*buf.seed() = seed
	copy(buf[64:], nk[:])
	next.Key = nk
	next.Index = c.Index + 1
	clear(seed[:])
	clear(nk[:])
	return next
}

// MessageKeys are the per-message AES-256 key, HMAC-SHA256 key and CBC IV.
type MessageKeys struct {
	CipherKey [32]byte
	MACKey    [32]byte
	IV        [16]byte
	Counter   uint32
}

// String redacts the keys.
func (MessageKeys) String() string { return "ratchet.MessageKeys(REDACTED)" }

// DeriveMessageKeys expands a message-key seed: HKDF-SHA256(salt, seed,
// "WhisperMessageKeys") → cipher key 32 ‖ MAC key 32 ‖ IV 16. salt is nil
// unless the triple ratchet supplies an SPQR key.
func DeriveMessageKeys(seed [32]byte, salt []byte, counter uint32) MessageKeys {
	buf := new(stepScratch)
	*buf.seed() = seed
	mk := deriveMessageKeys(buf, salt, counter)
	clear(buf[:])
	return mk
}

// deriveMessageKeys is DeriveMessageKeys of the seed held in buf.
func deriveMessageKeys(buf *stepScratch, salt []byte, counter uint32) MessageKeys {
	var okm [80]byte
	// Only fails for absurd output lengths; 80 bytes is always valid.
	_ = kdf.HKDFInto(okm[:], buf[32:64], salt, infoMessageKeys)
	mk := MessageKeys{Counter: counter}
	copy(mk.CipherKey[:], okm[:32])
	copy(mk.MACKey[:], okm[32:64])
	copy(mk.IV[:], okm[64:])
	clear(okm[:])
	return mk
}

// RootStep is KDF_RK: HKDF-SHA256(salt = root key, ikm = dh, "WhisperRatchet")
// → new root key ‖ new chain key (index 0).
func RootStep(rootKey [32]byte, dh [32]byte) ([32]byte, ChainKey) {
	var okm [64]byte
	_ = kdf.HKDFInto(okm[:], dh[:], rootKey[:], infoRatchet)
	var rk [32]byte
	var ck ChainKey
	copy(rk[:], okm[:32])
	copy(ck.Key[:], okm[32:])
	clear(okm[:])
	return rk, ck
}

// rootStepDH performs DH(our, their) and a root step.
func rootStepDH(rootKey [32]byte, our curve.PrivateKey, their curve.PublicKey) ([32]byte, ChainKey, error) {
	dh, err := our.ECDH(their)
	if err != nil {
		return [32]byte{}, ChainKey{}, err
	}
	rk, ck := RootStep(rootKey, dh)
	clear(dh[:])
	return rk, ck, nil
}

func hmacSHA256(key, msg []byte) [32]byte { return kdf.HMAC(key, msg) }
