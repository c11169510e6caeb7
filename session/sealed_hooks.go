package session

import (
	"context"
	"fmt"

	"github.com/interlock-e2ee/interlock/prekey"
)

// Hooks for package sealedsender (issue #20 item 12). A sealed message names
// its sender only in a certificate the service signs, and the service holds
// the signing key: it can certify any identity key for any address. What
// ties a sealed message to its sender is that the identity which
// authenticated the inner 1:1 message is the identity the certificate
// names. libsignal's sealed_sender_decrypt does not check this.

// IdentityMismatchError reports that a message was authenticated by another
// identity than the one the caller required (DecryptFromIdentity). It
// matches ErrUntrustedIdentity with errors.Is.
type IdentityMismatchError struct {
	// Addr is the address the message was to be decrypted for.
	Addr Address
	// Want is the identity the caller required; Got the one that
	// authenticates the message.
	Want, Got prekey.IdentityKey
}

func (e *IdentityMismatchError) Error() string {
	return fmt.Sprintf("%v: the message for %s is authenticated by identity %x, not the required %x",
		ErrUntrustedIdentity, e.Addr, e.Got.Bytes(), e.Want.Bytes())
}

// Unwrap makes errors.Is(err, ErrUntrustedIdentity) true.
func (e *IdentityMismatchError) Unwrap() error { return ErrUntrustedIdentity }

// DecryptFromIdentity is Decrypt for a message that must have been
// authenticated by the identity key want. A message authenticated by
// another identity is refused with an *IdentityMismatchError (matching
// ErrUntrustedIdentity) before anything is stored: a PreKeySignalMessage
// creates no session, pins no identity and consumes no prekey; a
// SignalMessage advances no chain. A message that passes has had all of
// Decrypt's checks.
//
// The identity that authenticates a message is fixed by the message itself:
//
//   - a PreKeySignalMessage's identity field. For a new session it enters
//     the key agreement (X3DH/PQXDH §3.3); for a session that already exists
//     the Cipher requires the field to name that session's remote identity
//     (issue #20 item 1). The field is compared with want before anything
//     else.
//   - for a SignalMessage, the remote identity of the session state whose
//     keys verify its MAC, which covers that identity (Double Ratchet §3.4,
//     libsignal's MAC input sender identity ‖ receiver identity ‖ message):
//     any state that verifies the message has the identity the sender
//     computed the MAC with. DecryptFromIdentity decrypts the message once,
//     on a copy of the stored record (over a SessionVersioner, a snapshot
//     read outside any transaction), compares that state's identity with
//     want, and refuses a mismatch before anything is written: an honest
//     message costs one decryption (issue #18; it cost two before), and a
//     forged one or one from another identity never reaches the store's
//     write path over a SessionVersioner.
//
// Package sealedsender uses it with the sender certificate's identity key.
func (c *Cipher) DecryptFromIdentity(ctx context.Context, addr Address, typ MessageType, ciphertext []byte, want prekey.IdentityKey) ([]byte, error) {
	return c.decryptFromIdentity(ctx, addr, typ, ciphertext, want, nil) // commit.go
}
