package importer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
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
	_ "modernc.org/sqlite"
)

// whatsmeowDDL is the part of whatsmeow's schema the importer reads
// (store/sqlstore/upgrades/00-latest-schema.sql of go.mau.fi/whatsmeow:
// column names, types and checks).
var whatsmeowDDL = []string{
	`CREATE TABLE whatsmeow_device (
		jid TEXT PRIMARY KEY, lid TEXT, facebook_uuid uuid,
		registration_id BIGINT NOT NULL CHECK ( registration_id >= 0 AND registration_id < 4294967296 ),
		noise_key bytea NOT NULL CHECK ( length(noise_key) = 32 ),
		identity_key bytea NOT NULL CHECK ( length(identity_key) = 32 ),
		signed_pre_key bytea NOT NULL CHECK ( length(signed_pre_key) = 32 ),
		signed_pre_key_id INTEGER NOT NULL CHECK ( signed_pre_key_id >= 0 AND signed_pre_key_id < 16777216 ),
		signed_pre_key_sig bytea NOT NULL CHECK ( length(signed_pre_key_sig) = 64 ),
		adv_key bytea NOT NULL, adv_details bytea NOT NULL,
		adv_account_sig bytea NOT NULL CHECK ( length(adv_account_sig) = 64 ),
		adv_account_sig_key bytea NOT NULL CHECK ( length(adv_account_sig_key) = 32 ),
		adv_device_sig bytea NOT NULL CHECK ( length(adv_device_sig) = 64 ),
		platform TEXT NOT NULL DEFAULT '', business_name TEXT NOT NULL DEFAULT '', push_name TEXT NOT NULL DEFAULT '',
		lid_migration_ts BIGINT NOT NULL DEFAULT 0)`,
	`CREATE TABLE whatsmeow_identity_keys (our_jid TEXT, their_id TEXT, identity bytea NOT NULL, PRIMARY KEY (our_jid, their_id))`,
	`CREATE TABLE whatsmeow_pre_keys (jid TEXT, key_id INTEGER CHECK ( key_id >= 0 AND key_id < 16777216 ), key bytea NOT NULL, uploaded BOOLEAN NOT NULL, PRIMARY KEY (jid, key_id))`,
	`CREATE TABLE whatsmeow_sessions (our_jid TEXT, their_id TEXT, session bytea, PRIMARY KEY (our_jid, their_id))`,
	`CREATE TABLE whatsmeow_sender_keys (our_jid TEXT, chat_id TEXT, sender_id TEXT, sender_key bytea NOT NULL, PRIMARY KEY (our_jid, chat_id, sender_id))`,
}

// vector is testdata/vectors/mau-records.json: go.mau.fi's records of a
// conversation in a hard state (interop/mau/cmd/mau-records).
type vector struct {
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
		Type                  int
		Plaintext, Ciphertext []byte
	} `json:"pending"`
}

func loadVector(t testing.TB) *vector {
	b, err := os.ReadFile("../../testdata/vectors/mau-records.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func (v *vector) jid() string { return v.Name + ":" + strconv.Itoa(int(v.Device)) + "@s.whatsapp.net" }

// fill writes v into whatsmeow's tables as whatsmeow would.
func fill(t testing.TB, db *sql.DB, v *vector) {
	t.Helper()
	ctx := context.Background()
	for _, q := range whatsmeowDDL {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var spkPriv, spkSig []byte
	var spkID uint32
	for _, b := range v.SignedPreKeys {
		r, err := prekey.UnmarshalSignedPreKeyRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		spkPriv, spkSig, spkID = r.KeyPair.Private.Bytes(), r.Signature, r.ID
	}
	z := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	jid := v.jid()
	exec(`INSERT INTO whatsmeow_device (jid, registration_id, noise_key, identity_key, signed_pre_key, signed_pre_key_id, signed_pre_key_sig,
		adv_key, adv_details, adv_account_sig, adv_account_sig_key, adv_device_sig) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		jid, int64(v.RegistrationID), z(32), v.IdentityPrivate, spkPriv, int64(spkID), spkSig, z(32), z(10), z(64), z(32), z(64))
	for id, b := range v.PreKeys {
		r, err := prekey.UnmarshalPreKeyRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO whatsmeow_pre_keys (jid, key_id, key, uploaded) VALUES ($1,$2,$3,$4)`, jid, id, r.KeyPair.Private.Bytes(), id != "5")
	}
	for a, k := range v.Identities {
		exec(`INSERT INTO whatsmeow_identity_keys (our_jid, their_id, identity) VALUES ($1,$2,$3)`, jid, a, k[1:])
	}
	for a, b := range v.Sessions {
		exec(`INSERT INTO whatsmeow_sessions (our_jid, their_id, session) VALUES ($1,$2,$3)`, jid, a, b)
	}
	for _, sk := range v.SenderKeys {
		exec(`INSERT INTO whatsmeow_sender_keys (our_jid, chat_id, sender_id, sender_key) VALUES ($1,$2,$3,$4)`, jid, sk.Group, sk.Sender, sk.Record)
	}
}

func openSQLite(t testing.TB, name string) *sql.DB {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openDest(t testing.TB) *sqlstore.DB {
	dst, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "interlock.db"), sqlstore.WithIdentityScope(session.PerDevice))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	return dst
}

// TestIssue15ImportWhatsmeow: issue #15 item 2. go.mau.fi's state in
// whatsmeow's tables is imported; Interlock then decrypts every message in
// flight (late messages of an archived state, skipped keys, a
// PreKeySignalMessage on an imported one-time prekey, group messages behind
// and ahead of the chain) and the unanswered session still sends
// PreKeySignalMessages.
func TestIssue15ImportWhatsmeow(t *testing.T) {
	ctx := context.Background()
	v := loadVector(t)
	src := openSQLite(t, "whatsmeow.db")
	fill(t, src, v)
	dst := openDest(t)

	dry, err := importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if names, _ := dst.Accounts(ctx); len(names) != 0 || !dry.DryRun {
		t.Fatalf("dry run wrote %v", names)
	}
	rep, err := importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Accounts[0]
	if a.Account != v.jid() || a.Sessions != len(v.Sessions) || a.SenderKeys != len(v.SenderKeys) ||
		a.PreKeys != len(v.PreKeys) || a.PreKeysNotUploaded != 1 || a.Identities != len(v.Identities) || len(a.Skipped) != 0 {
		t.Fatalf("report %+v", a)
	}
	st, err := dst.Account(ctx, v.jid())
	if err != nil {
		t.Fatal(err)
	}
	cipher := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
	gcipher := group.NewCipher(st, group.WithLayout(group.LayoutWhatsApp))
	for i, p := range v.Pending {
		var pt []byte
		if p.Type == 0 {
			pt, err = gcipher.Decrypt(ctx, group.SenderKeyName{Sender: p.From, DistributionID: v.SenderKeys[0].Group}, p.Ciphertext)
		} else {
			pt, err = cipher.Decrypt(ctx, session.Address{Name: p.From}, p.Type, p.Ciphertext)
		}
		if err != nil || !bytes.Equal(pt, p.Plaintext) {
			t.Errorf("pending %d (%q): %q, %v", i, p.Plaintext, pt, err)
		}
	}
	if typ, _, err := cipher.Encrypt(ctx, session.Address{Name: "15550000003"}, []byte("c2")); err != nil || typ != session.TypePreKey {
		t.Errorf("unanswered session: type %d, %v", typ, err)
	}
	// A second import finds the account: nothing is merged or replaced.
	if _, err := importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{}); !errors.Is(err, sqlstore.ErrAccountExists) {
		t.Fatalf("second import: %v", err)
	}
}

