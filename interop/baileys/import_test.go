package baileys

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
)

// peer is peer.mjs, spoken to one JSON line at a time.
type peer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startPeer(t *testing.T) *peer {
	t.Helper()
	_, errNode := exec.LookPath("node")
	_, errMods := os.Stat(filepath.Join("node_modules", "baileys", "lib", "Signal", "libsignal.js"))
	if errNode != nil || errMods != nil {
		msg := fmt.Sprintf("the Baileys peer cannot run (node: %v; npm baileys: %v): run make peers", errNode, errMods)
		if os.Getenv("CI") != "" || os.Getenv("INTERLOCK_REQUIRE_PEERS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	cmd := exec.Command("node", "peer.mjs")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	return &peer{cmd: cmd, in: in, out: sc}
}

func (p *peer) call(t *testing.T, req map[string]any, resp any) {
	t.Helper()
	b, _ := json.Marshal(req)
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	if !p.out.Scan() {
		t.Fatalf("peer.mjs: no answer to %s: %v", req["op"], p.out.Err())
	}
	var status struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	line := p.out.Bytes()
	if err := json.Unmarshal(line, &status); err != nil || !status.OK {
		t.Fatalf("peer.mjs %s: %s %v", req["op"], status.Error, err)
	}
	if resp != nil {
		if err := json.Unmarshal(line, resp); err != nil {
			t.Fatal(err)
		}
	}
}

type message struct {
	From  string `json:"from"`
	Group string `json:"group"`
	Type  int    `json:"type"`
	CT    string `json:"ct"`
	PT    string `json:"pt"`
}

func (m message) bytes(t *testing.T) []byte {
	b, err := base64.StdEncoding.DecodeString(m.CT)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nodeType maps libsignal-node's message types (1 WhisperMessage, 3
// PreKeyWhisperMessage) to Interlock's.
func nodeType(t int) session.MessageType {
	if t == 3 {
		return session.TypePreKey
	}
	return session.TypeSignal
}

// dirDigest is every file of dir with its contents.
func dirDigest(t *testing.T, dir string) string {
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		fmt.Fprintf(&sb, "%s %x\n", d.Name(), b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// TestIssue15BaileysContinuation: issue #15, the live proof for Baileys. A
// Baileys client A (Baileys 7.0.0-rc14's signal repository — libsignal-node,
// npm libsignal 6.0.0, and Baileys' group cipher — over useMultiFileAuthState;
// peer.mjs) talks with Baileys clients B, C and D and is left in a hard
// state — messages of B's two ratchet chains read out of order (skipped keys
// pending, on a chain libsignal-node has closed too), a message of D on the
// session archived when D re-keyed, a group sender key of
// B mid-chain with messages pending, A's own group sender key in use, and a
// session A started with C whose PreKeyWhisperMessages C never received.
// The auth directory is imported with importer.ImportBaileys; Interlock then
// continues every conversation with the same live peers: the pending
// messages decrypt, new messages flow both ways, the group continues both
// ways, nobody re-keys, and the directory is left unchanged.
func TestIssue15BaileysContinuation(t *testing.T) {
	ctx := context.Background()
	p := startPeer(t)
	tmp := t.TempDir()
	auth := filepath.Join(tmp, "auth_info_baileys")
	var sc struct {
		Me         string    `json:"me"`
		Group      string    `json:"group"`
		Pending    []message `json:"pending"`
		Unanswered []message `json:"unanswered"`
		AddrB      string    `json:"addrB"`
		AddrC      string    `json:"addrC"`
		AddrD      string    `json:"addrD"`
	}
	p.call(t, map[string]any{"op": "setup", "dir": auth, "peers": filepath.Join(tmp, "peers")}, &sc)
	before := dirDigest(t, auth)

	dst, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "interlock.db"), sqlstore.WithIdentityScope(session.PerDevice))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	rep, err := importer.ImportBaileys(ctx, auth, dst, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if dirDigest(t, auth) != before {
		t.Fatal("the import changed the auth directory")
	}
	a := rep.Accounts[0]
	t.Logf("report: %+v", a)
	if a.Account != sc.Me || a.Sessions != 3 || a.SenderKeys != 2 || a.PreKeys != 3 || a.PreKeysNotUploaded != 2 || a.Identities != 3 ||
		len(a.Skipped) != 0 || a.DroppedSkippedKeys != 0 || len(a.Ignored) != 5 {
		t.Fatalf("report %+v", a)
	}
	st, err := dst.Account(ctx, sc.Me)
	if err != nil {
		t.Fatal(err)
	}
	A := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
	AG := group.NewCipher(st, group.WithLayout(group.LayoutWhatsApp))
	addrB, _ := importer.BaileysAddress(sc.AddrB)
	addrC, _ := importer.BaileysAddress(sc.AddrC)
	addrD, _ := importer.BaileysAddress(sc.AddrD)
	gB := group.SenderKeyName{Sender: addrB.Name, DeviceID: addrB.DeviceID, DistributionID: sc.Group}
	gA := group.SenderKeyName{Sender: "15550001111", DeviceID: 7, DistributionID: sc.Group}

	// Every message in flight decrypts (in reverse order, for good measure).
	for i := len(sc.Pending) - 1; i >= 0; i-- {
		m := sc.Pending[i]
		var pt []byte
		if m.Group != "" {
			pt, err = AG.Decrypt(ctx, gB, m.bytes(t))
		} else {
			addr := addrB
			if m.From == "D" {
				addr = addrD // on the state archived when D re-keyed
			}
			pt, err = A.Decrypt(ctx, addr, nodeType(m.Type), m.bytes(t))
		}
		if err != nil || string(pt) != m.PT {
			t.Fatalf("pending %q: %q, %v", m.PT, pt, err)
		}
	}

	toPeer := func(name string, addr session.Address, text string, want session.MessageType) {
		t.Helper()
		typ, ct, err := A.Encrypt(ctx, addr, []byte(text))
		if err != nil || typ != want {
			t.Fatalf("Interlock A → %s: type %d (want %d), %v", name, typ, want, err)
		}
		var r struct{ PT string }
		p.call(t, map[string]any{"op": "decrypt", "peer": name, "type": int(typ), "ct": base64.StdEncoding.EncodeToString(ct)}, &r)
		if r.PT != text {
			t.Fatalf("%s ← Interlock A: %q, want %q", name, r.PT, text)
		}
	}
	fromPeer := func(name string, addr session.Address, text string) {
		t.Helper()
		var r struct {
			Type int
			CT   string
		}
		p.call(t, map[string]any{"op": "encrypt", "peer": name, "pt": text}, &r)
		if r.Type != 1 {
			t.Fatalf("%s re-keyed: message type %d", name, r.Type)
		}
		ct, _ := base64.StdEncoding.DecodeString(r.CT)
		pt, err := A.Decrypt(ctx, addr, session.TypeSignal, ct)
		if err != nil || string(pt) != text {
			t.Fatalf("Interlock A ← %s %q: %q, %v", name, text, pt, err)
		}
	}
	for i := range 3 {
		toPeer("B", addrB, fmt.Sprintf("Interlock A to B %d", i), session.TypeSignal)
		fromPeer("B", addrB, fmt.Sprintf("B to Interlock A %d", i))
	}
	// D: the session after D's re-key goes on.
	fromPeer("D", addrD, "D after the import")
	toPeer("D", addrD, "Interlock A to D", session.TypeSignal)
	// C: the unanswered session goes on with PreKeySignalMessages; C then
	// reads what Baileys sent before the import, answers, and the session
	// is acknowledged.
	toPeer("C", addrC, "c3: from Interlock, still unanswered", session.TypePreKey)
	for _, m := range sc.Unanswered {
		var r struct{ PT string }
		p.call(t, map[string]any{"op": "decrypt", "peer": "C", "type": m.Type, "ct": m.CT}, &r)
		if r.PT != m.PT {
			t.Fatalf("C ← A (Baileys, before the import): %q, want %q", r.PT, m.PT)
		}
	}
	fromPeer("C", addrC, "C answers")
	toPeer("C", addrC, "c4: acknowledged", session.TypeSignal)

	// The group continues both ways: B's chain at A, A's own chain at B.
	var g struct{ CT string }
	p.call(t, map[string]any{"op": "groupEncrypt", "pt": "g5 from B"}, &g)
	ct, _ := base64.StdEncoding.DecodeString(g.CT)
	if pt, err := AG.Decrypt(ctx, gB, ct); err != nil || string(pt) != "g5 from B" {
		t.Fatalf("group ← B: %q, %v", pt, err)
	}
	for i := 3; i <= 4; i++ {
		text := fmt.Sprintf("ga%d from Interlock A", i)
		ct, err := AG.Encrypt(ctx, gA, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ PT string }
		p.call(t, map[string]any{"op": "groupDecrypt", "ct": base64.StdEncoding.EncodeToString(ct)}, &r)
		if r.PT != text {
			t.Fatalf("B ← group (Interlock A): %q", r.PT)
		}
	}
	// A replayed pending message no longer decrypts (its key was used once).
	if _, err := A.Decrypt(ctx, addrB, session.TypeSignal, sc.Pending[0].bytes(t)); err == nil {
		t.Fatal("a pending message decrypted twice")
	}
}
