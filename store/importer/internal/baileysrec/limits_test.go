package baileysrec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
)

func randB64(t *testing.T, n int, prefix ...byte) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(append(prefix, b...))
}

// TestIssue15NodeRecordLimits: libsignal-node bounds neither its receiver
// chains nor their skipped keys; beyond libsignal's limits the oldest are
// left out and counted, never silently. A chain libsignal-node closed
// (no chain key) gets a fresh random key, never a known one.
func TestIssue15NodeRecordLimits(t *testing.T) {
	b, err := os.ReadFile("../../testdata/baileys/session-15550002222.0.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	var entry map[string]any
	for _, e := range rec["_sessions"].(map[string]any) {
		entry = e.(map[string]any)
	}
	// Four older closed chains in front (JSON objects keep insertion order
	// only in the text: build it by hand): the first with 2,005 skipped keys.
	chains, _ := json.Marshal(entry["_chains"])
	var front bytes.Buffer
	for i := range 4 {
		keys := map[string]string{}
		n := 1
		if i == 0 {
			n = 2005
		}
		for j := range n {
			keys[strconv.Itoa(j)] = randB64(t, 32)
		}
		c, _ := json.Marshal(map[string]any{"chainKey": map[string]any{"counter": n}, "chainType": 2, "messageKeys": keys})
		k, _ := json.Marshal(randB64(t, 32, 5))
		front.Write(k)
		front.WriteByte(':')
		front.Write(c)
		front.WriteByte(',')
	}
	entry["_chains"] = json.RawMessage(append([]byte("{"), append(front.Bytes(), chains[1:]...)...))
	in, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	id, err := prekey.GenerateIdentityKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	closedKeys := map[string]bool{}
	for range 2 {
		s, err := ParseSession(in, id.PublicKey(), 1, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// The 2,000 newest keys of the first chain survive the per-chain
		// limit; then six chains hold keys, one more than libsignal keeps:
		// the oldest (the first) goes.
		if s.DroppedSkippedKeys != 5+2000 {
			t.Fatalf("dropped %d", s.DroppedSkippedKeys)
		}
		raw, err := s.Record.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var pb signalpb.RecordStructure
		if err := proto.Unmarshal(raw, &pb); err != nil {
			t.Fatal(err)
		}
		rc := pb.GetCurrentSession().GetReceiverChains()
		if len(rc) != 5 {
			t.Fatalf("%d receiver chains", len(rc))
		}
		for _, c := range rc[:4] { // the closed ones
			k := c.GetChainKey().GetKey()
			if bytes.Equal(k, make([]byte, 32)) || closedKeys[string(k)] {
				t.Fatal("a closed chain's key is known")
			}
			closedKeys[string(k)] = true
		}
	}
}
