package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// Store is the session.Store of one account in a DB. It is safe for
// concurrent use. Outside Transact every method is its own transaction.
type Store struct {
	db       *DB
	account  string
	identity prekey.IdentityKeyPair
	regID    uint32
	tx       *sql.Tx  // non-nil for the store handed to a Transact function
	j        *journal // the transaction's cache journal (WithSessionCache)

	ownName string // WithOwnName (identity.go)
	hasOwn  bool
}

var (
	_ session.Store      = (*Store)(nil)
	_ session.Transactor = (*Store)(nil)
)

// Account returns the account name.
func (s *Store) Account() string { return s.account }

// Transact implements session.Transactor: fn runs inside one SQL
// transaction and gets a Store bound to it; everything fn writes through that
// Store commits when fn returns nil and is rolled back otherwise (also when
// fn panics). Calling Transact on the transaction's own Store just runs fn
// in the same transaction.
//
// Inside fn use only the Store fn is given: on SQLite the transaction holds
// the database's only write connection, so writing through another Store of
// the same DB would wait for fn forever.
//
// With WithSessionCache, the cache takes what fn wrote only once the
// transaction has committed.
func (s *Store) Transact(ctx context.Context, fn func(tx session.Store) error) (err error) {
	if s.tx != nil {
		return fn(s)
	}
	tx, err := s.db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	txs := *s
	txs.tx = tx
	if s.db.cache != nil {
		txs.j = newJournal()
	}
	end := rolledBack
	defer func() {
		if end == rolledBack {
			tx.Rollback()
		}
		if txs.j != nil {
			// After the commit, so a transaction that begins next finds
			// the keys still pinned until the cache holds the new values.
			s.db.cache.finish(txs.j, end)
		}
	}()
	if err := fn(&txs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		end = unknown
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	end = committed
	return nil
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader returns where reads go.
func (s *Store) reader() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.db.r
}

// writer returns where writes go.
func (s *Store) writer() querier {
	if s.tx != nil {
		return s.tx
	}
	return s.db.w
}

// lockSuffix makes a SELECT inside a transaction lock the row it reads
// (PostgreSQL), so two processes cannot both consume one prekey or advance
// one session from the same state.
func (s *Store) lockSuffix() string {
	if s.tx != nil {
		return s.db.d.forUpdate
	}
	return ""
}

func (s *Store) exec(ctx context.Context, stmt string, args ...any) (sql.Result, error) {
	return s.writer().ExecContext(ctx, s.db.d.q(stmt), args...)
}

// loadBlob reads one byte string; ok is false when there is no row.
func (s *Store) loadBlob(ctx context.Context, stmt string, args ...any) (b []byte, ok bool, err error) {
	err = s.reader().QueryRowContext(ctx, s.db.d.q(stmt)+s.lockSuffix(), args...).Scan(&b)
	if isNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

func wrap(what string, err error) error {
	return fmt.Errorf("sqlstore: %s: %w", what, err)
}

// LoadSession implements session.SessionStore (with WithSessionCache, a copy
// of the cached record when the cache holds it).
func (s *Store) LoadSession(ctx context.Context, addr session.Address) (*session.Record, error) {
	var token uint64
	if c := s.db.cache; c != nil {
		c.mu.Lock()
		r, present, ok, t := c.sessions.lookup(c, s.key(addr))
		c.mu.Unlock()
		if ok {
			if !present {
				return nil, nil
			}
			return r.Clone(), nil
		}
		token = t
	}
	// Inside a transaction, the row's lock: held whether or not the row
	// exists, so a first record cannot be lost (issue #19 item 1).
	if err := s.lockRows(ctx, sessionLock(addr)); err != nil {
		return nil, wrap("locking session "+addr.String(), err)
	}
	b, ok, err := s.loadBlob(ctx, `SELECT record FROM interlock_sessions WHERE account = $1 AND name = $2 AND device_id = $3`,
		s.account, addr.Name, int64(addr.DeviceID))
	if err != nil {
		return nil, wrap("loading session "+addr.String(), err)
	}
	if !ok {
		s.fillSessions([]cacheKey{s.key(addr)}, []*session.Record{nil}, []uint64{token})
		return nil, nil
	}
	// A row that does not decrypt is an error, never a corrupt record: a
	// wrong key must not let new sessions replace the records.
	if b, err = s.open(ctx, sessionRow(addr), b); err != nil {
		return nil, err
	}
	r, err := session.UnmarshalRecord(b)
	if err != nil {
		// Typed and naming the address, so the Cipher can let a new
		// session replace the row (issue #20 item 17). Not cached.
		return nil, &session.CorruptRecordError{Address: addr, Err: err}
	}
	s.fillSessions([]cacheKey{s.key(addr)}, []*session.Record{r}, []uint64{token})
	return r, nil
}

// StoreSession implements session.SessionStore.
func (s *Store) StoreSession(ctx context.Context, addr session.Address, r *session.Record) error {
	b, err := r.Marshal()
	if err != nil {
		return wrap("session "+addr.String(), err)
	}
	if b, err = s.seal(ctx, sessionRow(addr), b); err != nil {
		return err
	}
	err = s.tracked(func(m marker) { m.session(s.key(addr), r) }, func() error {
		_, err := s.exec(ctx, `INSERT INTO interlock_sessions (account, name, device_id, record) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account, name, device_id) DO UPDATE SET record = excluded.record`,
			s.account, addr.Name, int64(addr.DeviceID), b)
		return err
	})
	if err != nil {
		return wrap("storing session "+addr.String(), err)
	}
	return nil
}

// DeleteSession implements session.SessionStore: it removes the session
// with addr, if any, parsable or not.
func (s *Store) DeleteSession(ctx context.Context, addr session.Address) error {
	err := s.tracked(func(m marker) { m.session(s.key(addr), nil) }, func() error {
		_, err := s.exec(ctx, `DELETE FROM interlock_sessions WHERE account = $1 AND name = $2 AND device_id = $3`,
			s.account, addr.Name, int64(addr.DeviceID))
		return err
	})
	if err != nil {
		return wrap("deleting session "+addr.String(), err)
	}
	return nil
}

// IdentityKeyPair implements session.IdentityStore.
func (s *Store) IdentityKeyPair(context.Context) (prekey.IdentityKeyPair, error) {
	return s.identity, nil
}

// LocalRegistrationID implements session.IdentityStore.
func (s *Store) LocalRegistrationID(context.Context) (uint32, error) { return s.regID, nil }

// LoadPreKey implements session.PreKeyStore; an unknown ID wraps
// session.ErrInvalidPreKey.
func (s *Store) LoadPreKey(ctx context.Context, id uint32) (*prekey.PreKeyRecord, error) {
	b, ok, err := s.loadBlob(ctx, `SELECT record FROM interlock_prekeys WHERE account = $1 AND id = $2`, s.account, int64(id))
	if err != nil {
		return nil, wrap(fmt.Sprintf("loading one-time prekey %d", id), err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: one-time prekey %d", session.ErrInvalidPreKey, id)
	}
	if b, err = s.open(ctx, idRow("interlock_prekeys", id), b); err != nil {
		return nil, err
	}
	r, err := prekey.UnmarshalPreKeyRecord(b)
	if err != nil {
		return nil, wrap(fmt.Sprintf("one-time prekey %d", id), err)
	}
	return r, nil
}

// StorePreKey implements session.PreKeyStore.
func (s *Store) StorePreKey(ctx context.Context, r *prekey.PreKeyRecord) error {
	b, err := r.Marshal()
	if err != nil {
		return wrap("one-time prekey", err)
	}
	if b, err = s.seal(ctx, idRow("interlock_prekeys", r.ID), b); err != nil {
		return err
	}
	_, err = s.exec(ctx, `INSERT INTO interlock_prekeys (account, id, record, uploaded) VALUES ($1, $2, $3, FALSE)
		ON CONFLICT (account, id) DO UPDATE SET record = excluded.record, uploaded = FALSE`, s.account, int64(r.ID), b)
	if err != nil {
		return wrap(fmt.Sprintf("storing one-time prekey %d", r.ID), err)
	}
	return nil
}

// RemovePreKey implements session.PreKeyStore.
func (s *Store) RemovePreKey(ctx context.Context, id uint32) error {
	_, err := s.exec(ctx, `DELETE FROM interlock_prekeys WHERE account = $1 AND id = $2`, s.account, int64(id))
	if err != nil {
		return wrap(fmt.Sprintf("removing one-time prekey %d", id), err)
	}
	return nil
}

// LoadSignedPreKey implements session.SignedPreKeyStore; an unknown ID wraps
// session.ErrInvalidPreKey.
func (s *Store) LoadSignedPreKey(ctx context.Context, id uint32) (*prekey.SignedPreKeyRecord, error) {
	// Signed prekeys are never consumed: no row lock needed.
	var b []byte
	err := s.reader().QueryRowContext(ctx, s.db.d.q(`SELECT record FROM interlock_signed_prekeys WHERE account = $1 AND id = $2`),
		s.account, int64(id)).Scan(&b)
	if isNoRows(err) {
		return nil, fmt.Errorf("%w: signed prekey %d", session.ErrInvalidPreKey, id)
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("loading signed prekey %d", id), err)
	}
	if b, err = s.open(ctx, idRow("interlock_signed_prekeys", id), b); err != nil {
		return nil, err
	}
	r, err := prekey.UnmarshalSignedPreKeyRecord(b)
	if err != nil {
		return nil, wrap(fmt.Sprintf("signed prekey %d", id), err)
	}
	return r, nil
}

// StoreSignedPreKey implements session.SignedPreKeyStore. Replacing the
// key stored under r.ID by another key forgets the last-resort Kyber prekey
// uses recorded with the old one (see MarkKyberPreKeyUsed).
func (s *Store) StoreSignedPreKey(ctx context.Context, r *prekey.SignedPreKeyRecord) error {
	b, err := r.Marshal()
	if err != nil {
		return wrap("signed prekey", err)
	}
	if b, err = s.seal(ctx, idRow("interlock_signed_prekeys", r.ID), b); err != nil {
		return err
	}
	err = s.atomically(ctx, func(s *Store) error {
		old, ok, err := s.loadBlob(ctx, `SELECT record FROM interlock_signed_prekeys WHERE account = $1 AND id = $2`, s.account, int64(r.ID))
		if err != nil {
			return err
		}
		if ok {
			if old, err = s.open(ctx, idRow("interlock_signed_prekeys", r.ID), old); err != nil {
				return err
			}
			// A record that does not parse keeps its uses: forgetting them
			// is only housekeeping, remembering them is always safe.
			if o, err := prekey.UnmarshalSignedPreKeyRecord(old); err == nil && !o.KeyPair.Public.Equal(r.KeyPair.Public) {
				if err := s.forgetKyberUses(ctx, "signed_id", r.ID); err != nil {
					return err
				}
			}
		}
		_, err = s.exec(ctx, `INSERT INTO interlock_signed_prekeys (account, id, record) VALUES ($1, $2, $3)
			ON CONFLICT (account, id) DO UPDATE SET record = excluded.record`, s.account, int64(r.ID), b)
		return err
	})
	if err != nil {
		return wrap(fmt.Sprintf("storing signed prekey %d", r.ID), err)
	}
	return nil
}

// RemoveSignedPreKey removes a signed prekey (after rotation, once no
// in-flight message can still name it) and the last-resort Kyber prekey uses
// recorded with it: a message naming it no longer decrypts.
func (s *Store) RemoveSignedPreKey(ctx context.Context, id uint32) error {
	err := s.atomically(ctx, func(s *Store) error {
		if _, err := s.exec(ctx, `DELETE FROM interlock_signed_prekeys WHERE account = $1 AND id = $2`, s.account, int64(id)); err != nil {
			return err
		}
		return s.forgetKyberUses(ctx, "signed_id", id)
	})
	if err != nil {
		return wrap(fmt.Sprintf("removing signed prekey %d", id), err)
	}
	return nil
}

// LoadKyberPreKey implements session.KyberPreKeyStore; an unknown ID wraps
// session.ErrInvalidPreKey.
func (s *Store) LoadKyberPreKey(ctx context.Context, id uint32) (*prekey.KyberPreKeyRecord, error) {
	b, ok, err := s.loadBlob(ctx, `SELECT record FROM interlock_kyber_prekeys WHERE account = $1 AND id = $2`, s.account, int64(id))
	if err != nil {
		return nil, wrap(fmt.Sprintf("loading Kyber prekey %d", id), err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: Kyber prekey %d", session.ErrInvalidPreKey, id)
	}
	if b, err = s.open(ctx, idRow("interlock_kyber_prekeys", id), b); err != nil {
		return nil, err
	}
	r, err := prekey.UnmarshalKyberPreKeyRecord(b)
	if err != nil {
		return nil, wrap(fmt.Sprintf("Kyber prekey %d", id), err)
	}
	return r, nil
}

// StoreKyberPreKey implements session.KyberPreKeyStore. Replacing the key
// stored under r.ID by another key forgets the uses recorded for the old one
// (see MarkKyberPreKeyUsed).
func (s *Store) StoreKyberPreKey(ctx context.Context, r *prekey.KyberPreKeyRecord) error {
	b, err := r.Marshal()
	if err != nil {
		return wrap("Kyber prekey", err)
	}
	if b, err = s.seal(ctx, idRow("interlock_kyber_prekeys", r.ID), b); err != nil {
		return err
	}
	err = s.atomically(ctx, func(s *Store) error {
		old, ok, err := s.loadBlob(ctx, `SELECT record FROM interlock_kyber_prekeys WHERE account = $1 AND id = $2`, s.account, int64(r.ID))
		if err != nil {
			return err
		}
		if ok {
			if old, err = s.open(ctx, idRow("interlock_kyber_prekeys", r.ID), old); err != nil {
				return err
			}
			// As in StoreSignedPreKey, an unparsable record keeps its uses.
			if o, err := prekey.UnmarshalKyberPreKeyRecord(old); err == nil && !o.KeyPair.Public.Equal(r.KeyPair.Public) {
				if err := s.forgetKyberUses(ctx, "kyber_id", r.ID); err != nil {
					return err
				}
			}
		}
		_, err = s.exec(ctx, `INSERT INTO interlock_kyber_prekeys (account, id, last_resort, record, uploaded) VALUES ($1, $2, $3, $4, FALSE)
			ON CONFLICT (account, id) DO UPDATE SET last_resort = excluded.last_resort, record = excluded.record, uploaded = FALSE`,
			s.account, int64(r.ID), r.LastResort, b)
		return err
	})
	if err != nil {
		return wrap(fmt.Sprintf("storing Kyber prekey %d", r.ID), err)
	}
	return nil
}

// MarkKyberPreKeyUsed implements session.KyberPreKeyStore (issue #20 item
// 2): a one-time Kyber prekey is removed; for a last-resort one the row
// (kyberID, signedPreKeyID, baseKey) is added to
// interlock_kyber_base_keys_used, and when it is already there the message is
// a replay: the error wraps session.ErrReusedBaseKey. An unknown kyberID
// wraps session.ErrInvalidPreKey. Inside Transact it runs in the caller's
// transaction (the Kyber prekey's row is read FOR UPDATE on PostgreSQL);
// outside, in one of its own. Two transactions racing with one triple
// cannot both succeed: the primary key admits one row, and on PostgreSQL
// INSERT … ON CONFLICT DO NOTHING waits for the other transaction's outcome.
func (s *Store) MarkKyberPreKeyUsed(ctx context.Context, kyberID, signedPreKeyID uint32, baseKey prekey.PublicKey) error {
	err := s.atomically(ctx, func(s *Store) error {
		var lastResort bool
		err := s.reader().QueryRowContext(ctx, s.db.d.q(`SELECT last_resort FROM interlock_kyber_prekeys WHERE account = $1 AND id = $2`)+s.lockSuffix(),
			s.account, int64(kyberID)).Scan(&lastResort)
		if isNoRows(err) {
			return fmt.Errorf("%w: Kyber prekey %d", session.ErrInvalidPreKey, kyberID)
		}
		if err != nil {
			return err
		}
		if !lastResort {
			_, err := s.exec(ctx, `DELETE FROM interlock_kyber_prekeys WHERE account = $1 AND id = $2`, s.account, int64(kyberID))
			return err
		}
		res, err := s.exec(ctx, `INSERT INTO interlock_kyber_base_keys_used (account, kyber_id, signed_id, base_key) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account, kyber_id, signed_id, base_key) DO NOTHING`,
			s.account, int64(kyberID), int64(signedPreKeyID), baseKey.Bytes())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: Kyber prekey %d, signed prekey %d", session.ErrReusedBaseKey, kyberID, signedPreKeyID)
		}
		return nil
	})
	if err != nil {
		return wrap(fmt.Sprintf("marking Kyber prekey %d used", kyberID), err)
	}
	return nil
}

// RemoveKyberPreKey removes a Kyber prekey, last-resort or not, and the uses
// recorded for it: a message naming it no longer decrypts.
func (s *Store) RemoveKyberPreKey(ctx context.Context, id uint32) error {
	err := s.atomically(ctx, func(s *Store) error {
		if _, err := s.exec(ctx, `DELETE FROM interlock_kyber_prekeys WHERE account = $1 AND id = $2`, s.account, int64(id)); err != nil {
			return err
		}
		return s.forgetKyberUses(ctx, "kyber_id", id)
	})
	if err != nil {
		return wrap(fmt.Sprintf("removing Kyber prekey %d", id), err)
	}
	return nil
}

// forgetKyberUses deletes the recorded last-resort Kyber prekey uses whose
// column (kyber_id or signed_id, a constant) equals id.
func (s *Store) forgetKyberUses(ctx context.Context, column string, id uint32) error {
	_, err := s.exec(ctx, `DELETE FROM interlock_kyber_base_keys_used WHERE account = $1 AND `+column+` = $2`, s.account, int64(id))
	return err
}

// atomically runs fn in the current transaction, or in a new one outside
// Transact, so that a method made of several statements is atomic.
func (s *Store) atomically(ctx context.Context, fn func(s *Store) error) error {
	if s.tx != nil {
		return fn(s)
	}
	return s.Transact(ctx, func(tx session.Store) error { return fn(tx.(*Store)) })
}

// PreKeyIDs lists the stored one-time prekey IDs in ascending order (to
// decide when to upload more).
func (s *Store) PreKeyIDs(ctx context.Context) ([]uint32, error) {
	return s.ids(ctx, "interlock_prekeys")
}

// SignedPreKeyIDs lists the stored signed prekey IDs in ascending order.
func (s *Store) SignedPreKeyIDs(ctx context.Context) ([]uint32, error) {
	return s.ids(ctx, "interlock_signed_prekeys")
}

// KyberPreKeyIDs lists the stored Kyber prekey IDs, last-resort ones
// included, in ascending order.
func (s *Store) KyberPreKeyIDs(ctx context.Context) ([]uint32, error) {
	return s.ids(ctx, "interlock_kyber_prekeys")
}

func (s *Store) ids(ctx context.Context, table string) ([]uint32, error) {
	rows, err := s.reader().QueryContext(ctx, s.db.d.q(`SELECT id FROM `+table+` WHERE account = $1 ORDER BY id`), s.account)
	if err != nil {
		return nil, wrap("listing "+table, err)
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("listing "+table, err)
		}
		if id < 0 || id > 0xFFFFFFFF {
			return nil, wrap("listing "+table, errors.New("ID out of range"))
		}
		out = append(out, uint32(id))
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("listing "+table, err)
	}
	slices.Sort(out)
	return out, nil
}
