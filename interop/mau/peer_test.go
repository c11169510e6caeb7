package mau_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
)

var (
	buildOnce sync.Once
	peerBin   string
	buildErr  error
	buildDir  string
)

// peerBinary builds cmd/mau-peer once per test binary run.
func peerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "mau-peer-test")
		if buildErr != nil {
			return
		}
		peerBin = filepath.Join(buildDir, "mau-peer")
		out, err := exec.Command("go", "build", "-o", peerBin, "./cmd/mau-peer").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return peerBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

type peer struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr bytes.Buffer
	nextID int
}

func startPeer(t *testing.T, name string, args ...string) *peer {
	t.Helper()
	p := &peer{t: t, name: name}
	p.cmd = exec.Command(peerBinary(t), args...)
	p.cmd.Stderr = &p.stderr
	var err error
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.out = bufio.NewReader(stdout)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.close() })
	return p
}

// close ends input and checks the process exits 0 with nothing left on
// standard output.
func (p *peer) close() {
	if p.cmd == nil {
		return
	}
	p.in.Close()
	rest, _ := io.ReadAll(p.out)
	err := p.cmd.Wait()
	p.cmd = nil
	if len(rest) != 0 {
		p.t.Errorf("%s: unexpected output after last response: %q", p.name, rest)
	}
	if err != nil {
		p.t.Errorf("%s: exit: %v\nstderr:\n%s", p.name, err, p.stderr.String())
	}
}

type response map[string]any

func (p *peer) call(op string, fields map[string]any) response {
	p.t.Helper()
	p.nextID++
	req := map[string]any{"id": p.nextID, "op": op}
	for k, v := range fields {
		req[k] = v
	}
	b, err := json.Marshal(req)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.raw(b, p.nextID)
}

func (p *peer) raw(line []byte, wantID int) response {
	p.t.Helper()
	if _, err := p.in.Write(append(line, '\n')); err != nil {
		p.t.Fatalf("%s: write: %v\nstderr:\n%s", p.name, err, p.stderr.String())
	}
	type result struct {
		line []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := p.out.ReadBytes('\n')
		ch <- result{l, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("%s: no response to %s", p.name, line)
	}
	if r.err != nil {
		p.t.Fatalf("%s: read: %v\nstderr:\n%s", p.name, r.err, p.stderr.String())
	}
	var resp response
	if err := json.Unmarshal(r.line, &resp); err != nil {
		p.t.Fatalf("%s: bad response line %q: %v", p.name, r.line, err)
	}
	if id, _ := resp["id"].(float64); int(id) != wantID {
		p.t.Fatalf("%s: response id %v, want %d", p.name, resp["id"], wantID)
	}
	return resp
}

func (p *peer) ok(op string, fields map[string]any) response {
	p.t.Helper()
	r := p.call(op, fields)
	if r["ok"] != true {
		p.t.Fatalf("%s: %s failed: %v", p.name, op, r["error"])
	}
	return r
}

func (p *peer) fail(kind, op string, fields map[string]any) {
	p.t.Helper()
	r := p.call(op, fields)
	if r["ok"] != false {
		p.t.Fatalf("%s: %s succeeded, want %s", p.name, op, kind)
	}
	e, _ := r["error"].(map[string]any)
	if e["kind"] != kind {
		p.t.Fatalf("%s: %s failed with %v, want %s", p.name, op, e, kind)
	}
}

func addr(name string) map[string]any { return map[string]any{"name": name, "device": 1} }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(t *testing.T, v any) []byte {
	t.Helper()
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64 %v", v)
	}
	return b
}

const (
	aliceName = "9d0b7ab6-8f3e-4cbb-9b0e-5a3cb1e1c001"
	bobName   = "2f1c3a54-77d2-4c1e-8d5e-0b8e6f3c9002"
)

// send encrypts on from and decrypts on to, checking the type and plaintext.
func send(t *testing.T, from, to *peer, fromName, toName, text string, wantType float64) {
	t.Helper()
	r := from.ok("encrypt", map[string]any{"address": addr(toName), "plaintext": b64([]byte(text))})
	if r["type"] != wantType {
		t.Fatalf("%s → %s: type %v, want %v", fromName, toName, r["type"], wantType)
	}
	d := to.ok("decrypt", map[string]any{"address": addr(fromName), "type": r["type"], "ciphertext": r["ciphertext"]})
	if got := string(unb64(t, d["plaintext"])); got != text {
		t.Fatalf("decrypted %q, want %q", got, text)
	}
}

