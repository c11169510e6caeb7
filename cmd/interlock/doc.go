// Command interlock is Interlock's command-line tool: a step-by-step demo of
// two parties, the conformance peer that test drivers run, attachment
// encryption, a wire-format inspector and the conformance report.
//
// Usage:
//
//	interlock demo         two parties set up a PQXDH session and talk, step by step
//	interlock peer         serve docs/peer-protocol.md on stdin/stdout
//	interlock media        encrypt or decrypt an attachment (WhatsApp or Signal format)
//	interlock inspect      decode a message, envelope or key and print every field
//	interlock conformance  report which security guarantees hold (vectors and live peers)
//	interlock version      module version, VCS revision and Go version of the binary
//
// `interlock <command> --help` describes each command's flags. Every
// command follows one convention (cli.go): --help or -h prints the usage on
// standard output and exits 0; a usage error prints the error and the
// usage on standard error and exits 2; an operational failure prints the
// error on standard error and exits 1 (conformance adds 3, incomplete).
// Standard output carries only results (inspect's and media's JSON, the
// demo's steps); progress and diagnostics go to standard error.
//
// `interlock inspect --format json` writes one object described by
// testdata/inspect.schema.json (format_version 1). The CLI tests are the
// scripts in testdata/script, run by script_test.go.
//
// Specifications (each implemented by the packages named; the command only
// drives them):
//   - The PQXDH Key Agreement Protocol, revision 3, §3.2–3.4, and The Double
//     Ratchet Algorithm, revision 3, §3.4–3.5 (packages prekey, ratchet and
//     session): demo and peer.
//   - docs/peer-protocol.md (version 2): the JSON-lines protocol peer
//     serves on stdin/stdout.
//   - WhatsApp and Signal attachment encryption (package media; HKDF-SHA256
//     per RFC 5869, AES-256-CBC and HMAC-SHA256): media.
//   - The wire formats of docs/wire-formats.md (messages, sealed sender,
//     envelopes, keys): what inspect recognises.
//   - testdata/conformance-report.schema.json and the vector corpus in
//     testdata/vectors (package conformance): conformance.
//
// # Security considerations
//
// The demo and the peer are test tooling: the peer holds keys for the
// protocol it serves and must not face untrusted callers outside a test.
// `interlock media decrypt` authenticates the whole input before writing
// and leaves no output file on failure; when authentication fails it reads
// the input once more to say which checks failed (the blob's SHA-256 against
// --enc-sha256 or --digest, the MAC under --key and, for WhatsApp, under
// every other media type), in bounded memory. That diagnosis only explains
// a failure already decided: it never turns one into a success, and tags
// are compared with hmac.Equal. `interlock media` requires --type for
// WhatsApp: the type selects the keys, and a silent default made a wrong
// type look like a forged blob. `interlock inspect` only parses: it never
// decrypts or verifies a signature (it says so: signature_checked false),
// and reads a bounded amount of input. The demo keeps its keys in a
// temporary database it removes at the end, unless --db or --postgres
// names one.
package main
