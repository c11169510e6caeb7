package curve

import (
	"bytes"
	"testing"
)

func FuzzNewPublicKey(f *testing.F) {
	kp, _ := GenerateKeyPair(bytes.NewReader(bytes.Repeat([]byte{1}, 32)))
	f.Add(kp.Public.Bytes())
	f.Add(append([]byte{KeyType}, make([]byte, 32)...))
	f.Add(append([]byte{KeyType}, bytes.Repeat([]byte{0xff}, 32)...))
	f.Add([]byte{})
	f.Add([]byte{KeyType})
	f.Fuzz(func(t *testing.T, b []byte) {
		pk, err := NewPublicKey(b)
		if err != nil {
			if !pk.IsZero() {
				t.Fatal("non-zero key returned with an error")
			}
			return
		}
		if !bytes.Equal(pk.Bytes(), b) {
			t.Fatalf("round trip: %x != %x", pk.Bytes(), b)
		}
		raw := pk.Raw()
		pk2, err := NewPublicKeyRaw(raw[:])
		if err != nil || !pk2.Equal(pk) {
			t.Fatal("raw round trip")
		}
		if pk.IsTorsionFree() && !pk.IsCanonical() {
			t.Fatal("torsion free but not canonical")
		}
		_ = pk.String()
		_ = pk.VerifySignature(b, make([]byte, 64))
	})
}

func FuzzVerifySignature(f *testing.F) {
	kp, _ := GenerateKeyPair(bytes.NewReader(bytes.Repeat([]byte{2}, 32)))
	msg := []byte("fuzz")
	sig, _ := kp.Private.Sign(bytes.NewReader(make([]byte, 64)), msg)
	raw := kp.Public.Raw()
	f.Add(raw[:], msg, sig)
	f.Add(raw[:], msg, sig[:63])
	f.Add(make([]byte, 32), []byte{}, make([]byte, 64))
	f.Add(bytes.Repeat([]byte{0xff}, 32), []byte{}, bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, u, msg, sig []byte) {
		pk, err := NewPublicKeyRaw(u)
		if err != nil {
			return
		}
		ok := pk.VerifySignature(msg, sig)
		if ok && (len(sig) != SignatureSize || !pk.IsCanonical()) {
			t.Fatal("accepted a malformed signature or key")
		}
	})
}

// FuzzSignVerify signs fuzzer-chosen messages with fuzzer-chosen keys.
func FuzzSignVerify(f *testing.F) {
	f.Add(make([]byte, 32), []byte("m"), make([]byte, 64))
	f.Fuzz(func(t *testing.T, seed, msg, z []byte) {
		if len(seed) != 32 || len(z) != 64 {
			return
		}
		sk, err := NewPrivateKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		sig, err := sk.Sign(bytes.NewReader(z), msg)
		if err != nil {
			t.Fatal(err)
		}
		if !sk.PublicKey().VerifySignature(msg, sig) {
			t.Fatalf("own signature rejected: seed %x msg %x", seed, msg)
		}
	})
}
