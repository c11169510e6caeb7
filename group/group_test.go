package group_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
)

var layouts = []group.Layout{group.LayoutSignal, group.LayoutWhatsApp}

const dist = "7e1f0c2a-9b3d-4e5f-8a6b-1c2d3e4f5a6b"

type member struct {
	self   group.SenderKeyName
	store  *group.MemoryStore
	cipher *group.Cipher
}

func newMember(name string, layout group.Layout) *member {
	st := group.NewMemoryStore()
	return &member{
		self:   group.SenderKeyName{Sender: name, DeviceID: 1, DistributionID: dist},
		store:  st,
		cipher: group.NewCipher(st, group.WithLayout(layout)),
	}
}

// join gives every receiver the sender's distribution message.
func join(t testing.TB, from *member, to ...*member) {
	t.Helper()
	ctx := context.Background()
	m, err := from.cipher.CreateDistributionMessage(ctx, from.self)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range to {
		parsed, err := group.ParseSenderKeyDistributionMessage(m.Bytes(), r.cipher.Layout())
		if err != nil {
			t.Fatal(err)
		}
		if err := r.cipher.ProcessDistributionMessage(ctx, from.self, parsed); err != nil {
			t.Fatal(err)
		}
	}
}

func send(t testing.TB, from *member, pt string) []byte {
	t.Helper()
	ct, err := from.cipher.Encrypt(context.Background(), from.self, []byte(pt))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func recv(t testing.TB, to, from *member, ct []byte, want string) {
	t.Helper()
	pt, err := to.cipher.Decrypt(context.Background(), from.self, ct)
	if err != nil {
		t.Fatalf("%s from %s: %v", to.self.Sender, from.self.Sender, err)
	}
	if string(pt) != want {
		t.Fatalf("plaintext %q, want %q", pt, want)
	}
}

// stored returns the marshalled record m keeps for from.
func stored(t testing.TB, m, from *member) []byte {
	t.Helper()
	r, err := m.store.LoadSenderKey(context.Background(), from.self)
	if err != nil || r == nil {
		t.Fatalf("load: %v, %v", r, err)
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			a, b, c := newMember("alice", l), newMember("bob", l), newMember("carol", l)
			join(t, a, b, c)
			join(t, b, a, c)
			for i := range 5 {
				for _, s := range []*member{a, b} {
					pt := fmt.Sprintf("%s %d", s.self.Sender, i)
					ct := send(t, s, pt)
					m, err := group.ParseAnySenderKeyMessage(ct)
					if err != nil || m.Layout != l || m.Iteration != uint32(i) {
						t.Fatalf("auto-detect: %+v, %v", m, err)
					}
					for _, r := range []*member{a, b, c} {
						if r != s {
							recv(t, r, s, ct, pt)
						}
					}
				}
			}
			// An empty plaintext is one block of padding.
			ct := send(t, a, "")
			recv(t, b, a, ct, "")
		})
	}
}

func TestOutOfOrderAndDuplicates(t *testing.T) {
	for _, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			a, b := newMember("alice", l), newMember("bob", l)
			join(t, a, b)
			var cts [][]byte
			for i := range 10 {
				cts = append(cts, send(t, a, fmt.Sprint(i)))
			}
			for _, i := range []int{3, 0, 9, 1, 2, 8, 4, 7, 5, 6} {
				recv(t, b, a, cts[i], fmt.Sprint(i))
			}
			for i, ct := range cts {
				before := stored(t, b, a)
				_, err := b.cipher.Decrypt(context.Background(), a.self, ct)
				if !errors.Is(err, group.ErrDuplicateMessage) {
					t.Fatalf("replay %d: %v", i, err)
				}
				if !bytes.Equal(before, stored(t, b, a)) {
					t.Fatal("a duplicate changed the record")
				}
			}
		})
	}
}

// TestLateJoiner: a distribution message carries the current iteration, so
// a late member cannot read earlier messages, and a repeated distribution
// message does not rewind a chain (libsignal keeps the existing state).
func TestLateJoiner(t *testing.T) {
	ctx := context.Background()
	a, b, d := newMember("alice", group.LayoutSignal), newMember("bob", group.LayoutSignal), newMember("dave", group.LayoutSignal)
	join(t, a, b)
	old := send(t, a, "old")
	recv(t, b, a, old, "old")
	join(t, a, b, d) // b already holds the chain: unchanged
	if _, err := b.cipher.Decrypt(ctx, a.self, old); !errors.Is(err, group.ErrDuplicateMessage) {
		t.Fatalf("b after a repeated distribution message: %v", err)
	}
	if _, err := d.cipher.Decrypt(ctx, a.self, old); !errors.Is(err, group.ErrDuplicateMessage) {
		t.Fatalf("d on a message from before it joined: %v", err)
	}
	ct := send(t, a, "new")
	recv(t, b, a, ct, "new")
	recv(t, d, a, ct, "new")
}

