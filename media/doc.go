// Package media encrypts and decrypts message attachments as streams, in the
// two formats Interlock's peers use. Memory use barely depends on the size
// of the attachment: fixed buffers per call (at most 512 KiB), plus the
// sidecar or incremental MAC, which are part of the output, and, to
// decrypt a blob above 128 KiB, 16 bytes per 64 KiB chunk (see Security
// considerations).
//
// Large attachments run on two goroutines, through a ring of four fixed
// 64 KiB chunks (taken from a pool, cleared before they go back): encryption
// from its first full chunk on (Signal: from 256 KiB), decryption above
// 128 KiB of ciphertext (below, the blob is read once, into memory). Encrypting, the calling goroutine reads and runs
// AES-CBC (and, for WhatsApp, SHA-256 of the plaintext) on one chunk while
// the second one MACs, hashes and writes the previous one. Decrypting, the
// calling goroutine reads and MACs each chunk in the first pass and reads
// it in the second; the second goroutine runs the digest and sidecar and
// records each chunk's fingerprint in the first pass, and in the second
// hashes each chunk's plaintext for fileSHA256 and writes it. The rest of
// the second pass — checking each chunk against its fingerprint and its
// CBC decryption, in 4 KiB units (CBC decryption is parallel) — goes to
// whichever goroutine is free, claimed through atomic counters, so the
// two stay balanced without timings. The calling goroutine starts the second
// pass as soon as the MAC and padding pass, while the second goroutine
// finishes the digests; it writes nothing before they pass, and no chunk
// that differs from the first read. A side that waits polls for up to
// 100 µs before it parks, because parking and waking through the scheduler made
// the two stages take turns on one core of a small virtual machine.
//
// Output and metadata are the same bytes as on one goroutine; the second
// goroutine has exited when the call returns, on success, error or panic (a
// panic in dst.Write is raised again on the calling goroutine). dst.Write
// may thus be called from another goroutine than the caller's, never
// concurrently.
//
// # WhatsApp media
//
// A random 32-byte media key expands with HKDF-SHA256 (RFC 5869; no salt,
// info "WhatsApp Image Keys", "WhatsApp Video Keys", … per Kind) into
// 112 bytes: IV 16 ‖ cipher key 32 ‖ MAC key 32 ‖ ref key 32. The blob is
// AES-256-CBC with PKCS#7 padding ‖ HMAC-SHA256(MAC key, IV ‖ ciphertext)[:10];
// the IV is not sent. A message carries the media key, SHA-256 of the
// plaintext (fileSHA256), SHA-256 of the blob (fileEncSHA256) and the
// plaintext length. Audio and video also carry a streaming sidecar: for each
// 64 KiB chunk n of the blob, HMAC-SHA256(MAC key, the 16 bytes before the
// chunk ‖ the chunk)[:10], with the IV before chunk 0 — WhatsApp Web's
// calculateStreamingSidecar over IV ‖ blob with windows [n·64 KiB,
// (n+1)·64 KiB + 16). Sources: whatsmeow (go.mau.fi/whatsmeow, download.go
// and upload.go: the HKDF info strings and the blob), Baileys
// (lib/Utils/messages-media.js: encryptedStream, MEDIA_HKDF_KEY_MAPPING) and
// WhatsApp Web's media modules (the sidecar). Known-answer vectors made by
// Baileys: ../testdata/vectors/whatsapp-media.json.
//
// # Signal attachments
//
// A random 64-byte key is AES-256 key ‖ HMAC-SHA256 key, with a random IV.
// The plaintext is padded with zeros to PaddedSize (Signal-Android's
// PaddingInputStream: max(541, ⌊1.05^⌈ln size / ln 1.05⌉⌋)); the blob is
// IV 16 ‖ AES-256-CBC(PKCS#7) ‖ HMAC-SHA256(HMAC key, IV ‖ ciphertext) 32, and
// the AttachmentPointer carries the key, the plaintext size, the digest
// SHA-256(blob) and the incremental MAC: libsignal's IncrementalMac with
// HMAC-SHA256 under the HMAC key over the whole blob, chunk size from
// ChunkSize(blob length) (inferChunkSize), the running HMAC after every full
// chunk, then the final HMAC, concatenated (Signal-Android
// AttachmentCipherOutputStreamFactory.createIncrementalFor; libsignal
// rust/protocol/src/incremental_mac.rs). Known-answer vectors from libsignal
// 0.90.0: ../testdata/vectors/signal-attachment-incremental-mac.json.
//
// # Security considerations
//
// Decryption takes an io.ReaderAt. The first pass reads the whole blob and
// checks its length, the digest (fileEncSHA256), the sidecar or incremental
// MAC when given, the MAC (compared with hmac.Equal) and the padding of the
// last block; nothing reaches dst unless all of them pass, so a failed
// check writes no plaintext. A ciphertext that fits one 128 KiB buffer is
// then decrypted from memory, from the bytes the first pass read. A larger
// one is read a second time to decrypt it, and src, which may be a ranged
// download the server answers, can return other bytes then (issue #20
// item 14). So the first pass keeps a GMAC tag of every 64 KiB chunk, under
// a key drawn from crypto/rand for the call that never leaves it, and the
// second checks each chunk's tag before it decrypts the chunk into dst: if
// src changed, the call returns ErrSourceChanged (which is also
// ErrInvalidMAC) and dst holds the plaintext of the chunks before the first
// changed one, all authenticated, and nothing else. Every plaintext byte
// written to dst therefore comes from ciphertext the first pass
// authenticated. The tags cost 16 bytes per 64 KiB of blob actually read
// (256 KiB per GiB), the one allocation that grows with the blob. A failure
// after the first write — a changed src, an I/O error of src or dst in the
// second pass, or WhatsApp's fileSHA256, which can only be checked after
// writing (ErrInvalidPlaintextHash) — leaves a prefix of the output, or
// for ErrInvalidPlaintextHash all of it, in dst: DecryptToFile writes to a
// temporary file and renames it into place only on success. One HMAC
// computes both a Signal blob's MAC and its incremental MAC (same key, one
// input a prefix of the other). The incremental MAC and the sidecar are
// checked whole in the first pass; the second pass does not run them again
// per chunk, since the GMAC tags give the same assurance (each chunk is
// the one the first pass authenticated) at a fraction of the HMAC's cost,
// under a key that not even the sender knows.
//
// The WhatsApp format is deterministic: the IV comes from the media key, so a
// media key must encrypt one file only (EncryptWhatsApp draws a fresh one).
// The MAC is truncated to 80 bits, as WhatsApp defines it. Signal's zero
// padding hides the exact size only up to its 5 % buckets; it is covered by
// the MAC and dropped on decryption without being checked, as Signal's
// clients do. Keys and plaintext buffers are cleared after use where this
// package owns them; the caller owns the keys it passes in and gets back.
// Parsing and decryption never panic on untrusted bytes (fuzzed).
//
// The …Context variants (DecryptWhatsAppContext and the others, issue #16
// item 8) stop at the next 64 KiB chunk once their context is done and
// return its error with their second goroutine exited. Cancelled during
// the first pass, decryption has written nothing; during the second, the
// output is a prefix of the authenticated plaintext, to be discarded like
// the output of any failed call (DecryptToFile does). Progress callbacks
// see byte counts only.
package media
