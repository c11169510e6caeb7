package session_test

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
)

var reviewNoScramble = os.Getenv("REVIEW_NO_SCRAMBLE") != ""

// churn parses records on other goroutines until stop is closed, so that
// any memory the parser reuses is overwritten.
func churn(records [][]byte) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for {
				for _, b := range records {
					select {
					case <-done:
						return
					default:
					}
					if r, err := session.UnmarshalRecord(b); err == nil {
						_ = r.Normalize()
						_, _ = r.Marshal()
					}
				}
			}
		})
	}
	return func() { close(done); wg.Wait() }
}

// TestReviewRecordKeepsNothingOfItsInput: a record parsed from a buffer
// the caller overwrites at once, while other records are parsed on other
// goroutines, still works in every respect: it marshals to the original
// bytes, its skipped keys open their late messages, its archived state is
// promoted for the archived session's late message, its pending prekey (and
// Kyber ciphertext) still starts the session, and the same holds for the
// proto.Unmarshal fallback (an unknown field appended).
func TestReviewRecordKeepsNothingOfItsInput(t *testing.T) {
	others := [][]byte{}
	for _, b := range codecRecords(t) {
		others = append(others, b)
	}
	for _, fallback := range []bool{false, true} {
		name := "fast"
		if fallback {
			name = "fallback"
		}
		t.Run(name, func(t *testing.T) {
			form := func(b []byte) []byte {
				b = bytes.Clone(b)
				if fallback {
					b = protowire.AppendTag(bytes.Clone(b), 99, protowire.BytesType)
					b = protowire.AppendBytes(b, bytes.Repeat([]byte{7}, 40))
				}
				return b
			}
			reload := func(p *party, addr session.Address, raw []byte) {
				t.Helper()
				buf := form(raw)
				if fallback == session.FastParses(buf) {
					t.Fatalf("fast parser takes the %s form: %v", name, !fallback)
				}
				r, err := session.UnmarshalRecord(buf)
				if err != nil {
					t.Fatal(err)
				}
				if !reviewNoScramble {
					for i := range buf {
						buf[i] ^= 0x5A
					}
				}
				stop := churn(others)
				for range 20 {
					runtime.Gosched()
					for _, b := range others {
						_, _ = session.UnmarshalRecord(b)
					}
				}
				stop()
				got, err := r.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, raw) {
					t.Fatalf("the record changed when its input was overwritten (%d bytes, %d archived)", len(raw), r.ArchivedStates())
				}
				if err := p.store.StoreSession(context.Background(), addr, r); err != nil {
					t.Fatal(err)
				}
			}
			// Bob: an archived session with a late message, skipped keys
			// on the current one.
			alice, bob, late := withArchive(t)
			var skipped []wire
			for i := range 3 {
				skipped = append(skipped, alice.send(t, bob, "skipped "+string(rune('a'+i))))
			}
			bob.recv(t, alice, alice.send(t, bob, "after the skipped"))
			reload(bob, alice.addr, bob.record(t, alice.addr))
			for _, w := range skipped {
				bob.recv(t, alice, w)
			}
			bob.recv(t, alice, late) // promotes the archived state
			reload(bob, alice.addr, bob.record(t, alice.addr))
			bob.recv(t, alice, alice.send(t, bob, "on the current session")) // promotes it back
			reload(bob, alice.addr, bob.record(t, alice.addr))
			alice.recv(t, bob, bob.send(t, alice, "after reload"))
			bob.recv(t, alice, alice.send(t, bob, "and back"))

			// Erin and Frank: no archived state (the record is parsed
			// without a copy of its input), skipped keys, SPQR.
			erin, frank := established(t)
			frank.recv(t, erin, erin.send(t, frank, "hello again"))
			erin.recv(t, frank, frank.send(t, erin, "hi"))
			skipped = skipped[:0]
			for i := range 3 {
				skipped = append(skipped, erin.send(t, frank, "skipped "+string(rune('a'+i))))
			}
			frank.recv(t, erin, erin.send(t, frank, "after the skipped"))
			raw := frank.record(t, erin.addr)
			if r, _ := session.UnmarshalRecord(raw); r == nil || r.ArchivedStates() != 0 {
				t.Fatal("frank's record has archived states")
			}
			reload(frank, erin.addr, raw)
			reload(erin, frank.addr, erin.record(t, frank.addr))
			for _, w := range skipped {
				frank.recv(t, erin, w)
			}
			erin.recv(t, frank, frank.send(t, erin, "after reload"))
			frank.recv(t, erin, erin.send(t, frank, "and back"))

			// Carol: an unanswered session (pending prekey, Kyber
			// ciphertext): her next message must still be a working
			// prekey message.
			carol, dave := newParty(t, "carol"), newParty(t, "dave")
			if err := carol.cipher.ProcessBundle(context.Background(), dave.addr, dave.bundle(t, true, true)); err != nil {
				t.Fatal(err)
			}
			first := carol.send(t, dave, "first")
			reload(carol, dave.addr, carol.record(t, dave.addr))
			second := carol.send(t, dave, "second")
			if second.typ != first.typ {
				t.Fatalf("after reload: message type %v, want %v", second.typ, first.typ)
			}
			dave.recv(t, carol, second)
			dave.recv(t, carol, first)
			carol.recv(t, dave, dave.send(t, carol, "answer"))
		})
	}
}

