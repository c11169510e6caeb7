package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// CommitFunc receives the plaintext of a SenderKeyMessage that verified and
// decrypted, with the SenderKeyStore of the unit of work that stores the
// advanced chain (issue #16, "must have" 1; session.CommitFunc is the same
// for 1:1 messages). An application stores the plaintext, or its event,
// through tx: with a SenderKeyTransactor (sqlstore) that is the store's
// transaction (sqlstore.SQLTx returns its *sql.Tx), and an error from fn
// rolls the chain back with it, so the message can be decrypted again.
//
// fn runs with the sender's lock and, on SQLite, the database's write lock
// held: it must be short, must not call back into the Cipher and must write
// only through tx.
type CommitFunc func(ctx context.Context, tx SenderKeyStore, plaintext []byte) error

// commitError marks an error returned by a CommitFunc; it reads as, and
// unwraps to, that error.
type commitError struct{ err error }

func (e *commitError) Error() string { return e.err.Error() }
func (e *commitError) Unwrap() error { return e.err }

// ErrInvalidArgument: a call was made with arguments that cannot be right
// (a nil commit function).
var ErrInvalidArgument = errors.New("group: invalid argument")

// DecryptAndCommit parses b in the Cipher's layout and decrypts it with
// DecryptMessageAndCommit.
func (c *Cipher) DecryptAndCommit(ctx context.Context, sender SenderKeyName, b []byte, fn CommitFunc) ([]byte, error) {
	m, err := ParseSenderKeyMessage(b, c.layout)
	if err != nil {
		c.logRefused(ctx, sender, nil, err)
		return nil, err
	}
	return c.DecryptMessageAndCommit(ctx, sender, m, fn)
}

// DecryptMessageAndCommit is DecryptMessage that runs fn in the unit of work
// that stores the advanced chain, and returns the plaintext once it has
// committed.
//
// With a SenderKeyTransactor, fn runs last in the transaction, after the
// chain was stored through it: the chain advances with fn's writes or not at
// all, and an error from fn (returned as is for errors.Is and errors.As;
// FailureKindOf says FailureAborted) leaves the message decryptable again.
// Without one, fn runs after the message verified and decrypted, before the
// record is written: an error from fn stores nothing; a write that fails
// after fn succeeded is returned, and the message may then reach fn again
// (at least once, never zero times).
func (c *Cipher) DecryptMessageAndCommit(ctx context.Context, sender SenderKeyName, m *SenderKeyMessage, fn CommitFunc) ([]byte, error) {
	pt, err := c.decryptAndCommit(ctx, sender, m, fn)
	if err != nil {
		c.logRefused(ctx, sender, m, err)
		return nil, err
	}
	return pt, nil
}

func (c *Cipher) decryptAndCommit(ctx context.Context, sender SenderKeyName, m *SenderKeyMessage, fn CommitFunc) ([]byte, error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: nil commit function", ErrInvalidArgument)
	}
	if m == nil || len(m.raw) < 1+SignatureSize {
		return nil, invalid("message was not parsed")
	}
	name, err := senderName(sender, m.Layout, m.DistributionID)
	if err != nil {
		return nil, err
	}
	defer c.lock(name)()
	if _, ok := c.store.(SenderKeyTransactor); !ok {
		// decryptMessage over a view that keeps the record it would store;
		// fn, then the write.
		snap := &captureStore{SenderKeyStore: c.store}
		pt, err := c.decryptMessage(ctx, snap, name, m)
		if err != nil {
			return nil, err
		}
		if err := fn(ctx, c.store, pt); err != nil {
			return nil, &commitError{err}
		}
		if err := c.save(ctx, name, snap.rec); err != nil {
			return nil, err
		}
		return pt, nil
	}
	var out []byte
	err = c.transact(ctx, func(tx SenderKeyStore) error {
		p, err := c.decryptMessage(ctx, tx, name, m)
		if err != nil {
			return err
		}
		if err := fn(ctx, tx, p); err != nil {
			return &commitError{err}
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// captureStore reads through to a SenderKeyStore and keeps, instead of
// writing, the record it is given.
type captureStore struct {
	SenderKeyStore
	rec *Record
}

func (s *captureStore) StoreSenderKey(_ context.Context, _ SenderKeyName, r *Record) error {
	s.rec = r
	return nil
}

// WithLogger makes the Cipher log, at slog.LevelDebug: our own sender key
// created (a first chain, or a new one after a rotation), a sender's key
// received or rotated (a distribution message with a new chain), and a
// message refused with its kind (FailureKind), sender, chain ID and
// iteration. Never a chain key, a signing key, a message key, a plaintext
// or a ciphertext. A nil logger logs nothing (the default).
func WithLogger(l *slog.Logger) Option { return func(c *Cipher) { c.log = l } }

// FailureKind classifies why a SenderKeyMessage was refused.
type FailureKind string

// Failure kinds, from the sentinel the error matches.
const (
	FailureInvalid       FailureKind = "invalid"
	FailureSignature     FailureKind = "invalid_signature"
	FailureDuplicate     FailureKind = "duplicate"
	FailureTooFar        FailureKind = "too_far"
	FailureNoSenderKey   FailureKind = "no_sender_key"
	FailureInvalidRecord FailureKind = "invalid_record"
	FailureAborted       FailureKind = "aborted"
	FailureCanceled      FailureKind = "canceled"
	FailureOther         FailureKind = "other"
)

// FailureKindOf classifies err, an error a Cipher's decryption returned
// ("" for nil).
func FailureKindOf(err error) FailureKind {
	var ce *commitError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce):
		return FailureAborted
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return FailureCanceled
	case errors.Is(err, ErrInvalidSignature):
		return FailureSignature
	case errors.Is(err, ErrDuplicateMessage):
		return FailureDuplicate
	case errors.Is(err, ErrTooFar):
		return FailureTooFar
	case errors.Is(err, ErrNoSenderKey):
		return FailureNoSenderKey
	case errors.Is(err, ErrInvalidRecord):
		return FailureInvalidRecord
	case errors.Is(err, ErrInvalidMessage), errors.Is(err, ErrInvalidKey):
		return FailureInvalid
	}
	return FailureOther
}

func (c *Cipher) debug(ctx context.Context) bool {
	return c.log != nil && c.log.Enabled(ctx, slog.LevelDebug)
}

// logRefused logs a refused message (m nil when it did not parse).
func (c *Cipher) logRefused(ctx context.Context, sender SenderKeyName, m *SenderKeyMessage, err error) {
	if !c.debug(ctx) {
		return
	}
	attrs := []slog.Attr{
		slog.String("sender", sender.String()),
		slog.String("kind", string(FailureKindOf(err))),
	}
	if m != nil {
		attrs = append(attrs, slog.Uint64("chain_id", uint64(m.ChainID)), slog.Uint64("iteration", uint64(m.Iteration)))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "group: message refused", attrs...)
}

// logNewChain logs a chain stored under name: ours (created) or a sender's
// (rotated when the record held another chain already).
func (c *Cipher) logNewChain(ctx context.Context, name SenderKeyName, chainID, iteration uint32, own, rotated bool) {
	if !c.debug(ctx) {
		return
	}
	msg := "group: sender key received"
	switch {
	case own:
		msg = "group: own sender key created"
	case rotated:
		msg = "group: sender key rotated"
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, msg,
		slog.String("name", name.String()),
		slog.Uint64("chain_id", uint64(chainID)),
		slog.Uint64("iteration", uint64(iteration)))
}
