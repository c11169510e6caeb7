package fingerprint_test

import (
	"bytes"
	"testing"

	"github.com/interlock-e2ee/interlock/fingerprint"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

type vector struct {
	ID                int    `json:"id"`
	Comment           string `json:"comment"`
	Version           int    `json:"version"`
	Iterations        int    `json:"iterations"`
	LocalID           string `json:"local_id"`
	LocalIDBytes      []byte `json:"local_id_bytes"`
	LocalIdentityKey  []byte `json:"local_identity_key"`
	RemoteID          string `json:"remote_id"`
	RemoteIDBytes     []byte `json:"remote_id_bytes"`
	RemoteIdentityKey []byte `json:"remote_identity_key"`
	Displayable       string `json:"displayable"`
	Scannable         []byte `json:"scannable"`
	RemoteScannable   []byte `json:"remote_scannable"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	vectortest.Load(t, "libsignal-fingerprint.json", &f)
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

// TestLibsignalFingerprintVectors: safety numbers computed by libsignal
// 0.90.0 (versions 1 and 2), displayable and scannable byte for byte, from
// both sides.
func TestLibsignalFingerprintVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Comment, func(t *testing.T) {
			ver := fingerprint.Version(v.Version)
			lid, err := fingerprint.StableID(ver, v.LocalID)
			if err != nil || !bytes.Equal(lid, v.LocalIDBytes) {
				t.Fatalf("local stable ID %x, %v", lid, err)
			}
			rid, err := fingerprint.StableID(ver, v.RemoteID)
			if err != nil || !bytes.Equal(rid, v.RemoteIDBytes) {
				t.Fatalf("remote stable ID %x, %v", rid, err)
			}
			f, err := fingerprint.New(ver, lid, ik(t, v.LocalIdentityKey), rid, ik(t, v.RemoteIdentityKey), fingerprint.WithIterations(v.Iterations))
			if err != nil {
				t.Fatal(err)
			}
			if f.Displayable() != v.Displayable {
				t.Fatalf("displayable %s, want %s", f.Displayable(), v.Displayable)
			}
			if !bytes.Equal(f.Scannable().Bytes(), v.Scannable) {
				t.Fatalf("scannable %x, want %x", f.Scannable().Bytes(), v.Scannable)
			}
			g, err := fingerprint.New(ver, rid, ik(t, v.RemoteIdentityKey), lid, ik(t, v.LocalIdentityKey))
			if err != nil {
				t.Fatal(err)
			}
			if g.Displayable() != v.Displayable || !bytes.Equal(g.Scannable().Bytes(), v.RemoteScannable) {
				t.Fatal("remote side differs")
			}
			if ok, err := f.Scannable().Compare(v.RemoteScannable); !ok || err != nil {
				t.Fatalf("compare with the remote side: %v, %v", ok, err)
			}
			if ok, err := f.Scannable().Compare(v.Scannable); ok || err != nil {
				t.Fatalf("compare with our own side: %v, %v", ok, err)
			}
			p, err := fingerprint.ParseScannable(v.Scannable)
			if err != nil || !bytes.Equal(p.Bytes(), v.Scannable) {
				t.Fatalf("parse: %v", err)
			}
		})
	}
}
