package ratchet_test

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/ratchet"
)

// TestIssue20Item5_ReceiveLimited: issue #20 item 5. ReceiveLimited refuses
// a header outside its limits before any derivation (Work stays zero), and
// counts the derivations of the messages it accepts.
func TestIssue20Item5_ReceiveLimited(t *testing.T) {
	alice, bob := pair(t)
	var hs []ratchet.Header
	for range 12 {
		h, _, err := alice.Send()
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	var w ratchet.Work
	small := ratchet.Limits{MaxJump: 4, NewChain: true, Work: &w}

	// A new chain is refused without NewChain, and beyond MaxJump.
	if err := bob.ReceiveLimited(rand.Reader, hs[0], ratchet.Limits{MaxJump: 4, Work: &w}, nil, accept); !errors.Is(err, ratchet.ErrUnknownChain) {
		t.Fatalf("new chain without NewChain: %v", err)
	}
	if err := bob.ReceiveLimited(rand.Reader, hs[5], small, nil, accept); !errors.Is(err, ratchet.ErrTooFar) {
		t.Fatalf("new chain, jump 5 > 4: %v", err)
	}
	if w != (ratchet.Work{}) {
		t.Fatalf("refused headers cost %+v derivations", w)
	}
	// Jump 4 on a new chain: one agreement and root step, five chain
	// steps, one message key, then the DH ratchet step (key pair,
	// agreement, root step).
	if err := bob.ReceiveLimited(rand.Reader, hs[4], small, nil, accept); err != nil {
		t.Fatal(err)
	}
	if want := (ratchet.Work{DH: 3, ChainSteps: 5, KDF: 3}); w != want {
		t.Fatalf("work %+v, want %+v", w, want)
	}
	// On the existing chain (next index 5): jump 5 is refused, a skipped
	// key costs one message-key derivation.
	w = ratchet.Work{}
	if err := bob.ReceiveLimited(rand.Reader, hs[10], small, nil, accept); !errors.Is(err, ratchet.ErrTooFar) {
		t.Fatalf("existing chain, jump 5 > 4: %v", err)
	}
	if err := bob.ReceiveLimited(rand.Reader, hs[1], small, nil, accept); err != nil || w != (ratchet.Work{KDF: 1}) {
		t.Fatalf("skipped key: %v, work %+v", err, w)
	}
	// A limit above MaxForwardJumps is capped at it.
	far := hs[11]
	far.Counter = 5 + ratchet.MaxForwardJumps + 1
	if err := bob.ReceiveLimited(rand.Reader, far, ratchet.Limits{MaxJump: ^uint32(0)}, nil, accept); !errors.Is(err, ratchet.ErrTooFar) {
		t.Fatalf("jump beyond MaxForwardJumps: %v", err)
	}
	if err := bob.Receive(rand.Reader, hs[11], accept); err != nil {
		t.Fatal(err)
	}
}
