package importer_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
	"github.com/interlock-e2ee/interlock/store/importer/signalmeowtest"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// The service IDs of testdata/vectors/signalmeow-*.json
// (interop/signalmeow writes them).
const (
	smACI  = "5c0a1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3"
	smPNI  = "PNI:6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4"
	smB    = "7e2c3f40-5162-4c7d-ae8f-90a1b2c3d4e5"
	smC    = "8f3d4051-6273-4d8e-bf90-a1b2c3d4e5f6"
	smDist = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
)

var smLibs = []string{"0.90", "0.103"}

func smVector(t testing.TB, lib string) *signalmeowtest.Vector {
	return signalmeowtest.LoadVector(t, "../../testdata/vectors/signalmeow-"+lib+".json")
}

func smSource(t testing.TB, v *signalmeowtest.Vector) *sql.DB {
	src := openSQLite(t, "signalmeow.db")
	signalmeowtest.Fill(t, src, v)
	return src
}

func openDestPerAccount(t testing.TB) *sqlstore.DB {
	dst, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "interlock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dst.Close() })
	return dst
}

// smDump is every row of the source, to show the import left it alone.
func smDump(t testing.TB, db *sql.DB) []byte {
	var out []byte
	for _, q := range []string{
		`SELECT aci_uuid, aci_identity_key_pair, pni_uuid, pni_identity_key_pair FROM signalmeow_device`,
		`SELECT service_id || key_id || is_signed, key_pair FROM signalmeow_pre_keys ORDER BY 1`,
		`SELECT service_id || key_id || is_last_resort, key_pair FROM signalmeow_kyber_pre_keys ORDER BY 1`,
		`SELECT their_service_id || trust_level, key FROM signalmeow_identity_keys ORDER BY 1`,
		`SELECT service_id || their_service_id || their_device_id, record FROM signalmeow_sessions ORDER BY 1`,
		`SELECT distribution_id || sender_uuid || sender_device_id, key_record FROM signalmeow_sender_keys ORDER BY 1`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			vals := make([]any, len(strings.Split(strings.SplitN(q, " FROM", 2)[0], ",")))
			for i := range vals {
				vals[i] = new([]byte)
			}
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				out = append(out, *v.(*[]byte)...)
				out = append(out, 0)
			}
		}
		rows.Close()
	}
	return out
}

