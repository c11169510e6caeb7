package sqlstore

import (
	"context"

	"github.com/interlock-e2ee/interlock/session"
)

// WriteRawSession stores b as the record of addr as it is, bypassing the
// serializer, and drops the account's cached entries: how the tests put a
// corrupt row in place (issue #20 item 17).
func WriteRawSession(ctx context.Context, s *Store, addr session.Address, b []byte) error {
	_, err := s.exec(ctx, `INSERT INTO interlock_sessions (account, name, device_id, record) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account, name, device_id) DO UPDATE SET record = excluded.record`,
		s.account, addr.Name, int64(addr.DeviceID), b)
	if c := s.db.cache; c != nil {
		c.purge(s.account)
	}
	return err
}
