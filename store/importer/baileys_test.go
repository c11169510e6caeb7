package importer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// The recorded Baileys auth directory (testdata/baileys) and what was in
// flight when it was written (testdata/baileys-scenario.json), both written
// by Baileys 7.0.0-rc14 (interop/baileys/peer.mjs; after make peers, from the
// repository root):
//
//	echo '{"op":"setup","dir":"'$PWD'/store/importer/testdata/baileys","peers":"'$(mktemp -d)'"}' |
//	    (cd interop/baileys && node peer.mjs) > store/importer/testdata/baileys-scenario.json
const baileysDir = "testdata/baileys"

type baileysScenario struct {
	Me      string `json:"me"`
	Group   string `json:"group"`
	AddrB   string `json:"addrB"`
	AddrC   string `json:"addrC"`
	AddrD   string `json:"addrD"`
	Pending []struct {
		From  string `json:"from"`
		Group string `json:"group"`
		Type  int    `json:"type"`
		CT    string `json:"ct"`
		PT    string `json:"pt"`
	} `json:"pending"`
}

func loadBaileysScenario(t *testing.T) *baileysScenario {
	b, err := os.ReadFile("testdata/baileys-scenario.json")
	if err != nil {
		t.Fatal(err)
	}
	var sc baileysScenario
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	return &sc
}

