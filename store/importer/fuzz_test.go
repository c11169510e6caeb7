package importer

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/store/importer/whatsmeowtest"
)

// Tables FuzzWhatsmeowRows converts a row of.
const (
	fuzzDevice = iota
	fuzzPreKey
	fuzzIdentity
	fuzzSession
	fuzzSenderKey
	fuzzTables
)

// FuzzWhatsmeowRows: a whole row of any of whatsmeow's tables, as the SQL
// reader scans it, through its conversion into Interlock's records
// (whatsmeow.go: device, preKeyRow, identityRow, sessionRow, senderKeyRow).
// Whatever the bytes, the conversion returns a record or an error, never
// panics, and allocates at most fuzzAllocPerByte per input byte plus
// fuzzAllocBase; a record it returns re-marshals. Seeds: every row of
// testdata/vectors/mau-records.json, go.mau.fi's records as whatsmeow
// stores them.
func FuzzWhatsmeowRows(f *testing.F) {
	v := whatsmeowtest.LoadVector(f, "../../testdata/vectors/mau-records.json")
	for _, b := range v.SignedPreKeys {
		r, err := prekey.UnmarshalSignedPreKeyRecord(b)
		if err != nil {
			f.Fatal(err)
		}
		row := append(append(append([]byte(nil), v.IdentityPrivate...), r.KeyPair.Private.Bytes()...), r.Signature...)
		f.Add(uint8(fuzzDevice), v.JID(), "", int64(r.ID), row)
	}
	for id, b := range v.PreKeys {
		r, err := prekey.UnmarshalPreKeyRecord(b)
		if err != nil {
			f.Fatal(err)
		}
		n, _ := strconv.ParseInt(id, 10, 64)
		f.Add(uint8(fuzzPreKey), "", "", n, r.KeyPair.Private.Bytes())
	}
	for a, k := range v.Identities {
		f.Add(uint8(fuzzIdentity), a, "", int64(0), k[1:])
	}
	for a, b := range v.Sessions {
		f.Add(uint8(fuzzSession), a, "", int64(0), b)
	}
	for _, sk := range v.SenderKeys {
		f.Add(uint8(fuzzSenderKey), sk.Sender, sk.Group, int64(0), sk.Record)
	}
	r := &whatsmeowReader{opts: Options{
		Address:     WhatsmeowAddress,
		AccountName: func(jid string) (string, error) { return jid, nil },
		Now:         func() time.Time { return time.Unix(1700000000, 0) },
	}}
	f.Fuzz(func(t *testing.T, table uint8, id, chat string, n int64, b []byte) {
		if len(b) > fuzzMaxRow {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := convertRow(r, table%fuzzTables, id, chat, n, b)
		runtime.ReadMemStats(&after)
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(fuzzAllocBase+fuzzAllocPerByte*(len(b)+len(id)+len(chat))); got > limit {
			t.Fatalf("table %d, %d-byte row: %d bytes allocated, limit %d", table%fuzzTables, len(b), got, limit)
		}
		if err != nil {
			t.Skip()
		}
	})
}

// Bounds of FuzzWhatsmeowRows: a row no larger than fuzzMaxRow allocates
// at most fuzzAllocBase plus fuzzAllocPerByte per byte (a protobuf field of
// two bytes can stand for a state struct of a few hundred).
const (
	fuzzMaxRow       = 1 << 20
	fuzzAllocBase    = 1 << 20
	fuzzAllocPerByte = 512
)

// convertRow runs the conversion of one row of table and checks that a
// record it returns marshals.
func convertRow(r *whatsmeowReader, table uint8, id, chat string, n int64, b []byte) error {
	switch table {
	case fuzzDevice:
		at := func(i, j int) []byte { return b[min(i, len(b)):min(j, len(b))] }
		d, err := r.device(id, n, at(0, 32), at(32, 64), n&0xFFFFFF, at(64, len(b)))
		if err == nil && d.spk.KeyPair.Public.Bytes() == nil {
			panic("device without a signed prekey")
		}
		return err
	case fuzzPreKey:
		_, err := preKeyRow(n, b)
		return err
	case fuzzIdentity:
		_, _, err := r.identityRow(id, b)
		return err
	case fuzzSession:
		_, rec, err := r.sessionRow(id, b)
		if err == nil {
			if _, err := rec.Marshal(); err != nil {
				panic("imported session record does not marshal: " + err.Error())
			}
		}
		return err
	default:
		_, rec, err := r.senderKeyRow(chat, id, b)
		if err == nil {
			if _, err := rec.Marshal(); err != nil {
				panic("imported sender-key record does not marshal: " + err.Error())
			}
		}
		return err
	}
}
