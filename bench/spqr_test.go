package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// Version 4 sessions with and without the SPQR triple ratchet: the
// per-message cost of SPQR and the bytes it adds to each message
// (reported as wire-B/msg, the average SignalMessage size).

func newInterlockV4(tb testing.TB, pq session.SPQRPolicy) *ilConv {
	a, b := newILParty(tb, "alice", 4, false), newILParty(tb, "bob", 4, false)
	for _, p := range []*ilParty{a, b} {
		p.cipher = session.NewCipher(p.store, session.WithSPQR(pq))
	}
	if err := a.cipher.ProcessBundle(context.Background(), b.addr, b.bundle(tb, 4)); err != nil {
		tb.Fatal(err)
	}
	c := &ilConv{[2]*ilParty{a, b}}
	typ, ct := c.send(tb, 0, []byte("hello"))
	c.recv(tb, 1, typ, ct)
	typ, ct = c.send(tb, 1, []byte("hi"))
	c.recv(tb, 0, typ, ct)
	return c
}

var spqrModes = []struct {
	name string
	pq   session.SPQRPolicy
}{{"interlock-spqr", session.PreferSPQR}, {"interlock-nospqr", session.NoSPQR}}

// BenchmarkSteadyStateV4: as BenchmarkSteadyState on PQXDH sessions.
func BenchmarkSteadyStateV4(b *testing.B) {
	for _, size := range []int{64, 1024} {
		for _, m := range spqrModes {
			b.Run(fmt.Sprintf("%dB/%s", size, m.name), func(b *testing.B) {
				c := newInterlockV4(b, m.pq)
				msg := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				wire := 0
				for b.Loop() {
					typ, ct := c.send(b, 0, msg)
					wire += len(ct)
					c.recv(b, 1, typ, ct)
				}
				b.ReportMetric(float64(wire)/float64(b.N), "wire-B/msg")
			})
		}
	}
}

// BenchmarkPingPongV4: as BenchmarkPingPong on PQXDH sessions.
func BenchmarkPingPongV4(b *testing.B) {
	for _, m := range spqrModes {
		b.Run(m.name, func(b *testing.B) {
			c := newInterlockV4(b, m.pq)
			msg := make([]byte, 64)
			b.ReportAllocs()
			from, wire := 0, 0
			for b.Loop() {
				typ, ct := c.send(b, from, msg)
				wire += len(ct)
				c.recv(b, 1-from, typ, ct)
				from = 1 - from
			}
			b.ReportMetric(float64(wire)/float64(b.N), "wire-B/msg")
		})
	}
}