// copyBaileys copies the recorded directory, so that a test may damage it.
func copyBaileys(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "auth")
	if err := os.CopyFS(dir, os.DirFS(baileysDir)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestIssue15ImportBaileysRecorded: issue #15 item 2 for Baileys. The
// recorded auth directory is imported (a dry run first writes nothing);
// Interlock then decrypts every message in flight — on B's current chain,
// on the chain libsignal-node had closed, on D's archived session, and B's
// group messages — and
// the session Baileys started with C still sends PreKeySignalMessages.
func TestIssue15ImportBaileysRecorded(t *testing.T) {
	ctx := context.Background()
	sc := loadBaileysScenario(t)
	dst := openDest(t)
	rep, err := importer.ImportBaileys(ctx, baileysDir, dst, importer.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Account(ctx, sc.Me); !errors.Is(err, sqlstore.ErrNoAccount) || !rep.DryRun {
		t.Fatalf("dry run wrote an account: %v", err)
	}
	rep, err = importer.ImportBaileys(ctx, baileysDir, dst, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Accounts[0]
	if a.Account != sc.Me || a.Sessions != 3 || a.SenderKeys != 2 || a.PreKeys != 3 || a.PreKeysNotUploaded != 2 ||
		a.Identities != 3 || a.IdentitiesFromSessions != 1 || len(a.Ignored) != 5 || len(a.Skipped) != 0 {
		t.Fatalf("report %+v", a)
	}
	st, err := dst.Account(ctx, sc.Me)
	if err != nil {
		t.Fatal(err)
	}
	if pk, err := st.LoadPreKey(ctx, 4); err != nil || pk.ID != 4 {
		t.Fatalf("prekey 4: %v", err)
	}
	A := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
	AG := group.NewCipher(st, group.WithLayout(group.LayoutWhatsApp))
	addrB, _ := importer.BaileysAddress(sc.AddrB)
	addrC, _ := importer.BaileysAddress(sc.AddrC)
	addrD, _ := importer.BaileysAddress(sc.AddrD)
	if addrC.Name != "987654321012345_1" || addrC.DeviceID != 3 {
		t.Fatalf("LID address %+v", addrC)
	}
	for _, m := range sc.Pending {
		ct, _ := base64.StdEncoding.DecodeString(m.CT)
		var pt []byte
		if m.Group != "" {
			pt, err = AG.Decrypt(ctx, group.SenderKeyName{Sender: addrB.Name, DeviceID: addrB.DeviceID, DistributionID: m.Group}, ct)
		} else if m.From == "D" {
			pt, err = A.Decrypt(ctx, addrD, session.TypeSignal, ct) // on the archived state
		} else {
			pt, err = A.Decrypt(ctx, addrB, session.TypeSignal, ct)
		}
		if err != nil || string(pt) != m.PT {
			t.Fatalf("pending %q: %q, %v", m.PT, pt, err)
		}
	}
	if typ, _, err := A.Encrypt(ctx, addrC, []byte("still unanswered")); err != nil || typ != session.TypePreKey {
		t.Fatalf("A → C: %d, %v", typ, err)
	}
	if typ, _, err := A.Encrypt(ctx, addrB, []byte("hello")); err != nil || typ != session.TypeSignal {
		t.Fatalf("A → B: %d, %v", typ, err)
	}
	if _, err := AG.Encrypt(ctx, group.SenderKeyName{Sender: "15550001111", DeviceID: 7, DistributionID: sc.Group}, []byte("g")); err != nil {
		t.Fatalf("A → group: %v", err)
	}
	// A second import into the same destination is refused, not merged.
	if _, err := importer.ImportBaileys(ctx, baileysDir, dst, importer.Options{}); !errors.Is(err, sqlstore.ErrAccountExists) {
		t.Fatalf("second import: %v", err)
	}
}

// TestIssue15ImportBaileysAddressOverride: the caller's Options.Address
// names the devices (here: full JIDs, the LID domain spelt out).
func TestIssue15ImportBaileysAddressOverride(t *testing.T) {
	ctx := context.Background()
	dst := openDest(t)
	opts := importer.Options{
		AccountName: func(jid string) (string, error) { return "alice", nil },
		Address: func(id string) (session.Address, error) {
			a, err := importer.BaileysAddress(id)
			if user, ok := strings.CutSuffix(a.Name, "_1"); ok {
				a.Name = user + "@lid"
			} else {
				a.Name += "@s.whatsapp.net"
			}
			return a, err
		},
	}
	if _, err := importer.ImportBaileys(ctx, baileysDir, dst, opts); err != nil {
		t.Fatal(err)
	}
	st, err := dst.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []session.Address{{Name: "15550002222@s.whatsapp.net"}, {Name: "987654321012345@lid", DeviceID: 3}} {
		if rec, err := st.LoadSession(ctx, a); err != nil || rec == nil || rec.Current() == nil {
			t.Fatalf("session %v: %v", a, err)
		}
	}
}

// TestIssue15ImportBaileysBadFiles: a damaged file fails the import with an
// error naming the file and the field, and nothing is written; with SkipBad
// the file is left out and reported.
func TestIssue15ImportBaileysBadFiles(t *testing.T) {
	const sessB = "session-15550002222.0.json"
	const skB = "sender-key-120363000000000001@g.us--15550002222--0.json"
	edit := func(file string, fn func(map[string]any)) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			fn(m)
			if b, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	entry := func(m map[string]any) map[string]any {
		for _, e := range m["_sessions"].(map[string]any) {
			return e.(map[string]any)
		}
		return nil
	}
	write := func(file, content string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	truncate := func(file string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, file)
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, b[:len(b)/2], 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name, file string
		damage     func(t *testing.T, dir string)
		want       string
		is         error
	}{
		{"unknown record version", sessB, edit(sessB, func(m map[string]any) { m["version"] = "v2" }), `version "v2"`, session.ErrCorruptRecord},
		{"root key of the wrong length", sessB, edit(sessB, func(m map[string]any) {
			entry(m)["currentRatchet"].(map[string]any)["rootKey"] = "AAAA"
		}), "currentRatchet.rootKey: 3 bytes", session.ErrCorruptRecord},
		{"unknown field", sessB, edit(sessB, func(m map[string]any) { entry(m)["surprise"] = 1 }), `unknown field "surprise"`, session.ErrCorruptRecord},
		{"counter out of range", sessB, edit(sessB, func(m map[string]any) {
			for _, c := range entry(m)["_chains"].(map[string]any) {
				c.(map[string]any)["chainKey"].(map[string]any)["counter"] = -2
			}
		}), "chainKey.counter -2 out of range", session.ErrCorruptRecord},
		{"truncated session", sessB, truncate(sessB), "unexpected EOF", session.ErrCorruptRecord},
		{"truncated sender key", skB, truncate(skB), "Baileys sender key", group.ErrInvalidRecord},
		{"sender key not JSON", skB, write(skB, `{"type":"Buffer","data":"bm90IGpzb24="}`), "invalid character", group.ErrInvalidRecord},
		{"prekey of the wrong length", "pre-key-5.json", write("pre-key-5.json", `{"public":{"type":"Buffer","data":"AAAA"},"private":{"type":"Buffer","data":"AAAA"}}`), "private", prekey.ErrInvalidKey},
		{"identity of the wrong length", "identity-key-15550002222.0.json", write("identity-key-15550002222.0.json", `{"type":"Buffer","data":"BQUF"}`), "identity key is 3 bytes", prekey.ErrInvalidKey},
		{"address without device", "session-15550009999.json", write("session-15550009999.json", `{}`), "is not user.device", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := copyBaileys(t)
			tc.damage(t, dir)
			dst := openDest(t)
			_, err := importer.ImportBaileys(ctx, dir, dst, importer.Options{})
			var re *importer.RowError
			if !errors.As(err, &re) || !errors.Is(err, importer.ErrBadRow) || re.Key != tc.file ||
				!strings.Contains(err.Error(), tc.want) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("error %v; want a RowError for %s with %q (%v)", err, tc.file, tc.want, tc.is)
			}
			if _, err := dst.Account(ctx, "15550001111:7@s.whatsapp.net"); !errors.Is(err, sqlstore.ErrNoAccount) {
				t.Fatalf("a failed import left an account: %v", err)
			}
			rep, err := importer.ImportBaileys(ctx, dir, dst, importer.Options{SkipBad: true})
			if err != nil {
				t.Fatal(err)
			}
			a := rep.Accounts[0]
			if len(a.Skipped) != 1 || a.Skipped[0].Key != tc.file || !strings.Contains(a.Skipped[0].Err.Error(), tc.want) {
				t.Fatalf("skipped %+v", a.Skipped)
			}
		})
	}
}

// TestIssue15ImportBaileysCreds: creds.json that does not hold together is
// an error naming creds.json and the field.
func TestIssue15ImportBaileysCreds(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(m map[string]any)
		want string
	}{
		{"signature", func(m map[string]any) {
			m["signedPreKey"].(map[string]any)["signature"] = map[string]any{"type": "Buffer", "data": base64.StdEncoding.EncodeToString(make([]byte, 64))}
		}, "signedPreKey.signature does not verify"},
		{"registration ID", func(m map[string]any) { delete(m, "registrationId") }, "registrationId"},
		{"identity public", func(m map[string]any) {
			m["signedIdentityKey"].(map[string]any)["public"] = m["noiseKey"].(map[string]any)["public"]
		}, "signedIdentityKey: public does not match private"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyBaileys(t)
			p := filepath.Join(dir, "creds.json")
			b, _ := os.ReadFile(p)
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			tc.fn(m)
			b, _ = json.Marshal(m)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := importer.ImportBaileys(context.Background(), dir, openDest(t), importer.Options{SkipBad: true})
			var re *importer.RowError
			if !errors.As(err, &re) || re.Key != "creds.json" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want creds.json: %s", err, tc.want)
			}
		})
	}
}

