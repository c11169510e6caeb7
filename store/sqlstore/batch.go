package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

var (
	_ session.BatchSessionStore  = (*Store)(nil)
	_ session.BatchIdentityStore = (*Store)(nil)
)

// batchRows is how many rows one batch statement carries at most: at 5
// bound parameters a row that stays under SQLite's 32,766 and PostgreSQL's
// 65,535. Larger batches take one statement per batchRows rows, in the same
// transaction.
const batchRows = 5000

// stmtBuilder writes a statement with its arguments in order. Parameters
// are numbered ($n) on PostgreSQL and anonymous (?) on SQLite: the SQLite
// driver looks every numbered parameter's name up in a list, which makes
// binding quadratic in the number of parameters.
type stmtBuilder struct {
	d    dialect
	b    strings.Builder
	args []any
}

func (w *stmtBuilder) sql(s string) *stmtBuilder { w.b.WriteString(s); return w }

func (w *stmtBuilder) arg(v any) *stmtBuilder {
	w.args = append(w.args, v)
	if w.d.placeholder == "$" {
		w.b.WriteByte('$')
		w.b.WriteString(strconv.Itoa(len(w.args)))
	} else {
		w.b.WriteByte('?')
	}
	return w
}

// want writes "WITH want (name, device_id) AS (…) " for addrs: on SQLite
// one JSON parameter read with json_each (the parser then has a short
// statement to read, whatever the batch size); on PostgreSQL a VALUES list.
func (w *stmtBuilder) want(addrs []session.Address) *stmtBuilder {
	if w.d.placeholder != "$" {
		j := make([]byte, 0, len(addrs)*24)
		j = append(j, '[')
		for i, a := range addrs {
			if i > 0 {
				j = append(j, ',')
			}
			name, _ := json.Marshal(a.Name) // a string always marshals
			j = append(j, '[')
			j = append(j, name...)
			j = append(j, ',')
			j = strconv.AppendUint(j, uint64(a.DeviceID), 10)
			j = append(j, ']')
		}
		j = append(j, ']')
		return w.sql("WITH want (name, device_id) AS (SELECT value ->> 0, value ->> 1 FROM json_each(").arg(string(j)).sql(")) ")
	}
	w.b.Grow(len(addrs) * 40)
	w.sql("WITH want (name, device_id) AS (VALUES ")
	for i, a := range addrs {
		if i > 0 {
			w.sql(",")
		}
		w.sql("(CAST(").arg(a.Name).sql(" AS TEXT), CAST(").arg(int64(a.DeviceID)).sql(" AS BIGINT))")
	}
	return w.sql(") ")
}