// TestIssue15ImportSignalmeow: issue #15 item 2 for signalmeow. libsignal
// 0.90's and 0.103's records (SPQR state included) in signalmeow's tables
// become two accounts, the ACI's and the PNI's; Interlock then decrypts
// every message in flight (a late message of an archived state, skipped
// keys, a skipped group message, a PreKeySignalMessage to the PNI), the
// unanswered session still sends PreKeySignalMessages, and the source is
// unchanged. The live continuation is interop/signalmeow.
func TestIssue15ImportSignalmeow(t *testing.T) {
	ctx := context.Background()
	for _, lib := range smLibs {
		t.Run(lib, func(t *testing.T) {
			v := smVector(t, lib)
			src := smSource(t, v)
			before := smDump(t, src)
			dst := openDestPerAccount(t)
			dry, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if names, _ := dst.Accounts(ctx); len(names) != 0 || !dry.DryRun || len(dry.Accounts) != 2 {
				t.Fatalf("dry run wrote %v (%+v)", names, dry)
			}
			rep, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{})
			if err != nil {
				t.Fatal(err)
			}
			a, p := rep.Accounts[0], rep.Accounts[1]
			if a.ServiceID != smACI || a.Account != smACI || a.Sessions != 2 || a.SenderKeys != 2 || a.Identities != 2 ||
				a.PreKeys != len(v.ACI.PreKeys) || a.SignedPreKeys != len(v.ACI.SignedPreKeys) || a.KyberPreKeys != 1 ||
				a.LastResortKyberPreKeys != 1 || len(a.Skipped) != 0 {
				t.Fatalf("ACI report %+v", a)
			}
			if p.ServiceID != smPNI || p.Account != smPNI || p.Sessions != 0 || p.SenderKeys != 0 || p.PreKeys != 1 ||
				p.SignedPreKeys != 1 || p.KyberPreKeys != 1 || p.LastResortKyberPreKeys != 0 {
				t.Fatalf("PNI report %+v", p)
			}
			if !bytes.Equal(before, smDump(t, src)) {
				t.Fatal("the import changed the source")
			}
			stA, err := dst.Account(ctx, smACI)
			if err != nil {
				t.Fatal(err)
			}
			stP, err := dst.Account(ctx, smPNI)
			if err != nil {
				t.Fatal(err)
			}
			if reg, _ := stP.LocalRegistrationID(ctx); reg != v.PNI.RegistrationID {
				t.Fatalf("PNI registration ID %d, want %d", reg, v.PNI.RegistrationID)
			}
			if ids, kids, err := stA.NotUploadedPreKeyIDs(ctx); err != nil || len(ids)+len(kids) != 0 {
				t.Fatalf("not uploaded: %v %v %v", ids, kids, err)
			}
			if k, err := stA.LoadKyberPreKey(ctx, v.LastResort[0]); err != nil || !k.LastResort {
				t.Fatalf("last-resort Kyber prekey: %+v, %v", k, err)
			}
			IA, IP, IG := session.NewCipher(stA), session.NewCipher(stP), group.NewCipher(stA)
			for _, m := range v.Pending {
				var pt []byte
				from := session.Address{Name: m.From, DeviceID: m.Device}
				switch {
				case m.Type == 7:
					pt, err = IG.Decrypt(ctx, group.SenderKeyName{Sender: m.From, DeviceID: m.Device, DistributionID: smDist}, m.Ciphertext)
				case m.To == "pni":
					pt, err = IP.Decrypt(ctx, from, session.MessageType(m.Type), m.Ciphertext)
				default:
					pt, err = IA.Decrypt(ctx, from, session.MessageType(m.Type), m.Ciphertext)
				}
				if err != nil || !bytes.Equal(pt, m.Plaintext) {
					t.Errorf("pending %q: %q, %v", m.Plaintext, pt, err)
				}
			}
			if typ, _, err := IA.Encrypt(ctx, session.Address{Name: smC, DeviceID: 1}, []byte("c2")); err != nil || typ != session.TypePreKey {
				t.Errorf("unanswered session: type %d, %v", typ, err)
			}
			if _, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{}); !errors.Is(err, sqlstore.ErrAccountExists) {
				t.Fatalf("second import: %v", err)
			}
		})
	}
}

// TestIssue15ImportSignalmeowMapping: the caller's own names for accounts
// and remote service IDs.
func TestIssue15ImportSignalmeowMapping(t *testing.T) {
	ctx := context.Background()
	v := smVector(t, "0.103")
	src := smSource(t, v)
	dst := openDestPerAccount(t)
	_, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{
		AccountName: func(id string) (string, error) { return "bridge/" + id, nil },
		ServiceName: func(id string) (string, error) { return "user-" + id, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := dst.Account(ctx, "bridge/"+smACI)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := st.LoadSession(ctx, session.Address{Name: "user-" + smB, DeviceID: 1}); err != nil || rec == nil {
		t.Fatalf("mapped session: %v, %v", rec, err)
	}
	if _, ok, err := st.Identity(ctx, session.Address{Name: "user-" + smC, DeviceID: 1}); err != nil || !ok {
		t.Fatalf("mapped identity: %v, %v", ok, err)
	}
	if _, err := dst.Account(ctx, "bridge/"+smPNI); err != nil {
		t.Fatal(err)
	}
}

// withSessionVersion rewrites session_version in a RecordStructure's
// current session.
func withSessionVersion(t testing.TB, rec []byte, version uint64) []byte {
	var out []byte
	for b := rec; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal("bad record")
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		field := b[:n+m]
		if num == 1 && typ == protowire.BytesType {
			inner, _ := protowire.ConsumeBytes(b[n:])
			var rest []byte
			for c := inner; len(c) > 0; {
				cn, ct, k := protowire.ConsumeTag(c)
				l := protowire.ConsumeFieldValue(cn, ct, c[k:])
				if cn != 1 {
					rest = append(rest, c[:k+l]...)
				}
				c = c[k+l:]
			}
			nc := append(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), version), rest...)
			field = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), nc)
		}
		out = append(out, field...)
		b = b[n+m:]
	}
	return out
}