func setup(t *testing.T, aliceArgs, bobArgs []string, aliceStore string) (alice, bob *peer) {
	t.Helper()
	alice = startPeer(t, "alice", aliceArgs...)
	bob = startPeer(t, "bob", bobArgs...)
	caps := alice.ok("capabilities", nil)
	if fl, _ := caps["flavours"].([]any); len(fl) != 1 || fl[0] != "whatsapp" {
		t.Fatalf("flavours %v", caps["flavours"])
	}
	// docs/peer-protocol.md#versions (issue #21 item 5).
	if caps["protocol_version"] != float64(3) {
		t.Fatalf("protocol_version %v", caps["protocol_version"])
	}
	ai := map[string]any{"name": aliceName, "device": 1, "flavour": "whatsapp"}
	if aliceStore != "" {
		ai["store"] = aliceStore
	}
	alice.ok("init", ai)
	bob.ok("init", map[string]any{"name": bobName, "device": 1, "flavour": "whatsapp", "registration_id": 4242})
	bob.fail("unsupported", "bundle", map[string]any{"kyber": true})
	bd := bob.ok("bundle", map[string]any{"kyber": false})
	bundle := bd["bundle"].(map[string]any)
	if _, ok := bundle["kyber_prekey"]; ok {
		t.Fatal("bundle has a Kyber prekey")
	}
	if bundle["registration_id"] != float64(4242) {
		t.Fatalf("registration_id %v", bundle["registration_id"])
	}
	alice.ok("process_bundle", map[string]any{"address": addr(bobName), "bundle": bundle})
	s := alice.ok("session", map[string]any{"address": addr(bobName)})
	if s["exists"] != true || s["version"] != float64(3) {
		t.Fatalf("session %v", s)
	}
	return alice, bob
}

func TestPeerConversation(t *testing.T) {
	alice, bob := setup(t, nil, nil, "")

	for i := range 5 {
		send(t, alice, bob, aliceName, bobName, fmt.Sprintf("a→b %d", i), 3)
	}
	for i := range 5 {
		send(t, bob, alice, bobName, aliceName, fmt.Sprintf("b→a %d", i), 2)
	}
	send(t, alice, bob, aliceName, bobName, "acknowledged", 2)

	// Duplicate.
	r := alice.ok("encrypt", map[string]any{"address": addr(bobName), "plaintext": b64([]byte("once"))})
	dec := map[string]any{"address": addr(aliceName), "type": r["type"], "ciphertext": r["ciphertext"]}
	bob.ok("decrypt", dec)
	bob.fail("duplicate_message", "decrypt", dec)

	// Tampered ciphertext (a byte of the AES body, before the 8-byte MAC),
	// then the untampered message still decrypts.
	r = alice.ok("encrypt", map[string]any{"address": addr(bobName), "plaintext": b64([]byte("intact"))})
	ct := unb64(t, r["ciphertext"])
	bad := bytes.Clone(ct)
	bad[len(bad)-12] ^= 0x01
	bob.fail("invalid_message", "decrypt", map[string]any{"address": addr(aliceName), "type": 2, "ciphertext": b64(bad)})
	d := bob.ok("decrypt", map[string]any{"address": addr(aliceName), "type": 2, "ciphertext": r["ciphertext"]})
	if string(unb64(t, d["plaintext"])) != "intact" {
		t.Fatal("wrong plaintext after tamper")
	}
	send(t, bob, alice, bobName, aliceName, "still talking", 2)

	// Garbage must not kill the process: short, empty, 17-byte body.
	bob.fail("invalid_message", "decrypt", map[string]any{"address": addr(aliceName), "type": 2, "ciphertext": b64([]byte{0x33, 1, 2})})
	bob.fail("invalid_message", "decrypt", map[string]any{"address": addr(aliceName), "type": 3, "ciphertext": ""})
	bob.fail("invalid_message", "decrypt", map[string]any{"address": addr(aliceName), "type": 2, "ciphertext": b64(bytes.Repeat([]byte{0xAB}, 40))})
	bob.fail("other", "decrypt", map[string]any{"address": addr(aliceName), "type": 2, "ciphertext": "not base64!"})
	line := []byte(`{"id":` + fmt.Sprint(bob.nextID+1) + `,"op":`)
	bob.nextID++
	if r := bob.raw(line, 0); r["ok"] != false {
		t.Fatal("bad JSON accepted")
	}
	bob.fail("unsupported", "sealed_encrypt", map[string]any{"address": addr(aliceName)})
	bob.fail("no_session", "encrypt", map[string]any{"address": addr("nobody"), "plaintext": ""})
	send(t, alice, bob, aliceName, bobName, "after garbage", 2)

	// Group round trip (whatsapp layout).
	const group = "4b9a5f0e-1c2d-4e3f-8a7b-6c5d4e3f2a10"
	dm := alice.ok("group_distribution", map[string]any{"distribution_id": group})
	bob.ok("group_process", map[string]any{"address": addr(aliceName), "message": dm["message"]})
	var cts []any
	for i := range 3 {
		g := alice.ok("group_encrypt", map[string]any{"distribution_id": group, "plaintext": b64([]byte(fmt.Sprint("group ", i)))})
		cts = append(cts, g["ciphertext"])
	}
	for _, i := range []int{1, 0, 2} {
		g := bob.ok("group_decrypt", map[string]any{"address": addr(aliceName), "ciphertext": cts[i]})
		if got := string(unb64(t, g["plaintext"])); got != fmt.Sprint("group ", i) {
			t.Fatalf("group plaintext %q", got)
		}
	}
	bob.fail("duplicate_message", "group_decrypt", map[string]any{"address": addr(aliceName), "ciphertext": cts[0]})
	gbad := unb64(t, cts[2])
	gbad[5] ^= 0x80
	bob.fail("invalid_message", "group_decrypt", map[string]any{"address": addr(aliceName), "ciphertext": b64(gbad)})
	bob.fail("no_session", "group_decrypt", map[string]any{"address": addr(bobName), "ciphertext": cts[2]})
}

