package live

import (
	"bytes"
	"fmt"
	"slices"
)

// SPQR downgrades (issue #21 item 1; issue #20 item 6). Once SPQR has been
// negotiated, a SignalMessage without pq_ratchet, or with an SPQR version
// the session does not speak, carries no post-quantum key: whoever broke
// the classical ratchet could write it. The MAC covers pq_ratchet, so no
// relay can strip or rewrite it; the driver's own adversary peer
// (Options.Adversary, `interlock peer --adversary`) writes such messages
// with the session's classical keys, and the peer under test must refuse
// them.

func spqrAdversaryScenarios() []Scenario {
	return []Scenario{{
		ID:         "spqr/downgrade",
		Doc:        "after SPQR is negotiated, a message without pq_ratchet (written by the driver's adversary peer) is refused",
		Run:        spqrDeviation("omit"),
		Guarantees: []string{"pq-ratchet"},
		Spec:       []string{"Double Ratchet rev. 3 §5 (triple ratchet)", "SPQR lib.rs recv (version negotiation)"},
	}, {
		ID:         "spqr/unknown-version",
		Doc:        "after SPQR is negotiated, a message whose pq_ratchet is of an unknown SPQR version (written by the driver's adversary peer) is refused",
		Run:        spqrDeviation(map[string]int{"version": spqrUnknownVersion}),
		Guarantees: []string{"pq-ratchet"},
		Spec:       []string{"Double Ratchet rev. 3 §5 (triple ratchet)", "SPQR lib.rs recv (version negotiation)"},
	}}
}

// spqrUnknownVersion is the SPQR version the adversary writes: one above
// version 1, the only one defined.
const spqrUnknownVersion = 2

// StartAdversary starts the driver's adversary peer and inits it in the
// pairing's flavour; the scenario does not apply without one, or when it
// does not offer the deviation named.
func (x *X) StartAdversary(tag, deviation string) *Client {
	spec := x.opts.Adversary
	if len(spec.Argv) == 0 {
		x.NotApplicablef("no adversary peer (the report starts `interlock peer --adversary` itself)")
	}
	label := tag + "(adversary)"
	p, err := Start(spec, label)
	if err != nil {
		x.Failf("%v", err)
	}
	p.Timeout = x.opts.Timeout
	if x.opts.Trace != nil {
		w := x.opts.Trace
		p.Trace = func(label, dir, line string) { fmt.Fprintf(w, "%s %s %s\n", label, dir, line) }
	}
	x.peers = append(x.peers, p)
	caps, err := p.Capabilities()
	if err != nil {
		x.Failf("%s capabilities: %v", label, err)
	}
	if !slices.Contains(caps.Adversary, deviation) {
		x.NotApplicablef("the adversary peer %s does not offer %s (capabilities.adversary %v)", spec, deviation, caps.Adversary)
	}
	name := newUUID()
	dev := 1 + x.rng.Intn(127)
	r, err := p.Init(InitOptions{Name: name, Device: dev, Flavour: x.pairing.Flavour})
	if err != nil {
		x.Failf("%s init: %v", label, err)
	}
	c := &Client{Peer: p, x: x, Tag: tag, Impl: caps.Implementation + " (adversary)", Addr: Address{name, dev},
		Identity: r.IdentityKey, RegID: r.RegistrationID}
	x.clients = append(x.clients, c)
	return c
}

// spqrDeviation: the adversary E sets up a session with B (the peer under
// test), SPQR is negotiated in both directions (B's version 4 messages carry
// pq_ratchet), then E sends one message with pq_ratchet as dev says; B must
// refuse it, and the conversation carries on.
func spqrDeviation(dev any) func(*X) {
	return func(x *X) {
		if x.Flavour() == "whatsapp" {
			x.NotApplicablef("SPQR not claimed: the whatsapp flavour sets up version 3 sessions")
		}
		e := x.StartAdversary("E", "pq_ratchet")
		b := x.Start(RoleB, "B", ClientOptions{})
		x.processBundle(e, b, true, true)
		for i := 0; i < 2; i++ {
			x.exchange(e, b)
			r := x.exchange(b, e)
			sm, version, ok := signalMessageOf(r.Msg)
			if !ok || version < 4 {
				x.NotApplicablef("SPQR not claimed: %s answered with a version %d message", b.Label, version)
			}
			if _, _, ok := pqRatchetField(sm); !ok {
				x.NotApplicablef("SPQR not claimed: %s's version 4 messages carry no pq_ratchet", b.Label)
			}
		}
		var m Message
		err := e.Call("encrypt", map[string]any{"address": b.Addr, "plaintext": []byte("downgraded"), "pq_ratchet": dev}, &m)
		x.must(err, "%s encrypt with pq_ratchet %v", e.Label, dev)
		// The driver checks what its adversary wrote.
		sm, version, ok := signalMessageOf(m)
		if !ok || m.Type != TypeSignal || version != 4 {
			x.Failf("%s: the adversary wrote no version 4 SignalMessage (type %d, version %d)", e.Label, m.Type, version)
		}
		start, end, has := pqRatchetField(sm)
		what := "a message without pq_ratchet after SPQR was negotiated"
		switch dev.(type) {
		case string:
			if has {
				x.Failf("%s: pq_ratchet present in the downgraded message", e.Label)
			}
		default:
			if !has || !bytes.Equal(sm[start:end], []byte{spqrUnknownVersion}) {
				x.Failf("%s: pq_ratchet is not the single byte %d", e.Label, spqrUnknownVersion)
			}
			what = fmt.Sprintf("a message whose pq_ratchet is of SPQR version %d after version 1 was negotiated", spqrUnknownVersion)
		}
		k := x.reject(b, e, m, what)
		x.exchange(e, b)
		x.exchange(b, e)
		x.Notef("refused with %s", k)
	}
}
