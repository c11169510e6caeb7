package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// TestIssue16DecryptAndCommit (issue #16, "must have" 1): the commit
// function of session.Cipher.DecryptAndCommit and group.Cipher.
// DecryptAndCommit writes the application's table through sqlstore.SQLTx in
// the transaction that stores the decryption, without deadlocking, on
// SQLite and PostgreSQL; its error rolls everything back (the app's row,
// the ratchet, the consumed prekeys), so the message decrypts again.
func TestIssue16DecryptAndCommit(t *testing.T) {
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		blob := "BLOB"
		if _, err := db.SQL().ExecContext(ctx, `SELECT 1::int`); err == nil {
			blob = "BYTEA" // PostgreSQL
		}
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE app_events (n BIGINT NOT NULL, body `+blob+` NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM app_events`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		errNo := errors.New("the application says no")
		insert := func(n int, fail bool) func(ctx context.Context, tx *sql.Tx, pt []byte) error {
			return func(ctx context.Context, tx *sql.Tx, pt []byte) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO app_events (n, body) VALUES ($1, $2)`, n, pt); err != nil {
					return err
				}
				if fail {
					return errNo
				}
				return nil
			}
		}
		sess := func(f func(context.Context, *sql.Tx, []byte) error) session.CommitFunc {
			return func(ctx context.Context, st session.Store, pt []byte) error {
				tx, ok := sqlstore.SQLTx(st)
				if !ok {
					return errors.New("no SQL transaction")
				}
				return f(ctx, tx, pt)
			}
		}

		alice, err := newParty(ctx, db, randomName("alice-"))
		if err != nil {
			t.Fatal(err)
		}
		bob, err := newParty(ctx, db, randomName("bob-"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := bob.bundleWithID(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.cipher.ProcessBundle(ctx, bob.addr, b); err != nil {
			t.Fatal(err)
		}
		n := 0
		for i, text := range []string{"first (PreKeySignalMessage)", "second (SignalMessage)"} {
			typ, ct, err := alice.cipher.Encrypt(ctx, bob.addr, []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			if want := []session.MessageType{session.TypePreKey, session.TypeSignal}[i]; typ != want {
				t.Fatalf("message %d has type %d, want %d", i, typ, want)
			}
			// Refused by the application: nothing stored, not even its row.
			_, err = bob.cipher.DecryptAndCommit(ctx, alice.addr, typ, ct, sess(insert(n, true)))
			if !errors.Is(err, errNo) || session.FailureKindOf(err) != session.FailureAborted {
				t.Fatalf("%s: %v, want the application's error", text, err)
			}
			if c := count(); c != n {
				t.Fatalf("%s: %d rows after a rollback, want %d", text, c, n)
			}
			if i == 0 {
				if _, err := bob.store.LoadPreKey(ctx, b.PreKeyID); err != nil {
					t.Fatalf("the one-time prekey is gone after a rollback: %v", err)
				}
			}
			// Accepted: the message decrypts again, with its row.
			pt, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, typ, ct, sess(insert(n, false)))
			if err != nil || string(pt) != text {
				t.Fatalf("%s after a rollback: %q, %v", text, pt, err)
			}
			n++
			if c := count(); c != n {
				t.Fatalf("%s: %d rows, want %d", text, c, n)
			}
			// And once only.
			if _, err := bob.cipher.DecryptAndCommit(ctx, alice.addr, typ, ct, sess(insert(n, false))); !errors.Is(err, session.ErrDuplicateMessage) {
				t.Fatalf("%s decrypted twice: %v", text, err)
			}
			if c := count(); c != n {
				t.Fatalf("%s: %d rows after a duplicate, want %d", text, c, n)
			}
			// Bob answers, so Alice's next message is a SignalMessage.
			rtyp, rct, err := bob.cipher.Encrypt(ctx, alice.addr, []byte("answer"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := alice.cipher.Decrypt(ctx, bob.addr, rtyp, rct); err != nil {
				t.Fatal(err)
			}
		}

		// Sender keys: the same with group.Cipher over the same stores.
		ga, gb := group.NewCipher(alice.store), group.NewCipher(bob.store)
		self := group.SenderKeyName{Sender: alice.addr.Name, DeviceID: 1, DistributionID: "5e1fbd2c-4b0e-4a4c-9f53-1f2d6a0c8e11"}
		dm, err := ga.CreateDistributionMessage(ctx, self)
		if err != nil {
			t.Fatal(err)
		}
		from := group.SenderKeyName{Sender: alice.addr.Name, DeviceID: 1}
		if err := gb.ProcessDistributionMessage(ctx, from, dm); err != nil {
			t.Fatal(err)
		}
		grp := func(f func(context.Context, *sql.Tx, []byte) error) group.CommitFunc {
			return func(ctx context.Context, st group.SenderKeyStore, pt []byte) error {
				tx, ok := sqlstore.SQLTx(st)
				if !ok {
					return errors.New("no SQL transaction")
				}
				return f(ctx, tx, pt)
			}
		}
		gct, err := ga.Encrypt(ctx, self, []byte("to the group"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gb.DecryptAndCommit(ctx, from, gct, grp(insert(n, true))); !errors.Is(err, errNo) || group.FailureKindOf(err) != group.FailureAborted {
			t.Fatalf("group: %v, want the application's error", err)
		}
		if c := count(); c != n {
			t.Fatalf("group: %d rows after a rollback, want %d", c, n)
		}
		if pt, err := gb.DecryptAndCommit(ctx, from, gct, grp(insert(n, false))); err != nil || string(pt) != "to the group" {
			t.Fatalf("group after a rollback: %q, %v", pt, err)
		}
		if c := count(); c != n+1 {
			t.Fatalf("group: %d rows, want %d", c, n+1)
		}
		if _, err := gb.DecryptAndCommit(ctx, from, gct, grp(insert(n, false))); !errors.Is(err, group.ErrDuplicateMessage) {
			t.Fatalf("group message decrypted twice: %v", err)
		}
		// Outside a transaction there is no SQL transaction to write through.
		if _, ok := sqlstore.SQLTx(bob.store); ok {
			t.Fatal("SQLTx of an account's Store outside Transact")
		}
	})
}
