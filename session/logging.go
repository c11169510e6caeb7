package session

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/interlock-e2ee/interlock/prekey"
)

// Logging and metrics (issue #16, "must have" 2). A Cipher logs nothing and
// counts nothing unless WithLogger or WithMetrics is given; then the hot
// path costs one nil check. Events carry addresses, message types,
// counters, versions, prekey IDs and error kinds — never a key, a chain
// key, a plaintext, a ciphertext or an error's text (an error may quote a
// public key; the commit function's error is the application's).

// WithLogger makes the Cipher log, at slog.LevelDebug, the events an
// operator needs: a session created (with its role and version), archived or
// promoted; an identity stored that was not already (new account, new
// device, replaced key); a prekey consumed; a message refused, with the
// FailureKind, the address, the message type and the counter. A nil logger
// logs nothing (the default).
//
// Events of a decryption are logged once its unit of work has committed
// (a refused message, or one whose commit was rolled back, logs only its
// refusal). Identity changes and the sessions ProcessBundle and EncryptMany
// start are logged when they are written, inside the operation's unit of
// work: if that unit then fails, the change was not stored.
func WithLogger(l *slog.Logger) Option {
	return func(c *Cipher) {
		if l == nil {
			if c.hooks != nil {
				c.hooks.log = nil
				c.hooks = c.hooks.orNil()
			}
			return
		}
		c.hooksFor().log = l
	}
}

// WithMetrics makes the Cipher count into m what it decrypts, refuses (by
// FailureKind), creates and consumes. One Metrics may be shared by any
// number of Ciphers. A nil m counts nothing (the default).
func WithMetrics(m *Metrics) Option {
	return func(c *Cipher) {
		if m == nil {
			if c.hooks != nil {
				c.hooks.metrics = nil
				c.hooks = c.hooks.orNil()
			}
			return
		}
		c.hooksFor().metrics = m
	}
}

// hooks is what WithLogger and WithMetrics set; a Cipher without either has
// none (nil).
type hooks struct {
	log     *slog.Logger
	metrics *Metrics
}

func (c *Cipher) hooksFor() *hooks {
	if c.hooks == nil {
		c.hooks = new(hooks)
	}
	return c.hooks
}

func (h *hooks) orNil() *hooks {
	if h.log == nil && h.metrics == nil {
		return nil
	}
	return h
}

// FailureKind classifies why a message was refused, for metrics and logs:
// FailureKindOf(err). Its value is a short label (e.g. "duplicate").
type FailureKind string

// Failure kinds, from the sentinel the error matches.
const (
	// FailureInvalid: ErrInvalidMessage (malformed, bad MAC, bad padding,
	// wrong version, an unknown message type).
	FailureInvalid FailureKind = "invalid"
	// FailureDuplicate: ErrDuplicateMessage.
	FailureDuplicate FailureKind = "duplicate"
	// FailureTooFar: ErrTooFar.
	FailureTooFar FailureKind = "too_far"
	// FailureUntrusted: ErrUntrustedIdentity (including ErrUnverifiedDevice
	// and *IdentityMismatchError).
	FailureUntrusted FailureKind = "untrusted_identity"
	// FailureNoSession: ErrNoSession.
	FailureNoSession FailureKind = "no_session"
	// FailureInvalidPreKey: ErrInvalidPreKey other than a reused base key
	// (an unknown or already used prekey).
	FailureInvalidPreKey FailureKind = "invalid_prekey"
	// FailureReusedBaseKey: ErrReusedBaseKey, a replayed first message on a
	// last-resort Kyber prekey.
	FailureReusedBaseKey FailureKind = "reused_base_key"
	// FailureInvalidKey: ErrInvalidKey.
	FailureInvalidKey FailureKind = "invalid_key"
	// FailureUnsupported: ErrUnsupported (the policy refuses the version).
	FailureUnsupported FailureKind = "unsupported"
	// FailureCorruptRecord: ErrCorruptRecord.
	FailureCorruptRecord FailureKind = "corrupt_record"
	// FailureAborted: the commit function of DecryptAndCommit returned an
	// error; the decryption was rolled back.
	FailureAborted FailureKind = "aborted"
	// FailureCanceled: the context was canceled or its deadline passed.
	FailureCanceled FailureKind = "canceled"
	// FailureOther: anything else, typically a store error.
	FailureOther FailureKind = "other"
)

// failureKinds lists every kind, in Metrics' order.
var failureKinds = [...]FailureKind{
	FailureInvalid, FailureDuplicate, FailureTooFar, FailureUntrusted,
	FailureNoSession, FailureInvalidPreKey, FailureReusedBaseKey,
	FailureInvalidKey, FailureUnsupported, FailureCorruptRecord,
	FailureAborted, FailureCanceled, FailureOther,
}

