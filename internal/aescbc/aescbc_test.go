package aescbc

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// NIST SP 800-38A, Appendix F.2.5 (CBC-AES256.Encrypt) and F.2.6
// (CBC-AES256.Decrypt).
var (
	nistKey = h("603deb1015ca71be2b73aef0857d7781 1f352c073b6108d72d9810a30914dff4")
	nistIV  = h("000102030405060708090a0b0c0d0e0f")
	nistPT  = h("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51" +
		"30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710")
	nistCT = h("f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d" +
		"39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b")
)

func TestNISTCBCAES256(t *testing.T) {
	// F.2.5: the first four blocks are the NIST ciphertext; PKCS#7 then adds
	// a full block of 0x10, encrypted by chaining from the last block.
	ct, err := Encrypt(nistKey, nistIV, nistPT)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != 80 || !bytes.Equal(ct[:64], nistCT) {
		t.Fatalf("F.2.5: got %x", ct)
	}
	// F.2.6: the NIST ciphertext (plus that padding block) decrypts to the
	// NIST plaintext.
	padBlock := make([]byte, 16)
	blk, _ := aes.NewCipher(nistKey)
	cipher.NewCBCEncrypter(blk, nistCT[48:]).CryptBlocks(padBlock, bytes.Repeat([]byte{16}, 16))
	if !bytes.Equal(padBlock, ct[64:]) {
		t.Fatal("padding block")
	}
	pt, err := Decrypt(nistKey, nistIV, append(bytes.Clone(nistCT), padBlock...))
	if err != nil || !bytes.Equal(pt, nistPT) {
		t.Fatalf("F.2.6: %v %x", err, pt)
	}
	// Per-block check for F.2.6: decrypting each prefix of whole blocks with
	// the padding check bypassed by a raw CBC decrypter agrees with NIST.
	raw := make([]byte, 64)
	cipher.NewCBCDecrypter(blk, nistIV).CryptBlocks(raw, nistCT)
	if !bytes.Equal(raw, nistPT) {
		t.Fatal("raw CBC")
	}
}

func TestRoundTripAllLengths(t *testing.T) {
	key := make([]byte, 32)
	iv := make([]byte, 16)
	rand.Read(key)
	rand.Read(iv)
	for n := range 100 {
		pt := make([]byte, n)
		rand.Read(pt)
		ct, err := Encrypt(key, iv, pt)
		if err != nil {
			t.Fatal(err)
		}
		if want := (n/16 + 1) * 16; len(ct) != want {
			t.Fatalf("len %d: ciphertext %d bytes, want %d", n, len(ct), want)
		}
		got, err := Decrypt(key, iv, ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("len %d: %v", n, err)
		}
		// AppendEncrypt keeps the prefix and appends the same bytes.
		pre := []byte("prefix")
		app, err := AppendEncrypt(bytes.Clone(pre), key, iv, pt)
		if err != nil || !bytes.Equal(app[:6], pre) || !bytes.Equal(app[6:], ct) {
			t.Fatalf("len %d: AppendEncrypt", n)
		}
		// In place, into spare capacity.
		buf := make([]byte, 3, 3+len(ct))
		buf = append(buf[:3], pt...)
		inPlace, err := AppendEncrypt(buf[:3], key, iv, buf[3:])
		if err != nil || !bytes.Equal(inPlace[3:], ct) {
			t.Fatalf("len %d: in-place AppendEncrypt", n)
		}
	}
}

