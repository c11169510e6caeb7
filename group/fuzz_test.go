package group_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
)

func seedMessages(f *testing.F) {
	for _, l := range layouts {
		a, b := newMember("alice", l), newMember("bob", l)
		join(f, a, b)
		m, err := a.cipher.CreateDistributionMessage(context.Background(), a.self)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(m.Bytes())
		f.Add(send(f, a, "seed"))
	}
	f.Add([]byte{0x33})
}

func FuzzParseSenderKeyMessage(f *testing.F) {
	seedMessages(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range layouts {
			m, err := group.ParseSenderKeyMessage(b, l)
			if err != nil {
				if m != nil {
					t.Fatal("non-nil message with an error")
				}
				continue
			}
			if !bytes.Equal(m.Bytes(), b) || len(m.Signature()) != group.SignatureSize || m.Layout != l {
				t.Fatal("parsed message inconsistent")
			}
		}
		m, err := group.ParseAnySenderKeyMessage(b)
		if err == nil {
			if _, err := group.ParseSenderKeyMessage(b, 1-m.Layout); err == nil {
				t.Fatal("message parses in both layouts")
			}
		}
	})
}

func FuzzParseSenderKeyDistributionMessage(f *testing.F) {
	seedMessages(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range layouts {
			m, err := group.ParseSenderKeyDistributionMessage(b, l)
			if err != nil {
				if m != nil {
					t.Fatal("non-nil message with an error")
				}
				continue
			}
			if len(m.ChainKey) != group.ChainKeySize || m.SigningKey.IsZero() || !bytes.Equal(m.Bytes(), b) {
				t.Fatal("parsed message inconsistent")
			}
		}
		m, err := group.ParseAnySenderKeyDistributionMessage(b)
		if err == nil {
			if _, err := group.ParseSenderKeyDistributionMessage(b, 1-m.Layout); err == nil {
				t.Fatal("distribution message parses in both layouts")
			}
		}
	})
}

func FuzzUnmarshalRecord(f *testing.F) {
	a, b := newMember("alice", group.LayoutSignal), newMember("bob", group.LayoutSignal)
	join(f, a, b)
	send(f, a, "skipped")
	recv(f, b, a, send(f, a, "x"), "x")
	f.Add(stored(f, a, a))
	f.Add(stored(f, b, a))
	for _, sk := range loadMauSenderKeys(f) { // go.mau.fi's JSON form (issue #15)
		f.Add(sk)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := group.UnmarshalRecord(raw)
		if err != nil {
			if r != nil {
				t.Fatal("non-nil record with an error")
			}
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := group.UnmarshalRecord(out)
		if err != nil {
			t.Fatal(err)
		}
		if out2, _ := r2.Marshal(); !bytes.Equal(out, out2) {
			t.Fatal("marshal is not stable")
		}
	})
}

// FuzzDecrypt feeds arbitrary bytes to Decrypt: it never panics, and a
// failure leaves the stored record byte-identical.
func FuzzDecrypt(f *testing.F) {
	a, b := newMember("alice", group.LayoutSignal), newMember("bob", group.LayoutSignal)
	join(f, a, b)
	f.Add(send(f, a, "seed"))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, ct []byte) {
		before := stored(t, b, a)
		if _, err := b.cipher.Decrypt(ctx, a.self, ct); err != nil {
			if !bytes.Equal(before, stored(t, b, a)) {
				t.Fatal("failed decrypt changed the record")
			}
		}
	})
}
