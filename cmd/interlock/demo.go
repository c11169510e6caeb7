package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/media"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// party is one side of the demo: an identity, its store and its cipher.
type party struct {
	name   string
	addr   session.Address
	id     prekey.IdentityKeyPair
	regID  uint32
	store  *sqlstore.Store
	cipher *session.Cipher
}

// newParty creates the account "demo-<name>" in db, replacing one left by an
// earlier run.
func newParty(ctx context.Context, db *sqlstore.DB, name string, device uint32, opts ...session.Option) (*party, error) {
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	reg, err := prekey.GenerateRegistrationID(rand.Reader)
	if err != nil {
		return nil, err
	}
	account := "demo-" + name
	if err := db.DeleteAccount(ctx, account); err != nil && !errors.Is(err, sqlstore.ErrNoAccount) {
		return nil, err
	}
	st, err := db.CreateAccount(ctx, account, id, reg)
	if err != nil {
		return nil, err
	}
	return &party{
		name: name, addr: session.Address{Name: name, DeviceID: device},
		id: id, regID: reg, store: st, cipher: session.NewCipher(st, opts...),
	}, nil
}

// publishBundle creates and stores prekeys and returns the public bundle a
// server would hand out; without kyber, the bundle has no Kyber prekey (the
// WhatsApp flavour).
func (p *party) publishBundle(ctx context.Context, kyber bool) (*prekey.Bundle, error) {
	now := time.Now()
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, p.id, 1, now)
	if err != nil {
		return nil, err
	}
	opks, err := prekey.GeneratePreKeys(rand.Reader, 100, 1)
	if err != nil {
		return nil, err
	}
	if err := p.store.StoreSignedPreKey(ctx, &spk); err != nil {
		return nil, err
	}
	if err := p.store.StorePreKey(ctx, &opks[0]); err != nil {
		return nil, err
	}
	b := &prekey.Bundle{
		RegistrationID: p.regID, DeviceID: p.addr.DeviceID, IdentityKey: p.id.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		PreKeyID: opks[0].ID, PreKey: opks[0].KeyPair.Public,
	}
	if !kyber {
		return b, nil
	}
	kpk, err := prekey.GenerateKyberPreKey(rand.Reader, p.id, 7, true, now)
	if err != nil {
		return nil, err
	}
	if err := p.store.StoreKyberPreKey(ctx, &kpk); err != nil {
		return nil, err
	}
	b.KyberPreKeyID, b.KyberPreKey, b.KyberPreKeySignature = kpk.ID, kpk.KeyPair.Public, kpk.Signature
	return b, nil
}

func typeName(t session.MessageType) string {
	switch t {
	case session.TypeSignal:
		return "SignalMessage"
	case session.TypePreKey:
		return "PreKeySignalMessage"
	}
	return fmt.Sprintf("type %d", t)
}

const demoUsage = `usage: interlock demo [--full] [--db FILE | --postgres URL]

Two parties, Alice and Bob, set up a PQXDH session (then a WhatsApp-style
X3DH one) and exchange messages, text and an image, step by step. Each wire
message is printed in hex, shortened unless --full: paste a whole one into
"interlock inspect" to see its fields. The state lives in a temporary SQLite
database, removed at the end, unless --db or --postgres names one.
`

// runDemo runs `interlock demo`.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", demoUsage)
	dbPath := fs.String("db", "", "keep both parties' state in the SQLite `FILE` (kept after the demo; accounts demo-alice, demo-bob, demo-alice-wa and demo-bob-wa in it are replaced)")
	pgURL := fs.String("postgres", "", "keep the state in the PostgreSQL database at `URL` instead of SQLite")
	full := fs.Bool("full", false, "print each wire message in full (hex), ready to paste into interlock inspect")
	if status, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return status
	}
	err := noArgs(fs)
	if err == nil && *dbPath != "" && *pgURL != "" {
		err = usageError{"--db and --postgres exclude each other"}
	}
	if err == nil {
		// Interrupted, terminated or cut off (`interlock demo | head`:
		// SIGPIPE would otherwise end the process before the temporary
		// database is removed), the demo stops at its next store call and
		// cleans up.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
		defer stop()
		err = demo(ctx, &demoPrinter{w: stdout, full: *full}, *dbPath, *pgURL)
	}
	return finish(fs, stderr, err)
}