// FailureKindOf classifies err, an error a Cipher's decryption returned
// (nil for nil).
func FailureKindOf(err error) FailureKind {
	k, _ := failureKind(err)
	return k
}

func failureKind(err error) (FailureKind, int) {
	var ce *commitError
	switch {
	case err == nil:
		return "", -1
	case errors.As(err, &ce):
		return FailureAborted, 10
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return FailureCanceled, 11
	case errors.Is(err, ErrReusedBaseKey):
		return FailureReusedBaseKey, 6
	case errors.Is(err, ErrDuplicateMessage):
		return FailureDuplicate, 1
	case errors.Is(err, ErrTooFar):
		return FailureTooFar, 2
	case errors.Is(err, ErrUntrustedIdentity):
		return FailureUntrusted, 3
	case errors.Is(err, ErrNoSession):
		return FailureNoSession, 4
	case errors.Is(err, ErrInvalidPreKey):
		return FailureInvalidPreKey, 5
	case errors.Is(err, ErrCorruptRecord):
		return FailureCorruptRecord, 9
	case errors.Is(err, ErrUnsupported):
		return FailureUnsupported, 8
	case errors.Is(err, ErrInvalidKey):
		return FailureInvalidKey, 7
	case errors.Is(err, ErrInvalidMessage):
		return FailureInvalid, 0
	}
	return FailureOther, 12
}

// Metrics holds counters an application can export (to expvar, Prometheus
// or its own logs): read them with Snapshot. The zero value is ready to use;
// it is safe for concurrent use and must not be copied after first use.
type Metrics struct {
	decrypted        atomic.Uint64
	failures         [len(failureKinds)]atomic.Uint64
	sessionsCreated  atomic.Uint64
	sessionsArchived atomic.Uint64
	sessionsPromoted atomic.Uint64
	preKeysConsumed  atomic.Uint64
	kyberConsumed    atomic.Uint64
	lastResortUses   atomic.Uint64
	identityChanges  atomic.Uint64
}

// MetricsSnapshot is the value of every counter of a Metrics at one time
// (each counter is read atomically; the set is not one atomic read).
type MetricsSnapshot struct {
	// Decrypted counts messages decrypted and committed.
	Decrypted uint64
	// DecryptFailures counts refused messages by kind; every kind is
	// present, zero or not.
	DecryptFailures map[FailureKind]uint64
	// SessionsCreated counts sessions started, by ProcessBundle (and
	// EncryptMany's bundles) or by a PreKeySignalMessage.
	SessionsCreated uint64
	// SessionsArchived counts current states moved to the archive by a new
	// or promoted session.
	SessionsArchived uint64
	// SessionsPromoted counts archived states made current by a message
	// they decrypted.
	SessionsPromoted uint64
	// PreKeysConsumed counts one-time prekeys removed by a new session.
	PreKeysConsumed uint64
	// KyberPreKeysConsumed counts one-time Kyber prekeys removed by a new
	// session; LastResortKyberUses counts sessions built on a last-resort
	// Kyber prekey (which stays).
	KyberPreKeysConsumed, LastResortKyberUses uint64
	// IdentityChanges counts identities stored that were not already
	// (new account, new device, replaced key).
	IdentityChanges uint64
}

// Snapshot returns the counters' current values.
func (m *Metrics) Snapshot() MetricsSnapshot {
	s := MetricsSnapshot{
		Decrypted:            m.decrypted.Load(),
		DecryptFailures:      make(map[FailureKind]uint64, len(failureKinds)),
		SessionsCreated:      m.sessionsCreated.Load(),
		SessionsArchived:     m.sessionsArchived.Load(),
		SessionsPromoted:     m.sessionsPromoted.Load(),
		PreKeysConsumed:      m.preKeysConsumed.Load(),
		KyberPreKeysConsumed: m.kyberConsumed.Load(),
		LastResortKyberUses:  m.lastResortUses.Load(),
		IdentityChanges:      m.identityChanges.Load(),
	}
	for i, k := range failureKinds {
		s.DecryptFailures[k] = m.failures[i].Load()
	}
	return s
}

// op is one decryption's per-call state: the caller's commit function, and
// what the operation did, reported to the hooks once it committed. It is
// nil when there is neither a commit function nor hooks: the hot path.
type op struct {
	commit CommitFunc
	// want, when not zero, is the identity that must authenticate the
	// message (DecryptFromIdentity): checked after the decryption, before
	// any write.
	want prekey.IdentityKey

	created  bool // a new session (responder)
	promoted bool // an archived state became current
	archived bool // the current state went to the archive
	version  int

	opk, kpk       uint32
	hasOPK, hasKPK bool
	lastResort     bool
}

