package kem

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

// TestLibsignalKyber1024Vectors checks every vector of
// testdata/vectors/libsignal-kyber1024.json (keys and ciphertexts made by
// libsignal): the secret key and public key parse, the secret key's public
// key is the given one, and decapsulation yields the given shared secret.
func TestLibsignalKyber1024Vectors(t *testing.T) {
	var file struct {
		Vectors []struct {
			ID           json.RawMessage `json:"id"`
			PublicKey    string          `json:"public_key"`
			SecretKey    string          `json:"secret_key"`
			Ciphertext   string          `json:"ciphertext"`
			SharedSecret string          `json:"shared_secret"`
		} `json:"vectors"`
	}
	vectortest.Load(t, "libsignal-kyber1024.json", &file)
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	b64 := base64.StdEncoding
	for _, v := range file.Vectors {
		t.Run(string(v.ID), func(t *testing.T) {
			pkb, err1 := b64.DecodeString(v.PublicKey)
			skb, err2 := b64.DecodeString(v.SecretKey)
			ctb, err3 := b64.DecodeString(v.Ciphertext)
			ss, err4 := b64.DecodeString(v.SharedSecret)
			if err := errors.Join(err1, err2, err3, err4); err != nil {
				t.Fatalf("bad base64: %v", err)
			}
			pk, err := NewPublicKey(pkb)
			if err != nil {
				t.Fatal(err)
			}
			if pk.Type() != Kyber1024 || !bytes.Equal(pk.Bytes(), pkb) {
				t.Fatal("public key round trip")
			}
			sk, err := NewSecretKey(skb)
			if err != nil {
				t.Fatal(err)
			}
			if !sk.PublicKey().Equal(pk) {
				t.Error("secret key's public key differs")
			}
			got, err := sk.Decapsulate(ctb)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, ss) {
				t.Errorf("shared secret %x, want %x", got, ss)
			}
		})
	}
}
