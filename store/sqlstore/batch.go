package sqlstore

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

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
// Each SQLite element is one string, the device ID in decimal, a colon and
// the name's bytes in hexadecimal ("2:616c696365"), split with instr and
// substr and decoded with unhex: the first colon always ends the digits,
// and hexadecimal carries any name byte for byte (JSON would replace
// invalid UTF-8, and the name would then miss its row: a pinned identity
// not found is trusted on first use). An array per address made SQLite
// render each element back to JSON text and parse it again for ->>, a
// third of the statement's time.
func (w *stmtBuilder) want(addrs []session.Address) *stmtBuilder {
	if w.d.placeholder != "$" {
		j := jsonStrings(len(addrs), func(j []byte, i int) []byte {
			j = strconv.AppendUint(j, uint64(addrs[i].DeviceID), 10)
			return hex.AppendEncode(append(j, ':'), []byte(addrs[i].Name))
		})
		return w.sql("WITH want (name, device_id) AS (SELECT CAST(unhex(substr(value, instr(value, ':') + 1)) AS TEXT), CAST(substr(value, 1, instr(value, ':') - 1) AS INTEGER) FROM json_each(").arg(j).sql(")) ")
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

// wantNames writes "WITH want (name) AS (…) " for names, as want does
// for addresses (on SQLite, each name in hexadecimal).
func (w *stmtBuilder) wantNames(names []string) *stmtBuilder {
	if w.d.placeholder != "$" {
		j := jsonStrings(len(names), func(j []byte, i int) []byte {
			return hex.AppendEncode(j, []byte(names[i]))
		})
		return w.sql("WITH want (name) AS (SELECT CAST(unhex(value) AS TEXT) FROM json_each(").arg(j).sql(")) ")
	}
	w.b.Grow(len(names) * 20)
	w.sql("WITH want (name) AS (VALUES ")
	for i, n := range names {
		if i > 0 {
			w.sql(",")
		}
		w.sql("(CAST(").arg(n).sql(" AS TEXT))")
	}
	return w.sql(") ")
}

// jsonStrings returns a JSON array of n strings, element i written by
// elem (which appends only digits, colons and hexadecimal: nothing JSON
// would escape).
func jsonStrings(n int, elem func(j []byte, i int) []byte) string {
	j := make([]byte, 0, 2+n*32)
	j = append(j, '[')
	for i := range n {
		if i > 0 {
			j = append(j, ',')
		}
		j = append(elem(append(j, '"'), i), '"')
	}
	return string(append(j, ']'))
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

// recordRow is one row selectRecords read: the address, the stored
// bytes, and the record parsed from them or why it does not parse.
type recordRow struct {
	a   session.Address
	b   []byte
	r   *session.Record
	err error
}

// parsePiece is how many rows selectRecords hands a parsing goroutine at
// a time.
const parsePiece = 64

// selectRecords reads the session rows of want and parses them. Parsing is
// most of the CPU time and the SELECT runs on one goroutine: so the rows
// are parsed parsePiece at a time on the other cores while the statement
// still reads, and the reading goroutine joins in once it is done. A row
// that does not decrypt fails the load (never a corrupt record); one that
// does not parse is returned with its error.
func (s *Store) selectRecords(ctx context.Context, want []session.Address) ([]recordRow, error) {
	parse := func(p []recordRow) error {
		for i := range p {
			b, err := s.open(ctx, sessionRow(p[i].a), p[i].b)
			if err != nil {
				return err
			}
			p[i].r, p[i].err = session.UnmarshalRecord(b)
		}
		return nil
	}
	var (
		pieces  [][]recordRow
		cur     []recordRow
		work    chan []recordRow
		wg      sync.WaitGroup
		errMu   sync.Mutex
		openErr error
	)
	worker := func() {
		for p := range work {
			if err := parse(p); err != nil {
				errMu.Lock()
				openErr = cmp.Or(openErr, err)
				errMu.Unlock()
			}
		}
	}
	finish := func() error {
		if work == nil {
			return nil
		}
		close(work)
		worker() // the reading goroutine parses what is still queued
		wg.Wait()
		work = nil
		return openErr
	}
	err := s.batchSelect(ctx, "interlock_sessions", "record", true, want, func(a session.Address, b []byte) error {
		if cur == nil {
			cur = make([]recordRow, 0, parsePiece)
		}
		cur = append(cur, recordRow{a: a, b: b})
		if len(cur) < parsePiece {
			return nil
		}
		if work == nil {
			work = make(chan []recordRow, len(want)/parsePiece+1)
			for range max(1, runtime.GOMAXPROCS(0)-1) {
				wg.Go(worker)
			}
		}
		pieces = append(pieces, cur)
		work <- cur
		cur = nil
		return nil
	})
	ferr := finish()
	if err != nil {
		return nil, wrap(fmt.Sprintf("loading %d sessions", len(want)), err)
	}
	if ferr != nil {
		return nil, ferr
	}
	if err := parse(cur); err != nil {
		return nil, err
	}
	rows := make([]recordRow, 0, len(pieces)*parsePiece+len(cur))
	for _, p := range pieces {
		rows = append(rows, p...)
	}
	return append(rows, cur...), nil
}

// LoadSessions implements session.BatchSessionStore: one SELECT for up to
// batchRows addresses (with WithSessionCache, only for those it misses).
// Rows that do not parse are left out and reported, with the records that
// do parse, in a *session.BatchError of *session.CorruptRecordError (issue
// #20 item 17).
func (s *Store) LoadSessions(ctx context.Context, addrs []session.Address) (map[session.Address]*session.Record, error) {
	out := make(map[session.Address]*session.Record, len(addrs))
	want, tokens := addrs, []uint64(nil)
	if c := s.db.cache; c != nil {
		hits := make([]*session.Record, len(addrs))
		want = nil
		c.mu.Lock()
		for i, a := range addrs {
			r, present, ok, token := c.sessions.lookup(c, s.key(a))
			switch {
			case !ok:
				want, tokens = append(want, a), append(tokens, token)
			case present:
				hits[i] = r
			}
		}
		c.mu.Unlock()
		// Cached records never change: copy them without the lock.
		parallel(len(hits), func(i int) error {
			if hits[i] != nil {
				hits[i] = hits[i].Clone()
			}
			return nil
		})
		for i, r := range hits {
			if r != nil {
				out[addrs[i]] = r
			}
		}
		if len(want) == 0 {
			return out, nil
		}
	}
	if s.tx != nil {
		// The rows' locks, also of those that do not exist yet (issue #19
		// item 1), in key order.
		locks := make([]rowLock, len(want))
		for i, a := range want {
			locks[i] = sessionLock(a)
		}
		if err := s.lockRows(ctx, locks...); err != nil {
			return nil, wrap(fmt.Sprintf("locking %d sessions", len(want)), err)
		}
	}
	rows, err := s.selectRecords(ctx, want)
	if err != nil {
		return nil, err
	}
	var corrupt *session.BatchError
	for _, r := range rows {
		if r.err != nil {
			if corrupt == nil {
				corrupt = &session.BatchError{Errors: map[session.Address]error{}}
			}
			corrupt.Errors[r.a] = &session.CorruptRecordError{Address: r.a, Err: r.err}
			continue
		}
		out[r.a] = r.r
	}
	if tokens != nil {
		// Cache what was read: a record, or no row; not a corrupt row.
		keys := make([]cacheKey, 0, len(want))
		recs := make([]*session.Record, 0, len(want))
		toks := make([]uint64, 0, len(want))
		for i, a := range want {
			if corrupt != nil && corrupt.Errors[a] != nil {
				continue
			}
			keys, recs, toks = append(keys, s.key(a)), append(recs, out[a]), append(toks, tokens[i])
		}
		s.fillSessions(keys, recs, toks)
	}
	if corrupt != nil {
		return out, corrupt
	}
	return out, nil
}

// StoreSessions implements session.BatchSessionStore: INSERT … ON CONFLICT
// statements of upsertRows records each (prepared once), all in one
// transaction (the caller's, inside Transact), so either every record is
// stored or none. The records are serialized on up to GOMAXPROCS goroutines
// while the statements run.
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
	recs := make([]*session.Record, len(addrs))
	for i, a := range addrs {
		recs[i] = records[a]
	}
	write := func(st *Store) error {
		return st.tracked(func(m marker) {
			for i, a := range addrs {
				m.session(st.key(a), recs[i])
			}
		}, func() error { return st.storeSessions(ctx, addrs, recs) })
	}
	if s.tx != nil || len(addrs) <= upsertRows {
		return write(s) // one statement is atomic on its own
	}
	return s.Transact(ctx, func(tx session.Store) error { return write(tx.(*Store)) })
}

// upsertRows is how many rows one prepared upsert statement carries.
// Statements of this fixed size are prepared once per connection and
// reused, which costs SQLite far less than parsing one statement with
// thousands of rows on every batch; the remainder of a batch goes in one
// statement of its own.
const upsertRows = 256

// marshalRows is how many records one goroutine serializes at a time.
const marshalRows = 64

// upsertSessions returns the INSERT … ON CONFLICT statement for rows
// records: parameters account, name, device_id, record per row.
func (d dialect) upsertSessions(rows int) string {
	w := &stmtBuilder{d: d}
	w.b.Grow(rows*20 + 160)
	w.sql(`INSERT INTO interlock_sessions (account, name, device_id, record) VALUES `)
	for i := range rows {
		if i > 0 {
			w.sql(",")
		}
		w.sql("(").arg(nil).sql(", ").arg(nil).sql(", ").arg(nil).sql(", ").arg(nil).sql(")")
	}
	w.sql(` ON CONFLICT (account, name, device_id) DO UPDATE SET record = excluded.record`)
	return w.b.String()
}

// storeSessions serializes recs[i] and writes it for addrs[i]: upsertRows
// rows per execution of the prepared statement, the rest in one more
// statement. Other goroutines serialize the records, marshalRows at a time
// and in order, while this one runs the statements as their rows become
// ready: the serializing overlaps the database's work.
func (s *Store) storeSessions(ctx context.Context, addrs []session.Address, recs []*session.Record) error {
	n := len(addrs)
	blobs := make([][]byte, n)
	pieces := (n + marshalRows - 1) / marshalRows
	ready := make([]chan error, pieces)
	for i := range ready {
		ready[i] = make(chan error, 1)
	}
	var next atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), pieces) {
		wg.Go(func() {
			for {
				p := int(next.Add(1) - 1)
				if p >= pieces {
					return
				}
				select {
				case <-stop:
					return
				default:
				}
				var err error
				for i := p * marshalRows; i < min(n, (p+1)*marshalRows); i++ {
					if blobs[i], err = recs[i].Marshal(); err != nil {
						err = fmt.Errorf("session %s: %w", addrs[i], err)
						break
					}
					if blobs[i], err = s.seal(ctx, sessionRow(addrs[i]), blobs[i]); err != nil {
						break
					}
				}
				ready[p] <- err
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	failed := func(err error) error { return wrap(fmt.Sprintf("storing %d sessions", n), err) }
	account := any(s.account)
	args := make([]any, 0, 4*min(n, upsertRows))
	upsert := s.db.upsert
	if s.tx != nil && n >= upsertRows {
		upsert = s.tx.StmtContext(ctx, upsert) // closed with the transaction
	}
	waited := 0 // pieces known to be serialized
	for lo := 0; lo < n; lo += upsertRows {
		hi := min(n, lo+upsertRows)
		for ; waited*marshalRows < hi; waited++ {
			if err := <-ready[waited]; err != nil {
				return failed(err)
			}
		}
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = append(args, account, addrs[i].Name, int64(addrs[i].DeviceID), blobs[i])
		}
		var err error
		if hi-lo == upsertRows {
			_, err = upsert.ExecContext(ctx, args...)
		} else {
			_, err = s.writer().ExecContext(ctx, s.db.d.upsertSessions(hi-lo), args...)
		}
		if err != nil {
			return failed(err)
		}
	}
	return nil
}

// AreTrustedIdentities implements session.BatchIdentityStore, answering as
// IsTrustedIdentity: under PerAccount with one SELECT of the account keys
// per batchRows names (two unpinned devices of one account with different
// keys are both refused); under PerDevice with one SELECT of the device
// keys (with WithSessionCache, only for the addresses it misses) and one
// look-up per device that has no key.
func (s *Store) AreTrustedIdentities(ctx context.Context, keys map[session.Address]prekey.IdentityKey, _ session.Direction) (map[session.Address]bool, error) {
	if s.db.scope == session.PerAccount {
		out, err := s.areTrustedPerAccount(ctx, keys) // identity.go
		if err != nil {
			return nil, wrap(fmt.Sprintf("loading %d identities", len(keys)), err)
		}
		return out, nil
	}
	out, err := s.areTrustedPerDevice(ctx, keys)
	if err != nil {
		return nil, err
	}
	// A device without a key of its own is trusted on first use only as a
	// device of an account nothing is known of (session.PerDevice).
	for a, ok := range out {
		if !ok {
			continue
		}
		if _, pinned, err := s.DeviceIdentity(ctx, a); err != nil {
			return nil, err
		} else if pinned {
			continue
		}
		if s.own(a.Name) {
			out[a] = false
		} else if known, err := s.accountKnown(ctx, a.Name); err != nil {
			return nil, wrap("loading identity "+a.String(), err)
		} else if known {
			out[a] = false
		}
	}
	return out, nil
}

// areTrustedPerDevice compares each device with its own pinned key (absent:
// trusted).
func (s *Store) areTrustedPerDevice(ctx context.Context, keys map[session.Address]prekey.IdentityKey) (map[session.Address]bool, error) {
	addrs := make([]session.Address, 0, len(keys))
	out := make(map[session.Address]bool, len(keys))
	var tokens map[session.Address]uint64
	c := s.db.cache
	if c != nil {
		c.mu.Lock()
		for a, k := range keys {
			old, present, ok, token := c.identities.lookup(c, s.key(a))
			if ok {
				out[a] = !present || old.Equal(k)
				continue
			}
			if tokens == nil {
				tokens = make(map[session.Address]uint64)
			}
			addrs = append(addrs, a)
			tokens[a] = token
			out[a] = true
		}
		c.mu.Unlock()
		if len(addrs) == 0 {
			return out, nil
		}
	} else {
		for a := range keys {
			addrs = append(addrs, a)
			out[a] = true
		}
	}
	found := make(map[session.Address]prekey.IdentityKey)
	err := s.batchSelect(ctx, "interlock_identities", "identity_key", false, addrs, func(a session.Address, b []byte) error {
		k, err := prekey.NewIdentityKey(b)
		if err != nil {
			return fmt.Errorf("identity %s: %w", a, err)
		}
		out[a] = k.Equal(keys[a])
		if c != nil {
			found[a] = k
		}
		return nil
	})
	if err != nil {
		return nil, wrap(fmt.Sprintf("loading %d identities", len(addrs)), err)
	}
	if c != nil {
		c.mu.Lock()
		for _, a := range addrs {
			k, present := found[a]
			c.identities.fill(s.key(a), k, present, tokens[a])
		}
		c.mu.Unlock()
	}
	return out, nil
}
