package importer_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/importer/whatsmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "modernc.org/sqlite"
)

func loadVector(t testing.TB) *whatsmeowtest.Vector {
	return whatsmeowtest.LoadVector(t, "../../testdata/vectors/mau-records.json")
}

func fill(t testing.TB, db *sql.DB, v *whatsmeowtest.Vector) { whatsmeowtest.Fill(t, db, v) }

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
	if a.Account != v.JID() || a.Sessions != len(v.Sessions) || a.SenderKeys != len(v.SenderKeys) ||
		a.PreKeys != len(v.PreKeys) || a.PreKeysNotUploaded != 1 || a.Identities != len(v.Identities) || len(a.Skipped) != 0 {
		t.Fatalf("report %+v", a)
	}
	st, err := dst.Account(ctx, v.JID())
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
			pt, err = cipher.Decrypt(ctx, session.Address{Name: p.From}, session.MessageType(p.Type), p.Ciphertext)
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
			if !ok || !errors.Is(err, importer.ErrBadRow) || re.Account != v.JID() || re.Table != c.table || re.Key != c.key ||
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
