package kdf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func seq(from, to int) []byte {
	var b []byte
	for i := from; i <= to; i++ {
		b = append(b, byte(i))
	}
	return b
}

// RFC 5869, Appendix A, Test Cases 1-3 (SHA-256).
func TestRFC5869(t *testing.T) {
	for _, tc := range []struct {
		name            string
		ikm, salt, info []byte
		l               int
		okm             string
	}{
		{
			"A.1", bytes.Repeat([]byte{0x0b}, 22), seq(0x00, 0x0c), seq(0xf0, 0xf9), 42,
			"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
		},
		{
			"A.2", seq(0x00, 0x4f), seq(0x60, 0xaf), seq(0xb0, 0xff), 82,
			"b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87",
		},
		{
			"A.3", bytes.Repeat([]byte{0x0b}, 22), nil, nil, 42,
			"8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := HKDF(tc.ikm, tc.salt, tc.info, tc.l)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(got) != tc.okm {
				t.Errorf("got %x", got)
			}
			dst := make([]byte, tc.l)
			if err := HKDFInto(dst, tc.ikm, tc.salt, tc.info); err != nil || !bytes.Equal(dst, got) {
				t.Errorf("HKDFInto: %v %x", err, dst)
			}
			// Empty salt equals a salt of HashLen zeros (RFC 5869, Section 2.2).
			if tc.salt == nil {
				z, _ := HKDF(tc.ikm, make([]byte, 32), tc.info, tc.l)
				e, _ := HKDF(tc.ikm, []byte{}, tc.info, tc.l)
				if !bytes.Equal(z, got) || !bytes.Equal(e, got) {
					t.Error("nil salt differs from zero salt")
				}
			}
		})
	}
}

func TestLengths(t *testing.T) {
	for _, l := range []int{0, 1, 31, 32, 33, 80, 96, MaxLength} {
		out, err := HKDF([]byte("secret"), nil, []byte("info"), l)
		if err != nil || len(out) != l {
			t.Errorf("length %d: %v, %d", l, err, len(out))
		}
	}
	// Prefix property: a shorter output is a prefix of a longer one.
	a, _ := HKDF([]byte("s"), nil, []byte("i"), 64)
	b, _ := HKDF([]byte("s"), nil, []byte("i"), 96)
	if !bytes.Equal(a, b[:64]) {
		t.Error("not a prefix")
	}
	for _, l := range []int{-1, MaxLength + 1} {
		if _, err := HKDF([]byte("secret"), nil, nil, l); !errors.Is(err, ErrLength) {
			t.Errorf("length %d: %v", l, err)
		}
	}
	if err := HKDFInto(make([]byte, MaxLength+1), nil, nil, nil); !errors.Is(err, ErrLength) {
		t.Error(err)
	}
}