// TestReviewCorruptRecordErrorStable: the error for a record that does not
// parse does not change when its input is overwritten afterwards.
func TestReviewCorruptRecordErrorStable(t *testing.T) {
	var others [][]byte
	for _, b := range codecRecords(t) {
		others = append(others, b)
	}
	stop := churn(others)
	defer stop()
	n := 0
	for _, raw := range others {
		for i := 0; i < len(raw); i += 41 {
			buf := bytes.Clone(raw)
			buf[i] ^= 0x80
			_, err := session.UnmarshalRecord(buf)
			if err == nil {
				continue
			}
			n++
			msg := err.Error()
			for j := range buf {
				buf[j] = 0xEE
			}
			runtime.Gosched()
			if err.Error() != msg {
				t.Fatalf("error changed with its input: %q → %q", msg, err.Error())
			}
		}
	}
	if n == 0 {
		t.Fatal("no corrupt record")
	}
}

// TestReviewConcurrentMarshalClone: Marshal and Clone of one record on
// several goroutines at once (run with -race), archived states included.
func TestReviewConcurrentMarshalClone(t *testing.T) {
	for name, raw := range codecRecords(t) {
		r, err := session.UnmarshalRecord(raw)
		if err != nil {
			t.Fatal(err)
		}
		var bad atomic.Bool
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 20 {
					b, err := r.Marshal()
					if err != nil || !bytes.Equal(b, raw) {
						bad.Store(true)
					}
					c := r.Clone()
					if b, err := c.Marshal(); err != nil || !bytes.Equal(b, raw) {
						bad.Store(true)
					}
				}
			})
		}
		wg.Wait()
		if bad.Load() {
			t.Errorf("%s: a concurrent Marshal or Clone differs", name)
		}
	}
}

// TestReviewMarshalSizeHint: Marshal sizes its buffer from the length the
// record was read from. A stored record padded with a field the parser
// skips (here 8 MiB of an unknown field, taken by proto.Unmarshal) must not
// make every later Marshal, of the record or of its clones, allocate that
// much again: storage bytes must not buy lasting allocations.
func TestReviewMarshalSizeHint(t *testing.T) {
	alice, bob := established(t)
	raw := bob.record(t, alice.addr)
	padded := protowire.AppendTag(bytes.Clone(raw), 99, protowire.BytesType)
	padded = protowire.AppendBytes(padded, make([]byte, 8<<20))
	r, err := session.UnmarshalRecord(padded)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Clone()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 4 {
		for _, x := range []*session.Record{r, c} {
			b, err := x.Marshal()
			if err != nil || !bytes.Equal(b, raw) {
				t.Fatal("Marshal", err)
			}
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 8; per > 64<<10 {
		t.Errorf("Marshal of a %d-byte record allocates %d bytes a call", len(raw), per)
	}
}