func TestPeerRestart(t *testing.T) {
	store := filepath.Join(t.TempDir(), "alice.json")
	alice, bob := setup(t, nil, nil, store)
	send(t, alice, bob, aliceName, bobName, "one", 3)
	send(t, bob, alice, bobName, aliceName, "two", 2)
	alice.ok("restart", nil)
	bob.ok("restart", nil) // in memory: round trip through the serialized form
	send(t, alice, bob, aliceName, bobName, "three", 2)
	send(t, bob, alice, bobName, aliceName, "four", 2)

	// A new process on the same store carries on.
	alice.close()
	alice2 := startPeer(t, "alice2")
	alice2.ok("init", map[string]any{"name": aliceName, "device": 1, "store": store, "flavour": "whatsapp"})
	send(t, alice2, bob, aliceName, bobName, "five", 2)
	send(t, bob, alice2, bobName, aliceName, "six", 2)
}

// breakInnerMAC flips the last MAC byte of the SignalMessage inside a
// PreKeySignalMessage.
func breakInnerMAC(t *testing.T, ct []byte) []byte {
	t.Helper()
	ser := serialize.NewProtoBufSerializer()
	pm, err := protocol.NewPreKeySignalMessageFromBytes(ct, ser.PreKeySignalMessage, ser.SignalMessage)
	if err != nil {
		t.Fatal(err)
	}
	inner := pm.WhisperMessage().Serialize()
	at := bytes.Index(ct, inner)
	if at < 0 {
		t.Fatal("inner message not found")
	}
	out := bytes.Clone(ct)
	out[at+len(inner)-1] ^= 1
	return out
}

// A forged PreKeySignalMessage claiming Alice's address, whose inner MAC
// fails, makes go.mau.fi pin the forger's identity; with -atomic the peer
// rolls that back and Alice's genuine message is accepted.
func TestPeerForgedPreKeyMessage(t *testing.T) {
	for _, atomic := range []bool{false, true} {
		t.Run(fmt.Sprint("atomic=", atomic), func(t *testing.T) {
			var args []string
			if atomic {
				args = []string{"-atomic"}
			}
			alice, bob := setup(t, nil, args, "")
			eve := startPeer(t, "eve")
			eve.ok("init", map[string]any{"name": aliceName, "device": 1, "flavour": "whatsapp"})
			bd := bob.ok("bundle", map[string]any{"kyber": false})
			eve.ok("process_bundle", map[string]any{"address": addr(bobName), "bundle": bd["bundle"]})
			f := eve.ok("encrypt", map[string]any{"address": addr(bobName), "plaintext": b64([]byte("forged"))})
			forged := breakInnerMAC(t, unb64(t, f["ciphertext"]))
			bob.fail("invalid_message", "decrypt", map[string]any{"address": addr(aliceName), "type": 3, "ciphertext": b64(forged)})
			g := alice.ok("encrypt", map[string]any{"address": addr(bobName), "plaintext": b64([]byte("genuine"))})
			dec := map[string]any{"address": addr(aliceName), "type": g["type"], "ciphertext": g["ciphertext"]}
			if atomic {
				bob.ok("decrypt", dec)
			} else {
				bob.fail("untrusted_identity", "decrypt", dec)
			}
		})
	}
}

