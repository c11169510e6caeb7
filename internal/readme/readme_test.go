package readme

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Issue #16, "Docs that compile": every ```go block of README.md is built
// and run. Each block becomes the body of a function, between a preamble
// that declares what the block uses without defining it (a peer's bundle, an
// image, an upload function…) and a postamble that uses what it declares and
// checks that it did what the README says. The program is built in a
// temporary module that replaces the Interlock module with this working
// tree, so the README is checked against the code beside it. A block added to
// the README without an entry here fails the test: write its entry.

// block is what wraps one README block.
type block struct {
	first     string // the block's first line, to recognise it
	imports   []string
	pre, post string
}

var blocks = []block{{
	first:   "ctx := context.Background()",
	imports: []string{"context", "crypto/rand", "errors", "github.com/interlock-e2ee/interlock/prekey", "github.com/interlock-e2ee/interlock/session"},
	pre: `bobPeer := newPeer()
bundle := bobPeer.bundle()
replyType, replyBytes := session.TypeSignal, []byte("not a reply: Decrypt refuses it")
`,
	post: `_, _ = typ, wire
if pt != nil || err == nil {
	return errors.New("a forged reply decrypted")
}
`,
}, {
	first:   "pt, err := bob.DecryptAndCommit(",
	imports: []string{"context", "errors", "github.com/interlock-e2ee/interlock/session", "github.com/interlock-e2ee/interlock/store/sqlstore"},
	pre: `ctx := context.Background()
db, bob, from, typ, ct, err := sqliteBob(ctx)
if err != nil {
	return err
}
defer db.Close()
`,
	post: `if err != nil {
	return err
}
var body string
if err := db.SQL().QueryRowContext(ctx, "SELECT body FROM messages").Scan(&body); err != nil || body != string(pt) {
	return errors.New("the plaintext was not stored with the ratchet")
}
`,
}, {
	first:   "// Alice (alice: her *session.Cipher; bob: Bob's session.Address, as above):",
	imports: []string{"bytes", "context", "crypto/rand", "errors", "github.com/interlock-e2ee/interlock/envelope", "github.com/interlock-e2ee/interlock/media", "github.com/interlock-e2ee/interlock/session"},
	pre: `ctx := context.Background()
alice, bob, bobCipher, err := pair(ctx, session.Address{Name: "bob-aci-uuid", DeviceID: 1})
if err != nil {
	return err
}
image := bytes.Repeat([]byte("\x89PNG pixels "), 1000)
ts := uint64(1700000000000)
out := new(bytes.Buffer)
`,
	post: `if err != nil {
	return err
}
if from != aliceAddr || got.DataMessage.Body != "the view from here" || !bytes.Equal(out.Bytes(), image) {
	return errors.New("the attachment did not arrive")
}
`,
}, {
	first:   "// Alice (alice: her *session.Cipher; bob: Bob's session.Address):",
	imports: []string{"bytes", "context", "crypto/rand", "errors", "github.com/interlock-e2ee/interlock/envelope", "github.com/interlock-e2ee/interlock/media", "github.com/interlock-e2ee/interlock/session"},
	pre: `ctx := context.Background()
alice, bob, bobCipher, err := pair(ctx, session.Address{Name: "15551234567", DeviceID: 0})
if err != nil {
	return err
}
image := bytes.Repeat([]byte("\x89PNG pixels "), 1000)
out := new(bytes.Buffer)
`,
	post: `if err != nil {
	return err
}
if got.Media.Caption != "the view from here" || len(got.Raw) == 0 || !bytes.Equal(out.Bytes(), image) {
	return errors.New("the image did not arrive")
}
`,
}, {
	first:   "sender, _ := fanout.NewSender(fanout.Config{",
	imports: []string{"context", "errors", "github.com/interlock-e2ee/interlock/fanout", "github.com/interlock-e2ee/interlock/group", "github.com/interlock-e2ee/interlock/session"},
	pre: `ctx := context.Background()
alicePeer, carol := newPeer(), newPeer()
sessions, store := alicePeer.cipher, alicePeer.store
keys := group.NewMemoryStore()
self := group.SenderKeyName{Sender: "alice-aci-uuid", DeviceID: 1, DistributionID: "5a6b1d2e-3f40-4152-8364-758697a8b9ca"}
carolAddr := session.Address{Name: "carol-aci-uuid", DeviceID: 1}
if err := sessions.ProcessBundle(ctx, carolAddr, carol.bundle()); err != nil {
	return err
}
recipients := []session.Recipient{{Address: carolAddr, RegistrationID: carol.reg}}
fetchBundles := func([]session.Address) { panic("no device mismatch expected") }
`,
	post: `if err != nil {
	return err
}
if len(out.Distribution) != 1 || len(out.SenderKeyMessage) == 0 {
	return errors.New("nothing to deliver")
}
`,
}}

