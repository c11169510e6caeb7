package sealedsender

import (
	"context"
	"errors"
	"log/slog"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// CommitFunc receives an opened sealed message whose inner 1:1 message has
// decrypted and authenticated (res.Plaintext set), with the Store of the
// unit of work that stores the decryption: session.CommitFunc with the
// DecryptResult (issue #16, "must have" 1). With a store that is a
// session.Transactor (sqlstore) it runs last in the transaction, and an
// error from it rolls the decryption back; see
// session.Cipher.DecryptAndCommit for the rules, and for what is guaranteed
// without a Transactor.
type CommitFunc func(ctx context.Context, tx session.Store, res *DecryptResult) error

// DecryptMessageAndCommit is DecryptMessage that, for an inner 1:1 message
// (session.TypePreKey, TypeSignal), runs fn in the unit of work that stores
// its decryption (session.Cipher.DecryptFromIdentityAndCommit) and returns
// the result once that unit has committed. Every check of DecryptMessage
// comes first: a sealed message that is refused never reaches fn.
//
// Sender-key and plaintext contents change no 1:1 state: they are returned
// as by DecryptMessage and fn is not called. Decrypt a sender-key content
// with group.Cipher.DecryptAndCommit, which commits the sender-key chain
// with the application's writes in the same way.
func DecryptMessageAndCommit(ctx context.Context, c *session.Cipher, store session.IdentityStore, ciphertext []byte, opts DecryptOptions, fn CommitFunc) (*DecryptResult, error) {
	if fn == nil {
		return nil, wrap(ErrInvalidArgument, "nil commit function")
	}
	return openLogged(ctx, c, store, ciphertext, opts, fn)
}

// openLogged is decryptMessage, logging a refusal to opts.Logger.
func openLogged(ctx context.Context, c *session.Cipher, store session.IdentityStore, ciphertext []byte, opts DecryptOptions, fn CommitFunc) (*DecryptResult, error) {
	res, err := decryptMessage(ctx, c, store, ciphertext, opts, fn)
	if err != nil && opts.Logger != nil && opts.Logger.Enabled(ctx, slog.LevelDebug) {
		opts.Logger.LogAttrs(ctx, slog.LevelDebug, "sealedsender: message refused",
			slog.String("kind", FailureKindOf(err)))
	}
	return res, err
}

// decryptInner decrypts the inner 1:1 message of res's content, which must
// be authenticated by want, running commit (when not nil) in the unit of
// work that stores it.
func decryptInner(ctx context.Context, c *session.Cipher, res *DecryptResult, want prekey.IdentityKey, commit CommitFunc) ([]byte, error) {
	content := res.Content
	if commit == nil {
		return c.DecryptFromIdentity(ctx, res.Sender, content.typ, content.contents, want)
	}
	return c.DecryptFromIdentityAndCommit(ctx, res.Sender, content.typ, content.contents, want,
		func(ctx context.Context, tx session.Store, pt []byte) error {
			res.Plaintext = pt
			return commit(ctx, tx, res)
		})
}

// FailureKindOf classifies an error DecryptMessage returned, for logs and
// metrics: the sealed layer's own kinds ("self_send", "expired",
// "invalid_certificate", "unknown_recipient", "invalid"), else the inner
// message's session.FailureKindOf. "" for nil.
func FailureKindOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrSelfSend):
		return "self_send"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrInvalidCertificate), errors.Is(err, ErrInvalidSignature),
		errors.Is(err, ErrRevoked), errors.Is(err, ErrUnknownServerCertificate):
		return "invalid_certificate"
	case errors.Is(err, ErrUnknownRecipient):
		return "unknown_recipient"
	case errors.Is(err, session.ErrUntrustedIdentity):
		return string(session.FailureUntrusted)
	case errors.Is(err, ErrInvalidMessage):
		return "invalid"
	}
	return string(session.FailureKindOf(err))
}