// demoPrinter numbers the demo's steps and prints wire messages.
type demoPrinter struct {
	w    io.Writer
	full bool
	step int
}

func (p *demoPrinter) say(format string, a ...any) {
	p.step++
	fmt.Fprintf(p.w, "%2d. "+format+"\n", append([]any{p.step}, a...)...)
}

// wire prints a wire message in hex: whole with --full, else its first 40
// and last 8 hex digits.
func (p *demoPrinter) wire(what string, b []byte) {
	h := hex.EncodeToString(b)
	if !p.full && len(h) > 64 {
		h = h[:40] + "…" + h[len(h)-8:]
	}
	fmt.Fprintf(p.w, "    %s: %s\n", what, h)
}

// demo runs the demo; with dbPath and pgURL empty, in a temporary SQLite
// database it removes at the end (issue #17 item 5).
func demo(ctx context.Context, p *demoPrinter, dbPath, pgURL string) (err error) {
	w, say := p.w, p.say
	temp := dbPath == "" && pgURL == ""
	if temp {
		dir, err := os.MkdirTemp("", "interlock-demo-*")
		if err != nil {
			return err
		}
		// Runs after the database is closed (defers run last first): the
		// file and its WAL and shared-memory files go with the directory.
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "demo.db")
	}
	open, where, err := demoStore(dbPath, pgURL)
	if err != nil {
		return err
	}
	db, err := open(ctx)
	if err != nil {
		return err
	}
	defer func() { db.Close() }()
	if temp {
		where += ", a temporary file removed at the end (--db FILE keeps one)"
	}
	fmt.Fprintf(w, "State is kept in %s.\n", where)
	if p.full {
		fmt.Fprintln(w, "Wire messages are printed in full: paste one into `interlock inspect`.")
	} else {
		fmt.Fprintln(w, "Wire messages are shortened; --full prints them whole, to paste into `interlock inspect`.")
	}

	alice, err := newParty(ctx, db, "alice", 1)
	if err != nil {
		return err
	}
	bob, err := newParty(ctx, db, "bob", 1)
	if err != nil {
		return err
	}
	say("Alice and Bob each generate an identity key pair (Curve25519) and a registration ID.")
	fmt.Fprintf(w, "    alice identity %s…  registration %d\n", hex.EncodeToString(alice.id.PublicKey().Bytes())[:18], alice.regID)
	fmt.Fprintf(w, "    bob   identity %s…  registration %d\n", hex.EncodeToString(bob.id.PublicKey().Bytes())[:18], bob.regID)

	bundle, err := bob.publishBundle(ctx, true)
	if err != nil {
		return err
	}
	say("Bob publishes a prekey bundle: signed prekey, one-time prekey and a Kyber-1024 prekey (%d-byte public key), each signed with XEdDSA.", len(bundle.KyberPreKey.Bytes()))

	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bundle); err != nil {
		return err
	}
	v, err := alice.cipher.SessionVersion(ctx, bob.addr)
	if err != nil {
		return err
	}
	say("Alice verifies the signatures and runs PQXDH against the bundle: session version %d.", v)

	send := func(from, to *party, text string) error {
		typ, ct, err := from.cipher.Encrypt(ctx, to.addr, []byte(text))
		if err != nil {
			return err
		}
		say("%s encrypts %q → %s, %d bytes on the wire.", from.name, text, typeName(typ), len(ct))
		p.wire(typeName(typ), ct)
		pt, err := to.cipher.Decrypt(ctx, from.addr, typ, ct)
		if err != nil {
			return err
		}
		say("%s decrypts it: %q.", to.name, pt)
		return nil
	}
	if err := send(alice, bob, "Hello Bob, this is post-quantum."); err != nil {
		return err
	}
	if err := send(bob, alice, "Hi Alice! Got it."); err != nil {
		return err
	}
	if err := send(alice, bob, "Now we are in the Double Ratchet."); err != nil {
		return err
	}

	// A replay is refused and changes nothing.
	typ, ct, err := bob.cipher.Encrypt(ctx, alice.addr, []byte("once only"))
	if err != nil {
		return err
	}
	if _, err := alice.cipher.Decrypt(ctx, bob.addr, typ, ct); err != nil {
		return err
	}
	_, err = alice.cipher.Decrypt(ctx, bob.addr, typ, ct)
	say("Bob's message delivered twice: the second copy is refused (%v).", err)
	typ, ct, err = bob.cipher.Encrypt(ctx, alice.addr, []byte("Still here."))
	if err != nil {
		return err
	}
	tampered := append([]byte(nil), ct...)
	tampered[len(tampered)-1] ^= 1
	_, err = alice.cipher.Decrypt(ctx, bob.addr, typ, tampered)
	say("Bob's next message arrives with one bit flipped: refused (%v), nothing stored changes.", err)
	dem, err := session.NewDecryptionErrorMessage(tampered, typ, uint64(time.Now().UnixMilli()), bob.addr.DeviceID)
	if err != nil {
		return err
	}
	retry := session.NewPlaintextContent(dem).Bytes()
	say("Alice can ask Bob to resend it: a DecryptionErrorMessage in a PlaintextContent, %d bytes, unencrypted (Bob treats it as a request, never as a message).", len(retry))
	p.wire("PlaintextContent", retry)
	pt, err := alice.cipher.Decrypt(ctx, bob.addr, typ, ct)
	if err != nil {
		return err
	}
	say("The genuine message still decrypts: %q.", pt)

	// Everything above is in the database: close it, reopen it, go on.
	if err := db.Close(); err != nil {
		return err
	}
	if db, err = open(ctx); err != nil {
		return err
	}
	for _, p := range []*party{alice, bob} {
		if p.store, err = db.Account(ctx, p.store.Account()); err != nil {
			return err
		}
		p.cipher = session.NewCipher(p.store)
	}
	say("The database is closed and reopened; Alice and Bob load their accounts (%s, %s) from it.", alice.store.Account(), bob.store.Account())
	if err := send(alice, bob, "Still talking after a restart."); err != nil {
		return err
	}

	fmt.Fprintln(w, "Text and media through the envelope layer, Signal flavour:")
	if err := demoSignalEnvelopes(ctx, p, alice, bob); err != nil {
		return err
	}
	fmt.Fprintln(w, "The same for the WhatsApp flavour (X3DH, version 3):")
	return demoWhatsApp(ctx, p, db)
}

