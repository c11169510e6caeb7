package main

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestPeerAdversaryMode (issue #21 item 1; docs/peer-protocol.md,
// "Adversary mode"): encrypt's pq_ratchet is refused as unsupported by a
// normal peer, whose capabilities list no adversary; `interlock peer
// --adversary` lists it, and a malformed value is an error, not a message.
func TestPeerAdversaryMode(t *testing.T) {
	reqs := []string{
		`{"id":1,"op":"capabilities"}`,
		`{"id":2,"op":"init","name":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","device":1}`,
		`{"id":3,"op":"encrypt","address":{"name":"x","device":1},"plaintext":"aGk=","pq_ratchet":"omit"}`,
		`{"id":4,"op":"encrypt","address":{"name":"x","device":1},"plaintext":"aGk=","pq_ratchet":"strip"}`,
		`{"id":5,"op":"encrypt","address":{"name":"x","device":1},"plaintext":"aGk=","pq_ratchet":{"version":300}}`,
	}
	run := func(args ...string) []map[string]any {
		var out bytes.Buffer
		if err := servePeer(args, strings.NewReader(strings.Join(reqs, "\n")+"\n"), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		var rs []map[string]any
		for dec := json.NewDecoder(&out); dec.More(); {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			rs = append(rs, m)
		}
		return rs
	}
	kind := func(m map[string]any) any {
		e, _ := m["error"].(map[string]any)
		return e["kind"]
	}
	normal := run()
	if normal[0]["adversary"] != nil {
		t.Errorf("normal peer lists adversary: %v", normal[0]["adversary"])
	}
	for _, r := range normal[2:] {
		if r["ok"] != false || kind(r) != "unsupported" {
			t.Errorf("normal peer, encrypt with pq_ratchet: %v", r)
		}
	}
	adv := run("--adversary")
	list, _ := adv[0]["adversary"].([]any)
	if !slices.Contains(list, any("pq_ratchet")) {
		t.Errorf("--adversary: capabilities.adversary = %v", adv[0]["adversary"])
	}
	// "omit" is accepted (no session with x: no_session); bad values are not.
	if kind(adv[2]) != "no_session" || kind(adv[3]) != "other" || kind(adv[4]) != "other" {
		t.Errorf("--adversary: %v / %v / %v", adv[2], adv[3], adv[4])
	}
}