// common is the rest of the generated program: the peers and fakes the
// preambles use, and main, which runs every block.
const common = `package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
)

type peer struct {
	id     prekey.IdentityKeyPair
	reg    uint32
	store  *session.MemoryStore
	cipher *session.Cipher
}

func newPeer() *peer {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	reg, _ := prekey.GenerateRegistrationID(rand.Reader)
	st := session.NewMemoryStore(id, reg)
	return &peer{id: id, reg: reg, store: st, cipher: session.NewCipher(st)}
}

func (p *peer) bundle() *prekey.Bundle {
	b, err := bundleOf(context.Background(), p.store, p.id, p.reg)
	if err != nil {
		panic(err)
	}
	return b
}

// bundleOf stores fresh prekeys in st and returns their bundle.
func bundleOf(ctx context.Context, st session.Store, id prekey.IdentityKeyPair, reg uint32) (*prekey.Bundle, error) {
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, id, 1, time.Now())
	if err != nil {
		return nil, err
	}
	kyber, err := prekey.GenerateKyberPreKey(rand.Reader, id, 1, true, time.Now())
	if err != nil {
		return nil, err
	}
	otk, err := prekey.GeneratePreKeys(rand.Reader, 1, 1)
	if err != nil {
		return nil, err
	}
	for _, err := range []error{st.StoreSignedPreKey(ctx, &spk), st.StoreKyberPreKey(ctx, &kyber), st.StorePreKey(ctx, &otk[0])} {
		if err != nil {
			return nil, err
		}
	}
	return prekey.NewBundle(reg, 1, id.PublicKey(), &spk, &otk[0], &kyber), nil
}

// pair returns Alice's cipher with a session with Bob at bob, and Bob's.
func pair(ctx context.Context, bob session.Address) (*session.Cipher, session.Address, *session.Cipher, error) {
	a, b := newPeer(), newPeer()
	return a.cipher, bob, b.cipher, a.cipher.ProcessBundle(ctx, bob, b.bundle())
}

// cdn stands for a media server.
var cdn = map[string][]byte{}

func upload(blob []byte) string {
	key := fmt.Sprintf("/v/t62/%d", len(cdn))
	cdn[key] = bytes.Clone(blob)
	return key
}

func download(key string) (io.ReaderAt, int64) {
	b := cdn[key]
	return bytes.NewReader(b), int64(len(b))
}

// sqliteBob is Bob on SQLite with an application table, and a first
// message Alice sent him.
func sqliteBob(ctx context.Context) (*sqlstore.DB, *session.Cipher, session.Address, session.MessageType, []byte, error) {
	db, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		return nil, nil, session.Address{}, 0, nil, err
	}
	if _, err := db.SQL().ExecContext(ctx, "CREATE TABLE messages (body BLOB)"); err != nil {
		return nil, nil, session.Address{}, 0, nil, err
	}
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	st, err := db.CreateAccount(ctx, "bob", id, 42)
	if err != nil {
		return nil, nil, session.Address{}, 0, nil, err
	}
	b, err := bundleOf(ctx, st, id, 42)
	if err != nil {
		return nil, nil, session.Address{}, 0, nil, err
	}
	alice := newPeer()
	bobAddr, from := session.Address{Name: "bob", DeviceID: 1}, session.Address{Name: "alice", DeviceID: 1}
	if err := alice.cipher.ProcessBundle(ctx, bobAddr, b); err != nil {
		return nil, nil, session.Address{}, 0, nil, err
	}
	typ, ct, err := alice.cipher.Encrypt(ctx, bobAddr, []byte("hello"))
	return db, session.NewCipher(st), from, typ, ct, err
}

func main() {
	for i, run := range blocks {
		if err := run(); err != nil {
			fmt.Fprintf(os.Stderr, "README Go block %d: %v\n", i+1, err)
			os.Exit(1)
		}
	}
	fmt.Println("ok")
}
`

var goBlock = regexp.MustCompile("(?ms)^```go\n(.*?)^```")

func TestIssue16DocsREADMEGoBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := goBlock.FindAllSubmatch(readme, -1)
	if len(found) == 0 {
		t.Fatal("README.md has no Go block")
	}
	dir := t.TempDir()
	var names []string
	for i, m := range found {
		code := string(m[1])
		first, _, _ := strings.Cut(code, "\n")
		var spec *block
		for j := range blocks {
			if strings.HasPrefix(strings.TrimSpace(first), blocks[j].first) {
				spec = &blocks[j]
			}
		}
		if spec == nil {
			t.Fatalf("README Go block %d (%q) has no entry in readme_test.go's blocks", i+1, first)
		}
		var src bytes.Buffer
		fmt.Fprintf(&src, "package main\n\nimport (\n")
		for _, imp := range spec.imports {
			fmt.Fprintf(&src, "\t%q\n", imp)
		}
		name := fmt.Sprintf("block%d", i+1)
		fmt.Fprintf(&src, ")\n\n// %s is README.md's Go block %d.\nfunc %s() error {\n%s\n// README.md:\n%s\n%s\nreturn nil\n}\n", name, i+1, name, spec.pre, code, spec.post)
		names = append(names, name)
		if err := os.WriteFile(filepath.Join(dir, name+".go"), src.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mainSrc := common + "\nvar blocks = []func() error{" + strings.Join(names, ", ") + "}\n"
	goMod := "module readmecheck\n\ngo 1.26.0\n\nrequire github.com/interlock-e2ee/interlock v0.0.0\n\nreplace github.com/interlock-e2ee/interlock => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"main.go": []byte(mainSrc), "go.mod": []byte(goMod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "readme")
	build := exec.Command(gobin, "build", "-mod=mod", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("README's Go blocks do not compile:\n%s", numbered(dir, out))
	}
	out, err := exec.Command(bin).CombinedOutput()
	if err != nil || !bytes.Equal(out, []byte("ok\n")) {
		t.Fatalf("README's Go blocks fail: %v\n%s", err, out)
	}
}

// numbered adds the generated sources to a compiler error, so that its line
// numbers can be read.
func numbered(dir string, errOut []byte) string {
	var b strings.Builder
	b.Write(errOut)
	files, _ := filepath.Glob(filepath.Join(dir, "block*.go"))
	for _, f := range files {
		src, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "\n--- %s\n", filepath.Base(f))
		for i, l := range strings.Split(string(src), "\n") {
			fmt.Fprintf(&b, "%4d %s\n", i+1, l)
		}
	}
	return b.String()
}