// parallel calls fn(0) … fn(n-1) on up to GOMAXPROCS goroutines and
// returns the first error.
func parallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), (n+63)/64)
	if workers <= 1 {
		for i := range n {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := fn(i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// batchSelect runs, chunk by chunk, a SELECT of (name, device_id, blob)
// joined with the wanted addresses, and calls fn for each row.
func (s *Store) batchSelect(ctx context.Context, table, column string, forUpdate bool, addrs []session.Address, fn func(a session.Address, b []byte) error) error {
	lock := ""
	if forUpdate && s.tx != nil && s.db.d.forUpdate != "" {
		lock = " FOR UPDATE OF t"
	}
	for chunk := range slices.Chunk(addrs, batchRows) {
		w := &stmtBuilder{d: s.db.d}
		// CROSS JOIN keeps want as the outer loop on SQLite: one index
		// lookup per wanted address.
		w.want(chunk).sql(`SELECT t.name, t.device_id, t.` + column + ` FROM want CROSS JOIN ` + table + ` t WHERE t.account = `).
			arg(s.account).sql(` AND t.name = want.name AND t.device_id = want.device_id` + lock)
		rows, err := s.reader().QueryContext(ctx, w.b.String(), w.args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a session.Address
			var dev int64
			var b []byte
			if err := rows.Scan(&a.Name, &dev, &b); err != nil {
				rows.Close()
				return err
			}
			if dev < 0 || dev > 0xFFFFFFFF {
				rows.Close()
				return fmt.Errorf("device ID %d out of range", dev)
			}
			a.DeviceID = uint32(dev)
			if err := fn(a, b); err != nil {
				rows.Close()
				return err
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// LoadSessions implements session.BatchSessionStore: one SELECT for up to
// batchRows addresses.
func (s *Store) LoadSessions(ctx context.Context, addrs []session.Address) (map[session.Address]*session.Record, error) {
	type row struct {
		a session.Address
		b []byte
		r *session.Record
	}
	var rows []row
	err := s.batchSelect(ctx, "interlock_sessions", "record", true, addrs, func(a session.Address, b []byte) error {
		rows = append(rows, row{a: a, b: b})
		return nil
	})
	if err == nil {
		// Parsing is most of the cost: spread it over the cores.
		err = parallel(len(rows), func(i int) error {
			r, err := session.UnmarshalRecord(rows[i].b)
			if err != nil {
				return fmt.Errorf("session %s: %w", rows[i].a, err)
			}
			rows[i].r = r
			return nil
		})
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("loading %d sessions", len(addrs)), err)
	}
	out := make(map[session.Address]*session.Record, len(rows))
	for _, r := range rows {
		out[r.a] = r.r
	}
	return out, nil
}

// StoreSessions implements session.BatchSessionStore: one INSERT … ON
// CONFLICT statement for up to batchRows records, all in one transaction
// (the caller's, inside Transact), so either every record is stored or none.
func (s *Store) StoreSessions(ctx context.Context, records map[session.Address]*session.Record) error {
	if len(records) == 0 {
		return nil
	}
	addrs := make([]session.Address, 0, len(records))
	for a := range records {
		addrs = append(addrs, a)
	}
	// A fixed order keeps concurrent batches from deadlocking on PostgreSQL
	// row locks.
	slices.SortFunc(addrs, func(x, y session.Address) int {
		return cmp.Or(strings.Compare(x.Name, y.Name), cmp.Compare(x.DeviceID, y.DeviceID))
	})
	blobs := make([][]byte, len(addrs))
	err := parallel(len(addrs), func(i int) error {
		b, err := records[addrs[i]].Marshal()
		if err != nil {
			return wrap("session "+addrs[i].String(), err)
		}
		blobs[i] = b
		return nil
	})
	if err != nil {
		return err
	}
	write := func(st *Store) error {
		for off := 0; off < len(addrs); off += batchRows {
			end := min(off+batchRows, len(addrs))
			w := &stmtBuilder{d: s.db.d}
			w.b.Grow((end - off) * 32)
			w.sql(`INSERT INTO interlock_sessions (account, name, device_id, record) VALUES `)
			for i := off; i < end; i++ {
				if i > off {
					w.sql(",")
				}
				w.sql("(").arg(s.account).sql(", ").arg(addrs[i].Name).sql(", ").arg(int64(addrs[i].DeviceID)).sql(", ").arg(blobs[i]).sql(")")
			}
			w.sql(` ON CONFLICT (account, name, device_id) DO UPDATE SET record = excluded.record`)
			if _, err := st.writer().ExecContext(ctx, w.b.String(), w.args...); err != nil {
				return wrap(fmt.Sprintf("storing %d sessions", len(addrs)), err)
			}
		}
		return nil
	}
	if s.tx != nil || len(addrs) <= batchRows {
		return write(s) // one statement is atomic on its own
	}
	return s.Transact(ctx, func(tx session.Store) error { return write(tx.(*Store)) })
}

// AreTrustedIdentities implements session.BatchIdentityStore with one
// SELECT: trust on first use, then only the stored key.
func (s *Store) AreTrustedIdentities(ctx context.Context, keys map[session.Address]prekey.IdentityKey, _ session.Direction) (map[session.Address]bool, error) {
	addrs := make([]session.Address, 0, len(keys))
	out := make(map[session.Address]bool, len(keys))
	for a := range keys {
		addrs = append(addrs, a)
		out[a] = true
	}
	err := s.batchSelect(ctx, "interlock_identities", "identity_key", false, addrs, func(a session.Address, b []byte) error {
		k, err := prekey.NewIdentityKey(b)
		if err != nil {
			return fmt.Errorf("identity %s: %w", a, err)
		}
		out[a] = k.Equal(keys[a])
		return nil
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("loading %d identities", len(addrs)), err)
	}
	return out, nil
}
