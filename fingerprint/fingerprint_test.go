package fingerprint_test

import (
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/fingerprint"
	"github.com/interlock-e2ee/interlock/prekey"
)

func key(t *testing.T) prekey.IdentityKey {
	t.Helper()
	kp, err := prekey.GenerateIdentityKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	return kp.PublicKey()
}

// ik parses a serialized identity key.
func ik(t *testing.T, b []byte) prekey.IdentityKey {
	t.Helper()
	k, err := prekey.NewIdentityKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestIterations(t *testing.T) {
	a, b := key(t), key(t)
	for _, n := range []int{-1, 0, 1, fingerprint.MaxIterations + 1} {
		if _, err := fingerprint.New(2, []byte("a"), a, []byte("b"), b, fingerprint.WithIterations(n)); !errors.Is(err, fingerprint.ErrInvalidIterations) {
			t.Fatalf("%d iterations: %v", n, err)
		}
	}
	f2, err := fingerprint.New(2, []byte("a"), a, []byte("b"), b, fingerprint.WithIterations(fingerprint.MinIterations))
	if err != nil {
		t.Fatal(err)
	}
	f3, err := fingerprint.New(2, []byte("a"), a, []byte("b"), b, fingerprint.WithIterations(3))
	if err != nil {
		t.Fatal(err)
	}
	if f2.Displayable() == f3.Displayable() {
		t.Fatal("the iteration count does not matter")
	}
}

func TestErrors(t *testing.T) {
	a, b := key(t), key(t)
	if _, err := fingerprint.New(3, nil, a, nil, b); !errors.Is(err, fingerprint.ErrUnsupportedVersion) {
		t.Fatalf("version 3: %v", err)
	}
	// The keys are typed (issue #16 item 6): a malformed key cannot reach
	// New, and the zero key is refused.
	if _, err := fingerprint.New(2, nil, prekey.IdentityKey{}, nil, b); !errors.Is(err, fingerprint.ErrInvalidKey) {
		t.Fatalf("zero local key: %v", err)
	}
	if _, err := fingerprint.New(2, nil, a, nil, prekey.IdentityKey{}); !errors.Is(err, fingerprint.ErrInvalidKey) {
		t.Fatalf("zero remote key: %v", err)
	}
	if _, err := fingerprint.StableID(fingerprint.VersionACI, "not-a-uuid"); !errors.Is(err, fingerprint.ErrInvalidKey) {
		t.Fatalf("ACI: %v", err)
	}
	f1, _ := fingerprint.New(1, []byte("+1"), a, []byte("+2"), b)
	f2, _ := fingerprint.New(2, []byte("+2"), b, []byte("+1"), a)
	if _, err := f1.Scannable().Compare(f2.Scannable().Bytes()); !errors.Is(err, fingerprint.ErrVersionMismatch) {
		t.Fatalf("versions: %v", err)
	}
	if f1.Displayable() != f2.Displayable() {
		t.Fatal("displayable depends on the version")
	}
	if _, err := f1.Scannable().Compare([]byte{0x08}); !errors.Is(err, fingerprint.ErrInvalidScannable) {
		t.Fatalf("garbage: %v", err)
	}
	// A changed identity key: same version, no match.
	g, _ := fingerprint.New(1, []byte("+2"), key(t), []byte("+1"), a)
	if ok, err := f1.Scannable().Compare(g.Scannable().Bytes()); ok || err != nil {
		t.Fatalf("different key: %v %v", ok, err)
	}
	full := f1.Scannable().Bytes()
	for n := range len(full) {
		if _, err := fingerprint.ParseScannable(full[:n]); err == nil {
			t.Fatalf("%d-byte prefix parsed", n)
		}
	}
}
