package sqlstore

import (
	"bytes"
	"context"
	"slices"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/session"
)

var _ fanout.DistributionStore = (*Store)(nil)

// SharedWith implements fanout.DistributionStore with one SELECT per
// batchRows devices: a device holds the chain only over the session it was
// recorded with (issue #20 item 8; rows from before migration 4 have none).
func (s *Store) SharedWith(ctx context.Context, dist string, chainID uint32, devices []fanout.SharedDevice) (map[session.Address]bool, error) {
	out := make(map[session.Address]bool)
	want := make(map[session.Address][]byte, len(devices))
	addrs := make([]session.Address, len(devices))
	for i, d := range devices {
		addrs[i] = d.Address
		want[d.Address] = d.Session
	}
	for chunk := range slices.Chunk(addrs, batchRows) {
		w := &stmtBuilder{d: s.db.d}
		w.want(chunk).sql(`SELECT t.name, t.device_id, t.session_tag FROM want CROSS JOIN interlock_sender_key_shared t WHERE t.account = `).arg(s.account).
			sql(` AND t.distribution_id = `).arg(dist).sql(` AND t.chain_id = `).arg(int64(chainID)).
			sql(` AND t.name = want.name AND t.device_id = want.device_id`)
		rows, err := s.reader().QueryContext(ctx, w.b.String(), w.args...)
		if err != nil {
			return nil, wrap("loading sender-key distribution", err)
		}
		for rows.Next() {
			var a session.Address
			var dev int64
			var tag []byte
			if err := rows.Scan(&a.Name, &dev, &tag); err != nil {
				rows.Close()
				return nil, wrap("loading sender-key distribution", err)
			}
			a.DeviceID = uint32(dev)
			if w := want[a]; len(w) > 0 && bytes.Equal(w, tag) {
				out[a] = true
			}
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
// batchRows devices, in one transaction; a device already recorded gets the
// new session.
func (s *Store) MarkShared(ctx context.Context, dist string, chainID uint32, devices []fanout.SharedDevice) error {
	if len(devices) == 0 {
		return nil
	}
	write := func(st *Store) error {
		for chunk := range slices.Chunk(devices, batchRows) {
			w := &stmtBuilder{d: s.db.d}
			w.sql(`INSERT INTO interlock_sender_key_shared (account, distribution_id, chain_id, name, device_id, session_tag) VALUES `)
			seen := make(map[session.Address]bool, len(chunk))
			n := 0
			for _, d := range chunk {
				if seen[d.Address] { // one row per device in one statement
					continue
				}
				seen[d.Address] = true
				if n > 0 {
					w.sql(",")
				}
				n++
				w.sql("(").arg(s.account).sql(", ").arg(dist).sql(", ").arg(int64(chainID)).sql(", ").arg(d.Address.Name).sql(", ").arg(int64(d.Address.DeviceID)).sql(", ").arg(d.Session).sql(")")
			}
			w.sql(` ON CONFLICT (account, distribution_id, chain_id, name, device_id) DO UPDATE SET session_tag = excluded.session_tag`)
			if _, err := st.writer().ExecContext(ctx, w.b.String(), w.args...); err != nil {
				return wrap("storing sender-key distribution", err)
			}
		}
		return nil
	}
	if s.tx != nil || len(devices) <= batchRows {
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
