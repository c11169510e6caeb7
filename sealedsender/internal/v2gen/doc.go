// Command v2gen writes sealed sender v2 messages made by Interlock, in the
// schema of testdata/vectors/libsignal-sealed-sender-v2.json, for
// interop/libsignal/check-sealed-v2.js to parse, split and open with
// libsignal:
//
//	go run ./sealedsender/internal/v2gen -o FILE
//
// Every key is fresh (crypto/rand) on each run. The expected splits and
// contents are Interlock's; the checker compares libsignal's against them.
// Test tooling only.
//
// Specifications (implemented by package sealedsender; this program only
// exercises them):
//   - Sealed sender v2 (docs/wire-formats.md#version-2): libsignal's
//     sealed_sender_multi_recipient_encrypt and SealedSenderV2SentMessage,
//     the per-recipient split (0x22) and sealedsender.EncryptMultiRecipient,
//     with the shared payload under AES-256-GCM-SIV (RFC 8452).
//   - Sender and server certificates as libsignal validates them (the same
//     section): a trust root, a server certificate and one sender
//     certificate per message.
//   - The recipient list layout: ACI and PNI service IDs (fixed-width
//     form), several devices per account, and excluded recipients.
//
// The file holds two messages: one around a SenderKeyMessage (type 7) with a
// 32-byte group ID and content hint implicit, and one around a
// PlaintextContent (type 8) carrying a DecryptionErrorMessage with content
// hint resendable.
//
// # Security considerations
//
// The output file holds every private key of the run (trust root, server,
// recipients) so that the checker can open the messages: it is test data,
// fresh on each run, and must not be reused.
package main
