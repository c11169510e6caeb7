// Command mau-records records what go.mau.fi/libsignal v0.2.1 stores for a
// conversation left in a hard state (mau.NewScenario, issue #15), as a JSON
// vector: account A's identity, prekey, signed prekey, session and
// sender-key records exactly as go.mau.fi serializes them (the JSON record
// forms whatsmeow keeps in its tables), and the messages still in flight to
// A.
//
// Usage, from interop/mau:
//
//	go run ./cmd/mau-records -out ../../testdata/vectors
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/interlock-e2ee/interlock/interop/mau"
)

type senderKey struct {
	Group  string `json:"group"`
	Sender string `json:"sender"` // go.mau.fi address "name:device"
	Record []byte `json:"record"`
}

type vector struct {
	Source          string            `json:"source"`
	Generator       string            `json:"generator"`
	Comment         string            `json:"comment"`
	Name            string            `json:"name"`
	Device          uint32            `json:"device"`
	RegistrationID  uint32            `json:"registration_id"`
	IdentityPublic  []byte            `json:"identity_public"`
	IdentityPrivate []byte            `json:"identity_private"`
	SignedPreKeys   map[string][]byte `json:"signed_prekeys"` // id → go.mau.fi record
	PreKeys         map[string][]byte `json:"prekeys"`        // id → go.mau.fi record
	Sessions        map[string][]byte `json:"sessions"`       // "name:device" → go.mau.fi record
	Identities      map[string][]byte `json:"identities"`     // "name:device" → 33-byte key
	SenderKeys      []senderKey       `json:"sender_keys"`
	Pending         []mau.Pending     `json:"pending"`
}

func main() {
	out := flag.String("out", "../../testdata/vectors", "directory to write mau-records.json to")
	flag.Parse()
	sc, err := mau.NewScenario()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mau-records:", err)
		os.Exit(1)
	}
	st := sc.A.St
	v := vector{
		Source:    mau.Implementation,
		Generator: "interop/mau/cmd/mau-records",
		Comment: "Account A's store after mau.NewScenario (interop/mau/scenario.go): records as go.mau.fi " +
			"serializes them (JSON; skipped message keys as cipher key, MAC key and IV; receiving sender-key " +
			"chains with 32 zero bytes as private key; previous_counter 0xFFFFFFFF), and the messages in flight " +
			"to A, to deliver in the order listed (type 2 SignalMessage, 3 PreKeySignalMessage, 0 sender-key " +
			"message of group sender_keys[].group).",
		Name: st.Name, Device: st.Device, RegistrationID: st.RegistrationID,
		IdentityPublic: st.IdentityPublic, IdentityPrivate: st.IdentityPrivate,
		SignedPreKeys: st.SignedPreKeys, PreKeys: st.PreKeys, Sessions: st.Sessions, Identities: st.Identities,
		Pending: sc.Pending,
	}
	keys := make([]string, 0, len(st.SenderKeys))
	for k := range st.SenderKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		group, sender, _ := strings.Cut(k, "\x00")
		v.SenderKeys = append(v.SenderKeys, senderKey{group, sender, st.SenderKeys[k]})
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "mau-records:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(filepath.Join(*out, "mau-records.json"), append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mau-records:", err)
		os.Exit(1)
	}
}