func TestNoSenderKey(t *testing.T) {
	ctx := context.Background()
	for _, l := range layouts {
		a, b := newMember("alice", l), newMember("bob", l)
		if _, err := a.cipher.Encrypt(ctx, a.self, []byte("x")); !errors.Is(err, group.ErrNoSenderKey) {
			t.Fatalf("encrypt before creating: %v", err)
		}
		join(t, a)
		ct := send(t, a, "x")
		if _, err := b.cipher.Decrypt(ctx, a.self, ct); !errors.Is(err, group.ErrNoSenderKey) {
			t.Fatalf("decrypt without a key: %v", err)
		}
		// b holds a's chain but cannot encrypt with it.
		join(t, a, b)
		if _, err := b.cipher.Encrypt(ctx, a.self, []byte("x")); !errors.Is(err, group.ErrNoSenderKey) {
			t.Fatalf("encrypt with a received chain: %v", err)
		}
	}
}

func TestDistributionIDMismatch(t *testing.T) {
	ctx := context.Background()
	a, b := newMember("alice", group.LayoutSignal), newMember("bob", group.LayoutSignal)
	join(t, a, b)
	ct := send(t, a, "x")
	other := a.self
	other.DistributionID = "00000000-0000-4000-8000-000000000000"
	if _, err := b.cipher.Decrypt(ctx, other, ct); !errors.Is(err, group.ErrInvalidMessage) {
		t.Fatalf("mismatched distribution ID: %v", err)
	}
	// Empty: taken from the message; upper case: the same UUID.
	anyDist := a.self
	anyDist.DistributionID = ""
	upper := a.self
	upper.DistributionID = "7E1F0C2A-9B3D-4E5F-8A6B-1C2D3E4F5A6B"
	recv(t, b, &member{self: anyDist}, ct, "x")
	ct = send(t, a, "y")
	recv(t, b, &member{self: upper}, ct, "y")
	bad := a.self
	bad.DistributionID = "not-a-uuid"
	if _, err := a.cipher.Encrypt(ctx, bad, []byte("x")); err == nil {
		t.Fatal("encrypt with a distribution ID that is not a UUID")
	}
}

// TestTamperEveryByte flips each bit position of one byte at a time: every
// byte is covered by the signature, so each change is rejected and the
// stored record stays byte-identical; the original then decrypts.
func TestTamperEveryByte(t *testing.T) {
	ctx := context.Background()
	for _, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			a, b := newMember("alice", l), newMember("bob", l)
			join(t, a, b)
			recv(t, b, a, send(t, a, "first"), "first")
			ct := send(t, a, "a message of more than one block")
			before := stored(t, b, a)
			for i := range ct {
				for _, mask := range []byte{0x01, 0x80} {
					bad := bytes.Clone(ct)
					bad[i] ^= mask
					pt, err := b.cipher.Decrypt(ctx, a.self, bad)
					if err == nil {
						t.Fatalf("byte %d mask %#x accepted: %q", i, mask, pt)
					}
					if !bytes.Equal(before, stored(t, b, a)) {
						t.Fatalf("byte %d: rejected message changed the record", i)
					}
				}
			}
			sigOnly := bytes.Clone(ct)
			sigOnly[len(sigOnly)-1] ^= 1
			if _, err := b.cipher.Decrypt(ctx, a.self, sigOnly); !errors.Is(err, group.ErrInvalidSignature) || !errors.Is(err, group.ErrInvalidMessage) {
				t.Fatalf("bad signature: %v", err)
			}
			recv(t, b, a, ct, "a message of more than one block")
		})
	}
}

func TestTruncation(t *testing.T) {
	ctx := context.Background()
	for _, l := range layouts {
		a, b := newMember("alice", l), newMember("bob", l)
		join(t, a, b)
		ct := send(t, a, "truncate me")
		before := stored(t, b, a)
		for n := range len(ct) {
			if _, err := b.cipher.Decrypt(ctx, a.self, ct[:n]); err == nil {
				t.Fatalf("%d-byte prefix accepted", n)
			}
			if _, err := group.ParseAnySenderKeyMessage(ct[:n]); err == nil && n < len(ct)-group.SignatureSize {
				t.Fatalf("%d-byte prefix parsed", n)
			}
		}
		if !bytes.Equal(before, stored(t, b, a)) {
			t.Fatal("truncated messages changed the record")
		}
		skdm, err := a.cipher.CreateDistributionMessage(ctx, a.self)
		if err != nil {
			t.Fatal(err)
		}
		for n := range len(skdm.Bytes()) {
			if _, err := group.ParseAnySenderKeyDistributionMessage(skdm.Bytes()[:n]); err == nil {
				t.Fatalf("%d-byte distribution prefix parsed", n)
			}
		}
		recv(t, b, a, ct, "truncate me")
	}
}

