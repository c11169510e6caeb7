package mau

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"go.mau.fi/libsignal/protocol"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/importer/whatsmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "modernc.org/sqlite"
)

// whatsmeowVector is A's go.mau.fi state as whatsmeowtest.Fill writes it
// into whatsmeow's tables (records as go.mau.fi serialized them).
func whatsmeowVector(sc *Scenario) *whatsmeowtest.Vector {
	st := sc.A.St
	v := &whatsmeowtest.Vector{
		Name: st.Name, Device: st.Device, RegistrationID: st.RegistrationID, IdentityPrivate: st.IdentityPrivate,
		SignedPreKeys: st.SignedPreKeys, PreKeys: st.PreKeys, Sessions: st.Sessions, Identities: st.Identities,
	}
	for k, b := range st.SenderKeys {
		g, s, _ := bytes.Cut([]byte(k), []byte{0})
		v.SenderKeys = append(v.SenderKeys, struct {
			Group, Sender string
			Record        []byte
		}{string(g), string(s), b})
	}
	return v
}

// TestIssue15WhatsmeowContinuation: issue #15, the live proof for
// whatsmeow. Conversations started by go.mau.fi/libsignal are left in a hard
// state (NewScenario: messages out of order with skipped keys pending, an
// archived state after a re-key, a group sender key mid-chain, unanswered
// PreKeySignalMessages both ways), account A's store is written in
// whatsmeow's tables and imported into Interlock; Interlock then continues
// every conversation with the same go.mau.fi peers: each pending message
// decrypts, new messages flow both ways, the group continues, nobody
// re-keys, and the source is left unchanged.
func TestIssue15WhatsmeowContinuation(t *testing.T) {
	ctx := context.Background()
	sc, err := NewScenario()
	if err != nil {
		t.Fatal(err)
	}
	v := whatsmeowVector(sc)
	src, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "whatsmeow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	whatsmeowtest.Fill(t, src, v)
	before := dump(t, src)

	dst, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "interlock.db"), sqlstore.WithIdentityScope(session.PerDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	rep, err := importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, dump(t, src)) {
		t.Fatal("the import changed the source")
	}
	t.Logf("report: %+v", rep.Accounts[0])
	st, err := dst.Account(ctx, v.JID())
	if err != nil {
		t.Fatal(err)
	}
	A := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
	AG := group.NewCipher(st, group.WithLayout(group.LayoutWhatsApp))
	addr := func(name string) session.Address { return session.Address{Name: name} }
	gname := func(name string) group.SenderKeyName {
		return group.SenderKeyName{Sender: name, DistributionID: ScenarioGroup}
	}

	// Every message in flight decrypts.
	for _, p := range sc.Pending {
		var pt []byte
		if p.Type == 0 {
			pt, err = AG.Decrypt(ctx, gname(p.From), p.Ciphertext)
		} else {
			pt, err = A.Decrypt(ctx, addr(p.From), session.MessageType(p.Type), p.Ciphertext)
		}
		if err != nil || !bytes.Equal(pt, p.Plaintext) {
			t.Fatalf("pending %q: %q, %v", p.Plaintext, pt, err)
		}
	}

	// New messages both ways, with the same go.mau.fi peers.
	aA := Addr(ScenarioA)
	toPeer := func(p *Party, name, text string, wantType session.MessageType) {
		t.Helper()
		typ, ct, err := A.Encrypt(ctx, addr(name), []byte(text))
		if err != nil || typ != wantType {
			t.Fatalf("A → %s: type %d, %v", name, typ, err)
		}
		pt, err := p.Decrypt(aA, uint32(typ), ct)
		if err != nil || string(pt) != text {
			t.Fatalf("%s ← A %q: %q, %v", name, text, pt, err)
		}
	}
	fromPeer := func(p *Party, name, text string) {
		t.Helper()
		m, err := p.Encrypt(aA, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if m.Type() != protocol.WHISPER_TYPE {
			t.Fatalf("%s re-keyed: message type %d", name, m.Type())
		}
		pt, err := A.Decrypt(ctx, addr(name), session.MessageType(m.Type()), m.Serialize())
		if err != nil || string(pt) != text {
			t.Fatalf("A ← %s %q: %q, %v", name, text, pt, err)
		}
	}
	for i := range 3 {
		toPeer(sc.B, ScenarioB, fmt.Sprintf("Interlock A to B %d", i), session.TypeSignal)
		fromPeer(sc.B, ScenarioB, fmt.Sprintf("B to Interlock A %d", i))
	}
	// C: the unanswered session goes on with PreKeySignalMessages until C answers.
	toPeer(sc.C, ScenarioC, "c2: still unanswered", session.TypePreKey)
	if pt, err := sc.C.Decrypt(aA, protocol.PREKEY_TYPE, sc.Unanswered); err != nil || !bytes.HasPrefix(pt, []byte("c1")) {
		t.Fatalf("C ← A c1 (sent by go.mau.fi before the import): %q, %v", pt, err)
	}
	fromPeer(sc.C, ScenarioC, "C answers")
	toPeer(sc.C, ScenarioC, "c3: acknowledged", session.TypeSignal)
	// D: its PreKeySignalMessage was answered by nobody; Interlock answers.
	toPeer(sc.D, ScenarioD, "A answers D", session.TypeSignal)
	fromPeer(sc.D, ScenarioD, "D again")

	// The group continues both ways.
	gB := protocol.NewSenderKeyName(ScenarioGroup, Addr(ScenarioB))
	gA := protocol.NewSenderKeyName(ScenarioGroup, aA)
	ct, err := sc.B.GroupEncrypt(gB, []byte("g5 from B"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := AG.Decrypt(ctx, gname(ScenarioB), ct); err != nil || string(pt) != "g5 from B" {
		t.Fatalf("group g5: %q, %v", pt, err)
	}
	self := group.SenderKeyName{Sender: ScenarioA, DeviceID: ScenarioDevice, DistributionID: ScenarioGroup}
	for i := 1; i <= 2; i++ {
		text := "h" + strconv.Itoa(i) + " from Interlock A"
		ct, err := AG.Encrypt(ctx, self, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := sc.B.GroupDecrypt(gA, ct); err != nil || string(pt) != text {
			t.Fatalf("B ← group %q: %q, %v", text, pt, err)
		}
	}

	// Nobody re-keyed: B's session with A is one of the two it had (the
	// late messages of the first session made that one current again, on
	// both sides), and A's record holds just those two states.
	stB, err := sc.B.SessionState(aA)
	if err != nil {
		t.Fatal(err)
	}
	if k := stB.SenderBaseKey(); !bytes.Equal(k, sc.BBaseKeys[0]) && !bytes.Equal(k, sc.BBaseKeys[1]) {
		t.Fatal("B's session with A was replaced")
	}
	recA, err := st.LoadSession(ctx, addr(ScenarioB))
	if err != nil || recA.ArchivedStates() != 1 {
		t.Fatalf("A's record of B: %v archived states, %v", recA.ArchivedStates(), err)
	}
}

// dump returns the whatsmeow tables' rows, to check the source is unchanged.
func dump(t *testing.T, db *sql.DB) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, q := range []string{
		`SELECT jid, registration_id, identity_key, signed_pre_key FROM whatsmeow_device ORDER BY jid`,
		`SELECT their_id, identity, our_jid FROM whatsmeow_identity_keys ORDER BY their_id`,
		`SELECT key_id, key, uploaded, jid FROM whatsmeow_pre_keys ORDER BY key_id`,
		`SELECT their_id, session, our_jid FROM whatsmeow_sessions ORDER BY their_id`,
		`SELECT chat_id, sender_id, sender_key, our_jid FROM whatsmeow_sender_keys ORDER BY chat_id, sender_id`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%v\n", vals)
		}
		rows.Close()
	}
	return out.Bytes()
}
