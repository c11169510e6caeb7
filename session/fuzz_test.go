package session_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

func FuzzParseSignalMessage(f *testing.F) {
	alice, bob := established(f)
	f.Add(alice.send(f, bob, "seed").ct)
	f.Add([]byte{0x44})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := session.ParseSignalMessage(b)
		if err != nil {
			if m != nil {
				t.Fatal("non-nil message with an error")
			}
			return
		}
		if !bytes.Equal(m.Bytes(), b) {
			t.Fatal("Bytes differs from the input")
		}
	})
}

func FuzzParsePreKeySignalMessage(f *testing.F) {
	alice, bob := newParty(f, "alice"), newParty(f, "bob")
	if err := alice.cipher.ProcessBundle(context.Background(), bob.addr, bob.bundle(f, true, true)); err != nil {
		f.Fatal(err)
	}
	f.Add(alice.send(f, bob, "seed").ct)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := session.ParsePreKeySignalMessage(b)
		if err != nil {
			if m != nil {
				t.Fatal("non-nil message with an error")
			}
			return
		}
		if m.Message == nil || m.BaseKey.IsZero() || m.IdentityKey.IsZero() {
			t.Fatal("parsed message lacks a required part")
		}
	})
}

func FuzzUnmarshalRecord(f *testing.F) {
	alice, bob := established(f)
	alice.send(f, bob, "skipped")
	bob.recv(f, alice, alice.send(f, bob, "x"))
	f.Add(bob.record(f, alice.addr))
	for _, b := range loadMauRecords(f).Sessions { // go.mau.fi's JSON form (issue #15)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := session.CheckRecordCodec(b); err != nil {
			t.Fatal(err)
		}
		// Parsed from a buffer overwritten afterwards: a record keeps no
		// reference to its input.
		buf := bytes.Clone(b)
		r, err := session.UnmarshalRecord(buf)
		if err != nil {
			return
		}
		for i := range buf {
			buf[i] ^= 0xFF
		}
		if r.Normalize() != nil {
			return
		}
		got, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			return // go.mau.fi JSON: converted with the time of the call
		}
		again, _ := session.UnmarshalRecord(b)
		if again.Normalize() == nil {
			if want, _ := again.Marshal(); !bytes.Equal(got, want) {
				t.Fatalf("a record changed when its input was overwritten")
			}
		}
	})
}

// FuzzDecrypt feeds arbitrary bytes to Decrypt on an established session: it
// never panics, and a failure leaves the stored record byte-identical.
func FuzzDecrypt(f *testing.F) {
	alice, bob := established(f)
	w := alice.send(f, bob, "seed")
	f.Add(int(session.TypeSignal), w.ct)
	f.Add(int(session.TypePreKey), w.ct)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, typ int, b []byte) {
		before := bob.record(t, alice.addr)
		if _, err := bob.cipher.Decrypt(ctx, alice.addr, session.MessageType(typ), b); err != nil {
			if !bytes.Equal(before, bob.record(t, alice.addr)) {
				t.Fatal("failed decrypt changed the record")
			}
		}
	})
}
