package curve

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// RFC 7748, Section 5.2: X25519 single-application test vectors (scalars and
// u-coordinates as printed; NewPrivateKey clamps, X25519 masks the top bit of
// u, exactly as the RFC's decodeScalar25519/decodeUCoordinate do).
func TestRFC7748Section5_2(t *testing.T) {
	for i, tc := range []struct{ scalar, u, out string }{
		{
			"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
		},
		{
			"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
		},
	} {
		priv, err := NewPrivateKey(mustHex(t, tc.scalar))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := NewPublicKeyRaw(mustHex(t, tc.u))
		if err != nil {
			t.Fatal(err)
		}
		got, err := priv.ECDH(pub)
		if err != nil {
			t.Fatalf("vector %d: %v", i, err)
		}
		if hex.EncodeToString(got[:]) != tc.out {
			t.Errorf("vector %d: got %x, want %s", i, got, tc.out)
		}
	}
}

// RFC 7748, Section 6.1: the Curve25519 Diffie-Hellman example.
func TestRFC7748Section6_1(t *testing.T) {
	alicePriv, _ := NewPrivateKey(mustHex(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))
	bobPriv, _ := NewPrivateKey(mustHex(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))
	alicePub := "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
	bobPub := "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
	shared := "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"

	if u := alicePriv.PublicKey().Raw(); hex.EncodeToString(u[:]) != alicePub {
		t.Errorf("Alice's public key %x", u)
	}
	if u := bobPriv.PublicKey().Raw(); hex.EncodeToString(u[:]) != bobPub {
		t.Errorf("Bob's public key %x", u)
	}
	bobKey, _ := NewPublicKeyRaw(mustHex(t, bobPub))
	aliceKey, _ := NewPublicKeyRaw(mustHex(t, alicePub))
	k1, err := alicePriv.ECDH(bobKey)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := bobPriv.ECDH(aliceKey)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(k1[:]) != shared || k1 != k2 {
		t.Errorf("shared secrets %x, %x", k1, k2)
	}
}

// lowOrderPoints are u-coordinates of points of order 1, 2, 4 and 8 on
// Curve25519 and its non-canonical aliases; X25519 with them is all zero.
var lowOrderPoints = []string{
	"0000000000000000000000000000000000000000000000000000000000000000", // 0 (order 2)
	"0100000000000000000000000000000000000000000000000000000000000000", // 1 (order 4)
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p - 1
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p + 1 (= 1)
	"0000000000000000000000000000000000000000000000000000000000000080", // 0 with the top bit set
}

func TestLowOrderECDH(t *testing.T) {
	priv, err := GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range lowOrderPoints {
		pub, err := NewPublicKeyRaw(mustHex(t, h))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := priv.ECDH(pub); !errors.Is(err, ErrLowOrder) {
			t.Errorf("u=%s: err = %v, want ErrLowOrder", h, err)
		}
		if pub.IsTorsionFree() {
			t.Errorf("u=%s: IsTorsionFree", h)
		}
	}
}

func TestPublicKeyParsing(t *testing.T) {
	kp, err := GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ser := kp.Public.Bytes()
	if len(ser) != PublicKeySize || ser[0] != KeyType {
		t.Fatalf("serialized %x", ser)
	}
	pk, err := NewPublicKey(ser)
	if err != nil || !pk.Equal(kp.Public) {
		t.Fatalf("round trip: %v", err)
	}
	// Every other length fails, including libsignal's accepted trailing data.
	for n := 0; n < 40; n++ {
		if n == PublicKeySize {
			continue
		}
		b := append(bytes.Clone(ser), make([]byte, 40)...)[:n]
		if _, err := NewPublicKey(b); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("len %d: err = %v", n, err)
		}
	}
	bad := bytes.Clone(ser)
	bad[0] = 0x06
	if _, err := NewPublicKey(bad); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("bad type: err = %v", err)
	}
	if _, err := NewPublicKeyRaw(ser); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("raw with 33 bytes: err = %v", err)
	}
	// Input is copied.
	ser[5] ^= 1
	if !pk.Equal(kp.Public) {
		t.Error("key aliases its input")
	}
	if got := pk.AppendBytes([]byte{1, 2}); !bytes.Equal(got[2:], kp.Public.Bytes()) || got[0] != 1 {
		t.Error("AppendBytes")
	}
	raw := pk.Raw()
	if !bytes.Equal(raw[:], kp.Public.Bytes()[1:]) {
		t.Error("Raw")
	}
	if !strings.HasPrefix(pk.String(), "curve.PublicKey(") || !strings.Contains(pk.String(), hex.EncodeToString(raw[:])) {
		t.Error(pk.String())
	}
}

