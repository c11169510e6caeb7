package group_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/proto"
)

type mauSenderKey struct {
	Group, Sender string
	Record        []byte
}

// loadMauSenderKeys returns the sender-key records of
// testdata/vectors/mau-records.json (interop/mau/cmd/mau-records), keyed by
// sender address.
func loadMauSenderKeys(t testing.TB) map[string][]byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/vectors/mau-records.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		SenderKeys []mauSenderKey `json:"sender_keys"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, sk := range v.SenderKeys {
		out[sk.Sender] = sk.Record
	}
	return out
}

// TestIssue15MauSenderKeyRecords: issue #15 item 1. go.mau.fi's sender-key
// records (JSON; a receiving chain whose private signing key is 32 zero
// bytes; a sending chain) load, and are written back in libsignal's form
// with no private key on the receiving chain.
func TestIssue15MauSenderKeyRecords(t *testing.T) {
	recs := loadMauSenderKeys(t)
	recv, send := recs["15550000002:0"], recs["15550000001:7"]
	if !bytes.Contains(recv, []byte(`"SigningKeyPrivate":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="`)) {
		t.Fatal("the vector's receiving chain has no zero private key")
	}
	for name, b := range map[string][]byte{"receiving": recv, "sending": send} {
		r, err := group.UnmarshalRecord(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var pb signalpb.SenderKeyRecordStructure
		if err := proto.Unmarshal(out, &pb); err != nil {
			t.Fatal(err)
		}
		priv := pb.SenderKeyStates[0].GetSenderSigningKey().GetPrivate()
		if (name == "receiving") != (priv == nil) {
			t.Errorf("%s: private key %d bytes", name, len(priv))
		}
	}
	// A sending chain continues: Interlock encrypts the next iteration.
	st := group.NewMemoryStore()
	r, _ := group.UnmarshalRecord(send)
	self := group.SenderKeyName{Sender: "15550000001", DeviceID: 7, DistributionID: "g"}
	if err := st.StoreSenderKey(context.Background(), self, r); err != nil {
		t.Fatal(err)
	}
	if _, err := group.NewCipher(st, group.WithLayout(group.LayoutWhatsApp)).Encrypt(context.Background(), self, []byte("h1")); err != nil {
		t.Fatal(err)
	}
}

// TestIssue15MauSenderKeyErrors: unreadable fields are errors naming them.
func TestIssue15MauSenderKeyErrors(t *testing.T) {
	rec := loadMauSenderKeys(t)["15550000002:0"]
	for name, c := range map[string]struct{ old, new, want string }{
		"no seed":      {`"Seed":"`, `"Seed":"AAAA`, "seed"},
		"wrong IV":     {`"IV":"`, `"IV":"AAAA`, "IV"},
		"unknown":      {`"KeyID"`, `"KeyIDX"`, "KeyIDX"},
		"short public": {`"SigningKeyPublic":"`, `"SigningKeyPublic":"AAAA`, "signing key"},
	} {
		_, err := group.UnmarshalRecord(bytes.Replace(rec, []byte(c.old), []byte(c.new), 1))
		if !errors.Is(err, group.ErrInvalidRecord) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
