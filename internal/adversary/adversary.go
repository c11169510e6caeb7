package adversary

import "context"

// PQRatchet says how the next SignalMessage's pq_ratchet field is written.
// The message is keyed with the classical message keys alone (no SPQR key),
// and the session's SPQR state does not advance.
type PQRatchet struct {
	// Omit leaves the field out; otherwise it holds Version, one byte.
	Omit    bool
	Version byte
}

// Bytes returns the field's value ("" when omitted).
func (p PQRatchet) Bytes() []byte {
	if p.Omit {
		return nil
	}
	return []byte{p.Version}
}

type pqKey struct{}

// WithPQRatchet returns ctx carrying p for the encryption made under it.
func WithPQRatchet(ctx context.Context, p PQRatchet) context.Context {
	return context.WithValue(ctx, pqKey{}, p)
}

// PQRatchetOf returns the deviation ctx carries, if any.
func PQRatchetOf(ctx context.Context) (PQRatchet, bool) {
	p, ok := ctx.Value(pqKey{}).(PQRatchet)
	return p, ok
}
