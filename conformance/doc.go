// Package conformance shows which security guarantees of the Signal
// protocol an implementation provides, with evidence anyone can rerun.
//
// It combines two kinds of checks:
//
//   - The vector corpus (testdata/vectors, schema in its README.md): XEdDSA,
//     Kyber decapsulation, X3DH/PQXDH secrets from fixed keys, ratchet
//     transcripts from fixed randomness with negative entries, safety
//     numbers, sender keys, sealed sender v1 and v2, attachments and
//     padding, each with positive and negative vectors, and the adversarial
//     file: issue #20's malicious-server findings as fixed bytes (run
//     through the optional [AddressedResponder], [IdentityTruster] and
//     [EnvelopeOpener]). [RunCorpus] runs it against any [Implementation]; [Interlock]
//     is this module's. [GenerateVectors] (conformance/cmd/genvectors)
//     writes Interlock's deterministic vectors.
//   - The live scenarios of package live, between two processes speaking
//     docs/peer-protocol.md, so an implementation in any
//     language can be tested through a thin peer wrapper.
//
// [Run] runs both and builds a [Report]: per guarantee (confidentiality,
// integrity and authentication, forward secrecy, post-compromise security,
// PQXDH, SPQR, replay protection, identity binding, sender anonymity, safe
// failure, interop with libsignal and with WhatsApp-flavour peers) the
// checks that demonstrate it, their results, the spec sections they trace
// to, and what a black-box test cannot observe. [Report.Render] writes it
// as text, JSON, Markdown or one self-contained HTML page. The JSON form is
// described by testdata/conformance-report.schema.json and validated
// against it in the tests. `interlock conformance` is the command line.
//
// The corpus is embedded in the binary ([EmbeddedCorpus]; --vectors
// replaces it), so the command runs all of it from any directory. With a
// peer instead of an [Implementation], the corpus runs through the peer
// where the peer protocol allows (safety numbers, libsignal's sender-key
// recording) and the rest is reported as not run.
//
// # Verdicts
//
// A report's verdict is "fail" (exit status 1) when any check failed;
// else "incomplete" (exit status 3) when a guarantee that was not skipped
// has a check that did not run or no check at all (a missing vector file,
// a file the peer protocol cannot carry, an op the peer does not list, a
// scenario left out by --run, SPQR not claimed, a pairing without a common
// flavour), each listed with its reason; else "pass" (exit status 0).
// Usage errors exit 2. [Report.Skip] (--skip) excludes a guarantee on
// purpose and is recorded; it never hides a failed check. Checks that do
// not apply to a pairing (a whatsapp-flavour pairing has no Kyber; the
// 25,002-message forward jump without --big) are listed as not applicable.
//
// # Security considerations
//
// A report is evidence only of what it names: the binary (module version
// and VCS revision), the corpus digest (compare it with the embedded one),
// the peer command lines, the date and the skipped guarantees. Interop with
// libsignal or go.mau.fi/libsignal is credited live only against a
// [Reference] the tool verified on disk (package name, version and content
// digest, or Go build information) and started itself; a peer's
// self-description is reported, never trusted. SPQR is verified from the
// wire (live scenario spqr/observed). [DeterministicReader] exists only for
// generators and tests: it must never feed real keys. A passing report is
// evidence, not proof: it covers the guarantees' observable consequences
// and the known-answer vectors; see SECURITY.md for what Interlock does not
// protect. [SealedInputs].Now 0
// means the current time, so a corpus run cannot validate a certificate at
// a time before every expiry by leaving it unset (issue #20 item 7). The
// adversarial vectors' refusals are only as strong as the adapter is
// faithful: an adapter must deliver each message as from the address the
// step names, to a responder that knows its own address.
package conformance
