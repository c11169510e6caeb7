package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
)

// sealedTable is a table of private material: its primary key columns
// (after account) and how a row's key names it for the associated data.
type sealedTable struct {
	name   string
	column string   // the sealed column
	keys   []string // primary key columns after account
	rowID  func(keys []any) (rowID, error)
}

func int64Key(v any) (uint32, error) {
	n, ok := v.(int64)
	if !ok || n < 0 || n > 0xFFFFFFFF {
		return 0, fmt.Errorf("sqlstore: key %v out of range", v)
	}
	return uint32(n), nil
}

func stringKey(v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case []byte:
		return string(s), nil
	}
	return "", fmt.Errorf("sqlstore: key %v is not text", v)
}

func idTable(name string) sealedTable {
	return sealedTable{name: name, column: "record", keys: []string{"id"}, rowID: func(k []any) (rowID, error) {
		id, err := int64Key(k[0])
		return idRow(name, id), err
	}}
}

// sealedTables are the tables RotateKeys re-encrypts, in order.
var sealedTables = []sealedTable{
	{name: "interlock_accounts", column: "identity_key_pair", rowID: func([]any) (rowID, error) { return accountRow, nil }},
	idTable("interlock_prekeys"),
	idTable("interlock_signed_prekeys"),
	idTable("interlock_kyber_prekeys"),
	{name: "interlock_sessions", column: "record", keys: []string{"name", "device_id"}, rowID: func(k []any) (rowID, error) {
		name, err := stringKey(k[0])
		if err != nil {
			return rowID{}, err
		}
		dev, err := int64Key(k[1])
		r := sessionRow(sessionAddress(name, dev))
		return r, err
	}},
	{name: "interlock_sender_keys", column: "record", keys: []string{"sender", "device_id", "distribution_id"}, rowID: func(k []any) (rowID, error) {
		sender, err := stringKey(k[0])
		if err != nil {
			return rowID{}, err
		}
		dev, err := int64Key(k[1])
		if err != nil {
			return rowID{}, err
		}
		dist, err := stringKey(k[2])
		return senderKeyRow(senderKeyName(sender, dev, dist)), err
	}},
}

// RotateKeys re-encrypts this account's rows of private material that are
// not sealed with the KeyEncrypter's current key — rows sealed with an
// older key, and plaintext rows written before WithKeyEncryption was
// given (the migration path) — batch rows per transaction, and returns how
// many it rewrote. It runs online: readers and writers go on meanwhile
// (every process must already hold a KeyEncrypter that opens both the old
// and the new key, with the new one current), a row another transaction is
// using is skipped and taken up again once free, and a row is replaced only
// if it is still what was read, so no concurrent write is lost. It is
// resumable: the rows still to do are those not under the current key, so
// an interrupted run (a cancelled ctx, a crash) is simply called again.
// It returns once every row is sealed with the current key; then the old
// key can be retired. Without WithKeyEncryption it fails.
func (s *Store) RotateKeys(ctx context.Context, batch int) (int, error) {
	if s.db.crypt.kek == nil {
		return 0, errors.New("sqlstore: RotateKeys needs WithKeyEncryption")
	}
	if s.tx != nil {
		return 0, errors.New("sqlstore: RotateKeys inside Transact")
	}
	if batch <= 0 {
		batch = 500
	}
	total := 0
	for _, t := range sealedTables {
		for {
			n, more, err := s.rotateBatch(ctx, t, batch)
			total += n
			if err != nil {
				return total, err
			}
			if !more {
				break
			}
			if n == 0 {
				// Only rows other transactions hold are left: wait for them.
				select {
				case <-ctx.Done():
					return total, ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
	return total, nil
}

// rotateBatch re-encrypts up to batch rows of t in one transaction. more
// reports that rows not under the current key may remain.
func (s *Store) rotateBatch(ctx context.Context, t sealedTable, batch int) (n int, more bool, err error) {
	prefix := sealPrefix(s.db.crypt.kek.CurrentKeyID())
	cols := ""
	order := ""
	where := "account = $1"
	for i, k := range t.keys {
		cols += k + ", "
		if i > 0 {
			order += ", "
		}
		order += k
	}
	if order == "" {
		order = "account"
	}
	sel := `SELECT ` + cols + t.column + ` FROM ` + t.name + ` WHERE ` + where +
		` AND (length(` + t.column + `) < $2 OR substr(` + t.column + `, 1, $2) <> $3) ORDER BY ` + order + ` LIMIT $4`
	if s.db.d.name == "postgres" {
		// A row a transaction holds is left for the next batch: rotation
		// never waits for (or deadlocks with) the application's work.
		sel += ` FOR UPDATE SKIP LOCKED`
	}
	upd := `UPDATE ` + t.name + ` SET ` + t.column + ` = $1 WHERE account = $2 AND ` + t.column + ` = $3`
	for i, k := range t.keys {
		upd += fmt.Sprintf(" AND %s = $%d", k, i+4)
	}
	err = s.Transact(ctx, func(tx sessionStore) error {
		st := tx.(*Store)
		rows, err := st.tx.QueryContext(ctx, s.db.d.q(sel), s.account, len(prefix), prefix, batch)
		if err != nil {
			return err
		}
		type row struct {
			keys []any
			b    []byte
		}
		var todo []row
		for rows.Next() {
			r := row{keys: make([]any, len(t.keys))}
			dest := make([]any, 0, len(t.keys)+1)
			for i := range r.keys {
				dest = append(dest, &r.keys[i])
			}
			dest = append(dest, &r.b)
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return err
			}
			todo = append(todo, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		more = len(todo) == batch
		for _, r := range todo {
			id, err := t.rowID(r.keys)
			if err != nil {
				return err
			}
			plain, err := st.open(ctx, id, r.b)
			if err != nil {
				return err
			}
			sealed, err := st.seal(ctx, id, plain)
			if err != nil {
				return err
			}
			args := append([]any{sealed, s.account, r.b}, r.keys...)
			res, err := st.tx.ExecContext(ctx, s.db.d.q(upd), args...)
			if err != nil {
				return fmt.Errorf("re-encrypting %s: %w", id, err)
			}
			if c, err := res.RowsAffected(); err == nil && c == 1 {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, wrap("rotating keys of "+t.name, err)
	}
	if !more {
		// SKIP LOCKED may have left rows out: count what remains.
		var left int
		err := s.db.r.QueryRowContext(ctx, s.db.d.q(`SELECT COUNT(*) FROM `+t.name+` WHERE `+where+
			` AND (length(`+t.column+`) < $2 OR substr(`+t.column+`, 1, $2) <> $3)`), s.account, len(prefix), prefix).Scan(&left)
		if err != nil {
			return n, false, wrap("rotating keys of "+t.name, err)
		}
		more = left > 0
	}
	return n, more, nil
}

type sessionStore = session.Store

func sessionAddress(name string, dev uint32) session.Address {
	return session.Address{Name: name, DeviceID: dev}
}

func senderKeyName(sender string, dev uint32, dist string) group.SenderKeyName {
	return group.SenderKeyName{Sender: sender, DeviceID: dev, DistributionID: dist}
}
