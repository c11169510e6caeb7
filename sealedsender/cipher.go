package sealedsender

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// EncryptMessage encrypts plaintext for to with the 1:1 session in c and
// seals the result with sealed sender v1 (libsignal's sealed_sender_encrypt):
// content hint default, no group ID. store is the store c was built over; it
// provides our identity and the recipient's trusted identity key (no stored
// identity for to fails with session.ErrNoSession). cert is our own sender
// certificate; as in libsignal it is not validated here (an expired
// certificate produces a message its recipient refuses), but it must name
// our identity key. A nil rand means crypto/rand.Reader.
func EncryptMessage(ctx context.Context, rand io.Reader, c *session.Cipher, store session.IdentityStore, to session.Address, cert *SenderCertificate, plaintext []byte) ([]byte, error) {
	if c == nil || store == nil || cert == nil {
		return nil, wrap(ErrInvalidArgument, "missing cipher, store or certificate")
	}
	ours, err := store.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	if !cert.sender.IdentityKey.Equal(ours.PublicKey()) {
		return nil, wrap(ErrInvalidArgument, "the sender certificate is for another identity key")
	}
	theirs, ok, err := store.Identity(ctx, to)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: no identity key for %s", session.ErrNoSession, to)
	}
	typ, inner, err := c.Encrypt(ctx, to, plaintext)
	if err != nil {
		return nil, err
	}
	content, err := NewContent(typ, cert, inner, HintDefault, nil)
	if err != nil {
		return nil, err
	}
	return Encrypt(rand, theirs, ours, content)
}

// DecryptOptions are what DecryptMessage checks a sealed message against.
type DecryptOptions struct {
	// TrustRoot is the service's trust root public key.
	TrustRoot prekey.PublicKey
	// Now is the validation time for the sender certificate; the zero
	// value means time.Now() (a zero Now used to skip the expiry check,
	// issue #20 item 7).
	Now time.Time
	// Local is our own address (our ACI UUID string and device ID): a
	// message whose certificate names it is refused with ErrSelfSend.
	Local session.Address
	// LocalE164 is our phone number, if any; a certificate naming it with
	// our device ID is refused too.
	LocalE164 string
	// KnownServerCertificates resolves certificates that name their server
	// certificate by ID (see SenderCertificate.Validate).
	KnownServerCertificates []*ServerCertificate
	// Logger, when set, logs at slog.LevelDebug why a sealed message was
	// refused (FailureKindOf), never a byte of it; the inner message's
	// events are the session.Cipher's (session.WithLogger).
	Logger *slog.Logger
}

// DecryptResult is an opened sealed message.
type DecryptResult struct {
	// Sender is the certified sender: name = the certificate's UUID. The
	// certificate's identity key is trusted for it and, for a 1:1 message,
	// authenticated the inner message; for a plaintext content it is the
	// identity pinned for Sender.
	Sender session.Address
	// SenderE164 is the certificate's phone number, if any.
	SenderE164 string
	// Type is the inner message type (session.TypePreKey, TypeSignal,
	// TypeSenderKey or TypePlaintext).
	Type session.MessageType
	// ContentHint and GroupID are the content's.
	ContentHint ContentHint
	GroupID     []byte
	// Plaintext is the decrypted inner 1:1 message (types 2 and 3); nil for
	// sender-key and plaintext-content messages, which the caller decrypts
	// from Content (with package group, for instance).
	Plaintext []byte
	// Content is the decrypted, validated content.
	Content *UnidentifiedSenderMessageContent
}

// DecryptMessage opens a sealed message (v1 or v2) addressed to us and, for
// an inner 1:1 message, decrypts it with c (libsignal's
// sealed_sender_decrypt): decrypt to content, validate the sender
// certificate against opts.TrustRoot at opts.Now, refuse our own messages
// (ErrSelfSend), then decrypt a PreKeySignalMessage or SignalMessage from the
// certificate's address. Sender-key (7) and plaintext (8) contents are
// returned undecrypted. store is the store c was built over.
//
// Because the service that signs certificates could certify any key for any
// address, DecryptMessage also ties the certificate to the store and to the
// inner message (issue #20 item 12; libsignal does neither):
//   - the certificate's identity key must be trusted for the sender
//     (store.IsTrustedIdentity, Receiving), or the message is refused with
//     an error wrapping session.ErrUntrustedIdentity;
//   - an inner 1:1 message must be authenticated by a session whose remote
//     identity is the certificate's key (session.Cipher.DecryptFromIdentity),
//     or it is refused with an error wrapping ErrInvalidMessage and
//     session.ErrUntrustedIdentity (a *session.IdentityMismatchError), and
//     nothing is stored — a PreKeySignalMessage creates no session;
//   - a plaintext content (a DecryptionErrorMessage) is returned only when
//     the store pins an identity for the sender and it is the certificate's
//     key; otherwise it is refused with an error wrapping
//     session.ErrUntrustedIdentity. With no identity pinned we never had a
//     session with the sender, so a retry request has nothing to ask for.
//
// Errors wrap this package's sentinels, or session's for the inner message.
// On any error no session state changes.
func DecryptMessage(ctx context.Context, c *session.Cipher, store session.IdentityStore, ciphertext []byte, opts DecryptOptions) (*DecryptResult, error) {
	return openLogged(ctx, c, store, ciphertext, opts, nil) // commit.go
}

