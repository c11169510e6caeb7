package baileysrec_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/store/importer/internal/baileysrec"
)

// FuzzBaileysRecords: Baileys' session and sender-key files are untrusted
// input; no input panics, and what parses marshals.
func FuzzBaileysRecords(f *testing.F) {
	for _, name := range []string{"session-15550002222.0.json", "session-987654321012345_1.3.json", "session-15550004444.2.json",
		"sender-key-120363000000000001@g.us--15550002222--0.json", "sender-key-120363000000000001@g.us--15550001111--7.json"} {
		b, err := os.ReadFile(filepath.Join("../../testdata/baileys", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"_sessions":{},"version":"v1"}`))
	f.Add([]byte(`[{"senderKeyId":1,"senderChainKey":{"iteration":0,"seed":{"0":1}}}]`))
	id, err := prekey.GenerateIdentityKeyPair(nil)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := baileysrec.ParseSession(b, id.PublicKey(), 1, now); err == nil {
			if _, err := s.Record.Marshal(); err != nil {
				t.Fatal(err)
			}
		}
		if r, err := baileysrec.ParseSenderKey(b); err == nil {
			if _, err := r.Marshal(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
