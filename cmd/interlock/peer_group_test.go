package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
)

// runPeer feeds request lines to one peer process (in-process) and returns
// the decoded responses.
func runPeer(t *testing.T, reqs ...string) []map[string]any {
	t.Helper()
	return runPeerLines(t, len(reqs), reqs...)
}

// runPeerLines is runPeer for input lines of which want are requests.
func runPeerLines(t *testing.T, want int, reqs ...string) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := servePeer(nil, strings.NewReader(strings.Join(reqs, "\n")+"\n"), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var resps []map[string]any
	dec := json.NewDecoder(&out)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		resps = append(resps, m)
	}
	if len(resps) != want {
		t.Fatalf("%d responses to %d requests", len(resps), want)
	}
	return resps
}

func TestPeerGroupOps(t *testing.T) {
	const dist = "2f1e0d3c-4b5a-4697-8877-665544332211"
	for _, flavour := range []string{"signal", "whatsapp"} {
		t.Run(flavour, func(t *testing.T) {
			init := func(name string) string {
				return fmt.Sprintf(`{"id":1,"op":"init","name":%q,"device":2,"flavour":%q}`, name, flavour)
			}
			a := runPeer(t, init("aaaaaaaa-0000-4000-8000-000000000001"),
				fmt.Sprintf(`{"id":2,"op":"group_distribution","distribution_id":%q}`, dist),
				fmt.Sprintf(`{"id":3,"op":"group_encrypt","distribution_id":%q,"plaintext":"aGVsbG8="}`, dist))
			for _, r := range a {
				if r["ok"] != true {
					t.Fatalf("A: %v", r)
				}
			}
			addr := `{"name":"aaaaaaaa-0000-4000-8000-000000000001","device":2}`
			b := runPeer(t, init("bbbbbbbb-0000-4000-8000-000000000002"),
				fmt.Sprintf(`{"id":2,"op":"group_decrypt","address":%s,"ciphertext":%q}`, addr, a[2]["ciphertext"]),
				fmt.Sprintf(`{"id":3,"op":"group_process","address":%s,"message":%q}`, addr, a[1]["message"]),
				fmt.Sprintf(`{"id":4,"op":"group_decrypt","address":%s,"ciphertext":%q}`, addr, a[2]["ciphertext"]),
				fmt.Sprintf(`{"id":5,"op":"group_decrypt","address":%s,"ciphertext":%q}`, addr, a[2]["ciphertext"]),
				`{"id":6,"op":"group_decrypt","address":`+addr+`,"ciphertext":"MzM="}`,
				fmt.Sprintf(`{"id":7,"op":"fingerprint","local_id":"bbbbbbbb-0000-4000-8000-000000000002","remote_id":"aaaaaaaa-0000-4000-8000-000000000001","remote_identity_key":%q}`, a[0]["identity_key"]),
				`{"id":8,"op":"fingerprint","local_id":"x","remote_id":"y","remote_identity_key":"BQ==","version":1}`,
			)
			kind := func(r map[string]any) any {
				if e, ok := r["error"].(map[string]any); ok {
					return e["kind"]
				}
				return nil
			}
			if k := kind(b[1]); k != "no_session" {
				t.Fatalf("decrypt before process: %v", b[1])
			}
			if b[2]["ok"] != true || b[3]["plaintext"] != "aGVsbG8=" {
				t.Fatalf("process/decrypt: %v %v", b[2], b[3])
			}
			if k := kind(b[4]); k != "duplicate_message" {
				t.Fatalf("duplicate: %v", b[4])
			}
			if k := kind(b[5]); k != "invalid_message" {
				t.Fatalf("garbage: %v", b[5])
			}
			if d, _ := b[6]["displayable"].(string); len(d) != 60 || b[6]["scannable"] == nil {
				t.Fatalf("fingerprint: %v", b[6])
			}
			if k := kind(b[7]); k != "invalid_key" {
				t.Fatalf("bad identity key: %v", b[7])
			}
		})
	}
}
