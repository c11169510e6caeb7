// Command interlock is Interlock's command-line tool: a step-by-step demo of
// two parties, the conformance peer that test drivers run, attachment
// encryption, a wire-format inspector and the conformance report.
//
// Usage:
//
//	interlock demo         two parties set up a PQXDH session and talk, step by step
//	interlock peer         serve shared/conformance/PEER-PROTOCOL.md on stdin/stdout
//	interlock media        encrypt or decrypt an attachment (WhatsApp or Signal format)
//	interlock inspect      decode a message, envelope or key and print every field
//	interlock conformance  report which security guarantees hold (vectors and live peers)
//
// `interlock <command> -h` describes each command's flags.
//
// Specifications (each implemented by the packages named; the command only
// drives them):
//   - The PQXDH Key Agreement Protocol, revision 3, §3.2–3.4, and The Double
//     Ratchet Algorithm, revision 3, §3.4–3.5 (packages prekey, ratchet and
//     session): demo and peer.
//   - shared/conformance/PEER-PROTOCOL.md: the JSON-lines protocol peer
//     serves on stdin/stdout.
//   - WhatsApp and Signal attachment encryption (package media; HKDF-SHA256
//     per RFC 5869, AES-256-CBC and HMAC-SHA256): media.
//   - The wire formats of ../shared/PROTOCOL.md ("Wire formats", "Sealed
//     sender"): what inspect recognises.
//   - testdata/conformance-report.schema.json and the vector corpus in
//     testdata/vectors (package conformance): conformance.
//
// # Security considerations
//
// The demo and the peer are test tooling: the peer holds keys for the
// protocol it serves and must not face untrusted callers outside a test.
// `interlock media decrypt` authenticates the whole input before writing
// and leaves no output file on failure. `interlock inspect` only parses: it
// never decrypts and reads a bounded amount of input.
package main
