package session_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// TestRecordCodecMatchesProto: for records of every shape the library writes
// (unanswered sessions with and without a one-time prekey, with a Kyber
// ciphertext; version 3 and 4, with and without SPQR; skipped keys in seed
// and in keys form; a non-zero previous counter; forty archived states, parsed
// and not), the hand-written encoder writes exactly proto.Marshal's bytes and
// the hand-written parser takes the record and yields proto.Unmarshal's
// message.
func TestRecordCodecMatchesProto(t *testing.T) {
	for name, b := range codecRecords(t) {
		if err := session.CheckRecordCodec(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !session.FastParses(b) {
			t.Errorf("%s: the hand-written parser falls back to proto.Unmarshal", name)
		}
	}
	// go.mau.fi's JSON records (skipped keys in keys form once converted).
	for i, j := range loadMauRecords(t).Sessions {
		r, err := session.UnmarshalRecord(j)
		if err != nil {
			continue
		}
		b, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := session.CheckRecordCodec(b); err != nil {
			t.Errorf("mau record %s: %v", i, err)
		}
	}
}

// codecRecords returns stored records of every shape the library writes
// (see TestRecordCodecMatchesProto).
func codecRecords(t *testing.T) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	records := map[string][]byte{}
	add := func(name string, p *party, addr session.Address) {
		records[name] = p.record(t, addr)
	}
	for _, c := range []struct {
		name           string
		oneTime, kyber bool
		opts           []session.Option
	}{
		{"v4-spqr", true, true, nil},
		{"v4-nospqr", true, true, []session.Option{session.WithSPQR(session.NoSPQR)}},
		{"v4-no-one-time", false, true, nil},
		{"v3", true, false, []session.Option{session.WithPolicy(session.AllowX3DH)}},
	} {
		alice, bob := newParty(t, "alice", c.opts...), newParty(t, "bob", c.opts...)
		if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, c.oneTime, c.kyber)); err != nil {
			t.Fatal(err)
		}
		first := alice.send(t, bob, "first")
		add(c.name+"/unanswered", alice, bob.addr)
		bob.recv(t, alice, first)
		alice.recv(t, bob, bob.send(t, alice, "reply"))
		for i := range 3 {
			alice.send(t, bob, fmt.Sprint("skipped ", i))
		}
		bob.recv(t, alice, alice.send(t, bob, "after the skipped"))
		add(c.name+"/skipped", bob, alice.addr)
		for range 3 {
			alice.recv(t, bob, bob.send(t, alice, "ping"))
			bob.recv(t, alice, alice.send(t, bob, "pong"))
		}
		add(c.name+"/pingpong-alice", alice, bob.addr)
		add(c.name+"/pingpong-bob", bob, alice.addr)
	}
	alice, bob, late := withArchive(t)
	add("archived", bob, alice.addr)
	bob.recv(t, alice, late) // parses an archived state, which is then written back from its parsed form
	add("archived-parsed", bob, alice.addr)
	return records
}

// TestRecordKeepsNoInput: the parser no longer copies a record's input
// (issue #18): nothing a parsed record keeps may point into it. Records of
// every shape, archived states included, are parsed from buffers then
// overwritten and kept, then many more are parsed on several goroutines;
// every kept record must still marshal to the bytes a fresh parse of its
// input marshals to.
func TestRecordKeepsNoInput(t *testing.T) {
	records := codecRecords(t)
	marshal := func(b []byte) ([]byte, *session.Record) {
		r, err := session.UnmarshalRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Normalize(); err != nil { // parses every archived state
			t.Fatal(err)
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return out, r
	}
	want := map[string][]byte{}
	kept := map[string]*session.Record{}
	for name, b := range records {
		want[name], _ = marshal(b)
		// Parsed from a buffer the caller then overwrites: the record
		// keeps no reference to its input.
		buf := bytes.Clone(b)
		r, err := session.UnmarshalRecord(buf)
		if err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] = 0xA5
		}
		if err := r.Normalize(); err != nil {
			t.Fatal(err)
		}
		kept[name] = r
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				for _, b := range records {
					if r, err := session.UnmarshalRecord(b); err == nil {
						_ = r.Normalize()
					}
				}
			}
		})
	}
	wg.Wait()
	for name, r := range kept {
		got, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[name]) {
			t.Errorf("%s: a kept record changed after other records were parsed", name)
		}
	}
}

// TestRecordCodecFallback: inputs the hand-written parser does not take
// (an unknown field, a repeated singular message, a wrong wire type) go to
// proto.Unmarshal and load as before.
func TestRecordCodecFallback(t *testing.T) {
	alice, bob := established(t)
	b := bob.record(t, alice.addr)
	for name, in := range map[string][]byte{
		"unknown field":      append(append([]byte(nil), b...), 0x18, 0x01), // field 3, varint
		"current twice":      append(append([]byte(nil), b...), b...),
		"wrong wire type":    append(append([]byte(nil), b...), 0x15, 0, 0, 0, 0), // field 2, fixed32
		"archived as varint": append(append([]byte(nil), b...), 0x10, 0x01),
	} {
		if session.FastParses(in) {
			t.Errorf("%s: taken by the fast parser", name)
		}
		if err := session.CheckRecordCodec(in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The unknown field is skipped by proto.Unmarshal: the record loads.
	if _, err := session.UnmarshalRecord(append(append([]byte(nil), b...), 0x18, 0x01)); err != nil {
		t.Errorf("unknown field: %v", err)
	}
}

// TestRecordCodecMutations runs the differential check of the record codec
// on deterministic mutations (byte changes, truncations, insertions; the
// positions from SHA-256 of a counter) of real records, as a cheap stand-in
// for a long run of FuzzUnmarshalRecord.
func TestRecordCodecMutations(t *testing.T) {
	alice, bob := established(t)
	alice.send(t, bob, "skipped")
	bob.recv(t, alice, alice.send(t, bob, "x"))
	seeds := [][]byte{bob.record(t, alice.addr), alice.record(t, bob.addr)}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := range n {
		h := sha256.Sum256(binary.BigEndian.AppendUint32(nil, uint32(i)))
		b := append([]byte(nil), seeds[i%len(seeds)]...)
		for j := 0; j < 1+int(h[0]%4); j++ {
			pos := int(binary.BigEndian.Uint32(h[4+4*j:])) % len(b)
			switch h[1+j] % 4 {
			case 0:
				b[pos] = h[20+j]
			case 1:
				b[pos] ^= 1 << (h[20+j] % 8)
			case 2:
				b = b[:pos]
			case 3:
				b = append(b[:pos], append([]byte{h[20+j], h[24+j]}, b[pos:]...)...)
			}
			if len(b) == 0 {
				break
			}
		}
		if err := session.CheckRecordCodec(b); err != nil {
			t.Fatalf("mutation %d (%x): %v", i, b, err)
		}
	}
}