func TestPadding(t *testing.T) {
	key := make([]byte, 32)
	iv := make([]byte, 16)
	blk, _ := aes.NewCipher(key)
	encRaw := func(pt []byte) []byte {
		out := make([]byte, len(pt))
		cipher.NewCBCEncrypter(blk, iv).CryptBlocks(out, pt)
		return out
	}
	// Every valid pad length 1..16.
	for pad := 1; pad <= 16; pad++ {
		block := bytes.Repeat([]byte{0x41}, 16)
		for i := 16 - pad; i < 16; i++ {
			block[i] = byte(pad)
		}
		got, err := Decrypt(key, iv, encRaw(block))
		if err != nil || len(got) != 16-pad {
			t.Errorf("pad %d: %v, %d bytes", pad, err, len(got))
		}
	}
	// Invalid: pad 0, pad > 16, and a mismatching byte anywhere in the pad.
	for _, last := range []byte{0, 17, 32, 255} {
		block := make([]byte, 16)
		for i := range block {
			block[i] = last
		}
		if _, err := Decrypt(key, iv, encRaw(block)); !errors.Is(err, ErrInvalidCiphertext) {
			t.Errorf("pad byte %d: %v", last, err)
		}
	}
	for pad := 2; pad <= 16; pad++ {
		for bad := 16 - pad; bad < 15; bad++ {
			block := make([]byte, 16)
			for i := 16 - pad; i < 16; i++ {
				block[i] = byte(pad)
			}
			block[bad] ^= 0x80
			if _, err := Decrypt(key, iv, encRaw(block)); !errors.Is(err, ErrInvalidCiphertext) {
				t.Errorf("pad %d, bad byte %d: %v", pad, bad, err)
			}
		}
	}
	// A 16-byte pad in a two-block message only looks at the last block.
	two := append(bytes.Repeat([]byte{7}, 16), bytes.Repeat([]byte{16}, 16)...)
	if got, err := Decrypt(key, iv, encRaw(two)); err != nil || !bytes.Equal(got, two[:16]) {
		t.Errorf("two blocks: %v", err)
	}
}

func TestErrors(t *testing.T) {
	key, iv := make([]byte, 32), make([]byte, 16)
	for _, k := range [][]byte{nil, make([]byte, 16), make([]byte, 24), make([]byte, 31), make([]byte, 33)} {
		if _, err := Encrypt(k, iv, nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("key %d: %v", len(k), err)
		}
		if _, err := Decrypt(k, iv, make([]byte, 16)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("key %d: %v", len(k), err)
		}
	}
	for _, v := range [][]byte{nil, make([]byte, 15), make([]byte, 17), make([]byte, 32)} {
		if _, err := Encrypt(key, v, nil); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("iv %d: %v", len(v), err)
		}
		if _, err := Decrypt(key, v, make([]byte, 16)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("iv %d: %v", len(v), err)
		}
	}
	for _, n := range []int{0, 1, 15, 17, 31, 33} {
		if _, err := Decrypt(key, iv, make([]byte, n)); !errors.Is(err, ErrInvalidCiphertext) {
			t.Errorf("ciphertext %d: %v", n, err)
		}
	}
	// Decrypt does not modify its input.
	ct, _ := Encrypt(key, iv, []byte("hello"))
	c := bytes.Clone(ct)
	Decrypt(key, iv, ct)
	ct[0] ^= 1
	Decrypt(key, iv, ct)
	ct[0] ^= 1
	if !bytes.Equal(c, ct) {
		t.Error("input modified")
	}
}

// RFC 4231, Section 4: HMAC-SHA256 test cases 1-7.
func TestRFC4231(t *testing.T) {
	aa131 := bytes.Repeat([]byte{0xaa}, 131)
	for i, tc := range []struct {
		key, data []byte
		mac       string
	}{
		{bytes.Repeat([]byte{0x0b}, 20), []byte("Hi There"),
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{[]byte("Jefe"), []byte("what do ya want for nothing?"),
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{bytes.Repeat([]byte{0xaa}, 20), bytes.Repeat([]byte{0xdd}, 50),
			"773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{h("0102030405060708090a0b0c0d0e0f10111213141516171819"), bytes.Repeat([]byte{0xcd}, 50),
			"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{bytes.Repeat([]byte{0x0c}, 20), []byte("Test With Truncation"),
			"a3b6167473100ee06e0c796c2955552b"}, // truncated to 128 bits
		{aa131, []byte("Test Using Larger Than Block-Size Key - Hash Key First"),
			"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{aa131, []byte("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
			"9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	} {
		mac := HMACSHA256(tc.key, tc.data)
		if got := hex.EncodeToString(mac[:len(tc.mac)/2]); got != tc.mac {
			t.Errorf("test case %d: %s", i+1, got)
		}
		// Splitting the data into parts changes nothing.
		for cut := 0; cut <= len(tc.data); cut += 7 {
			if HMACSHA256(tc.key, tc.data[:cut], nil, tc.data[cut:]) != mac {
				t.Errorf("test case %d: split at %d differs", i+1, cut)
			}
		}
	}
}
