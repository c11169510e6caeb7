package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/proto"
)

// mauRecords is testdata/vectors/mau-records.json (interop/mau/cmd/mau-records).
type mauRecords struct {
	Name            string            `json:"name"`
	Device          uint32            `json:"device"`
	RegistrationID  uint32            `json:"registration_id"`
	IdentityPrivate []byte            `json:"identity_private"`
	SignedPreKeys   map[string][]byte `json:"signed_prekeys"`
	PreKeys         map[string][]byte `json:"prekeys"`
	Sessions        map[string][]byte `json:"sessions"`
	Identities      map[string][]byte `json:"identities"`
	SenderKeys      []struct {
		Group, Sender string
		Record        []byte
	} `json:"sender_keys"`
	Pending []struct {
		From                  string
		Type                  session.MessageType
		Plaintext, Ciphertext []byte
	} `json:"pending"`
}

func loadMauRecords(t testing.TB) *mauRecords {
	t.Helper()
	b, err := os.ReadFile("../testdata/vectors/mau-records.json")
	if err != nil {
		t.Fatal(err)
	}
	var v mauRecords
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// mauAddress maps go.mau.fi's "name:device".
func mauAddress(t testing.TB, s string) session.Address {
	name, dev, ok := strings.Cut(s, ":")
	d, err := strconv.ParseUint(dev, 10, 32)
	if !ok || err != nil {
		t.Fatalf("address %q", s)
	}
	return session.Address{Name: name, DeviceID: uint32(d)}
}

// TestIssue15MauRecords: issue #15 item 1. The records go.mau.fi/libsignal
// stores for a conversation in a hard state (JSON; skipped keys as keys, not
// seeds; an archived state after a re-key; previous_counter 0xFFFFFFFF; an
// unanswered PreKeySignalMessage; a receiving sender-key chain with 32 zero
// bytes as private key) load, are written back in libsignal's form, and
// Interlock decrypts every message still in flight.
func TestIssue15MauRecords(t *testing.T) {
	ctx := context.Background()
	v := loadMauRecords(t)
	id, err := prekey.NewIdentityKeyPair(v.IdentityPrivate)
	if err != nil {
		t.Fatal(err)
	}
	store := session.NewMemoryStore(id, v.RegistrationID, session.WithIdentityScope(session.PerDevice))
	for k, b := range v.PreKeys {
		r, err := prekey.UnmarshalPreKeyRecord(b)
		if err != nil {
			t.Fatalf("prekey %s: %v", k, err)
		}
		if err := store.StorePreKey(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for k, b := range v.SignedPreKeys {
		r, err := prekey.UnmarshalSignedPreKeyRecord(b)
		if err != nil {
			t.Fatalf("signed prekey %s: %v", k, err)
		}
		if !id.PublicKey().VerifySignature(r.KeyPair.Public.Bytes(), r.Signature) {
			t.Fatal("signed prekey signature does not verify")
		}
		if err := store.StoreSignedPreKey(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for a, k := range v.Identities {
		key, err := prekey.NewIdentityKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.SaveIdentity(ctx, mauAddress(t, a), key); err != nil {
			t.Fatal(err)
		}
	}
	sawFFFF := false
	for a, b := range v.Sessions {
		sawFFFF = sawFFFF || bytes.Contains(b, []byte(`"PreviousCounter":4294967295`))
		r, err := session.UnmarshalRecord(b)
		if err != nil {
			t.Fatalf("session %s: %v", a, err)
		}
		if err := r.Normalize(); err != nil {
			t.Fatal(err)
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		// Written back in libsignal's form: protobuf, 33-byte keys,
		// previous_counter 0, keys-form skipped keys kept.
		var pb signalpb.RecordStructure
		if err := proto.Unmarshal(out, &pb); err != nil {
			t.Fatal(err)
		}
		states := []*signalpb.SessionStructure{pb.CurrentSession}
		for _, raw := range pb.PreviousSessions {
			var s signalpb.SessionStructure
			if err := proto.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			states = append(states, &s)
		}
		for _, s := range states {
			if s.GetPreviousCounter() == 0xFFFFFFFF {
				t.Errorf("%s: previous_counter 0xFFFFFFFF written back", a)
			}
			if len(s.GetRemoteIdentityPublic()) != 33 {
				t.Errorf("%s: remote identity not in the 33-byte form", a)
			}
		}
		if a == "15550000002:0" && len(pb.PreviousSessions) != 1 {
			t.Errorf("%s: %d archived states, want 1", a, len(pb.PreviousSessions))
		}
		back, err := session.UnmarshalRecord(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.StoreSession(ctx, mauAddress(t, a), back); err != nil {
			t.Fatal(err)
		}
	}
	if !sawFFFF {
		t.Error("the vector holds no previous_counter 0xFFFFFFFF")
	}
	cipher := session.NewCipher(store, session.WithPolicy(session.AllowX3DH))
	gstore := group.NewMemoryStore()
	gcipher := group.NewCipher(gstore, group.WithLayout(group.LayoutWhatsApp))
	for _, sk := range v.SenderKeys {
		r, err := group.UnmarshalRecord(sk.Record)
		if err != nil {
			t.Fatalf("sender key %s/%s: %v", sk.Group, sk.Sender, err)
		}
		a := mauAddress(t, sk.Sender)
		if err := gstore.StoreSenderKey(ctx, group.SenderKeyName{Sender: a.Name, DeviceID: a.DeviceID, DistributionID: sk.Group}, r); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range v.Pending {
		from := session.Address{Name: p.From}
		var pt []byte
		var err error
		if p.Type == 0 {
			pt, err = gcipher.Decrypt(ctx, group.SenderKeyName{Sender: p.From, DistributionID: v.SenderKeys[0].Group}, p.Ciphertext)
		} else {
			pt, err = cipher.Decrypt(ctx, from, p.Type, p.Ciphertext)
		}
		if err != nil || !bytes.Equal(pt, p.Plaintext) {
			t.Errorf("pending %d (%q): %q, %v", i, p.Plaintext, pt, err)
		}
	}
	// The unanswered session with C still sends PreKeySignalMessages.
	typ, _, err := cipher.Encrypt(ctx, session.Address{Name: "15550000003"}, []byte("c2"))
	if err != nil || typ != session.TypePreKey {
		t.Errorf("unanswered session: type %d, %v", typ, err)
	}
}

// TestIssue15MauRecordErrors: a go.mau.fi record that cannot be read is an
// error naming the field, never a panic or a silent drop.
func TestIssue15MauRecordErrors(t *testing.T) {
	v := loadMauRecords(t)
	rec := v.Sessions["15550000002:0"]
	for name, c := range map[string]struct{ old, new, want string }{
		"short cipher key": {`"CipherKey":"`, `"CipherKey":"AAAA`, "cipher key"},
		"unknown field":    {`"RootKey"`, `"RootKeyX"`, "RootKeyX"},
		"bad identity":     {`"RemoteIdentityPublic":"`, `"RemoteIdentityPublic":"AAAA`, "remote identity"},
		"key exchange":     {`"PendingKeyExchange":null`, `"PendingKeyExchange":{"Sequence":1}`, "pending key exchange"},
	} {
		b := bytes.Replace(rec, []byte(c.old), []byte(c.new), 1)
		r, err := session.UnmarshalRecord(b)
		if err == nil {
			err = r.Normalize()
		}
		if !errors.Is(err, session.ErrCorruptRecord) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for n := range len(rec) {
		if r, err := session.UnmarshalRecord(rec[:n]); err == nil && r.Current() != nil && n < len(rec)-2 {
			t.Fatalf("truncated record (%d bytes) parsed", n)
		}
	}
}
