package curve

import (
	"encoding/base64"

	"encoding/json"
	"errors"
	"filippo.io/edwards25519"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

// TestLibsignalXEdDSAVectors checks every vector of
// testdata/vectors/libsignal-xeddsa.json (signatures made or judged by
// libsignal) through NewPublicKey and VerifySignature.
func TestLibsignalXEdDSAVectors(t *testing.T) {
	var file struct {
		Vectors []struct {
			ID        json.RawMessage `json:"id"`
			Comment   string          `json:"comment"`
			PublicKey string          `json:"public_key"`
			Message   string          `json:"message"`
			Signature string          `json:"signature"`
			Expect    string          `json:"expect"`
		} `json:"vectors"`
	}
	vectortest.Load(t, "libsignal-xeddsa.json", &file)
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	b64 := base64.StdEncoding
	for _, v := range file.Vectors {
		t.Run(string(v.ID), func(t *testing.T) {
			pub, err1 := b64.DecodeString(v.PublicKey)
			msg, err2 := b64.DecodeString(v.Message)
			sig, err3 := b64.DecodeString(v.Signature)
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatalf("bad base64: %v", err)
			}
			var want bool
			switch v.Expect {
			case "valid":
				want = true
			case "invalid":
			default:
				t.Fatalf("unknown expect %q", v.Expect)
			}
			pk, err := NewPublicKey(pub)
			if err != nil {
				if want {
					t.Fatalf("%s: public key rejected: %v", v.Comment, err)
				}
				return
			}
			// Deliberate deviation: libsignal reduces s mod L (accepting
			// L <= s < 2^253); VerifySignature rejects any s >= L.
			if want && len(sig) == SignatureSize && !sIsCanonical(sig) {
				if pk.VerifySignature(msg, sig) {
					t.Errorf("%s: non-canonical s accepted", v.Comment)
				}
				t.Logf("%s: rejected on purpose (s >= L)", v.Comment)
				return
			}
			if got := pk.VerifySignature(msg, sig); got != want {
				t.Errorf("%s: VerifySignature = %v, want %v", v.Comment, got, want)
			}
		})
	}
}

// sIsCanonical reports whether the s half of sig, with the sign bit cleared,
// is below the group order L.
func sIsCanonical(sig []byte) bool {
	var s [32]byte
	copy(s[:], sig[32:])
	s[31] &= 0x7f
	_, err := new(edwards25519.Scalar).SetCanonicalBytes(s[:])
	return err == nil
}