// TestMaxSenderKeyStates: a record keeps the newest five chains.
func TestMaxSenderKeyStates(t *testing.T) {
	ctx := context.Background()
	b := newMember("bob", group.LayoutSignal)
	var senders []*member
	var cts [][]byte
	st := group.NewMemoryStore()
	for i := range group.MaxSenderKeyStates + 1 {
		// The same name, a fresh chain each time (the sender lost its state).
		s := &member{self: group.SenderKeyName{Sender: "alice", DeviceID: 1, DistributionID: dist}, store: st,
			cipher: group.NewCipher(group.NewMemoryStore())}
		join(t, s, b)
		senders = append(senders, s)
		cts = append(cts, send(t, s, fmt.Sprint(i)))
	}
	if _, err := b.cipher.Decrypt(ctx, senders[0].self, cts[0]); !errors.Is(err, group.ErrNoSenderKey) {
		t.Fatalf("oldest chain: %v", err)
	}
	for i := 1; i < len(cts); i++ {
		recv(t, b, senders[i], cts[i], fmt.Sprint(i))
	}
}

// TestRandomDelivery: three members each send 500 messages, delivered to
// the two others in one random order; each decrypts exactly once.
func TestRandomDelivery(t *testing.T) {
	n := 500
	if testing.Short() {
		n = 100
	}
	for _, l := range layouts {
		t.Run(l.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(l)))
			ms := []*member{newMember("alice", l), newMember("bob", l), newMember("carol", l)}
			for _, s := range ms {
				var others []*member
				for _, r := range ms {
					if r != s {
						others = append(others, r)
					}
				}
				join(t, s, others...)
			}
			type delivery struct {
				from, to int
				ct       []byte
				pt       string
			}
			var ds []delivery
			for i := range n {
				for f, s := range ms {
					pt := fmt.Sprintf("%d:%d", f, i)
					ct := send(t, s, pt)
					for r := range ms {
						if r != f {
							ds = append(ds, delivery{f, r, ct, pt})
						}
					}
				}
			}
			rng.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
			for _, d := range ds {
				recv(t, ms[d.to], ms[d.from], d.ct, d.pt)
			}
			for _, d := range ds[:50] {
				if _, err := ms[d.to].cipher.Decrypt(context.Background(), ms[d.from].self, d.ct); !errors.Is(err, group.ErrDuplicateMessage) {
					t.Fatalf("second delivery: %v", err)
				}
			}
		})
	}
}

// TestConcurrent decrypts from several goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	a, b := newMember("alice", group.LayoutSignal), newMember("bob", group.LayoutSignal)
	c := newMember("carol", group.LayoutSignal)
	join(t, a, b)
	join(t, c, b)
	var cts, cts2 [][]byte
	for i := range 40 {
		cts = append(cts, send(t, a, fmt.Sprint(i)))
		cts2 = append(cts2, send(t, c, fmt.Sprint(i)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for i := range cts {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if pt, err := b.cipher.Decrypt(context.Background(), a.self, cts[i]); err != nil || string(pt) != fmt.Sprint(i) {
				errs <- fmt.Errorf("a %d: %q %v", i, pt, err)
			}
		}()
		go func() {
			defer wg.Done()
			if pt, err := b.cipher.Decrypt(context.Background(), c.self, cts2[i]); err != nil || string(pt) != fmt.Sprint(i) {
				errs <- fmt.Errorf("c %d: %q %v", i, pt, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	a, b := newMember("alice", group.LayoutSignal), newMember("bob", group.LayoutSignal)
	join(t, a, b)
	send(t, a, "skipped")
	recv(t, b, a, send(t, a, "x"), "x")
	for _, m := range []*member{a, b} {
		var who *member = a
		raw := stored(t, m, who)
		r, err := group.UnmarshalRecord(raw)
		if err != nil {
			t.Fatal(err)
		}
		again, err := r.Marshal()
		if err != nil || !bytes.Equal(raw, again) {
			t.Fatalf("record does not round-trip: %v", err)
		}
		c := r.Clone()
		if cb, _ := c.Marshal(); !bytes.Equal(cb, raw) {
			t.Fatal("clone differs")
		}
	}
	if _, err := group.UnmarshalRecord([]byte{0x0a, 0x02, 0x08, 0x01}); !errors.Is(err, group.ErrInvalidRecord) {
		t.Fatalf("state without keys: %v", err)
	}
	if r, err := group.UnmarshalRecord(nil); err != nil || !r.IsEmpty() {
		t.Fatalf("empty record: %v", err)
	}
}
