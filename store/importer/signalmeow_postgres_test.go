package importer_test

import (
	"bytes"
	"context"
	"database/sql"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/importer/signalmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// TestIssue15ImportSignalmeowPostgres: issue #15 item 2 for signalmeow on
// PostgreSQL, both as source (signalmeow's tables) and destination.
func TestIssue15ImportSignalmeowPostgres(t *testing.T) {
	ctx := context.Background()
	v := smVector(t, "0.103")
	src, err := sql.Open("pgx", postgresSchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	signalmeowtest.Fill(t, src, v)
	dst, err := sqlstore.OpenPostgres(ctx, postgresSchemaURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	rep, err := importer.ImportSignalmeow(ctx, src, importer.Postgres, dst, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a := rep.Accounts[0]; len(rep.Accounts) != 2 || a.Sessions != 2 || a.SenderKeys != 2 || a.LastResortKyberPreKeys != 1 {
		t.Fatalf("report %+v", rep.Accounts)
	}
	stA, err := dst.Account(ctx, smACI)
	if err != nil {
		t.Fatal(err)
	}
	stP, err := dst.Account(ctx, smPNI)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range v.Pending {
		if m.Type == 7 {
			continue
		}
		st := stA
		if m.To == "pni" {
			st = stP
		}
		pt, err := session.NewCipher(st).Decrypt(ctx, session.Address{Name: m.From, DeviceID: m.Device}, session.MessageType(m.Type), m.Ciphertext)
		if err != nil || !bytes.Equal(pt, m.Plaintext) {
			t.Errorf("%q: %q, %v", m.Plaintext, pt, err)
		}
	}
}