// TestIssue15BaileysBufferForms: a sender-key record reads the same whether
// its Buffers are BufferJSON's base64, JSON.stringify's byte arrays or a
// Uint8Array's numbered members, bare or wrapped in a Buffer.
func TestIssue15BaileysBufferForms(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	priv, err := prekey.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string]func([]byte) any{
		"base64": func(b []byte) any {
			return map[string]any{"type": "Buffer", "data": base64.StdEncoding.EncodeToString(b)}
		},
		"array": func(b []byte) any {
			n := make([]int, len(b))
			for i, x := range b {
				n[i] = int(x)
			}
			return map[string]any{"type": "Buffer", "data": n}
		},
		"members": func(b []byte) any {
			m := map[string]int{}
			for i, x := range b {
				m[strconv.Itoa(i)] = int(x)
			}
			return m
		},
	}
	var want []byte
	for name, enc := range forms {
		states := []any{map[string]any{
			"senderKeyId":       42,
			"senderChainKey":    map[string]any{"iteration": 5, "seed": enc(seed)},
			"senderSigningKey":  map[string]any{"public": enc(priv.Public.Bytes()[1:]), "private": enc(priv.Private.Bytes())},
			"senderMessageKeys": []any{map[string]any{"iteration": 3, "seed": enc(seed)}},
		}}
		text, _ := json.Marshal(states)
		wrapped, _ := json.Marshal(map[string]any{"type": "Buffer", "data": base64.StdEncoding.EncodeToString(text)})
		for _, in := range [][]byte{text, wrapped} {
			rec, err := importer.ParseBaileysSenderKey(in)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, err := rec.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = got
			} else if !bytes.Equal(got, want) {
				t.Fatalf("%s reads differently", name)
			}
		}
	}
	if _, err := importer.ParseBaileysSenderKey([]byte(`[{"senderKeyId":1,"senderChainKey":{"iteration":0,"seed":{"type":"Buffer","data":[300]}},"senderSigningKey":{"public":[],"private":[]},"senderMessageKeys":[]}]`)); !errors.Is(err, group.ErrInvalidRecord) {
		t.Fatalf("byte 300: %v", err)
	}
}

// TestIssue15ImportBaileysConsistency: a session under another identity
// than the device's identity-key file, and two files an Options.Address
// maps to one address, are bad files, not a silent overwrite.
func TestIssue15ImportBaileysConsistency(t *testing.T) {
	ctx := context.Background()
	dir := copyBaileys(t)
	// B's identity file holds D's identity.
	d, err := os.ReadFile(filepath.Join(dir, "identity-key-15550004444.2.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "identity-key-15550002222.0.json"), d, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = importer.ImportBaileys(ctx, dir, openDest(t), importer.Options{})
	var re *importer.RowError
	if !errors.As(err, &re) || re.Key != "session-15550002222.0.json" || !strings.Contains(err.Error(), "remote identity") {
		t.Fatalf("identity mismatch: %v", err)
	}
	rep, err := importer.ImportBaileys(ctx, dir, openDest(t), importer.Options{SkipBad: true})
	if err != nil || rep.Accounts[0].Sessions != 2 || len(rep.Accounts[0].Skipped) != 1 {
		t.Fatalf("--skip-bad: %+v, %v", rep, err)
	}

	// Every device mapped to one address.
	one := func(string) (session.Address, error) { return session.Address{Name: "everyone"}, nil }
	_, err = importer.ImportBaileys(ctx, baileysDir, openDest(t), importer.Options{Address: one})
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "maps two names to it") {
		t.Fatalf("colliding addresses: %v", err)
	}
}
