// Package live runs the live interop scenarios between two implementations
// of the Signal protocol that speak the conformance peer protocol
// (docs/peer-protocol.md). It starts peer processes, moves
// ciphertext between them, tampers with it, replays, reorders and drops it,
// and checks every answer. It relies on nothing but that document, so any
// implementation (Rust, Kotlin, Swift, …) can be tested through a thin peer
// wrapper.
//
// Each [Scenario] names the security guarantees it demonstrates and the
// specification sections it traces to; package conformance turns the
// results into a per-guarantee report. cmd/interop-driver (module
// interop/) and `interlock conformance` are its two front ends.
//
// # Security considerations
//
// The scenarios observe an implementation from outside. Secrecy properties
// (forward secrecy, post-compromise security) cannot be observed through the
// peer protocol, which never exposes keys: the scenarios check their
// observable preconditions (used keys are gone, ratchet keys rotate), and
// the vector corpus checks the key schedule itself. This package is test
// tooling: its random choices use a seeded SHA-256 stream, never for
// secrets.
package live
