package bench

import (
	"context"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
	"go.mau.fi/libsignal/state/record"
)

// fullRecord builds a record holding MaxMessageKeys skipped keys in its
// current state and MaxArchivedStates archived states.
func fullRecord(tb testing.TB) *session.Record {
	ctx := context.Background()
	c := newInterlock(tb, 4, false)
	a, bob := c.p[0], c.p[1]
	for range session.MaxArchivedStates {
		if err := a.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(tb, 4)); err != nil {
			tb.Fatal(err)
		}
	}
	msg := []byte("x")
	for range 2000 {
		c.send(tb, 0, msg)
	}
	typ, ct := c.send(tb, 0, msg)
	c.recv(tb, 1, typ, ct)
	// Bob holds one state; give Alice the skipped keys by reversing roles.
	for range 2000 {
		c.send(tb, 1, msg)
	}
	typ, ct = c.send(tb, 1, msg)
	c.recv(tb, 0, typ, ct)
	r, err := a.store.LoadSession(ctx, bob.addr)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// BenchmarkRecord: encode+decode of a session record (fresh, and full).
func BenchmarkRecord(b *testing.B) {
	fresh := func(tb testing.TB) *session.Record {
		c := established(tb, impls[0], 4).(*ilConv)
		r, err := c.p[0].store.LoadSession(context.Background(), c.p[1].addr)
		if err != nil {
			tb.Fatal(err)
		}
		return r
	}
	for _, tc := range []struct {
		name  string
		build func(testing.TB) *session.Record
	}{{"fresh", fresh}, {"2000keys+40archived", fullRecord}} {
		b.Run(tc.name+"/interlock", func(b *testing.B) {
			r := tc.build(b)
			raw0, _ := r.Marshal()
			b.ReportAllocs()
			for b.Loop() {
				raw, err := r.Marshal()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := session.UnmarshalRecord(raw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(raw0)), "record-bytes")
		})
	}
	b.Run("fresh/mau", func(b *testing.B) {
		c := established(b, impls[2], 3).(*mauConv)
		p := c.p[0]
		rec, err := p.LoadSession(context.Background(), c.addr[1])
		if err != nil {
			b.Fatal(err)
		}
		raw0 := rec.Serialize()
		b.ReportAllocs()
		for b.Loop() {
			raw := rec.Serialize()
			if _, err := record.NewSessionFromBytes(raw, p.Ser.Session, p.Ser.State); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(raw0)), "record-bytes")
	})
}
