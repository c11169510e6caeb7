package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/interlock-e2ee/interlock/session"
)

// The prekey lifecycle (session.PreKeyManager) and session listing
// (session.SessionLister) of issue #16 item 4, over schema version 5.
var (
	_ session.ManagedStore  = (*Store)(nil)
	_ session.SessionLister = (*Store)(nil)
)

// PreKeyCounts implements session.PreKeyManager.
func (s *Store) PreKeyCounts(ctx context.Context) (session.PreKeyCounts, error) {
	var c session.PreKeyCounts
	err := s.reader().QueryRowContext(ctx, s.db.d.q(`SELECT
		(SELECT COUNT(*) FROM interlock_prekeys WHERE account = $1),
		(SELECT COUNT(*) FROM interlock_prekeys WHERE account = $1 AND NOT uploaded),
		(SELECT COUNT(*) FROM interlock_kyber_prekeys WHERE account = $1 AND NOT last_resort),
		(SELECT COUNT(*) FROM interlock_kyber_prekeys WHERE account = $1 AND NOT last_resort AND NOT uploaded)`),
		s.account).Scan(&c.OneTime, &c.OneTimeNotUploaded, &c.Kyber, &c.KyberNotUploaded)
	if err != nil {
		return session.PreKeyCounts{}, wrap("counting prekeys", err)
	}
	return c, nil
}

// MarkPreKeysUploaded implements session.PreKeyManager, in one transaction.
func (s *Store) MarkPreKeysUploaded(ctx context.Context, preKeyIDs, kyberIDs []uint32) error {
	err := s.atomically(ctx, func(s *Store) error {
		for _, t := range []struct {
			table string
			ids   []uint32
		}{{"interlock_prekeys", preKeyIDs}, {"interlock_kyber_prekeys", kyberIDs}} {
			for chunk := range slices.Chunk(t.ids, 500) {
				args := []any{s.account}
				marks := make([]string, len(chunk))
				for i, id := range chunk {
					args = append(args, int64(id))
					marks[i] = fmt.Sprintf("$%d", i+2)
				}
				if _, err := s.exec(ctx, `UPDATE `+t.table+` SET uploaded = TRUE WHERE account = $1 AND id IN (`+strings.Join(marks, ", ")+`)`, args...); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return wrap("marking prekeys uploaded", err)
	}
	return nil
}

// NotUploadedPreKeyIDs implements session.PreKeyManager.
func (s *Store) NotUploadedPreKeyIDs(ctx context.Context) (preKeyIDs, kyberIDs []uint32, err error) {
	if preKeyIDs, err = s.idsWhere(ctx, "interlock_prekeys", " AND NOT uploaded"); err != nil {
		return nil, nil, err
	}
	if kyberIDs, err = s.idsWhere(ctx, "interlock_kyber_prekeys", " AND NOT uploaded"); err != nil {
		return nil, nil, err
	}
	return preKeyIDs, kyberIDs, nil
}

// LastPreKeyIDs implements session.PreKeyManager; all zero until
// SetLastPreKeyIDs is first called.
func (s *Store) LastPreKeyIDs(ctx context.Context) (session.PreKeyIDs, error) {
	var pk, spk, kpk int64
	err := s.reader().QueryRowContext(ctx, s.db.d.q(`SELECT prekey_id, signed_prekey_id, kyber_prekey_id FROM interlock_prekey_ids WHERE account = $1`+s.lockSuffix()),
		s.account).Scan(&pk, &spk, &kpk)
	if isNoRows(err) {
		return session.PreKeyIDs{}, nil
	}
	if err != nil {
		return session.PreKeyIDs{}, wrap("loading last prekey IDs", err)
	}
	for _, v := range []int64{pk, spk, kpk} {
		if v < 0 || v > 0xFFFFFFFF {
			return session.PreKeyIDs{}, wrap("loading last prekey IDs", fmt.Errorf("ID %d out of range", v))
		}
	}
	return session.PreKeyIDs{PreKey: uint32(pk), SignedPreKey: uint32(spk), KyberPreKey: uint32(kpk)}, nil
}

// SetLastPreKeyIDs implements session.PreKeyManager.
func (s *Store) SetLastPreKeyIDs(ctx context.Context, ids session.PreKeyIDs) error {
	_, err := s.exec(ctx, `INSERT INTO interlock_prekey_ids (account, prekey_id, signed_prekey_id, kyber_prekey_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account) DO UPDATE SET prekey_id = excluded.prekey_id, signed_prekey_id = excluded.signed_prekey_id, kyber_prekey_id = excluded.kyber_prekey_id`,
		s.account, int64(ids.PreKey), int64(ids.SignedPreKey), int64(ids.KyberPreKey))
	if err != nil {
		return wrap("storing last prekey IDs", err)
	}
	return nil
}

// SubDeviceSessions implements session.SessionLister: every device of name
// with a stored record, parsable or not.
func (s *Store) SubDeviceSessions(ctx context.Context, name string) ([]uint32, error) {
	rows, err := s.reader().QueryContext(ctx, s.db.d.q(`SELECT device_id FROM interlock_sessions WHERE account = $1 AND name = $2 ORDER BY device_id`), s.account, name)
	if err != nil {
		return nil, wrap("listing sessions of "+name, err)
	}
	return scanIDs(rows, "sessions of "+name)
}

// idsWhere lists the IDs of table's rows of the account matching cond (a
// constant " AND …"), ascending.
func (s *Store) idsWhere(ctx context.Context, table, cond string) ([]uint32, error) {
	rows, err := s.reader().QueryContext(ctx, s.db.d.q(`SELECT id FROM `+table+` WHERE account = $1`+cond+` ORDER BY id`), s.account)
	if err != nil {
		return nil, wrap("listing "+table, err)
	}
	return scanIDs(rows, table)
}

// scanIDs reads one unsigned 32-bit column from rows and closes them.
func scanIDs(rows *sql.Rows, what string) ([]uint32, error) {
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrap("listing "+what, err)
		}
		if id < 0 || id > 0xFFFFFFFF {
			return nil, wrap("listing "+what, fmt.Errorf("ID %d out of range", id))
		}
		out = append(out, uint32(id))
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("listing "+what, err)
	}
	return out, nil
}
