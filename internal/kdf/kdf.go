package kdf

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MaxLength is the longest output HKDF-SHA256 can produce: 255 · HashLen
// (RFC 5869, Section 2.3).
const MaxLength = 255 * sha256.Size

// ErrLength is returned for a negative output length or one above MaxLength.
var ErrLength = errors.New("kdf: invalid HKDF output length")

var zeroSalt [sha256.Size]byte

// HKDF derives length bytes with HKDF-SHA256 (RFC 5869, Section 2):
// PRK = HKDF-Extract(salt, secret), OKM = HKDF-Expand(PRK, info, length).
// A nil or empty salt means "not provided", i.e. HashLen zero bytes
// (Section 2.2). length must be in [0, 255·32].
func HKDF(secret, salt, info []byte, length int) ([]byte, error) {
	if length < 0 || length > MaxLength {
		return nil, fmt.Errorf("%w: %d", ErrLength, length)
	}
	if length == 0 {
		return []byte{}, nil
	}
	if len(salt) == 0 {
		// RFC 5869 §2.2: a missing salt is HashLen zeros. Passing them saves
		// crypto/hkdf a hash allocation and a buffer per call.
		salt = zeroSalt[:]
	}
	out, err := hkdf.Key(sha256.New, secret, salt, string(info), length)
	if err != nil {
		return nil, fmt.Errorf("kdf: %w", err)
	}
	return out, nil
}

// HKDFInto fills dst with HKDF-SHA256(secret, salt, info), len(dst) bytes.
func HKDFInto(dst, secret, salt, info []byte) error {
	out, err := HKDF(secret, salt, info, len(dst))
	if err != nil {
		return err
	}
	copy(dst, out)
	clear(out)
	return nil
}