// demoImage is a small generated PNG-like blob: the PNG signature and chunk
// names around random "pixels".
func demoImage() ([]byte, error) {
	img := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x80\x00\x00\x00\x80\x08\x06\x00\x00\x00")
	pixels := make([]byte, 48<<10)
	if _, err := rand.Read(pixels); err != nil {
		return nil, err
	}
	img = append(img, "IDAT"...)
	img = append(img, pixels...)
	return append(img, "\x00\x00\x00\x00IEND\xaeB`\x82"...), nil
}

// demoSignalEnvelopes sends a text, then a text with an image, from Alice to
// Bob as Signal Contents in Envelopes.
func demoSignalEnvelopes(ctx context.Context, p *demoPrinter, alice, bob *party) error {
	say := p.say
	now := uint64(time.Now().UnixMilli())
	seal := func(content *envelope.Content, ts uint64) ([]byte, error) {
		body, err := content.Marshal()
		if err != nil {
			return nil, err
		}
		env, err := envelope.Seal(ctx, alice.cipher, alice.addr, bob.addr, content, ts)
		if err != nil {
			return nil, err
		}
		e, err := envelope.ParseEnvelope(env)
		if err != nil {
			return nil, err
		}
		say("alice seals it: Content %d bytes, padded to %d (0x80 then zeros, 80-byte blocks), Envelope %s, %d bytes.",
			len(body), len(envelope.PadSignal(body)), e.Type, len(env))
		p.wire("Envelope", env)
		return env, nil
	}
	open := func(env []byte) (*envelope.Content, error) {
		from, c, err := envelope.Open(ctx, bob.cipher, env)
		if err != nil {
			return nil, err
		}
		if c.DataMessage == nil {
			return nil, errors.New("no DataMessage in the content")
		}
		say("bob opens the envelope from %s.%d: body %q, %d attachment(s).", from.Name, from.DeviceID, c.DataMessage.Body, len(c.DataMessage.Attachments))
		return c, nil
	}

	text := &envelope.Content{DataMessage: &envelope.DataMessage{Body: "Plain text, in a Content.", Timestamp: now}}
	say("alice writes a DataMessage: %q.", text.DataMessage.Body)
	env, err := seal(text, now)
	if err != nil {
		return err
	}
	if _, err := open(env); err != nil {
		return err
	}

	image, err := demoImage()
	if err != nil {
		return err
	}
	var blob bytes.Buffer
	info, err := media.EncryptSignal(rand.Reader, &blob, bytes.NewReader(image), int64(len(image)))
	if err != nil {
		return err
	}
	say("alice encrypts a %d-byte PNG as a Signal attachment: padded to %d bytes, blob %d bytes (IV, AES-256-CBC, HMAC-SHA256), digest %s…, incremental MAC %d bytes.",
		len(image), media.PaddedSize(info.Size), blob.Len(), hex.EncodeToString(info.Digest)[:16], len(info.IncrementalMAC))
	pointer, err := envelope.NewAttachmentPointer(info)
	if err != nil {
		return err
	}
	pointer.CDNKey, pointer.CDNNumber, pointer.ContentType, pointer.Width, pointer.Height = "demo-upload-1", 3, "image/png", 128, 128
	now++
	photo := &envelope.Content{DataMessage: &envelope.DataMessage{Body: "And a picture.", Timestamp: now, Attachments: []envelope.AttachmentPointer{pointer}}}
	say("alice puts the AttachmentPointer (key, size, digest, incremental MAC, CDN key) in a DataMessage.")
	if env, err = seal(photo, now); err != nil {
		return err
	}
	got, err := open(env)
	if err != nil {
		return err
	}
	ptr := got.DataMessage.Attachments[0]
	var out bytes.Buffer
	if err := media.DecryptSignal(&out, bytes.NewReader(blob.Bytes()), int64(blob.Len()), ptr.Key, int64(ptr.Size), ptr.SignalCheck()); err != nil {
		return err
	}
	if !bytes.Equal(out.Bytes(), image) {
		return errors.New("the decrypted attachment differs from the image")
	}
	say("bob fetches the %d-byte blob and decrypts it with the pointer's key: digest, incremental MAC and MAC verified, %d bytes, identical to alice's PNG.", blob.Len(), out.Len())
	tampered := bytes.Clone(blob.Bytes())
	tampered[len(tampered)/2] ^= 1
	err = media.DecryptSignal(io.Discard, bytes.NewReader(tampered), int64(len(tampered)), ptr.Key, int64(ptr.Size), ptr.SignalCheck())
	say("The same blob with one bit flipped is refused before any output (%v).", err)
	return nil
}