func TestPeerErrorKinds(t *testing.T) {
	alice := startPeer(t, "alice")
	bob := startPeer(t, "bob")
	alice.ok("init", map[string]any{"name": aliceName, "device": 1, "flavour": "whatsapp"})
	bob.ok("init", map[string]any{"name": bobName, "device": 1, "flavour": "whatsapp"})
	bundle := bob.ok("bundle", map[string]any{"kyber": false, "one_time": true})["bundle"].(map[string]any)

	// Kyber fields are ignored; a bad signature is not.
	withKyber := map[string]any{}
	for k, v := range bundle {
		withKyber[k] = v
	}
	withKyber["kyber_prekey_id"] = 5
	withKyber["kyber_prekey"] = b64(append([]byte{8}, make([]byte, 1568)...))
	withKyber["kyber_prekey_signature"] = b64(make([]byte, 64))
	badSig := map[string]any{}
	for k, v := range bundle {
		badSig[k] = v
	}
	sig := unb64(t, bundle["signed_prekey_signature"])
	sig[0] ^= 1
	badSig["signed_prekey_signature"] = b64(sig)
	alice.fail("invalid_signature", "process_bundle", map[string]any{"address": addr(bobName), "bundle": badSig})
	shortKey := map[string]any{}
	for k, v := range bundle {
		shortKey[k] = v
	}
	shortKey["signed_prekey"] = b64([]byte{5, 1, 2})
	alice.fail("invalid_key", "process_bundle", map[string]any{"address": addr(bobName), "bundle": shortKey})
	alice.ok("process_bundle", map[string]any{"address": addr(bobName), "bundle": withKyber})
	if s := alice.ok("session", map[string]any{"address": addr(bobName)}); s["version"] != float64(3) {
		t.Fatalf("session %v", s)
	}

	// Replayed PreKeySignalMessage.
	first := alice.ok("encrypt", map[string]any{"address": addr(bobName), "plaintext": b64([]byte("first"))})
	dec := map[string]any{"address": addr(aliceName), "type": 3, "ciphertext": first["ciphertext"]}
	bob.ok("decrypt", dec)
	bob.fail("duplicate_message", "decrypt", dec)

	// A second initiator using the same (now consumed) one-time prekey.
	carol := startPeer(t, "carol")
	const carolName = "c4a1d7e2-0000-4000-8000-000000000003"
	carol.ok("init", map[string]any{"name": carolName, "device": 1, "flavour": "whatsapp"})
	carol.ok("process_bundle", map[string]any{"address": addr(bobName), "bundle": bundle})
	c := carol.ok("encrypt", map[string]any{"address": addr(bobName), "plaintext": b64([]byte("late"))})
	bob.fail("invalid_prekey", "decrypt", map[string]any{"address": addr(carolName), "type": 3, "ciphertext": c["ciphertext"]})

	// Forward jump beyond 2,000.
	send(t, bob, alice, bobName, aliceName, "reply", 2)
	var cts []any
	for i := range 2002 {
		r := alice.ok("encrypt", map[string]any{"address": addr(bobName), "plaintext": b64([]byte(fmt.Sprint(i)))})
		cts = append(cts, r["ciphertext"])
	}
	bob.fail("too_far", "decrypt", map[string]any{"address": addr(aliceName), "type": 2, "ciphertext": cts[2001]})
	bob.ok("decrypt", map[string]any{"address": addr(aliceName), "type": 2, "ciphertext": cts[2000]})
	bob.ok("decrypt", map[string]any{"address": addr(aliceName), "type": 2, "ciphertext": cts[0]})

	// Identity change.
	other := unb64(t, bundle["identity_key"])
	other[5] ^= 1
	alice.ok("trust", map[string]any{"address": addr(bobName), "identity_key": b64(other)})
	alice.fail("untrusted_identity", "encrypt", map[string]any{"address": addr(bobName), "plaintext": ""})
	alice.ok("trust", map[string]any{"address": addr(bobName), "identity_key": bundle["identity_key"]})
	send(t, alice, bob, aliceName, bobName, "trusted again", 2)
}
