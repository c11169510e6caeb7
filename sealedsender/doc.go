// Package sealedsender hides who sent a message from the server that
// delivers it: Signal's sealed sender, byte-compatible with libsignal.
//
// Specifications:
//   - The Sealed Sender design (signal.org/blog/sealed-sender, 2018): the
//     sender's identity travels encrypted to the recipient's identity key,
//     together with a short-lived SenderCertificate that the service signs
//     and the recipient checks against a trust root it ships with.
//   - Sealed sender v1, libsignal's sealed_sender_encrypt_from_usmc /
//     sealed_sender_decrypt_to_usmc (docs/wire-formats.md#version-1):
//     0x11 ‖ UnidentifiedSenderMessage{ephemeral key, encrypted
//     static key, encrypted message}; HKDF-SHA256 with the salts
//     "UnidentifiedDelivery" ‖ recipient IK ‖ E.pub and chain key ‖
//     encrypted static key; AES-256-CTR with a zero counter block and
//     HMAC-SHA256 truncated to 10 bytes. Encrypt and DecryptToContent.
//   - Sealed sender v2, libsignal's sealed_sender_multi_recipient_encrypt,
//     SealedSenderV2SentMessage and the v2 branch of
//     sealed_sender_decrypt_to_usmc: a multi-recipient KEM after Barbosa,
//     "Randomness Reuse: Extensions and Improvements" (one random M, an
//     ephemeral key derived from it, per recipient C = KDF(DH(E, R)) ⊕ M and
//     an authentication tag over DH(S, R)), with the shared payload under
//     AES-256-GCM-SIV (RFC 8452, implemented in internal/gcmsiv because
//     neither the standard library, x/crypto nor circl has it).
//     EncryptMultiRecipient, ParseSentMessage, SplitForRecipient and
//     DecryptToContent.
//   - Certificates as libsignal validates them: the server certificate must
//     verify under the trust root and not carry the revoked ID 0xDEADC357,
//     the sender certificate must verify under the server key, and the
//     validation time must not be after its expiry. Parsers apply
//     libsignal's presence rules (sender UUID as a string or 16 bytes,
//     device 1–127, signer embedded or referenced by ID).
//
// EncryptMessage and DecryptMessage are the whole 1:1 flow over a
// session.Cipher (libsignal's sealed_sender_encrypt and
// sealed_sender_decrypt): the inner message is a PreKeySignalMessage or
// SignalMessage, decrypted with the session named by the certified sender's
// UUID and device. Sender-key and plaintext contents come back undecrypted
// for the caller.
//
// # Security considerations
//
// Sealed sender hides the sender from the service, not from the recipient:
// the recipient learns the sender only from the certificate, so
// DecryptToContent binds the certificate to the message (its identity key
// must equal the key the message was sealed with, v1 by comparing the
// decrypted static key, v2 through the authentication tag, as libsignal
// does) but validates nothing else. Callers that use DecryptToContent
// directly must call SenderCertificate.Validate before trusting the sender;
// DecryptMessage does it, and refuses messages that name our own address.
// Until a certificate is validated its contents are attacker-chosen.
//
// A valid certificate proves only that the service vouches for it, and the
// service is in the threat model: it holds the signing key and can certify
// its own identity key for any address. DecryptMessage therefore also
// requires (issue #20 item 12) that the certificate's identity key is the
// one the identity store trusts for the sender (IsTrustedIdentity,
// Receiving), that an inner 1:1 message was authenticated by a session whose
// remote identity is that same key (checked inside the session cipher's unit
// of work, before anything is stored: a refused PreKeySignalMessage creates
// no session and consumes no prekey), and that a plaintext content
// (a DecryptionErrorMessage, authenticated only by the sealed layer) comes
// under a certificate naming the identity pinned for the sender — with none
// pinned it is refused. Without these checks, which libsignal's
// sealed_sender_decrypt does not make, the service could re-wrap a
// message Alice once sent unsealed and have it reported as certified from
// another address, or send a retry request in Alice's name. What remains is
// trust on first use: for an address with no pinned identity (or with an
// identity store that trusts every key on receiving) the service can still
// speak in its own name under a new address, as it can by inventing a
// device; the store's pinning policy decides that. DecryptToContent callers
// must make all three checks themselves.
//
// v1 MACs and v2 tags and ephemeral keys are compared in constant time;
// nothing is decrypted before its MAC verifies (v1) or before the AEAD
// verifies (v2). Every parser bounds its input (MaxMessageSize,
// MaxCertificateSize), checks each length before use and never panics; a v2
// sent message cannot claim more recipients than its bytes hold. Low-order
// ephemeral keys fail the agreement. Certificate expiry is checked to the
// millisecond against the caller's clock (a zero validation time means
// time.Now, never "skip the check"; one before 1970 is refused); a skewed
// clock accepts expired certificates or refuses fresh ones. In v2 every recipient learns the
// shared payload key, but the authentication tag binds the sender to each
// recipient through DH(sender, recipient), which no other recipient can
// compute. Signal's production server certificates, which sender certificates may
// name by ID, are not bundled: pass them in DecryptOptions.
package sealedsender