func TestZeroValues(t *testing.T) {
	var pk PublicKey
	var sk PrivateKey
	if !pk.IsZero() || !sk.IsZero() {
		t.Fatal("zero values not IsZero")
	}
	z, _ := NewPublicKeyRaw(make([]byte, 32))
	if z.IsZero() || z.Equal(pk) || pk.Equal(z) || !pk.Equal(PublicKey{}) {
		t.Error("zero value vs all-zero key")
	}
	if pk.IsCanonical() || pk.IsTorsionFree() || pk.VerifySignature(nil, make([]byte, 64)) {
		t.Error("zero public key accepted")
	}
	if _, err := sk.ECDH(z); !errors.Is(err, ErrInvalidKey) {
		t.Error(err)
	}
	kp, _ := GenerateKeyPair(nil)
	if _, err := kp.Private.ECDH(pk); !errors.Is(err, ErrInvalidKey) {
		t.Error(err)
	}
	if _, err := sk.Sign(nil, nil); !errors.Is(err, ErrInvalidKey) {
		t.Error(err)
	}
	if sk.Bytes() != nil || !sk.PublicKey().IsZero() {
		t.Error("zero private key")
	}
}

func TestPrivateKeyClamping(t *testing.T) {
	b := bytes.Repeat([]byte{0xff}, 32)
	sk, err := NewPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	got := sk.Bytes()
	if got[0] != 0xf8 || got[31] != 0x7f || b[0] != 0xff {
		t.Errorf("clamped %x (input %x)", got, b)
	}
	got[1] = 0
	if sk.Bytes()[1] != 0xff {
		t.Error("Bytes aliases the key")
	}
	// Clamping is idempotent and does not change the public key.
	sk2, _ := NewPrivateKey(sk.Bytes())
	if !sk2.PublicKey().Equal(sk.PublicKey()) {
		t.Error("reloading changed the key")
	}
	for _, n := range []int{0, 31, 33} {
		if _, err := NewPrivateKey(make([]byte, n)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("len %d: %v", n, err)
		}
	}
	if _, err := GeneratePrivateKey(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("short randomness accepted")
	}
}

func TestDeterministicGeneration(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	a, _ := GenerateKeyPair(bytes.NewReader(seed))
	b, _ := GenerateKeyPair(bytes.NewReader(seed))
	if !a.Public.Equal(b.Public) || !bytes.Equal(a.Private.Bytes(), b.Private.Bytes()) {
		t.Error("not deterministic")
	}
	if !NewKeyPair(a.Private).Public.Equal(a.Public) {
		t.Error("NewKeyPair")
	}
}

func TestPrivateKeyNeverPrinted(t *testing.T) {
	sk, _ := NewPrivateKey(bytes.Repeat([]byte{0xab}, 32))
	kp := NewKeyPair(sk)
	type holder struct {
		name string
		key  PrivateKey
		kp   KeyPair
	}
	h := holder{"x", sk, kp}
	secretHex := hex.EncodeToString(sk.Bytes())
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{sk, &sk, kp, &kp, h, &h} {
			out := fmt.Sprintf(f, v)
			if strings.Contains(strings.ToLower(out), secretHex) || strings.Contains(out, "171 171") || strings.Contains(out, "0xab, 0xab") {
				t.Errorf("%s of %T leaks: %s", f, v, out)
			}
		}
	}
	if sk.String() != "curve.PrivateKey(REDACTED)" || sk.GoString() != sk.String() {
		t.Error(sk.String())
	}
}

func TestECDHAgreement(t *testing.T) {
	for range 50 {
		a, _ := GenerateKeyPair(rand.Reader)
		b, _ := GenerateKeyPair(rand.Reader)
		s1, err1 := a.Private.ECDH(b.Public)
		s2, err2 := b.Private.ECDH(a.Public)
		if err1 != nil || err2 != nil || s1 != s2 {
			t.Fatalf("%v %v %x %x", err1, err2, s1, s2)
		}
	}
}

func TestIsCanonical(t *testing.T) {
	for _, tc := range []struct {
		u    string
		want bool
	}{
		{"0000000000000000000000000000000000000000000000000000000000000000", true},
		{"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", true},  // p-1
		{"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", false}, // p
		{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", false}, // 2^255-1
		{"edfffffffffffffffffffffffffffffffffffffffffffffffffffffffeffff7f", true},
		{"0000000000000000000000000000000000000000000000000000000000000080", false}, // 2^255
		{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", false},
	} {
		pk, _ := NewPublicKeyRaw(mustHex(t, tc.u))
		if got := pk.IsCanonical(); got != tc.want {
			t.Errorf("%s: IsCanonical = %v", tc.u, got)
		}
	}
	kp, _ := GenerateKeyPair(rand.Reader)
	if !kp.Public.IsCanonical() {
		t.Error("honest key not canonical")
	}
}

func TestNewStoredKeyPair(t *testing.T) {
	kp, err := GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStoredKeyPair(kp.Private.Bytes(), kp.Public.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Public.Equal(kp.Public) || !st.Private.PublicKey().Equal(kp.Public) {
		t.Fatal("stored key pair differs")
	}
	other, _ := GenerateKeyPair(nil)
	a, _ := st.Private.ECDH(other.Public)
	b, _ := other.Private.ECDH(kp.Public)
	if a != b {
		t.Fatal("ECDH differs")
	}
	if _, err := NewStoredKeyPair(kp.Private.Bytes()[:31], kp.Public.Bytes()); err == nil {
		t.Fatal("short private key accepted")
	}
	if _, err := NewStoredKeyPair(kp.Private.Bytes(), kp.Public.Bytes()[1:]); err == nil {
		t.Fatal("raw public key accepted")
	}
}
