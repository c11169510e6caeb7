package signalmeow

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/conformance/live"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/importer/signalmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
	_ "modernc.org/sqlite"
)

// Service IDs of the parties: the signalmeow account's ACI and PNI, and
// the live peers B and C.
const (
	aciUUID = "5c0a1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
	pniUUID = "6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4"
	bUUID   = "7e2c3f40-5162-4c7d-ae8f-90a1b2c3d4e5"
	cUUID   = "8f3d4051-6273-4d8e-bf90-a1b2c3d4e5f6"
	dist    = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
)

// peerJS finds interop/libsignal/peer.js with its node_modules; without
// them the test fails under CI (or INTERLOCK_REQUIRE_PEERS) and is skipped
// otherwise.
func peerJS(t *testing.T) string {
	t.Helper()
	p, _ := filepath.Abs("../libsignal/peer.js")
	_, errNode := exec.LookPath("node")
	_, errMods := os.Stat("../libsignal/node_modules/libsignal-client-0.103/package.json")
	if errNode != nil || errMods != nil {
		msg := "the libsignal peer needs node and interop/libsignal/node_modules (make peers)"
		if os.Getenv("CI") != "" || os.Getenv("INTERLOCK_REQUIRE_PEERS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

type peer struct {
	t    *testing.T
	p    *live.Peer
	name string
}

func start(t *testing.T, js, lib, name, store string) *peer {
	t.Helper()
	p, err := live.Start(live.Spec{Argv: []string{"node", js, "--lib", lib}}, name+"(libsignal-"+lib+")")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	f := map[string]any{"name": name, "device": 1}
	if store != "" {
		f["store"] = store
	}
	pp := &peer{t: t, p: p, name: name}
	pp.call("init", f, nil)
	return pp
}

func (p *peer) call(op string, f map[string]any, out any) {
	p.t.Helper()
	if err := p.p.Call(op, f, out); err != nil {
		p.t.Fatalf("%s %s: %v", p.p.Label, op, err)
	}
}

func addr(name string) map[string]any { return map[string]any{"name": name, "device": 1} }

func (p *peer) bundle() json.RawMessage {
	var r struct{ Bundle json.RawMessage }
	p.call("bundle", map[string]any{}, &r)
	return r.Bundle
}

func (p *peer) process(to string, b json.RawMessage) {
	p.call("process_bundle", map[string]any{"address": addr(to), "bundle": b}, nil)
}

func (p *peer) encrypt(to, text string) (int, []byte) {
	var r struct {
		Type       int
		Ciphertext []byte
	}
	p.call("encrypt", map[string]any{"address": addr(to), "plaintext": []byte(text)}, &r)
	return r.Type, r.Ciphertext
}

func (p *peer) decrypt(from string, typ int, ct []byte) string {
	p.t.Helper()
	var r struct{ Plaintext []byte }
	p.call("decrypt", map[string]any{"address": addr(from), "type": typ, "ciphertext": ct}, &r)
	return string(r.Plaintext)
}

// send delivers one message from p to q and checks its type.
func send(t *testing.T, p, q *peer, text string, wantType int) {
	t.Helper()
	typ, ct := p.encrypt(q.name, text)
	if typ != wantType {
		t.Fatalf("%s → %s: type %d, want %d", p.name, q.name, typ, wantType)
	}
	if got := q.decrypt(p.name, typ, ct); got != text {
		t.Fatalf("%s ← %s: %q, want %q", q.name, p.name, got, text)
	}
}

func (p *peer) groupDistribution() []byte {
	var r struct{ Message []byte }
	p.call("group_distribution", map[string]any{"distribution_id": dist}, &r)
	return r.Message
}

func (p *peer) groupProcess(from string, m []byte) {
	p.call("group_process", map[string]any{"address": addr(from), "message": m}, nil)
}

func (p *peer) groupEncrypt(text string) []byte {
	var r struct{ Ciphertext []byte }
	p.call("group_encrypt", map[string]any{"distribution_id": dist, "plaintext": []byte(text)}, &r)
	return r.Ciphertext
}

func (p *peer) groupDecrypt(from string, ct []byte) string {
	p.t.Helper()
	var r struct{ Plaintext []byte }
	p.call("group_decrypt", map[string]any{"address": addr(from), "ciphertext": ct}, &r)
	return string(r.Plaintext)
}

// TestIssue15SignalmeowContinuation: issue #15, the live proof for
// signalmeow, with libsignal 0.90 and 0.103.
func TestIssue15SignalmeowContinuation(t *testing.T) {
	js := peerJS(t)
	for _, lib := range []string{"0.90", "0.103"} {
		t.Run(lib, func(t *testing.T) { continuation(t, js, lib) })
	}
}

func continuation(t *testing.T, js, lib string) {
	ctx := context.Background()
	t0 := time.Now()
	dir := t.TempDir()
	aciName, pniName := aciUUID, "PNI:"+pniUUID
	A := start(t, js, lib, aciName, filepath.Join(dir, "aci.json"))
	P := start(t, js, lib, pniName, filepath.Join(dir, "pni.json"))
	B := start(t, js, lib, bUUID, "")
	C := start(t, js, lib, cUUID, "")
	var pending []signalmeowtest.Pending
	hold := func(to string, from *peer, typ int, text string, ct []byte) {
		pending = append(pending, signalmeowtest.Pending{To: to, From: from.name, Device: 1, Type: typ, Plaintext: []byte(text), Ciphertext: ct})
	}

	// A and B talk; B's first session's last message is still in flight
	// when B re-keys (A's state of it is then archived).
	A.process(bUUID, B.bundle())
	send(t, A, B, "a1", 3)
	for i := range 3 {
		send(t, B, A, fmt.Sprintf("b%d", i), 2)
		send(t, A, B, fmt.Sprintf("a%d", i+2), 2)
	}
	typ, ct := B.encrypt(aciName, "late, from B's first session")
	hold("aci", B, typ, "late, from B's first session", ct)
	B.process(aciName, A.bundle())
	send(t, B, A, "B re-keyed", 3)
	send(t, A, B, "A answers the new session", 2)
	for i := range 2 {
		send(t, B, A, fmt.Sprintf("b-new%d", i), 2)
		send(t, A, B, fmt.Sprintf("a-new%d", i), 2)
	}
	// Out of order: A reads B's third message; the first two are pending
	// (skipped keys in A's record). With 0.103 the SPQR state is mid-epoch.
	var later [3][]byte
	for i := range later {
		typ, later[i] = B.encrypt(aciName, fmt.Sprintf("out of order %d", i))
		if typ != 2 {
			t.Fatalf("B → A type %d", typ)
		}
	}
	if got := A.decrypt(bUUID, 2, later[2]); got != "out of order 2" {
		t.Fatal(got)
	}
	hold("aci", B, 2, "out of order 0", later[0])
	hold("aci", B, 2, "out of order 1", later[1])

	// The group: B's sender key mid-chain with one message skipped; A's own
	// sender key has sent once.
	A.groupProcess(bUUID, B.groupDistribution())
	B.groupProcess(aciName, A.groupDistribution())
	g := [3][]byte{B.groupEncrypt("g0"), B.groupEncrypt("g1"), B.groupEncrypt("g2")}
	if A.groupDecrypt(bUUID, g[0]) != "g0" || A.groupDecrypt(bUUID, g[2]) != "g2" {
		t.Fatal("group")
	}
	hold("aci", B, 7, "g1", g[1])
	if got := B.groupDecrypt(aciName, A.groupEncrypt("ga0")); got != "ga0" {
		t.Fatal(got)
	}

	// An unanswered PreKeySignalMessage from A to C, still in flight.
	A.process(cUUID, C.bundle())
	cTyp, c1 := A.encrypt(cUUID, "c1, unanswered")
	if cTyp != 3 {
		t.Fatalf("A → C type %d", cTyp)
	}
	// B writes to A's PNI: a PreKeySignalMessage on the PNI's prekeys, in flight.
	B.process(pniName, P.bundle())
	typ, ct = B.encrypt(pniName, "to the PNI")
	hold("pni", B, typ, "to the PNI", ct)
	// A uploads a fresh set (its Kyber prekey kept as last resort).
	var fresh struct {
		KyberPrekeyID uint32 `json:"kyber_prekey_id"`
	}
	if err := json.Unmarshal(A.bundle(), &fresh); err != nil {
		t.Fatal(err)
	}
	A.p.Close()
	P.p.Close()

	// The source side's store, as signalmeow keeps it.
	aciStore, err := signalmeowtest.ReadPeerStore(filepath.Join(dir, "aci.json"))
	if err != nil {
		t.Fatal(err)
	}
	pniStore, err := signalmeowtest.ReadPeerStore(filepath.Join(dir, "pni.json"))
	if err != nil {
		t.Fatal(err)
	}
	v := &signalmeowtest.Vector{
		Source:    "@signalapp/libsignal-client " + aciStore.Lib + " (interop/libsignal/peer.js)",
		Generator: "interop/signalmeow (INTERLOCK_SIGNALMEOW_VECTOR_DIR=$PWD/testdata/vectors, go test -run TestIssue15SignalmeowContinuation)",
		Comment: "A signalmeow device as libsignal left it: the ACI's and the PNI's store (peer store format) in a hard state " +
			"(an archived state, skipped message keys, SPQR mid-epoch, a skipped group message, an unanswered session) " +
			"and the messages in flight to them; store/importer/signalmeowtest writes it into signalmeow's tables (issue #15)",
		Lib: lib, ACI: aciStore, PNI: pniStore, LastResort: []uint32{fresh.KyberPrekeyID}, Distribution: dist, Pending: pending}
	if out := os.Getenv("INTERLOCK_SIGNALMEOW_VECTOR_DIR"); out != "" {
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(filepath.Join(out, "signalmeow-"+lib+".json"), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := sql.Open("sqlite", filepath.Join(dir, "signalmeow.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	signalmeowtest.Fill(t, src, v)
	dst, err := sqlstore.Open(ctx, filepath.Join(dir, "interlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	rep, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Accounts) != 2 {
		t.Fatalf("report %+v", rep)
	}
	ra, rp := rep.Accounts[0], rep.Accounts[1]
	t.Logf("ACI %+v", ra)
	t.Logf("PNI %+v", rp)
	if ra.ServiceID != aciName || ra.Sessions != 2 || ra.SenderKeys != 2 || ra.LastResortKyberPreKeys != 1 ||
		rp.ServiceID != pniName || rp.Sessions != 0 || rp.PreKeys != 1 || rp.KyberPreKeys != 1 {
		t.Fatalf("report ACI %+v PNI %+v", ra, rp)
	}
	stA, err := dst.Account(ctx, aciName)
	if err != nil {
		t.Fatal(err)
	}
	stP, err := dst.Account(ctx, pniName)
	if err != nil {
		t.Fatal(err)
	}
	IA, IP := session.NewCipher(stA), session.NewCipher(stP)
	IG := group.NewCipher(stA)
	ia := func(name string) session.Address { return session.Address{Name: name, DeviceID: 1} }
	gname := func(name string) group.SenderKeyName {
		return group.SenderKeyName{Sender: name, DeviceID: 1, DistributionID: dist}
	}

	// The hard state survived the import: B's session has an archived
	// state, and the triple ratchet (SPQR) runs, mid-epoch after a few
	// messages.
	recB, err := stA.LoadSession(ctx, ia(bUUID))
	if err != nil || recB == nil || recB.Current() == nil {
		t.Fatalf("session of B: %v", err)
	}
	spqrOn, _ := recB.Current().SPQR()
	t.Logf("session of B: version %d, %d archived state(s), SPQR %v", recB.Current().Version(), recB.ArchivedStates(), spqrOn)
	if recB.ArchivedStates() < 1 || !spqrOn {
		t.Fatalf("imported session of B: %d archived, SPQR %v", recB.ArchivedStates(), spqrOn)
	}

	// Every message in flight decrypts.
	for _, p := range pending {
		var pt []byte
		switch {
		case p.Type == 7:
			pt, err = IG.Decrypt(ctx, gname(p.From), p.Ciphertext)
		case p.To == "pni":
			pt, err = IP.Decrypt(ctx, ia(p.From), session.MessageType(p.Type), p.Ciphertext)
		default:
			pt, err = IA.Decrypt(ctx, ia(p.From), session.MessageType(p.Type), p.Ciphertext)
		}
		if err != nil || !bytes.Equal(pt, p.Plaintext) {
			t.Fatalf("pending %q: %q, %v", p.Plaintext, pt, err)
		}
	}
	// New messages both ways; nobody re-keys.
	toPeer := func(c *session.Cipher, q *peer, from, text string, want session.MessageType) {
		t.Helper()
		typ, ct, err := c.Encrypt(ctx, ia(q.name), []byte(text))
		if err != nil || typ != want {
			t.Fatalf("Interlock → %s: type %d, %v", q.name, typ, err)
		}
		if got := q.decrypt(from, int(typ), ct); got != text {
			t.Fatalf("%s ← Interlock: %q", q.name, got)
		}
	}
	fromPeer := func(c *session.Cipher, q *peer, to, text string) {
		t.Helper()
		typ, ct := q.encrypt(to, text)
		if typ != 2 {
			t.Fatalf("%s re-keyed: message type %d", q.name, typ)
		}
		pt, err := c.Decrypt(ctx, ia(q.name), session.TypeSignal, ct)
		if err != nil || string(pt) != text {
			t.Fatalf("Interlock ← %s %q: %q, %v", q.name, text, pt, err)
		}
	}
	for i := range 4 {
		toPeer(IA, B, aciName, fmt.Sprintf("Interlock to B %d", i), session.TypeSignal)
		fromPeer(IA, B, aciName, fmt.Sprintf("B to Interlock %d", i))
	}
	toPeer(IP, B, pniName, "the PNI answers", session.TypeSignal)
	fromPeer(IP, B, pniName, "B to the PNI again")
	// C: the session is still unanswered, so Interlock still sends
	// PreKeySignalMessages; C reads libsignal's and Interlock's, answers.
	toPeer(IA, C, aciName, "c2, still unanswered", session.TypePreKey)
	if got := C.decrypt(aciName, 3, c1); got != "c1, unanswered" {
		t.Fatalf("C ← A c1: %q", got)
	}
	fromPeer(IA, C, aciName, "C answers")
	toPeer(IA, C, aciName, "c3, acknowledged", session.TypeSignal)
	// The group continues both ways, with the same chains.
	if pt, err := IG.Decrypt(ctx, gname(bUUID), B.groupEncrypt("g3 from B")); err != nil || string(pt) != "g3 from B" {
		t.Fatalf("group from B: %q, %v", pt, err)
	}
	gct, err := IG.Encrypt(ctx, gname(aciName), []byte("ga1 from Interlock"))
	if err != nil {
		t.Fatal(err)
	}
	if got := B.groupDecrypt(aciName, gct); got != "ga1 from Interlock" {
		t.Fatalf("B ← Interlock group: %q", got)
	}

	// The reverse: Interlock's state exported in libsignal's forms and
	// loaded into a libsignal peer continues with B and C.
	exp, err := importer.ExportLibsignal(ctx, stA, []session.Address{ia(bUUID), ia(cUUID)}, []group.SenderKeyName{gname(bUUID), gname(aciName)})
	if err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(dir, "back.json")
	writePeerStore(t, back, lib, aciName, exp)
	A2 := start(t, js, lib, aciName, back)
	for i := range 2 {
		send(t, A2, B, fmt.Sprintf("libsignal again to B %d", i), 2)
		send(t, B, A2, fmt.Sprintf("B to libsignal again %d", i), 2)
	}
	send(t, A2, C, "libsignal again to C", 2)
	send(t, C, A2, "C to libsignal again", 2)
	if got := A2.groupDecrypt(bUUID, B.groupEncrypt("g4 from B")); got != "g4 from B" {
		t.Fatal(got)
	}
	if got := B.groupDecrypt(aciName, A2.groupEncrypt("ga2 from libsignal again")); got != "ga2 from libsignal again" {
		t.Fatal(got)
	}
	t.Logf("libsignal %s: %d messages in flight decrypted after the import; %v", lib, len(pending), time.Since(t0).Round(time.Millisecond))
}

// writePeerStore writes an export as the libsignal peer's store file.
func writePeerStore(t *testing.T, path, lib, name string, s *importer.LibsignalState) {
	t.Helper()
	ids := func(m map[uint32][]byte) map[string][]byte {
		out := map[string][]byte{}
		for k, v := range m {
			out[strconv.FormatUint(uint64(k), 10)] = v
		}
		return out
	}
	ps := signalmeowtest.PeerStore{
		Format: "interlock-libsignal-peer-store/1", Lib: lib, Name: name, Device: 1,
		RegistrationID: s.RegistrationID, IdentityKeyPair: s.IdentityKeyPair,
		Sessions: map[string][]byte{}, Identities: map[string][]byte{}, SenderKeys: map[string][]byte{},
		PreKeys: ids(s.PreKeys), SignedPreKeys: ids(s.SignedPreKeys), KyberPreKeys: ids(s.KyberPreKeys),
		Server: json.RawMessage("null"), NextIDs: json.RawMessage(`{"prekey":1000,"signed":1000,"kyber":1000}`),
	}
	for a, b := range s.Sessions {
		ps.Sessions[fmt.Sprintf("%s.%d", a.Name, a.DeviceID)] = b
	}
	for a, b := range s.Identities {
		ps.Identities[a.Name] = b
	}
	for n, b := range s.SenderKeys {
		ps.SenderKeys[fmt.Sprintf("%s.%d/%s", n.Sender, n.DeviceID, n.DistributionID)] = b
	}
	b, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
