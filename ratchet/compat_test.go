package ratchet_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/ratchet"
)

// toKeysForm rewrites every skipped key of pb in the form go.mau.fi/libsignal
// and libsignal's older records store: cipher key, MAC key and IV, no seed.
func toKeysForm(pb *signalpb.SessionStructure) {
	for _, c := range pb.GetReceiverChains() {
		for _, mk := range c.GetMessageKeys() {
			var seed [32]byte
			copy(seed[:], mk.GetSeed())
			k := ratchet.DeriveMessageKeys(seed, nil, mk.GetIndex())
			mk.Seed = nil
			mk.CipherKey, mk.MacKey, mk.Iv = k.CipherKey[:], k.MACKey[:], k.IV[:]
		}
	}
}

// TestIssue15SkippedKeysWithoutSeed: issue #15 item 1. A stored skipped key
// that carries its keys instead of a seed (go.mau.fi/libsignal's only form,
// one libsignal still reads) loads, decrypts its late message with the keys
// as given, and is written back in that form.
func TestIssue15SkippedKeysWithoutSeed(t *testing.T) {
	alice, bob := pair(t)
	var hs []ratchet.Header
	var ks []ratchet.MessageKeys
	for range 4 {
		h, k, err := alice.Send()
		if err != nil {
			t.Fatal(err)
		}
		hs, ks = append(hs, h), append(ks, k)
	}
	if err := bob.Receive(rand.Reader, hs[3], accept); err != nil {
		t.Fatal(err)
	}
	var pb signalpb.SessionStructure
	bob.MarshalProto(&pb)
	toKeysForm(&pb)
	back, err := ratchet.UnmarshalProto(&pb)
	if err != nil {
		t.Fatalf("keys-form skipped keys refused: %v", err)
	}
	if back.SkippedKeys() != 3 {
		t.Fatalf("skipped keys %d, want 3", back.SkippedKeys())
	}
	// Written back as given: keys, no seed.
	var again signalpb.SessionStructure
	back.MarshalProto(&again)
	for _, mk := range again.GetReceiverChains()[0].GetMessageKeys() {
		if mk.Seed != nil || len(mk.CipherKey) != 32 || len(mk.MacKey) != 32 || len(mk.Iv) != 16 {
			t.Fatalf("skipped key %d not written back in keys form", mk.GetIndex())
		}
	}
	// A failed open changes nothing; the right keys open each late message once.
	before := snapshot(t, back)
	if err := back.Receive(rand.Reader, hs[1], reject); !errors.Is(err, errForged) {
		t.Fatal(err)
	}
	if string(before) != string(snapshot(t, back)) {
		t.Fatal("failed open changed the state")
	}
	for _, i := range []int{1, 0, 2} {
		err := back.Receive(rand.Reader, hs[i], func(k ratchet.MessageKeys) error {
			if k != ks[i] {
				return errors.New("wrong keys")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := back.Receive(rand.Reader, hs[0], accept); !errors.Is(err, ratchet.ErrDuplicateMessage) {
		t.Fatalf("replayed late message: %v", err)
	}
	// A keys-form key cannot be salted: in a triple-ratchet state it is refused.
	var pb2 signalpb.SessionStructure
	bob.MarshalProto(&pb2)
	toKeysForm(&pb2)
	s2, _ := ratchet.UnmarshalProto(&pb2)
	salt := func() ([]byte, error) { return make([]byte, 32), nil }
	if err := s2.ReceiveSalted(rand.Reader, hs[0], salt, accept); err == nil {
		t.Fatal("keys-form skipped key opened with an SPQR salt")
	}
}

// TestIssue15MalformedKeysForm: a keys-form skipped key of a wrong length
// is an error naming the field, never a silent drop.
func TestIssue15MalformedKeysForm(t *testing.T) {
	alice, bob := pair(t)
	alice.Send()
	h, _, _ := alice.Send()
	if err := bob.Receive(rand.Reader, h, accept); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*signalpb.SessionStructure_Chain_MessageKey){
		"cipher key": func(m *signalpb.SessionStructure_Chain_MessageKey) { m.CipherKey = m.CipherKey[:31] },
		"MAC key":    func(m *signalpb.SessionStructure_Chain_MessageKey) { m.MacKey = nil },
		"IV":         func(m *signalpb.SessionStructure_Chain_MessageKey) { m.Iv = append(m.Iv, 0) },
		"seed":       func(m *signalpb.SessionStructure_Chain_MessageKey) { m.Seed = make([]byte, 31) },
	} {
		var pb signalpb.SessionStructure
		bob.MarshalProto(&pb)
		toKeysForm(&pb)
		mut(pb.ReceiverChains[0].MessageKeys[0])
		_, err := ratchet.UnmarshalProto(&pb)
		if !errors.Is(err, ratchet.ErrCorruptState) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
