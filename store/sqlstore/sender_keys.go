package sqlstore

import (
	"context"

	"github.com/interlock-e2ee/interlock/group"
)

var _ group.SenderKeyStore = (*Store)(nil)

// LoadSenderKey implements group.SenderKeyStore; it returns (nil, nil) when
// nothing is stored for name.
func (s *Store) LoadSenderKey(ctx context.Context, name group.SenderKeyName) (*group.Record, error) {
	b, ok, err := s.loadBlob(ctx, `SELECT record FROM interlock_sender_keys
		WHERE account = $1 AND sender = $2 AND device_id = $3 AND distribution_id = $4`,
		s.account, name.Sender, int64(name.DeviceID), name.DistributionID)
	if err != nil {
		return nil, wrap("loading sender key "+name.String(), err)
	}
	if !ok {
		return nil, nil
	}
	r, err := group.UnmarshalRecord(b)
	if err != nil {
		return nil, wrap("sender key "+name.String(), err)
	}
	return r, nil
}

// StoreSenderKey implements group.SenderKeyStore.
func (s *Store) StoreSenderKey(ctx context.Context, name group.SenderKeyName, r *group.Record) error {
	b, err := r.Marshal()
	if err != nil {
		return wrap("sender key "+name.String(), err)
	}
	_, err = s.exec(ctx, `INSERT INTO interlock_sender_keys (account, sender, device_id, distribution_id, record)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (account, sender, device_id, distribution_id) DO UPDATE SET record = excluded.record`,
		s.account, name.Sender, int64(name.DeviceID), name.DistributionID, b)
	if err != nil {
		return wrap("storing sender key "+name.String(), err)
	}
	return nil
}
