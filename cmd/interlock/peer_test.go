package main

import "testing"

// TestPeerRequestChecks: an op the peer does not implement is "unsupported"
// whether or not init has run; init needs a name and an address needs one;
// a bad line or a failed request never ends the session; blank lines get
// no answer.
func TestPeerRequestChecks(t *testing.T) {
	r := runPeerLines(t, 9,
		`{"id":1,"op":"frobnicate"}`,
		``,
		"  \t",
		`{"id":2,"op":"encrypt","address":{"name":"x","device":1},"plaintext":"aGk="}`,
		`{"id":3,"op":"init","device":1}`,
		`not json`,
		`{"id":5,"op":"init","name":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","device":1}`,
		`{"id":6,"op":"frobnicate"}`,
		`{"id":7,"op":"session","address":{"device":1}}`,
		`{"id":8,"op":"session","address":{"name":"6ba7b811-9dad-11d1-80b4-00c04fd430c8","device":1}}`,
		`{"id":9,"op":"capabilities"}`,
	)
	want := []struct {
		ok   bool
		kind string
	}{
		{false, "unsupported"}, {false, "other"}, {false, "other"}, {false, "other"},
		{true, ""}, {false, "unsupported"}, {false, "other"}, {true, ""}, {true, ""},
	}
	for i, w := range want {
		if r[i]["ok"] != w.ok {
			t.Fatalf("request %d: %v", i+1, r[i])
		}
		if !w.ok {
			if got := r[i]["error"].(map[string]any)["kind"]; got != w.kind {
				t.Errorf("request %d: kind %v, want %s", i+1, got, w.kind)
			}
		}
	}
	if r[7]["exists"] != false || r[7]["version"] != float64(0) {
		t.Errorf("session: %v", r[7])
	}
}
