package sqlstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

// garbageRow is what a corrupt sessions row holds in these tests: a
// truncated protobuf.
var garbageRow = []byte{0x0a, 0xff, 0xff, 0x01}

func corruptRow(t *testing.T, st session.Store, addr session.Address) {
	t.Helper()
	if err := sqlstore.WriteRawSession(context.Background(), st.(*sqlstore.Store), addr, garbageRow); err != nil {
		t.Fatal(err)
	}
}

func wantCorrupt(t *testing.T, err error, addr session.Address) {
	t.Helper()
	var ce *session.CorruptRecordError
	if !errors.Is(err, session.ErrCorruptRecord) || !errors.As(err, &ce) || ce.Address != addr {
		t.Fatalf("error %v: want a *session.CorruptRecordError for %s", err, addr)
	}
}

// cacheModes runs fn on both backends, without and with the session cache.
func cacheModes(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Run("NoCache", func(t *testing.T) { backends(t, fn) })
	t.Run("Cache", func(t *testing.T) { backends(t, fn, sqlstore.WithSessionCache(64)) })
}

// TestIssue20Item17_CorruptRowTyped (issue #20 item 17): a sessions row
// that does not parse is a *session.CorruptRecordError naming its address,
// from LoadSession and, per address, from LoadSessions, which still returns
// the healthy records; DeleteSession removes it.
func TestIssue20Item17_CorruptRowTyped(t *testing.T) {
	cacheModes(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, _, rs := fanoutSetup(t, db, 3)
		st := alice.Store
		bad := rs[1].Addr
		corruptRow(t, st, bad)
		_, err := st.LoadSession(ctx, bad)
		wantCorrupt(t, err, bad)
		addrs := []session.Address{rs[0].Addr, bad, rs[2].Addr, {Name: "nobody", DeviceID: 1}}
		recs, err := st.(session.BatchSessionStore).LoadSessions(ctx, addrs)
		var be *session.BatchError
		if !errors.As(err, &be) || len(be.Errors) != 1 {
			t.Fatalf("LoadSessions = %v, want a *BatchError for %s", err, bad)
		}
		wantCorrupt(t, be.Errors[bad], bad)
		if len(recs) != 2 || recs[rs[0].Addr] == nil || recs[rs[2].Addr] == nil {
			t.Fatalf("LoadSessions returned %d records, want the 2 healthy ones", len(recs))
		}
		// Twice: a cache must not have kept the corrupt row as "absent".
		if _, err := st.LoadSession(ctx, bad); err == nil {
			t.Fatal("the corrupt row loads as absent the second time")
		}
		if err := session.NewCipher(st).DeleteSession(ctx, bad); err != nil {
			t.Fatal(err)
		}
		if r, err := st.LoadSession(ctx, bad); r != nil || err != nil {
			t.Fatalf("after DeleteSession: %v, %v", r, err)
		}
	})
}

// TestIssue20Item17_ProcessBundleReplacesCorruptRow (issue #20 item 17).
func TestIssue20Item17_ProcessBundleReplacesCorruptRow(t *testing.T) {
	cacheModes(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, ac, rs := fanoutSetup(t, db, 1)
		bob := rs[0]
		corruptRow(t, alice.Store, bob.Addr)
		if err := ac.ProcessBundle(ctx, bob.Addr, bob.Bundle(t, true, true)); err != nil {
			t.Fatalf("ProcessBundle over a corrupt row: %v", err)
		}
		typ, ct, err := ac.Encrypt(ctx, bob.Addr, []byte("fresh"))
		if err != nil || typ != session.TypePreKey {
			t.Fatalf("Encrypt = %d, %v", typ, err)
		}
		if pt, err := session.NewCipher(bob.Store).Decrypt(ctx, alice.Addr, typ, ct); err != nil || string(pt) != "fresh" {
			t.Fatalf("Decrypt = %q, %v", pt, err)
		}
	})
}