// decryptMessage is DecryptMessage; commit, when not nil, runs as
// DecryptMessageAndCommit says.
func decryptMessage(ctx context.Context, c *session.Cipher, store session.IdentityStore, ciphertext []byte, opts DecryptOptions, commit CommitFunc) (*DecryptResult, error) {
	if c == nil || store == nil {
		return nil, wrap(ErrInvalidArgument, "missing cipher or store")
	}
	ours, err := store.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	content, err := DecryptToContent(ours, ciphertext)
	if err != nil {
		return nil, err
	}
	cert := content.cert
	if err := cert.Validate(opts.TrustRoot, opts.Now, opts.KnownServerCertificates...); err != nil {
		return nil, err
	}
	s := cert.sender
	isLocal := s.UUID == opts.Local.Name || (opts.LocalE164 != "" && s.E164 == opts.LocalE164)
	if isLocal && s.DeviceID == opts.Local.DeviceID {
		return nil, wrap(ErrSelfSend, "%s", s.Address())
	}
	res := &DecryptResult{
		Sender:      s.Address(),
		SenderE164:  s.E164,
		Type:        content.typ,
		ContentHint: content.hint,
		GroupID:     content.GroupID(),
		Content:     content,
	}
	if mutant.On(mutant.MintedCertificate) && content.typ != session.TypePlaintext {
		// mutant: the certificate tied neither to the pinned identity nor
		// to the inner message.
		pt, err := c.Decrypt(ctx, res.Sender, content.typ, content.contents)
		if err != nil {
			return nil, err
		}
		res.Plaintext = pt
		return res, nil
	}
	// The service signs certificates, so it can certify its own key for any
	// address (issue #20 item 12). The certificate's key is the key the
	// message was sealed with (v1 static key, v2 authentication tag, checked
	// by DecryptToContent); it must also be the identity the store trusts
	// for the sender...
	trusted, err := store.IsTrustedIdentity(ctx, res.Sender, s.IdentityKey, session.Receiving)
	if err != nil {
		return nil, err
	}
	if !trusted {
		return nil, fmt.Errorf("%w: the sender certificate's identity key is not the one trusted for %s", session.ErrUntrustedIdentity, res.Sender)
	}
	switch content.typ {
	case session.TypeSignal, session.TypePreKey:
		// ...and the identity that authenticates the inner message, checked
		// before the session cipher stores anything.
		pt, err := decryptInner(ctx, c, res, s.IdentityKey, commit) // commit.go
		if err != nil {
			if _, ok := errors.AsType[*session.IdentityMismatchError](err); ok {
				return nil, fmt.Errorf("%w: the inner message is not from the certificate's identity: %w", ErrInvalidMessage, err)
			}
			return nil, err
		}
		res.Plaintext = pt
	case session.TypePlaintext:
		// Nothing inside authenticates a plaintext content (in practice a
		// DecryptionErrorMessage, which asks us to archive a session and
		// resend): only the sealed layer does, with the certificate's key.
		// That key must be the identity pinned for the sender; with none
		// pinned we have never had a session with the sender, there is
		// nothing to resend, and the request is refused.
		pinned, ok, err := store.Identity(ctx, res.Sender)
		if err != nil {
			return nil, err
		}
		if !ok || !pinned.Equal(s.IdentityKey) {
			return nil, fmt.Errorf("%w: plaintext content from %s under a certificate for an identity not pinned for it", session.ErrUntrustedIdentity, res.Sender)
		}
	}
	return res, nil
}

// RecipientsFromStore builds the v2 recipients for addrs from the 1:1
// sessions in store, as libsignal's sealed_sender_multi_recipient_encrypt
// does: each address name must be a service ID string, addresses with the
// same name form one recipient (in order of first appearance), the
// registration ID comes from the current session with each device and the
// identity key from the identity store. A missing session or identity fails
// with session.ErrNoSession. The identity key is looked up for every device:
// devices of one name with different keys (possible only under
// session.PerDevice) fail with ErrIdentityKeyMismatch before anything is
// encrypted (issue #16 item 5).
func RecipientsFromStore(ctx context.Context, store interface {
	session.SessionStore
	session.IdentityStore
}, addrs []session.Address) ([]Recipient, error) {
	var out []Recipient
	index := map[string]int{}
	for _, a := range addrs {
		i, ok := index[a.Name]
		var id ServiceID
		if !ok {
			var err error
			if id, err = ParseServiceID(a.Name); err != nil {
				return nil, err
			}
		}
		ik, found, err := store.Identity(ctx, a)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%w: no identity key for %s", session.ErrNoSession, a)
		}
		if !ok {
			i = len(out)
			index[a.Name] = i
			out = append(out, Recipient{ServiceID: id, IdentityKey: ik})
		} else if !out[i].IdentityKey.Equal(ik) {
			return nil, fmt.Errorf("%w: %s", ErrIdentityKeyMismatch, a)
		}
		rec, err := store.LoadSession(ctx, a)
		if err != nil {
			return nil, err
		}
		if rec == nil || rec.Current() == nil {
			return nil, fmt.Errorf("%w: %s", session.ErrNoSession, a)
		}
		out[i].Devices = append(out[i].Devices, Device{ID: a.DeviceID, RegistrationID: rec.Current().RemoteRegistrationID()})
	}
	return out, nil
}
