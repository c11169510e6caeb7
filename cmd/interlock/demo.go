package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

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
func newParty(ctx context.Context, db *sqlstore.DB, name string, device uint32) (*party, error) {
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
		id: id, regID: reg, store: st, cipher: session.NewCipher(st),
	}, nil
}

// publishBundle creates and stores prekeys and returns the public bundle a
// server would hand out.
func (p *party) publishBundle(ctx context.Context) (*prekey.Bundle, error) {
	now := time.Now()
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, p.id, 1, now)
	if err != nil {
		return nil, err
	}
	opks, err := prekey.GeneratePreKeys(rand.Reader, 100, 1)
	if err != nil {
		return nil, err
	}
	kpk, err := prekey.GenerateKyberPreKey(rand.Reader, p.id, 7, true, now)
	if err != nil {
		return nil, err
	}
	if err := p.store.StoreSignedPreKey(ctx, &spk); err != nil {
		return nil, err
	}
	if err := p.store.StorePreKey(ctx, &opks[0]); err != nil {
		return nil, err
	}
	if err := p.store.StoreKyberPreKey(ctx, &kpk); err != nil {
		return nil, err
	}
	return &prekey.Bundle{
		RegistrationID: p.regID, DeviceID: p.addr.DeviceID, IdentityKey: p.id.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		PreKeyID: opks[0].ID, PreKey: opks[0].KeyPair.Public,
		KyberPreKeyID: kpk.ID, KyberPreKey: kpk.KeyPair.Public, KyberPreKeySignature: kpk.Signature,
	}, nil
}

func typeName(t int) string {
	switch t {
	case session.TypeSignal:
		return "SignalMessage"
	case session.TypePreKey:
		return "PreKeySignalMessage"
	}
	return fmt.Sprintf("type %d", t)
}

func demo(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(w)
	dbPath := fs.String("db", "", "SQLite `file` for both parties' state (default: a new file in "+os.TempDir()+"); accounts demo-alice and demo-bob in it are replaced")
	pgURL := fs.String("postgres", "", "keep the state in the PostgreSQL database at `URL` instead of SQLite")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	step := 0
	say := func(format string, a ...any) {
		step++
		fmt.Fprintf(w, "%2d. "+format+"\n", append([]any{step}, a...)...)
	}

	open, where, err := demoStore(*dbPath, *pgURL)
	if err != nil {
		return err
	}
	db, err := open(ctx)
	if err != nil {
		return err
	}
	defer func() { db.Close() }()
	fmt.Fprintf(w, "State is kept in %s.\n", where)

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

	bundle, err := bob.publishBundle(ctx)
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
	return send(alice, bob, "Still talking after a restart.")
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
	if path == "" {
		f, err := os.CreateTemp("", "interlock-demo-*.db")
		if err != nil {
			return nil, "", err
		}
		path = f.Name()
		if err := f.Close(); err != nil {
			return nil, "", err
		}
	}
	return func(ctx context.Context) (*sqlstore.DB, error) { return sqlstore.Open(ctx, path) },
		"the SQLite database " + path + " (WAL, synchronous=FULL)", nil
}
