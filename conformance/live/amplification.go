package live

import (
	"encoding/binary"
	"slices"
	"time"
)

// Forged-message amplification (issue #20 item 5, issue #21 item 2): a
// forged SignalMessage must cost the receiver about what an honest one
// costs. A receiver may walk a chain up to MAX_FORWARD_JUMPS (25,000) keys
// ahead for its current session, where the sender may really have sent
// that many; a session it has archived has been replaced, so walking one
// of its chains that far for a message that then fails its MAC is work an
// attacker buys for free, once per forged message.
//
// The observation is a time, taken from outside: the driver times the
// peer's answer to forged messages and to honest ones, interleaved, and
// compares the medians. The forged message is shaped so that an honest
// receiver refuses it at once: its ratchet key is the one of a chain B
// received on in an archived session, at index amplChain, and its counter
// is amplForgedJump beyond: too far for the current session (a new chain
// from 0: more than MAX_FORWARD_JUMPS), within MAX_FORWARD_JUMPS of the
// archived chain, and far more than the 2,000 keys an honest late message
// on an archived chain can need (Interlock's MaxArchivedForwardJumps).
// libsignal tries every archived state with MAX_FORWARD_JUMPS
// (rust/protocol/src/session_cipher_legacy.rs, decrypt_message_with_record;
// double_ratchet.rs, max_forward_jumps; tag v0.101.0) and fails this check.

const (
	amplChain      = 120    // messages A sends on one chain; B receives the last
	amplForgedJump = 24_900 // the forged counter's distance beyond it
	amplSamples    = 15     // forged and honest decrypts, interleaved
	// amplEarly samples are enough when the forged median is already
	// amplEarlyRatio times the honest one and amplEarlyFloor more; a
	// forged decrypt that takes amplTimeout ends the check at once. Both
	// keep a peer that does walk the chain (libsignal: about half a
	// second per forged message for 0.103, more than 30 s for 0.90) from
	// holding up the run.
	amplEarly      = 3
	amplEarlyRatio = 32
	amplEarlyFloor = 40 * time.Millisecond
	amplTimeout    = 2 * time.Second
	// amplRatio is how many times its median honest decrypt the median
	// forged decrypt may take, and amplFloor the least difference that
	// counts: a walk of 24,000 chain keys takes tens of milliseconds, an
	// honest decrypt a fraction of one.
	amplRatio = 8
	amplFloor = 4 * time.Millisecond
)

func forgedAmplification(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.establish(a, b)
	var last sent
	for i := 0; i < amplChain; i++ {
		last = x.encrypt(a, b)
	}
	x.deliver(last)
	sm, _, ok := signalMessageOf(last.Msg)
	if !ok || last.Msg.Type != TypeSignal {
		x.Failf("%s: message %d of a chain is not a SignalMessage", a.Label, amplChain)
	}
	fs, err := parseProto(sm[1 : len(sm)-8])
	if err != nil {
		x.Failf("%s: %v", a.Label, err)
	}
	var ctr *pbField
	for i := range fs {
		if fs[i].Num == 2 && fs[i].Wire == 0 {
			ctr = &fs[i]
		}
	}
	if ctr == nil || ctr.Varint < amplChain-1 {
		x.Failf("%s: message %d of a chain has no counter ≥ %d", a.Label, amplChain, amplChain-1)
	}
	// A starts over: B archives the session that holds the chain.
	x.processBundle(a, b, true, x.kyberDefault())
	x.exchange(a, b)
	x.exchange(b, a)
	x.exchange(a, b)
	// The forged message: the chain's ratchet key, the counter moved, the
	// MAC (now wrong) kept.
	body := sm[1 : len(sm)-8]
	forgedBody := slices.Clone(body[:ctr.ValStart])
	forgedBody = binary.AppendUvarint(forgedBody, ctr.Varint+amplForgedJump)
	forgedBody = append(forgedBody, body[ctr.End:]...)
	forged := append([]byte{sm[0]}, forgedBody...)
	forged = append(forged, sm[len(sm)-8:]...)
	fm := Message{Type: TypeSignal, Ciphertext: forged}

	var hon, fo []time.Duration
	kinds := kinds{}
	for i := 0; i < amplSamples; i++ {
		s := x.encrypt(a, b)
		t0 := time.Now()
		x.deliver(s)
		hon = append(hon, time.Since(t0))
		t0 = time.Now()
		saved := b.Timeout
		b.Timeout = min(saved, amplTimeout)
		_, err := b.Decrypt(a.Addr, fm)
		b.Timeout = saved
		fo = append(fo, time.Since(t0))
		if err != nil && KindOf(err) == "" && fo[i] >= amplTimeout {
			x.Failf("%s did not answer a forged message (counter %d on an archived chain) within %s, against %s for an honest one",
				b.Label, ctr.Varint+amplForgedJump, amplTimeout, median(hon).Round(100*time.Microsecond))
		}
		if err == nil {
			x.Failf("%s accepted a forged message (counter %d on an archived chain)", b.Label, ctr.Varint+amplForgedJump)
		}
		if KindOf(err) == "" {
			x.Failf("%s on a forged message: %v", b.Label, err)
		}
		kinds[KindOf(err)]++
		if mh, mf := median(hon), median(fo); i+1 >= amplEarly && mf > amplEarlyRatio*mh && mf-mh > amplEarlyFloor {
			x.Failf("%s spends %s on a forged message against %s on an honest one (median of %d each): "+
				"it walks an archived chain %d keys for a message that fails its MAC",
				b.Label, mf.Round(100*time.Microsecond), mh.Round(100*time.Microsecond), i+1, amplForgedJump)
		}
	}
	x.exchange(b, a)
	mh, mf := median(hon), median(fo)
	x.Notef("median decrypt: honest %s, forged %s (%.1f×; %d each, interleaved); forged refused with %s",
		mh.Round(10*time.Microsecond), mf.Round(10*time.Microsecond), float64(mf)/float64(max(mh, 1)), amplSamples, kinds)
	if mf > amplRatio*mh && mf-mh > amplFloor {
		x.Failf("%s spends %s on a forged message against %s on an honest one (median of %d each, limit %d×): "+
			"it walks an archived chain %d keys for a message that fails its MAC",
			b.Label, mf.Round(100*time.Microsecond), mh.Round(100*time.Microsecond), amplSamples, amplRatio, amplForgedJump)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
