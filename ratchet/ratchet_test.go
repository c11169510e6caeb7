package ratchet_test

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/ratchet"
	"google.golang.org/protobuf/proto"
)

func pair(t *testing.T) (*ratchet.State, *ratchet.State) {
	t.Helper()
	var root, chain [32]byte
	rand.Read(root[:])
	rand.Read(chain[:])
	kp, err := curve.GenerateKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ratchet.InitAlice(rand.Reader, root, chain, kp.Public)
	if err != nil {
		t.Fatal(err)
	}
	return a, ratchet.InitBob(root, chain, kp)
}

func snapshot(t *testing.T, s *ratchet.State) []byte {
	t.Helper()
	var pb signalpb.SessionStructure
	s.MarshalProto(&pb)
	b, err := proto.Marshal(&pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var errForged = errors.New("forged")

func accept(ratchet.MessageKeys) error { return nil }
func reject(ratchet.MessageKeys) error { return errForged }

func TestFailedOpenChangesNothing(t *testing.T) {
	alice, bob := pair(t)
	var hs []ratchet.Header
	for range 5 {
		h, _, err := alice.Send()
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	// new chain, existing chain ahead, and skipped key: all rejected, no change.
	before := snapshot(t, bob)
	for _, h := range []ratchet.Header{hs[3], hs[0]} {
		if err := bob.Receive(rand.Reader, h, reject); !errors.Is(err, errForged) {
			t.Fatal(err)
		}
		if string(before) != string(snapshot(t, bob)) {
			t.Fatal("state changed on a failed open")
		}
	}
	if err := bob.Receive(rand.Reader, hs[3], accept); err != nil {
		t.Fatal(err)
	}
	if bob.SkippedKeys() != 3 {
		t.Fatalf("skipped keys %d, want 3", bob.SkippedKeys())
	}
	before = snapshot(t, bob)
	if err := bob.Receive(rand.Reader, hs[1], reject); !errors.Is(err, errForged) {
		t.Fatal(err)
	}
	if string(before) != string(snapshot(t, bob)) {
		t.Fatal("state changed on a failed open of a skipped key")
	}
	for _, i := range []int{1, 0, 2, 4} {
		if err := bob.Receive(rand.Reader, hs[i], accept); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if bob.SkippedKeys() != 0 {
		t.Fatal("used skipped keys were kept")
	}
	if err := bob.Receive(rand.Reader, hs[2], accept); !errors.Is(err, ratchet.ErrDuplicateMessage) {
		t.Fatal(err)
	}
}

func TestLimits(t *testing.T) {
	alice, bob := pair(t)
	h, _, _ := alice.Send()
	far := h
	far.Counter = ratchet.MaxForwardJumps + 1
	if err := bob.Receive(rand.Reader, far, accept); !errors.Is(err, ratchet.ErrTooFar) {
		t.Fatalf("jump beyond the limit: %v", err)
	}
	edge := h
	edge.Counter = ratchet.MaxForwardJumps
	if err := bob.Receive(rand.Reader, edge, accept); err != nil {
		t.Fatalf("jump at the limit: %v", err)
	}
	if n := bob.SkippedKeys(); n != ratchet.MaxMessageKeys {
		t.Fatalf("kept %d skipped keys, want %d", n, ratchet.MaxMessageKeys)
	}
	// The oldest were dropped: counter 0 is now a duplicate, the newest skipped is there.
	if err := bob.Receive(rand.Reader, h, accept); !errors.Is(err, ratchet.ErrDuplicateMessage) {
		t.Fatalf("dropped key: %v", err)
	}
	newest := h
	newest.Counter = ratchet.MaxForwardJumps - 1
	if err := bob.Receive(rand.Reader, newest, accept); err != nil {
		t.Fatalf("newest skipped key: %v", err)
	}
}

func TestReceiverChainLimit(t *testing.T) {
	alice, bob := pair(t)
	for i := range ratchet.MaxReceiverChains + 3 {
		h, _, _ := alice.Send()
		if err := bob.Receive(rand.Reader, h, accept); err != nil {
			t.Fatal(i, err)
		}
		h, _, _ = bob.Send()
		if err := alice.Receive(rand.Reader, h, accept); err != nil {
			t.Fatal(i, err)
		}
	}
	if n := bob.ReceiverChains(); n != ratchet.MaxReceiverChains {
		t.Fatalf("%d receiver chains", n)
	}
}

func TestRoundTripProto(t *testing.T) {
	alice, bob := pair(t)
	for range 3 {
		alice.Send()
	}
	h, _, _ := alice.Send()
	if err := bob.Receive(rand.Reader, h, accept); err != nil {
		t.Fatal(err)
	}
	var pb signalpb.SessionStructure
	bob.MarshalProto(&pb)
	back, err := ratchet.UnmarshalProto(&pb)
	if err != nil {
		t.Fatal(err)
	}
	if string(snapshot(t, back)) != string(snapshot(t, bob)) {
		t.Fatal("round trip differs")
	}
}

func FuzzUnmarshalProto(f *testing.F) {
	alice, _ := pair(&testing.T{})
	var pb signalpb.SessionStructure
	alice.MarshalProto(&pb)
	seed, _ := proto.Marshal(&pb)
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		var pb signalpb.SessionStructure
		if proto.Unmarshal(b, &pb) != nil {
			return
		}
		s, err := ratchet.UnmarshalProto(&pb)
		if err != nil {
			return
		}
		// A parsed state must survive use without panicking.
		s.Send()
		s.Receive(rand.Reader, ratchet.Header{RatchetKey: alice.SenderRatchet.Public}, accept)
		s.Clone()
	})
}
