package importer_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"google.golang.org/protobuf/proto"
)

// TestIssue15ExportLibsignal: issue #15 item 3. An imported account is
// exported in libsignal's serialized forms (protobuf, nothing of go.mau.fi's
// JSON left), and a store built from the export alone continues the
// conversations: every message in flight decrypts.
func TestIssue15ExportLibsignal(t *testing.T) {
	ctx := context.Background()
	v := loadVector(t)
	src := openSQLite(t, "whatsmeow.db")
	fill(t, src, v)
	dst := openDest(t)
	if _, err := importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	st, err := dst.Account(ctx, v.JID())
	if err != nil {
		t.Fatal(err)
	}
	var addrs []session.Address
	for a := range v.Sessions {
		addr, err := importer.WhatsmeowAddress(a)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, addr)
	}
	addrs = append(addrs, session.Address{Name: "15550000004"}) // no session yet
	gname := group.SenderKeyName{Sender: "15550000002", DistributionID: v.SenderKeys[0].Group}
	exp, err := importer.ExportLibsignal(ctx, st, addrs, []group.SenderKeyName{gname})
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Sessions) != len(v.Sessions) || len(exp.PreKeys) != len(v.PreKeys) || len(exp.SignedPreKeys) != 1 || len(exp.SenderKeys) != 1 {
		t.Fatalf("export: %d sessions, %d prekeys, %d signed, %d sender keys", len(exp.Sessions), len(exp.PreKeys), len(exp.SignedPreKeys), len(exp.SenderKeys))
	}
	// libsignal's forms, as its storage.proto defines them.
	for a, b := range exp.Sessions {
		var pb signalpb.RecordStructure
		if err := proto.Unmarshal(b, &pb); err != nil || pb.CurrentSession == nil || bytes.HasPrefix(b, []byte("{")) {
			t.Fatalf("session %s: %v", a, err)
		}
	}
	// A store built from the export alone continues.
	id, err := prekey.UnmarshalIdentityKeyPair(exp.IdentityKeyPair)
	if err != nil {
		t.Fatal(err)
	}
	ms := session.NewMemoryStore(id, exp.RegistrationID, session.WithIdentityScope(session.PerDevice))
	for _, b := range exp.PreKeys {
		r, err := prekey.UnmarshalPreKeyRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		ms.StorePreKey(ctx, r)
	}
	for _, b := range exp.SignedPreKeys {
		r, err := prekey.UnmarshalSignedPreKeyRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		ms.StoreSignedPreKey(ctx, r)
	}
	for a, b := range exp.Identities {
		k, err := prekey.NewIdentityKey(b)
		if err != nil {
			t.Fatal(err)
		}
		ms.SaveIdentity(ctx, a, k)
	}
	for a, b := range exp.Sessions {
		r, err := session.UnmarshalRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		ms.StoreSession(ctx, a, r)
	}
	gs := group.NewMemoryStore()
	for n, b := range exp.SenderKeys {
		r, err := group.UnmarshalRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		gs.StoreSenderKey(ctx, n, r)
	}
	cipher := session.NewCipher(ms, session.WithPolicy(session.AllowX3DH))
	gcipher := group.NewCipher(gs, group.WithLayout(group.LayoutWhatsApp))
	for _, p := range v.Pending {
		var pt []byte
		if p.Type == 0 {
			pt, err = gcipher.Decrypt(ctx, gname, p.Ciphertext)
		} else {
			pt, err = cipher.Decrypt(ctx, session.Address{Name: p.From}, session.MessageType(p.Type), p.Ciphertext)
		}
		if err != nil || !bytes.Equal(pt, p.Plaintext) {
			t.Errorf("%q: %q, %v", p.Plaintext, pt, err)
		}
	}
}