// TestIssue15ImportSignalmeowBadRows: a truncated record, a wrong-length
// key, a record of an unknown version, an unknown trust level, an address
// that is no service ID, a row of a service ID the device does not have:
// each is a *RowError naming the account (the local service ID), the table
// and the address, and nothing is committed — unless SkipBad, which
// imports the rest and reports them.
func TestIssue15ImportSignalmeowBadRows(t *testing.T) {
	ctx := context.Background()
	v := smVector(t, "0.103")
	rec := v.ACI.Sessions[smB+".1"]
	other := "11111111-2222-4333-8444-555555555555"
	cases := map[string]struct {
		q          string
		args       []any
		account    string
		table, key string
	}{
		"truncated session": {`UPDATE signalmeow_sessions SET record = $1 WHERE their_service_id = '` + smB + `'`, []any{rec[:len(rec)/2]}, smACI, "signalmeow_sessions", smB + ".1"},
		"unknown version": {`UPDATE signalmeow_sessions SET record = $1 WHERE their_service_id = '` + smB + `'`,
			[]any{withSessionVersion(t, rec, 9)}, smACI, "signalmeow_sessions", smB + ".1"},
		"short identity":    {`UPDATE signalmeow_identity_keys SET key = $1 WHERE their_service_id = '` + smC + `'`, []any{make([]byte, 32)}, smACI, "signalmeow_identity_keys", smC},
		"untrusted":         {`UPDATE signalmeow_identity_keys SET trust_level = 'UNTRUSTED' WHERE their_service_id = '` + smC + `'`, nil, smACI, "signalmeow_identity_keys", smC},
		"corrupt senderkey": {`UPDATE signalmeow_sender_keys SET key_record = $1 WHERE sender_uuid = '` + smB + `'`, []any{[]byte{0x0a, 0xff}}, smACI, "signalmeow_sender_keys", smDist + "/" + smB + ".1"},
		"not a service ID":  {`UPDATE signalmeow_sessions SET their_service_id = 'nobody' WHERE their_service_id = '` + smC + `'`, nil, smACI, "signalmeow_sessions", "nobody.1"},
		"foreign service":   {`UPDATE signalmeow_sessions SET service_id = '` + other + `' WHERE their_service_id = '` + smC + `'`, nil, smACI, "signalmeow_sessions", other + "/" + smC + ".1"},
		"truncated kyber":   {`UPDATE signalmeow_kyber_pre_keys SET key_pair = substr(key_pair, 1, 100) WHERE service_id = '` + smPNI + `'`, nil, smPNI, "signalmeow_kyber_pre_keys", smPNI + "/kyber/1"},
		"wrong prekey ID":   {`UPDATE signalmeow_pre_keys SET key_id = key_id + 100 WHERE service_id = '` + smPNI + `' AND NOT is_signed`, nil, smPNI, "signalmeow_pre_keys", smPNI + "/101"},
	}
	// One destination for all cases: each failed import must leave it
	// empty; the SkipBad imports are dry runs but one, which writes.
	dst := openDestPerAccount(t)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			src := smSource(t, v)
			if _, err := src.ExecContext(ctx, c.q, c.args...); err != nil {
				t.Fatal(err)
			}
			_, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{})
			t.Log(err)
			re, ok := errors.AsType[*importer.RowError](err)
			if !ok || !errors.Is(err, importer.ErrBadRow) || re.Account != c.account || re.Table != c.table || re.Key != c.key ||
				!strings.Contains(err.Error(), c.key) || !strings.Contains(err.Error(), c.account) {
				t.Fatalf("error %v", err)
			}
			if names, _ := dst.Accounts(ctx); len(names) != 0 {
				t.Fatalf("failed import left %v", names)
			}
			write := name == "truncated session"
			rep, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{SkipBad: true, DryRun: !write})
			if err != nil {
				t.Fatal(err)
			}
			sk := rep.Totals().Skipped
			if len(sk) != 1 || sk[0].Table != c.table || sk[0].Key != c.key || len(rep.Accounts) != 2 {
				t.Fatalf("skipped %+v", sk)
			}
			if write {
				names, _ := dst.Accounts(ctx)
				if len(names) != 2 {
					t.Fatalf("accounts %v", names)
				}
				for _, n := range names {
					if err := dst.DeleteAccount(ctx, n); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
	// A device row that cannot be read fails the import even with SkipBad:
	// without its identity nothing of the device can be imported.
	src := smSource(t, v)
	if _, err := src.ExecContext(ctx, `UPDATE signalmeow_device SET pni_identity_key_pair = X'0a01'`); err != nil {
		t.Fatal(err)
	}
	_, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, openDestPerAccount(t), importer.Options{SkipBad: true})
	if re, ok := errors.AsType[*importer.RowError](err); !ok || re.Table != "signalmeow_device" || re.Account != smACI {
		t.Fatalf("bad device: %v", err)
	}
}

