package bench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/interlock-e2ee/interlock/interop/mau"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/importer/whatsmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	_ "modernc.org/sqlite"
)

// BenchmarkImportWhatsmeow10k imports a whatsmeow SQLite database holding
// 10,000 sessions (go.mau.fi JSON records of a real conversation: an
// archived state, skipped keys, ~2.6 KB each), plus its device, prekeys and
// sender keys, into a fresh Interlock SQLite database (issue #15; target:
// under 5 s per import). Durability is sqlstore's default (synchronous=FULL).
func BenchmarkImportWhatsmeow10k(b *testing.B) {
	ctx := context.Background()
	sc, err := mau.NewScenario()
	if err != nil {
		b.Fatal(err)
	}
	st := sc.A.St
	rec := st.Sessions[mau.Addr(mau.ScenarioB).String()]
	v := &whatsmeowtest.Vector{
		Name: st.Name, Device: st.Device, RegistrationID: st.RegistrationID, IdentityPrivate: st.IdentityPrivate,
		SignedPreKeys: st.SignedPreKeys, PreKeys: st.PreKeys, Sessions: map[string][]byte{}, Identities: map[string][]byte{},
	}
	for i := range 10_000 {
		v.Sessions[fmt.Sprintf("1666%07d:0", i)] = rec
	}
	src, err := sql.Open("sqlite", filepath.Join(b.TempDir(), "whatsmeow.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	// Filling the source is setup: no fsync per row.
	src.SetMaxOpenConns(1)
	if _, err := src.Exec(`PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY`); err != nil {
		b.Fatal(err)
	}
	whatsmeowtest.Fill(b, src, v)
	importLoop(b, func(dst *sqlstore.DB) (*importer.Report, error) {
		return importer.ImportWhatsmeow(ctx, src, importer.SQLite, dst, importer.Options{})
	}, sqlstore.WithIdentityScope(session.PerDevice))
}

// importLoop times import into a new SQLite destination per iteration
// (opened with opts, outside the timer) and checks that it brought 10,000
// sessions into the first account.
func importLoop(b *testing.B, imp func(*sqlstore.DB) (*importer.Report, error), opts ...sqlstore.Option) {
	ctx := context.Background()
	dir := b.TempDir()
	n := 0
	for b.Loop() {
		b.StopTimer()
		n++
		dst, err := sqlstore.Open(ctx, filepath.Join(dir, fmt.Sprintf("interlock-%d.db", n)), opts...)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := imp(dst)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Accounts[0].Sessions != 10_000 {
			b.Fatalf("imported %d sessions", rep.Accounts[0].Sessions)
		}
		b.StopTimer()
		dst.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/import")
}
