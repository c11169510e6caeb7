package aescbc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
)

const (
	// KeySize is the AES-256 key size.
	KeySize = 32
	// IVSize is the CBC initialization vector size (one AES block).
	IVSize = aes.BlockSize
)

var (
	// ErrInvalidKey is returned for a key that is not 32 bytes or an IV that
	// is not 16 bytes.
	ErrInvalidKey = errors.New("aescbc: invalid key or IV")
	// ErrInvalidCiphertext is returned for a ciphertext that is empty, not a
	// whole number of blocks, or whose padding is malformed.
	ErrInvalidCiphertext = errors.New("aescbc: invalid ciphertext")
)

func newCipher(key, iv []byte) (cipher.Block, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d", ErrInvalidKey, len(key), KeySize)
	}
	if len(iv) != IVSize {
		return nil, fmt.Errorf("%w: IV is %d bytes, want %d", ErrInvalidKey, len(iv), IVSize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return b, nil
}

// Encrypt returns AES-256-CBC(key, iv, plaintext ‖ PKCS#7 padding)
// (NIST SP 800-38A, Section 6.2; RFC 5652, Section 6.3). The ciphertext is
// 1 to 16 bytes longer than the plaintext.
func Encrypt(key, iv, plaintext []byte) ([]byte, error) {
	return AppendEncrypt(nil, key, iv, plaintext)
}

// AppendEncrypt appends the encryption of plaintext to dst and returns the
// extended slice. plaintext may be dst[len(dst):len(dst)+len(plaintext)]
// (in-place encryption into spare capacity); any other overlap is not
// allowed.
func AppendEncrypt(dst, key, iv, plaintext []byte) ([]byte, error) {
	b, err := newCipher(key, iv)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	n := len(plaintext) + pad
	ret, out := sliceForAppend(dst, n)
	copy(out, plaintext)
	for i := len(plaintext); i < n; i++ {
		out[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, out)
	return ret, nil
}

func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}

// Decrypt decrypts AES-256-CBC and removes PKCS#7 padding. A ciphertext that
// is empty or not a multiple of 16 bytes, or whose padding is not 1 to 16
// bytes all equal to the pad length, returns ErrInvalidCiphertext. The
// padding is checked in constant time over the whole last block. Decrypt
// never panics and never modifies ciphertext.
//
// CBC is malleable: authenticate the ciphertext (Signal MACs it with
// HMAC-SHA256) and check the MAC before calling Decrypt.
func Decrypt(key, iv, ciphertext []byte) ([]byte, error) {
	b, err := newCipher(key, iv)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: length %d is not a positive multiple of %d", ErrInvalidCiphertext, len(ciphertext), aes.BlockSize)
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(b, iv).CryptBlocks(out, ciphertext)

	last := out[len(out)-aes.BlockSize:]
	pad := last[aes.BlockSize-1]
	// good = 1 <= pad <= 16.
	good := subtle.ConstantTimeLessOrEq(1, int(pad)) & subtle.ConstantTimeLessOrEq(int(pad), aes.BlockSize)
	for i := range aes.BlockSize {
		// Byte last[15-i] is padding iff i < pad; then it must equal pad.
		isPad := subtle.ConstantTimeLessOrEq(i+1, int(pad))
		eq := subtle.ConstantTimeByteEq(last[aes.BlockSize-1-i], pad)
		good &= subtle.ConstantTimeSelect(isPad, eq, 1)
	}
	if good != 1 {
		clear(out)
		return nil, fmt.Errorf("%w: bad padding", ErrInvalidCiphertext)
	}
	return out[:len(out)-int(pad)], nil
}

// HMACSHA256 returns HMAC-SHA256(key, parts[0] ‖ parts[1] ‖ …) (RFC 2104,
// FIPS 198-1). Compare MACs with hmac.Equal, never bytes.Equal.
func HMACSHA256(key []byte, parts ...[]byte) [32]byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	var out [32]byte
	m.Sum(out[:0])
	return out
}
