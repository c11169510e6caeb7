// Command genvectors writes Interlock's deterministic conformance vectors
// (testdata/vectors/interlock-*.json). Run it from the repository root:
//
//	go run ./conformance/cmd/genvectors [-dir testdata/vectors]
//
// The output depends only on the program and on the recorded libsignal and
// go.mau.fi/libsignal sessions in the same directory; the conformance tests
// check that regenerating yields identical bytes. It prints each file it
// wrote with its size.
//
// The files follow the schema of testdata/vectors/README.md (an envelope
// with source, generator, comment and category; vectors with id, comment,
// inputs and expect or expect_error). What each file exercises:
//   - interlock-xeddsa.json: XEdDSA §3.3 (signing and verification).
//   - interlock-kem.json: Kyber-1024 decapsulation as PQXDH §2.2 uses it,
//     including implicit rejection of tampered ciphertexts.
//   - interlock-agreement.json: X3DH §3.3–3.4 and PQXDH §3.3–3.4 at the
//     responder.
//   - interlock-session-x3dh.json and interlock-session-pqxdh.json: Double
//     Ratchet §3.3–3.5 transcripts (the latter with the SPQR triple ratchet,
//     Double Ratchet rev. 3 §5) with negative entries for tampering and
//     replay (Double Ratchet §3.5, X3DH §4.2).
//   - interlock-fingerprint.json: docs/wire-formats.md#safety-numbers.
//   - interlock-sender-key.json: docs/wire-formats.md#sender-keys
//     (SenderKeyMessage and SenderKeyDistributionMessage).
//   - interlock-sealed-sender.json: docs/wire-formats.md#sealed-sender
//     (v1 and v2, certificate validation).
//   - interlock-media.json: package media (Signal attachments with the
//     incremental MAC, WhatsApp media).
//   - interlock-adversarial.json: issue #20's findings that are protocol
//     properties (re-encoded keys, a relabelled last-resort Kyber message,
//     a forged identity field, the address binding, PLAINTEXT_CONTENT
//     envelopes, sealed sender's validation time), each refused beside the
//     genuine message that is accepted.
//
// # Security considerations
//
// Every key the program generates comes from conformance.DeterministicReader,
// a seeded stream that is public by construction; the others are taken from
// the recorded test sessions. The vectors are test data: their keys must
// never be used for anything else.
package main
