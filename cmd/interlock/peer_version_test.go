package main

import "testing"

// TestPeerCapabilitiesProtocolVersion (issue #21 item 5): capabilities
// reports the version of docs/peer-protocol.md the peer implements, so a
// driver knows which fields it may send.
func TestPeerCapabilitiesProtocolVersion(t *testing.T) {
	r := runPeerLines(t, 1, `{"id":1,"op":"capabilities"}`)
	if r[0]["ok"] != true {
		t.Fatalf("capabilities: %v", r[0])
	}
	if got := r[0]["protocol_version"]; got != float64(peerProtocolVersion) || peerProtocolVersion < 2 {
		t.Errorf("protocol_version = %v, want %d (≥ 2)", got, peerProtocolVersion)
	}
}