// TestIssue15ImportSignalmeowNoPNI: a device without a PNI identity key
// pair gives the ACI's account alone.
func TestIssue15ImportSignalmeowNoPNI(t *testing.T) {
	ctx := context.Background()
	src := smSource(t, smVector(t, "0.90"))
	for _, q := range []string{`DELETE FROM signalmeow_pre_keys WHERE service_id = '` + smPNI + `'`, `DELETE FROM signalmeow_kyber_pre_keys WHERE service_id = '` + smPNI + `'`,
		`UPDATE signalmeow_device SET pni_uuid = '00000000-0000-0000-0000-000000000000', pni_identity_key_pair = X''`} {
		if _, err := src.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, nil, importer.Options{DryRun: true})
	if err != nil || len(rep.Accounts) != 1 || rep.Accounts[0].ServiceID != smACI || rep.Accounts[0].Sessions != 2 {
		t.Fatalf("%+v, %v", rep, err)
	}
}

// TestIssue15ImportSignalmeowPerDeviceRefused: a Signal account has one
// identity key for all its devices; a destination pinning per device is
// refused and left as it was.
func TestIssue15ImportSignalmeowPerDeviceRefused(t *testing.T) {
	ctx := context.Background()
	src := smSource(t, smVector(t, "0.90"))
	dst := openDest(t) // per device
	if _, err := importer.ImportSignalmeow(ctx, src, importer.SQLite, dst, importer.Options{}); err == nil || !strings.Contains(err.Error(), "PerAccount") {
		t.Fatalf("per-device destination: %v", err)
	}
	if names, _ := dst.Accounts(ctx); len(names) != 0 {
		t.Fatalf("left %v", names)
	}
}

func TestCanonicalServiceID(t *testing.T) {
	for in, want := range map[string]string{
		"5C0A1D2E-3F40-4A5B-8C6D-7E8F90A1B2C3":     smACI,
		"pni:6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4": smPNI,
		"":                                 "",
		"PNI:":                             "",
		"5c0a1d2e3f404a5b8c6d7e8f90a1b2c3": "",
		"ACI:5c0a1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3": "",
		"5c0a1d2e-3f40-4a5b-8c6d-7e8f90a1b2cg":     "",
	} {
		got, _, err := importer.CanonicalServiceID(in)
		if got != want || (want == "") != errors.Is(err, importer.ErrServiceID) {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
}