// demoWhatsApp sets up a version 3 session between two new accounts (X3DH,
// a bundle without a Kyber prekey) and sends a text and an image in
// WhatsApp's `<enc v="2">` plaintext format.
func demoWhatsApp(ctx context.Context, p *demoPrinter, db *sqlstore.DB) error {
	say := p.say
	x3dh := session.WithPolicy(session.AllowX3DH)
	alice, err := newParty(ctx, db, "alice-wa", 1, x3dh)
	if err != nil {
		return err
	}
	bob, err := newParty(ctx, db, "bob-wa", 1, x3dh)
	if err != nil {
		return err
	}
	bundle, err := bob.publishBundle(ctx, false)
	if err != nil {
		return err
	}
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bundle); err != nil {
		return err
	}
	v, err := alice.cipher.SessionVersion(ctx, bob.addr)
	if err != nil {
		return err
	}
	say("New accounts %s and %s; bob-wa's bundle has no Kyber prekey, so alice-wa (policy AllowX3DH) runs X3DH: session version %d.",
		alice.store.Account(), bob.store.Account(), v)

	// The text is framed step by step to show the padding; the image goes
	// through SealWhatsApp, which does the same.
	text := &envelope.WhatsAppMessage{Text: "Hello from the WhatsApp flavour."}
	body, err := text.Marshal()
	if err != nil {
		return err
	}
	padded, err := envelope.PadWhatsApp(rand.Reader, body)
	if err != nil {
		return err
	}
	typ, ct, err := alice.cipher.Encrypt(ctx, bob.addr, padded)
	if err != nil {
		return err
	}
	encType, err := envelope.WhatsAppEncType(typ)
	if err != nil {
		return err
	}
	say("alice-wa sends %q: waE2E.Message %d bytes + %d bytes of value %d (WhatsApp padding), <enc v=\"2\" type=%q>, %d bytes.",
		text.Text, len(body), len(padded)-len(body), padded[len(padded)-1], encType, len(ct))
	p.wire(typeName(typ), ct)
	got, err := envelope.OpenWhatsApp(ctx, bob.cipher, alice.addr, encType, ct)
	if err != nil {
		return err
	}
	say("bob-wa decrypts, unpads and parses it: %q.", got.Text)

	image, err := demoImage()
	if err != nil {
		return err
	}
	var blob bytes.Buffer
	info, err := media.EncryptWhatsApp(rand.Reader, &blob, bytes.NewReader(image), media.Image)
	if err != nil {
		return err
	}
	say("alice-wa encrypts the %d-byte PNG with a fresh media key (HKDF %q): blob %d bytes (AES-256-CBC, 10-byte MAC), fileEncSHA256 %s….",
		len(image), media.Image.Info(), blob.Len(), hex.EncodeToString(info.FileEncSHA256)[:16])
	msg, err := envelope.NewWhatsAppMediaMessage(media.Image, info)
	if err != nil {
		return err
	}
	msg.Media.MimeType, msg.Media.Caption, msg.Media.Width, msg.Media.Height = "image/png", "A picture, WhatsApp style.", 128, 128
	msg.Media.DirectPath, msg.Media.MediaKeyTimestamp = "/v/t62.7118-24/demo", time.Now().Unix()
	encType, ct, err = envelope.SealWhatsApp(ctx, rand.Reader, alice.cipher, bob.addr, msg)
	if err != nil {
		return err
	}
	say("alice-wa sends an imageMessage (media key, fileSHA256, fileEncSHA256, length, caption), padded: <enc v=\"2\" type=%q>, %d bytes.", encType, len(ct))
	if t, err := envelope.ParseWhatsAppEncType(encType); err == nil {
		p.wire(typeName(t), ct)
	}
	if got, err = envelope.OpenWhatsApp(ctx, bob.cipher, alice.addr, encType, ct); err != nil {
		return err
	}
	if got.Kind != envelope.ImageMessage || got.Media == nil {
		return errors.New("no imageMessage in the WhatsApp message")
	}
	var out bytes.Buffer
	if err := media.DecryptWhatsApp(&out, bytes.NewReader(blob.Bytes()), int64(blob.Len()), got.Kind.Kind(), got.Media.MediaKey, got.Media.WhatsAppCheck()); err != nil {
		return err
	}
	if !bytes.Equal(out.Bytes(), image) {
		return errors.New("the decrypted image differs")
	}
	say("bob-wa reads the imageMessage (%q) and decrypts the blob with its media key: fileEncSHA256, MAC and fileSHA256 verified, %d bytes, identical.", got.Media.Caption, out.Len())
	return nil
}

// demoStore returns how to open the demo's database and a description of it.
func demoStore(path, pgURL string) (func(context.Context) (*sqlstore.DB, error), string, error) {
	if pgURL != "" {
		shown := "PostgreSQL"
		if u, err := url.Parse(pgURL); err == nil && u.Host != "" {
			shown += " at " + u.Redacted()
		}
		return func(ctx context.Context) (*sqlstore.DB, error) { return sqlstore.OpenPostgres(ctx, pgURL) }, shown, nil
	}
	return func(ctx context.Context) (*sqlstore.DB, error) { return sqlstore.Open(ctx, path) },
		"the SQLite database " + path + " (WAL, synchronous=FULL)", nil
}
