// Package adversary carries the deviations from the protocol that Interlock's
// own conformance peer performs on request, in its adversary mode only
// (`interlock peer --adversary`; docs/peer-protocol.md, "Adversary mode"),
// so that the conformance report can show a peer a message no honest
// sender writes (issue #21 item 1).
//
// The first such deviation is a SignalMessage whose pq_ratchet field (field
// 5 of SignalMessage, libsignal rust/protocol/src/proto/wire.proto) is
// omitted or carries a chosen SPQR version, on a session that negotiated
// SPQR: only the sender holds the keys that the MAC needs, so a relay cannot
// produce such a message, and a receiver that accepts it has let a
// downgrade through (Double Ratchet rev. 3 §5; SPQR src/lib.rs `recv`,
// SparsePostQuantumRatchet v1.5.3).
//
// A deviation travels in a context.Context: the package is internal, so
// only this module's own commands can ask for one, and the library's public
// API has no way to.
//
// # Security considerations
//
// A message written under a deviation is keyed without SPQR's key (the
// classical message keys alone): it is what an attacker who broke the
// classical ratchet could write. Nothing but the conformance peer's
// adversary mode sets one.
package adversary
