package sqlstore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/interlock-e2ee/interlock/session"
)

// Row locks across processes (issue #19 item 1).
//
// SELECT … FOR UPDATE locks a row that exists; it cannot lock one that does
// not exist yet, so two PostgreSQL transactions creating the first record
// for one address (a session, a sender-key chain) would both see none and
// the later commit would win. Inside a transaction, before reading a row it
// may create or advance, a Store therefore takes a transaction-scoped
// advisory lock (pg_advisory_xact_lock) on a 64-bit key derived from the
// account, the table and the row's key: the lock exists whether or not the
// row does, and is released by the commit or rollback. A second transaction
// on the same row waits, then reads what the first committed (READ
// COMMITTED takes a new snapshot per statement). Batches take their locks
// in ascending key order, in one statement, so two batches over
// overlapping addresses cannot deadlock each other. On SQLite every write
// transaction holds the database's write lock from BEGIN IMMEDIATE, which
// serialises them already: lockRows does nothing there.

// rowLock names a row by what its advisory lock key is derived from.
type rowLock struct {
	table, key string
}

// lockKey is the advisory lock key of a row of account: the first 8 bytes
// of SHA-256("interlock-row-lock" 0 account 0 table 0 key). A collision
// between two rows only makes them wait for each other.
func lockKey(account string, l rowLock) int64 {
	h := sha256.New()
	h.Write([]byte("interlock-row-lock\x00"))
	h.Write([]byte(account))
	h.Write([]byte{0})
	h.Write([]byte(l.table))
	h.Write([]byte{0})
	h.Write([]byte(l.key))
	return int64(binary.BigEndian.Uint64(h.Sum(nil)))
}

func sessionLock(a session.Address) rowLock { return rowLock(sessionRow(a)) }

// lockRows takes the advisory locks of rows, in ascending key order, for
// the rest of the transaction. Outside a transaction, and on SQLite, it
// does nothing.
func (s *Store) lockRows(ctx context.Context, rows ...rowLock) error {
	if s.tx == nil || s.db.d.name != "postgres" || len(rows) == 0 {
		return nil
	}
	if len(rows) == 1 {
		_, err := s.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.account, rows[0]))
		return err
	}
	keys := make([]int64, len(rows))
	for i, r := range rows {
		keys[i] = lockKey(s.account, r)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	// The ordered subquery makes the locks be taken in key order.
	_, err := s.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(k) FROM (SELECT unnest($1::bigint[]) AS k ORDER BY k) AS ks`, keys)
	return err
}