// TestIssue15ImportWhatsmeowBadRows: a truncated record, a wrong-length
// key, a record of an unknown version: each is a *RowError naming the
// account and the address, and nothing is committed — unless SkipBad, which
// imports the rest and reports them.
func TestIssue15ImportWhatsmeowBadRows(t *testing.T) {
	ctx := context.Background()
	v := loadVector(t)
	rec := v.Sessions["15550000002:0"]
	cases := map[string]struct {
		q     string
		args  []any
		table string
		key   string
	}{
		"truncated session": {`UPDATE whatsmeow_sessions SET session = $1 WHERE their_id = '15550000002:0'`, []any{rec[:len(rec)/2]}, "whatsmeow_sessions", "15550000002:0"},
		"unknown version": {`UPDATE whatsmeow_sessions SET session = $1 WHERE their_id = '15550000002:0'`,
			[]any{bytes.ReplaceAll(rec, []byte(`"SessionVersion":3`), []byte(`"SessionVersion":9`))}, "whatsmeow_sessions", "15550000002:0"},
		"short identity":    {`UPDATE whatsmeow_identity_keys SET identity = $1 WHERE their_id = '15550000003:0'`, []any{make([]byte, 31)}, "whatsmeow_identity_keys", "15550000003:0"},
		"corrupt senderkey": {`UPDATE whatsmeow_sender_keys SET sender_key = $1 WHERE sender_id = '15550000002:0'`, []any{[]byte{0x0a, 0xff}}, "whatsmeow_sender_keys", "120363000000000001@g.us/15550000002:0"},
		"bad address":       {`UPDATE whatsmeow_sessions SET their_id = 'nodevice' WHERE their_id = '15550000003:0'`, nil, "whatsmeow_sessions", "nodevice"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			src := openSQLite(t, "whatsmeow.db")
			fill(t, src, v)
			if _, err := src.ExecContext(ctx, c.q, c.args...); err != nil {
				t.Fatal(err)
			}
			dst := openDest(t)
			_, err := importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{})
			re, ok := errors.AsType[*importer.RowError](err)
			if !ok || !errors.Is(err, importer.ErrBadRow) || re.Account != v.jid() || re.Table != c.table || re.Key != c.key ||
				!strings.Contains(err.Error(), c.key) {
				t.Fatalf("error %v", err)
			}
			if names, _ := dst.Accounts(ctx); len(names) != 0 {
				t.Fatalf("failed import left %v", names)
			}
			rep, err := importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{SkipBad: true})
			if err != nil {
				t.Fatal(err)
			}
			sk := rep.Accounts[0].Skipped
			if len(sk) != 1 || sk[0].Table != c.table || sk[0].Key != c.key {
				t.Fatalf("skipped %+v", sk)
			}
		})
	}
}

// TestIssue15ImportWhatsmeowPerAccountRefused: WhatsApp devices have their
// own identity keys; a destination pinning per account is refused and left
// as it was.
func TestIssue15ImportWhatsmeowPerAccountRefused(t *testing.T) {
	ctx := context.Background()
	v := loadVector(t)
	src := openSQLite(t, "whatsmeow.db")
	fill(t, src, v)
	dst, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{}); err == nil || !strings.Contains(err.Error(), "PerDevice") {
		t.Fatalf("per-account destination: %v", err)
	}
	if names, _ := dst.Accounts(ctx); len(names) != 0 {
		t.Fatalf("left %v", names)
	}
}