// TestIssue20Item17_PeerNewSessionReplacesCorruptRow (issue #20 item 17):
// the responder's corrupt row is replaced by the session a
// PreKeySignalMessage starts.
func TestIssue20Item17_PeerNewSessionReplacesCorruptRow(t *testing.T) {
	cacheModes(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		bob := newAccount(t, db, randomName("bob-"), "bob")
		alice := storetest.NewAccount(t, "alice", func(id prekey.IdentityKeyPair, reg uint32) session.Store {
			return session.NewMemoryStore(id, reg)
		})
		ac, bc := session.NewCipher(alice.Store), session.NewCipher(bob.Store)
		storetest.Converse(t, alice, bob, session.RequirePQXDH, true)
		corruptRow(t, bob.Store, alice.Addr)
		if err := ac.ProcessBundle(ctx, bob.Addr, bob.Bundle(t, true, true)); err != nil {
			t.Fatal(err)
		}
		typ, ct, err := ac.Encrypt(ctx, bob.Addr, []byte("new session"))
		if err != nil || typ != session.TypePreKey {
			t.Fatalf("Encrypt = %d, %v", typ, err)
		}
		if pt, err := bc.Decrypt(ctx, alice.Addr, typ, ct); err != nil || string(pt) != "new session" {
			t.Fatalf("Decrypt over a corrupt row = %q, %v", pt, err)
		}
		if typ, ct, err = bc.Encrypt(ctx, alice.Addr, []byte("answer")); err != nil {
			t.Fatal(err)
		}
		if pt, err := ac.Decrypt(ctx, bob.Addr, typ, ct); err != nil || string(pt) != "answer" {
			t.Fatalf("answer = %q, %v", pt, err)
		}
	})
}

// TestIssue20Item17_EncryptManyCorruptRow (issue #20 item 17): a batch
// with one corrupt row encrypts for and stores the healthy devices and
// reports the corrupt one in a *BatchError; with a bundle for it, the new
// session replaces the row.
func TestIssue20Item17_EncryptManyCorruptRow(t *testing.T) {
	cacheModes(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, ac, rs := fanoutSetup(t, db, 4)
		bad := rs[2]
		corruptRow(t, alice.Store, bad.Addr)
		var recips []session.Recipient
		for _, r := range rs {
			recips = append(recips, session.Recipient{Address: r.Addr})
		}
		msgs, err := ac.EncryptMany(ctx, recips, []byte("group"))
		var be *session.BatchError
		if !errors.As(err, &be) || len(be.Errors) != 1 {
			t.Fatalf("EncryptMany = %v, want a *BatchError for %s", err, bad.Addr)
		}
		wantCorrupt(t, be.Errors[bad.Addr], bad.Addr)
		if len(msgs) != 3 {
			t.Fatalf("%d messages, want 3", len(msgs))
		}
		for _, m := range msgs {
			for _, r := range rs {
				if r.Addr != m.Address {
					continue
				}
				if pt, err := session.NewCipher(r.Store).Decrypt(ctx, alice.Addr, m.Type, m.Body); err != nil || string(pt) != "group" {
					t.Fatalf("%s: %q, %v", r.Addr, pt, err)
				}
			}
		}
		// The healthy sessions were stored: the next batch continues them.
		recips[2].Bundle = bad.Bundle(t, true, true)
		msgs, err = ac.EncryptMany(ctx, recips, []byte("second"))
		if err != nil || len(msgs) != 4 {
			t.Fatalf("EncryptMany with a bundle for the corrupt row = %d messages, %v", len(msgs), err)
		}
		for i, m := range msgs {
			if pt, err := session.NewCipher(rs[i].Store).Decrypt(ctx, alice.Addr, m.Type, m.Body); err != nil || string(pt) != "second" {
				t.Fatalf("%s: %q, %v", rs[i].Addr, pt, err)
			}
		}
		if _, err := alice.Store.LoadSession(ctx, bad.Addr); err != nil {
			t.Fatalf("the corrupt row was not replaced: %v", err)
		}
	})
}
