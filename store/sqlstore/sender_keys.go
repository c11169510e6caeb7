package sqlstore

import (
	"context"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
)

var _ group.SenderKeyStore = (*Store)(nil)

// LoadSenderKey implements group.SenderKeyStore; it returns (nil, nil) when
// nothing is stored for name.
func (s *Store) LoadSenderKey(ctx context.Context, name group.SenderKeyName) (*group.Record, error) {
	// Inside a transaction (group.Cipher through TransactSenderKeys), the
	// row's lock, also when there is no row yet (issue #19 item 1).
	if err := s.lockRows(ctx, rowLock(senderKeyRow(name))); err != nil {
		return nil, wrap("locking sender key "+name.String(), err)
	}
	b, ok, err := s.loadBlob(ctx, `SELECT record FROM interlock_sender_keys
		WHERE account = $1 AND sender = $2 AND device_id = $3 AND distribution_id = $4`,
		s.account, name.Sender, int64(name.DeviceID), name.DistributionID)
	if err != nil {
		return nil, wrap("loading sender key "+name.String(), err)
	}
	if !ok {
		return nil, nil
	}
	if b, err = s.open(ctx, senderKeyRow(name), b); err != nil {
		return nil, err
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
	if b, err = s.seal(ctx, senderKeyRow(name), b); err != nil {
		return err
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

var _ group.SenderKeyTransactor = (*Store)(nil)

// TransactSenderKeys implements group.SenderKeyTransactor: fn runs in one
// transaction (Transact), and LoadSenderKey inside it takes the row's lock
// — pg_advisory_xact_lock on PostgreSQL, held even before the row exists;
// SQLite's write lock from BEGIN IMMEDIATE — until the commit.
func (s *Store) TransactSenderKeys(ctx context.Context, fn func(tx group.SenderKeyStore) error) error {
	return s.Transact(ctx, func(tx session.Store) error { return fn(tx.(*Store)) })
}
