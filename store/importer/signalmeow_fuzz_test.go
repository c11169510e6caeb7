package importer_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/store/importer"
)

// rowsDriver is a database/sql driver serving fixed rows per table, so that
// the fuzz target runs the importer's real reading path without an SQL
// engine (an instrumented SQLite runs a few inputs a second).
type rowsDriver struct{}

var (
	fuzzMu     sync.Mutex
	fuzzTables map[string][][]driver.Value
	fromTable  = regexp.MustCompile(`FROM (\w+)`)
	fuzzOnce   sync.Once
)

func (rowsDriver) Open(string) (driver.Conn, error) { return rowsConn{}, nil }

type rowsConn struct{}

func (rowsConn) Prepare(q string) (driver.Stmt, error) { return rowsStmt(q), nil }
func (rowsConn) Close() error                          { return nil }
func (rowsConn) Begin() (driver.Tx, error)             { return nil, errors.New("read only") }

type rowsStmt string

func (rowsStmt) Close() error                               { return nil }
func (rowsStmt) NumInput() int                              { return -1 }
func (rowsStmt) Exec([]driver.Value) (driver.Result, error) { return nil, errors.New("read only") }
func (s rowsStmt) Query([]driver.Value) (driver.Rows, error) {
	m := fromTable.FindStringSubmatch(string(s))
	if m == nil {
		return nil, errors.New("no table")
	}
	cols := strings.Count(strings.SplitN(string(s), " FROM ", 2)[0], ",") + 1
	return &rows{cols: cols, data: fuzzTables[m[1]]}, nil
}

type rows struct {
	cols int
	data [][]driver.Value
}

func (r *rows) Columns() []string { return make([]string, r.cols) }
func (r *rows) Close() error      { return nil }
func (r *rows) Next(dest []driver.Value) error {
	if len(r.data) == 0 {
		return io.EOF
	}
	copy(dest, r.data[0])
	r.data = r.data[1:]
	return nil
}

// smColumns are the importer's queries' columns, in its order.
var smColumns = map[string]string{
	"signalmeow_device":         "aci_uuid, aci_identity_key_pair, registration_id, pni_uuid, pni_identity_key_pair, pni_registration_id, device_id",
	"signalmeow_pre_keys":       "service_id, key_id, is_signed, key_pair",
	"signalmeow_kyber_pre_keys": "service_id, key_id, key_pair, is_last_resort",
	"signalmeow_identity_keys":  "their_service_id, key, trust_level",
	"signalmeow_sessions":       "service_id, their_service_id, their_device_id, record",
	"signalmeow_sender_keys":    "sender_uuid, sender_device_id, distribution_id, key_record",
}

var smTables = []string{"signalmeow_device", "signalmeow_pre_keys", "signalmeow_kyber_pre_keys", "signalmeow_identity_keys", "signalmeow_sessions", "signalmeow_sender_keys"}

// FuzzImportSignalmeowRow: one whole fuzzed row — every column — added to
// any of signalmeow's tables beside a real device's rows (libsignal 0.103's,
// SPQR state included): the import never panics, and fails only with a
// *RowError (with SkipBad, only for a bad device row).
func FuzzImportSignalmeowRow(f *testing.F) {
	ctx := context.Background()
	v := smVector(f, "0.103")
	sqliteSrc := smSource(f, v)
	base := map[string][][]driver.Value{}
	for _, tb := range smTables {
		rs, err := sqliteSrc.Query(`SELECT ` + smColumns[tb] + ` FROM ` + tb)
		if err != nil {
			f.Fatal(err)
		}
		n := len(strings.Split(smColumns[tb], ","))
		for rs.Next() {
			vals := make([]any, n)
			ptrs := make([]any, n)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				f.Fatal(err)
			}
			row := make([]driver.Value, n)
			for i, x := range vals {
				row[i] = x
			}
			base[tb] = append(base[tb], row)
		}
		rs.Close()
	}
	fuzzOnce.Do(func() { sql.Register("interlock-fuzz-rows", rowsDriver{}) })
	src, err := sql.Open("interlock-fuzz-rows", "")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { src.Close() })

	f.Add(uint8(4), smACI, smB, int64(2), v.ACI.Sessions[smB+".1"], false, "")
	f.Add(uint8(4), smPNI, smC, int64(1), v.ACI.Sessions[smC+".1"][:40], true, "")
	f.Add(uint8(5), "", smB, int64(3), v.ACI.SenderKeys[smB+".1/"+smDist], false, smDist)
	f.Add(uint8(3), "", smC, int64(0), v.ACI.Identities[smB], false, "TRUSTED_VERIFIED")
	for _, b := range v.PNI.KyberPreKeys {
		f.Add(uint8(2), smPNI, "", int64(1), b, true, "")
	}
	for _, b := range v.ACI.PreKeys {
		f.Add(uint8(1), smACI, "", int64(7), b, false, "")
	}
	for _, b := range v.ACI.SignedPreKeys {
		f.Add(uint8(1), smACI, "", int64(7), b, true, "")
	}
	f.Add(uint8(0), "6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d5", "11111111-2222-4333-8444-555555555555", int64(1), v.ACI.IdentityKeyPair, true, "")
	f.Fuzz(func(t *testing.T, table uint8, sid, their string, n int64, blob []byte, flag bool, text string) {
		tb := smTables[int(table)%len(smTables)]
		var row []driver.Value
		switch tb {
		case "signalmeow_device":
			row = []driver.Value{their, blob, n, sid, blob, n, n}
		case "signalmeow_pre_keys":
			row = []driver.Value{sid, n, flag, blob}
		case "signalmeow_kyber_pre_keys":
			row = []driver.Value{sid, n, blob, flag}
		case "signalmeow_identity_keys":
			row = []driver.Value{their, blob, text}
		case "signalmeow_sessions":
			row = []driver.Value{sid, their, n, blob}
		case "signalmeow_sender_keys":
			row = []driver.Value{their, n, text, blob}
		}
		tables := map[string][][]driver.Value{}
		for k, rs := range base {
			tables[k] = rs
		}
		tables[tb] = append(append([][]driver.Value(nil), base[tb]...), row)
		fuzzMu.Lock()
		defer fuzzMu.Unlock()
		fuzzTables = tables
		for _, skip := range []bool{false, true} {
			rep, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, nil, importer.Options{DryRun: true, SkipBad: skip})
			if err != nil && !errors.Is(err, importer.ErrBadRow) {
				t.Fatalf("%s, SkipBad %v: %v", tb, skip, err)
			}
			if skip && err != nil && tb != "signalmeow_device" {
				t.Fatalf("%s with SkipBad: %v", tb, err)
			}
			if err == nil && len(rep.Accounts) == 0 {
				t.Fatal("no accounts")
			}
		}
	})
}
