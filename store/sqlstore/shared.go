package sqlstore

import (
	"context"
	"slices"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/session"
)

var _ fanout.DistributionStore = (*Store)(nil)

// SharedWith implements fanout.DistributionStore with one SELECT per
// batchRows devices.
func (s *Store) SharedWith(ctx context.Context, dist string, chainID uint32, addrs []session.Address) (map[session.Address]bool, error) {
	out := make(map[session.Address]bool)
	for chunk := range slices.Chunk(addrs, batchRows) {
		w := &stmtBuilder{d: s.db.d}
		w.want(chunk).sql(`SELECT t.name, t.device_id FROM want CROSS JOIN interlock_sender_key_shared t WHERE t.account = `).arg(s.account).
			sql(` AND t.distribution_id = `).arg(dist).sql(` AND t.chain_id = `).arg(int64(chainID)).
			sql(` AND t.name = want.name AND t.device_id = want.device_id`)
		rows, err := s.reader().QueryContext(ctx, w.b.String(), w.args...)
		if err != nil {
			return nil, wrap("loading sender-key distribution", err)
		}
		for rows.Next() {
			var a session.Address
			var dev int64
			if err := rows.Scan(&a.Name, &dev); err != nil {
				rows.Close()
				return nil, wrap("loading sender-key distribution", err)
			}
			a.DeviceID = uint32(dev)
			out[a] = true
		}
		if err := rows.Close(); err != nil {
			return nil, wrap("loading sender-key distribution", err)
		}
		if err := rows.Err(); err != nil {
			return nil, wrap("loading sender-key distribution", err)
		}
	}
	return out, nil
}

// MarkShared implements fanout.DistributionStore with one INSERT per
// batchRows devices, in one transaction.
func (s *Store) MarkShared(ctx context.Context, dist string, chainID uint32, addrs []session.Address) error {
	if len(addrs) == 0 {
		return nil
	}
	write := func(st *Store) error {
		for chunk := range slices.Chunk(addrs, batchRows) {
			w := &stmtBuilder{d: s.db.d}
			w.sql(`INSERT INTO interlock_sender_key_shared (account, distribution_id, chain_id, name, device_id) VALUES `)
			for i, a := range chunk {
				if i > 0 {
					w.sql(",")
				}
				w.sql("(").arg(s.account).sql(", ").arg(dist).sql(", ").arg(int64(chainID)).sql(", ").arg(a.Name).sql(", ").arg(int64(a.DeviceID)).sql(")")
			}
			w.sql(` ON CONFLICT DO NOTHING`)
			if _, err := st.writer().ExecContext(ctx, w.b.String(), w.args...); err != nil {
				return wrap("storing sender-key distribution", err)
			}
		}
		return nil
	}
	if s.tx != nil || len(addrs) <= batchRows {
		return write(s)
	}
	return s.Transact(ctx, func(tx session.Store) error { return write(tx.(*Store)) })
}

// ForgetShared implements fanout.DistributionStore.
func (s *Store) ForgetShared(ctx context.Context, dist string, addrs ...session.Address) error {
	if len(addrs) == 0 {
		if _, err := s.exec(ctx, `DELETE FROM interlock_sender_key_shared WHERE account = $1 AND distribution_id = $2`, s.account, dist); err != nil {
			return wrap("forgetting sender-key distribution", err)
		}
		return nil
	}
	forget := func(st *Store) error {
		for _, a := range addrs {
			if _, err := st.exec(ctx, `DELETE FROM interlock_sender_key_shared
				WHERE account = $1 AND distribution_id = $2 AND name = $3 AND device_id = $4`,
				s.account, dist, a.Name, int64(a.DeviceID)); err != nil {
				return wrap("forgetting sender-key distribution", err)
			}
		}
		return nil
	}
	if s.tx != nil {
		return forget(s)
	}
	return s.Transact(ctx, func(tx session.Store) error { return forget(tx.(*Store)) })
}
