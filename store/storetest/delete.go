package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// testDeleteSession checks SessionStore.DeleteSession (issue #20 item 17):
// it removes the record of one address and nothing else, deleting what is
// not there is not an error, it takes part in transactions (rolled back
// with them), it leaves other accounts of the same database alone, and a
// batch load sees the deletion.
func testDeleteSession(t *testing.T, open Opener) {
	ctx := context.Background()
	a := newAccount(t, open, "alice")
	other := newAccount(t, open, "carol")
	st := a.Store
	rec, _ := sessionRecord(t, open)
	bob1 := session.Address{Name: "bob", DeviceID: 1}
	bob2 := session.Address{Name: "bob", DeviceID: 2}
	for _, s := range []session.Store{st, other.Store} {
		for _, addr := range []session.Address{bob1, bob2} {
			if err := s.StoreSession(ctx, addr, rec.Clone()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.DeleteSession(ctx, bob1); err != nil {
		t.Fatal(err)
	}
	if r, err := st.LoadSession(ctx, bob1); err != nil || r != nil {
		t.Fatalf("LoadSession after DeleteSession = %v, %v; want nil, nil", r, err)
	}
	if r, err := st.LoadSession(ctx, bob2); err != nil || r == nil {
		t.Fatalf("DeleteSession removed another device's record: %v, %v", r, err)
	}
	if r, err := other.Store.LoadSession(ctx, bob1); err != nil || r == nil {
		t.Fatalf("DeleteSession removed another account's record: %v, %v", r, err)
	}
	if err := st.DeleteSession(ctx, bob1); err != nil {
		t.Fatalf("deleting an absent session: %v", err)
	}
	if err := st.DeleteSession(ctx, session.Address{Name: "nobody", DeviceID: 9}); err != nil {
		t.Fatalf("deleting an unknown address: %v", err)
	}
	if bs, ok := st.(session.BatchSessionStore); ok {
		recs, err := bs.LoadSessions(ctx, []session.Address{bob1, bob2})
		if err != nil || recs[bob1] != nil || recs[bob2] == nil {
			t.Fatalf("LoadSessions after DeleteSession = %v, %v", recs, err)
		}
	}
	// A record stored again after the deletion is there.
	if err := st.StoreSession(ctx, bob1, rec.Clone()); err != nil {
		t.Fatal(err)
	}
	if r, err := st.LoadSession(ctx, bob1); err != nil || r == nil {
		t.Fatalf("LoadSession after re-storing = %v, %v", r, err)
	}

	tr, ok := st.(session.Transactor)
	if !ok {
		return
	}
	// Inside a transaction: visible to it, rolled back with it.
	boom := errors.New("boom")
	err := tr.Transact(ctx, func(tx session.Store) error {
		if err := tx.DeleteSession(ctx, bob1); err != nil {
			return err
		}
		if r, err := tx.LoadSession(ctx, bob1); err != nil || r != nil {
			t.Errorf("the transaction still sees the deleted record: %v, %v", r, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Transact = %v", err)
	}
	if r, err := st.LoadSession(ctx, bob1); err != nil || r == nil {
		t.Fatalf("rolled-back deletion took effect: %v, %v", r, err)
	}
	if err := tr.Transact(ctx, func(tx session.Store) error { return tx.DeleteSession(ctx, bob1) }); err != nil {
		t.Fatal(err)
	}
	if r, err := st.LoadSession(ctx, bob1); err != nil || r != nil {
		t.Fatalf("committed deletion not visible: %v, %v", r, err)
	}
}