// newOp returns the per-call state for a decryption, nil when nothing needs
// it.
func (c *Cipher) newOp(fn CommitFunc) *op {
	if fn == nil && c.hooks == nil {
		return nil
	}
	return &op{commit: fn}
}

// typeName names a message type for the logs.
func typeName(typ MessageType) string {
	switch typ {
	case TypeSignal:
		return "signal"
	case TypePreKey:
		return "prekey"
	}
	return "unknown"
}

// report logs and counts the outcome of one decryption of a message of type
// typ from addr with the given counter (hasCounter false when the message
// did not parse).
func (c *Cipher) report(ctx context.Context, addr Address, typ MessageType, counter uint32, hasCounter bool, o *op, err error) {
	h := c.hooks
	if h == nil {
		return
	}
	m := h.metrics
	log := h.log
	if log != nil && !log.Enabled(ctx, slog.LevelDebug) {
		log = nil
	}
	if err != nil {
		kind, i := failureKind(err)
		if m != nil {
			m.failures[i].Add(1)
		}
		if log != nil {
			attrs := []slog.Attr{
				slog.String("address", addr.String()),
				slog.String("type", typeName(typ)),
				slog.String("kind", string(kind)),
			}
			if hasCounter {
				attrs = append(attrs, slog.Uint64("counter", uint64(counter)))
			}
			log.LogAttrs(ctx, slog.LevelDebug, "session: message refused", attrs...)
		}
		return
	}
	if m != nil {
		m.decrypted.Add(1)
	}
	if o == nil {
		return
	}
	if o.archived {
		c.logArchived(ctx, addr, o.created)
	}
	if o.created {
		c.logCreated(ctx, addr, o.version, "responder")
	}
	if o.promoted {
		if m != nil {
			m.sessionsPromoted.Add(1)
		}
		if log != nil {
			log.LogAttrs(ctx, slog.LevelDebug, "session: archived session promoted",
				slog.String("address", addr.String()))
		}
	}
	if o.hasOPK || o.hasKPK {
		if m != nil {
			if o.hasOPK {
				m.preKeysConsumed.Add(1)
			}
			switch {
			case o.hasKPK && o.lastResort:
				m.lastResortUses.Add(1)
			case o.hasKPK:
				m.kyberConsumed.Add(1)
			}
		}
		if log != nil {
			attrs := []slog.Attr{slog.String("address", addr.String())}
			if o.hasOPK {
				attrs = append(attrs, slog.Uint64("prekey_id", uint64(o.opk)))
			}
			if o.hasKPK {
				attrs = append(attrs, slog.Uint64("kyber_prekey_id", uint64(o.kpk)), slog.Bool("last_resort", o.lastResort))
			}
			log.LogAttrs(ctx, slog.LevelDebug, "session: prekey consumed", attrs...)
		}
	}
}

// logCreated reports a new session with addr.
func (c *Cipher) logCreated(ctx context.Context, addr Address, version int, role string) {
	h := c.hooks
	if h == nil {
		return
	}
	if h.metrics != nil {
		h.metrics.sessionsCreated.Add(1)
	}
	if h.log != nil {
		h.log.LogAttrs(ctx, slog.LevelDebug, "session: session created",
			slog.String("address", addr.String()), slog.Int("version", version), slog.String("role", role))
	}
}

// logArchived reports that the current session with addr was archived, for
// a new session (fresh) or for an archived one promoted.
func (c *Cipher) logArchived(ctx context.Context, addr Address, fresh bool) {
	h := c.hooks
	if h == nil {
		return
	}
	if h.metrics != nil {
		h.metrics.sessionsArchived.Add(1)
	}
	if h.log != nil {
		reason := "promoted"
		if fresh {
			reason = "new session"
		}
		h.log.LogAttrs(ctx, slog.LevelDebug, "session: session archived",
			slog.String("address", addr.String()), slog.String("reason", reason))
	}
}

// logIdentity reports an identity stored for addr that was not already.
func (c *Cipher) logIdentity(ctx context.Context, addr Address, ch IdentityChange) {
	h := c.hooks
	if h == nil || ch == IdentityUnchanged {
		return
	}
	if h.metrics != nil {
		h.metrics.identityChanges.Add(1)
	}
	if h.log != nil {
		h.log.LogAttrs(ctx, slog.LevelDebug, "session: identity changed",
			slog.String("address", addr.String()), slog.String("change", ch.String()))
	}
}
