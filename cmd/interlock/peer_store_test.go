package main

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestPeerStoreRestart: with a store, restart reloads identity, prekeys and
// the prekey ID counter from the SQLite file, and a new process on the same
// file is the same peer; without one, restart is a no-op.
func TestPeerStoreRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "peer.db")
	initReq := fmt.Sprintf(`{"id":1,"op":"init","name":"alice","device":1,"store":%q}`, path)
	bundleID := func(r map[string]any) any {
		return r["bundle"].(map[string]any)["signed_prekey_id"]
	}
	r := runPeer(t, initReq,
		`{"id":2,"op":"bundle"}`,
		`{"id":3,"op":"restart"}`,
		`{"id":4,"op":"bundle"}`,
		`{"id":5,"op":"restart"}`,
		`{"id":6,"op":"bundle","one_time":false,"kyber":false}`,
	)
	for _, x := range r {
		if x["ok"] != true {
			t.Fatalf("%v", x)
		}
	}
	if a, b, c := bundleID(r[1]), bundleID(r[3]), bundleID(r[5]); a != 1.0 || b != 2.0 || c != 3.0 {
		t.Errorf("prekey IDs %v, %v, %v across restarts; want 1, 2, 3", a, b, c)
	}
	if r[1]["bundle"].(map[string]any)["identity_key"] != r[0]["identity_key"] ||
		r[3]["bundle"].(map[string]any)["identity_key"] != r[0]["identity_key"] {
		t.Error("identity changed across restart")
	}

	// A new process on the same file: same identity and registration ID,
	// the counter goes on.
	r2 := runPeer(t, initReq, `{"id":2,"op":"bundle"}`)
	if r2[0]["identity_key"] != r[0]["identity_key"] || r2[0]["registration_id"] != r[0]["registration_id"] {
		t.Errorf("reopened store: identity %v reg %v, want %v %v", r2[0]["identity_key"], r2[0]["registration_id"], r[0]["identity_key"], r[0]["registration_id"])
	}
	if id := bundleID(r2[1]); id != 4.0 {
		t.Errorf("prekey ID after reopening %v, want 4", id)
	}

	// In memory, restart answers ok and keeps everything.
	r3 := runPeer(t, `{"id":1,"op":"init","name":"bob","device":1}`, `{"id":2,"op":"bundle"}`,
		`{"id":3,"op":"restart"}`, `{"id":4,"op":"bundle"}`)
	for _, x := range r3 {
		if x["ok"] != true {
			t.Fatalf("%v", x)
		}
	}
	if id := bundleID(r3[3]); id != 2.0 {
		t.Errorf("in-memory prekey ID after restart %v, want 2", id)
	}
}
