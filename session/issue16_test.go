package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// Issue #16 item 3: EncryptMany says which addresses failed and why — a
// *BatchError whose per-address errors are typed (*UntrustedIdentityError
// carrying the address and the key it presented) — and still matches the
// sentinels with errors.Is.
func TestIssue16Item3_EncryptManyTypedErrors(t *testing.T) {
	ctx := context.Background()
	alice, rs := fanoutParties(t, 3, 0)
	other := newParty(t, rs[1].addr.Name)
	if _, err := alice.store.SaveIdentity(ctx, rs[1].addr, other.id.PublicKey()); err != nil {
		t.Fatal(err)
	}
	var recips []session.Recipient
	for _, r := range rs {
		recips = append(recips, session.Recipient{Address: r.addr})
	}
	_, err := alice.cipher.EncryptMany(ctx, recips, []byte("x"))
	var be *session.BatchError
	if !errors.As(err, &be) || !errors.Is(err, session.ErrUntrustedIdentity) {
		t.Fatalf("EncryptMany = %v, want a *BatchError matching ErrUntrustedIdentity", err)
	}
	if got := be.Addresses(); len(got) != 1 || got[0] != rs[1].addr {
		t.Fatalf("failed addresses %v, want [%s]", got, rs[1].addr)
	}
	var ue *session.UntrustedIdentityError
	if !errors.As(be.Errors[rs[1].addr], &ue) || ue.Address != rs[1].addr || !ue.Key.Equal(rs[1].id.PublicKey()) {
		t.Fatalf("per-address error %v, want *UntrustedIdentityError{%s, its key}", be.Errors[rs[1].addr], rs[1].addr)
	}
}
