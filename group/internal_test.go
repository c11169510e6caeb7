package group

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

// TestEncodingMatchesRecorded: Interlock's encoder writes exactly the bytes
// libsignal and go.mau.fi/libsignal wrote for the same fields (go.mau.fi
// verifies signatures over its own re-encoding, so this matters).
func TestEncodingMatchesRecorded(t *testing.T) {
	for _, file := range []string{"libsignal-sender-key.json", "mau-sender-key.json"} {
		var v struct {
			DistributionMessage []byte `json:"distribution_message"`
			Messages            []struct {
				Ciphertext []byte `json:"ciphertext"`
			} `json:"messages"`
		}
		vectortest.Load(t, file, &v)
		d, err := ParseAnySenderKeyDistributionMessage(v.DistributionMessage)
		if err != nil {
			t.Fatal(err)
		}
		var uuid [16]byte
		if d.Layout == LayoutSignal {
			uuid, _ = parseUUID(d.DistributionID)
		}
		if got := marshalDistribution(d.Layout, &uuid, d.ChainID, d.Iteration, d.ChainKey, d.SigningKey); !bytes.Equal(got, v.DistributionMessage) {
			t.Fatalf("%s: distribution message\n got %x\nwant %x", file, got, v.DistributionMessage)
		}
		for i, m := range v.Messages {
			p, err := ParseAnySenderKeyMessage(m.Ciphertext)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendMessageBody(nil, p.Layout, &uuid, p.ChainID, p.Iteration, p.Ciphertext); !bytes.Equal(got, p.signedPart()) {
				t.Fatalf("%s message %d:\n got %x\nwant %x", file, i, got, p.signedPart())
			}
		}
	}
}

// advance moves our own newest chain n iterations ahead, as if n messages
// had been sent and lost.
func advance(t *testing.T, st SenderKeyStore, n SenderKeyName, by int) {
	t.Helper()
	ctx := context.Background()
	r, err := st.LoadSenderKey(ctx, n)
	if err != nil || r == nil {
		t.Fatal(err)
	}
	s := r.newest()
	for range by {
		_, s.chainKey = step(&s.chainKey)
		s.iteration++
	}
	if err := st.StoreSenderKey(ctx, n, r); err != nil {
		t.Fatal(err)
	}
}

func pair(t *testing.T) (a, b *Cipher, aStore, bStore *MemoryStore, self SenderKeyName) {
	ctx := context.Background()
	aStore, bStore = NewMemoryStore(), NewMemoryStore()
	a, b = NewCipher(aStore), NewCipher(bStore)
	self = SenderKeyName{Sender: "alice", DeviceID: 1, DistributionID: "7e1f0c2a-9b3d-4e5f-8a6b-1c2d3e4f5a6b"}
	m, err := a.CreateDistributionMessage(ctx, self)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.ProcessDistributionMessage(ctx, self, m); err != nil {
		t.Fatal(err)
	}
	return
}

func TestForwardJumpLimit(t *testing.T) {
	ctx := context.Background()
	a, b, aStore, bStore, self := pair(t)
	advance(t, aStore, self, MaxForwardJumps+1)
	ct, err := a.Encrypt(ctx, self, []byte("too far"))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := bStore.LoadSenderKey(ctx, self)
	if _, err := b.Decrypt(ctx, self, ct); !errors.Is(err, ErrTooFar) {
		t.Fatalf("jump of %d: %v", MaxForwardJumps+1, err)
	}
	after, _ := bStore.LoadSenderKey(ctx, self)
	bb, _ := before.Marshal()
	ab, _ := after.Marshal()
	if !bytes.Equal(bb, ab) {
		t.Fatal("a too-far message changed the record")
	}

	// Exactly MaxForwardJumps is accepted; only MaxMessageKeys skipped keys
	// are kept, the oldest dropped.
	a, b, aStore, bStore, self = pair(t)
	advance(t, aStore, self, MaxForwardJumps)
	ct, err = a.Encrypt(ctx, self, []byte("far"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Decrypt(ctx, self, ct); err != nil || string(pt) != "far" {
		t.Fatalf("jump of %d: %q %v", MaxForwardJumps, pt, err)
	}
	r, _ := bStore.LoadSenderKey(ctx, self)
	s := r.newest()
	if len(s.skipped) != MaxMessageKeys || s.skipped[0].iteration != MaxForwardJumps-MaxMessageKeys || s.iteration != MaxForwardJumps+1 {
		t.Fatalf("skipped %d keys from %d, chain at %d", len(s.skipped), s.skipped[0].iteration, s.iteration)
	}
}

func TestSkippedKeyLimit(t *testing.T) {
	ctx := context.Background()
	a, b, _, bStore, self := pair(t)
	var cts [][]byte
	for i := 0; i < 3; i++ {
		ct, err := a.Encrypt(ctx, self, []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		cts = append(cts, ct)
	}
	// Fill b's window: filler keys after the two real skipped keys (0 and
	// 1), so that the next skip drops key 0, the oldest.
	if _, err := b.Decrypt(ctx, self, cts[2]); err != nil {
		t.Fatal(err)
	}
	r, _ := bStore.LoadSenderKey(ctx, self)
	s := r.newest()
	filler := make([]messageKey, MaxMessageKeys-2)
	for i := range filler {
		filler[i].iteration = 1 << 30
	}
	s.skipped = append(s.skipped, filler...)
	if err := bStore.StoreSenderKey(ctx, self, r); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Encrypt(ctx, self, []byte("x")); err != nil { // iteration 3, lost
		t.Fatal(err)
	}
	ct4, err := a.Encrypt(ctx, self, []byte("y")) // iteration 4: skips 3
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decrypt(ctx, self, ct4); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Decrypt(ctx, self, cts[0]); !errors.Is(err, ErrDuplicateMessage) {
		t.Fatalf("dropped key: %v", err)
	}
	if pt, err := b.Decrypt(ctx, self, cts[1]); err != nil || pt[0] != 1 {
		t.Fatalf("kept key: %v", err)
	}
}
