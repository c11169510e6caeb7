package bench

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"testing"

	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/importer/signalmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// BenchmarkImportSignalmeow10k imports a signalmeow SQLite database holding
// 10,000 ACI sessions (libsignal 0.103's record of a real conversation:
// SPQR state, an archived state, skipped keys), plus the device's ACI and
// PNI keys, prekeys and sender keys, into a fresh Interlock SQLite database
// (issue #15). Durability is sqlstore's default (synchronous=FULL).
func BenchmarkImportSignalmeow10k(b *testing.B) {
	ctx := context.Background()
	v := signalmeowtest.LoadVector(b, "../testdata/vectors/signalmeow-0.103.json")
	rec := v.ACI.Sessions["7e2c3f40-5162-4c7d-ae8f-90a1b2c3d4e5.1"]
	aci := *v.ACI
	aci.Sessions = maps.Clone(aci.Sessions)
	for i := range 10_000 - len(aci.Sessions) {
		aci.Sessions[fmt.Sprintf("%08x-0000-4000-8000-000000000000.1", i)] = rec
	}
	v.ACI = &aci
	src, err := sql.Open("sqlite", filepath.Join(b.TempDir(), "signalmeow.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	if _, err := src.Exec(`PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY`); err != nil {
		b.Fatal(err)
	}
	signalmeowtest.Fill(b, src, v)
	b.ReportMetric(float64(len(rec)), "B/record")
	importLoop(b, func(dst *sqlstore.DB) (*importer.Report, error) {
		return importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{})
	})
}
