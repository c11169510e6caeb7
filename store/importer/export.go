package importer

import (
	"context"
	"fmt"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// LibsignalState is an account's state in libsignal's serialized forms
// (the protobuf structures of libsignal's storage.proto, which libsignal
// 0.90/0.103 and its language bindings load with
// SessionRecord.deserialize, PreKeyRecord.deserialize and so on), so that
// leaving Interlock is as easy as arriving (issue #15 item 3).
type LibsignalState struct {
	IdentityKeyPair []byte // IdentityKeyPairStructure
	RegistrationID  uint32
	PreKeys         map[uint32][]byte              // PreKeyRecordStructure
	SignedPreKeys   map[uint32][]byte              // SignedPreKeyRecordStructure
	KyberPreKeys    map[uint32][]byte              // KyberPreKeyRecordStructure
	Sessions        map[session.Address][]byte     // RecordStructure
	Identities      map[session.Address][]byte     // 33-byte identity public keys (0x05 ‖ key)
	SenderKeys      map[group.SenderKeyName][]byte // SenderKeyRecordStructure
}

// ExportLibsignal reads an account's keys, prekeys, and the sessions,
// identities and sender keys of the given addresses and sender-key names
// (sqlstore has no listing of them: the application names what it knows),
// in libsignal's serialized forms. An address without a session or an
// identity, or a name without a sender key, is left out. It reads inside
// one transaction, so the export is a consistent snapshot.
func ExportLibsignal(ctx context.Context, st *sqlstore.Store, addrs []session.Address, senderKeys []group.SenderKeyName) (*LibsignalState, error) {
	out := &LibsignalState{
		PreKeys: map[uint32][]byte{}, SignedPreKeys: map[uint32][]byte{}, KyberPreKeys: map[uint32][]byte{},
		Sessions: map[session.Address][]byte{}, Identities: map[session.Address][]byte{}, SenderKeys: map[group.SenderKeyName][]byte{},
	}
	err := st.Transact(ctx, func(txs session.Store) error {
		tx, ok := txs.(*sqlstore.Store)
		if !ok {
			return fmt.Errorf("importer: unexpected transaction store %T", txs)
		}
		id, err := tx.IdentityKeyPair(ctx)
		if err != nil {
			return err
		}
		if out.IdentityKeyPair, err = prekey.MarshalIdentityKeyPair(id); err != nil {
			return err
		}
		if out.RegistrationID, err = tx.LocalRegistrationID(ctx); err != nil {
			return err
		}
		ids, err := tx.PreKeyIDs(ctx)
		if err != nil {
			return err
		}
		for _, i := range ids {
			r, err := tx.LoadPreKey(ctx, i)
			if err != nil {
				return err
			}
			if out.PreKeys[i], err = r.Marshal(); err != nil {
				return err
			}
		}
		if ids, err = tx.SignedPreKeyIDs(ctx); err != nil {
			return err
		}
		for _, i := range ids {
			r, err := tx.LoadSignedPreKey(ctx, i)
			if err != nil {
				return err
			}
			if out.SignedPreKeys[i], err = r.Marshal(); err != nil {
				return err
			}
		}
		if ids, err = tx.KyberPreKeyIDs(ctx); err != nil {
			return err
		}
		for _, i := range ids {
			r, err := tx.LoadKyberPreKey(ctx, i)
			if err != nil {
				return err
			}
			if out.KyberPreKeys[i], err = r.Marshal(); err != nil {
				return err
			}
		}
		for _, a := range addrs {
			r, err := tx.LoadSession(ctx, a)
			if err != nil {
				return fmt.Errorf("importer: session of %s: %w", a, err)
			}
			if r != nil {
				if out.Sessions[a], err = r.Marshal(); err != nil {
					return err
				}
			}
			k, ok, err := tx.DeviceIdentity(ctx, a)
			if err != nil {
				return fmt.Errorf("importer: identity of %s: %w", a, err)
			}
			if ok {
				out.Identities[a] = k.Bytes()
			}
		}
		for _, n := range senderKeys {
			r, err := tx.LoadSenderKey(ctx, n)
			if err != nil {
				return fmt.Errorf("importer: sender key %s: %w", n, err)
			}
			if r != nil {
				if out.SenderKeys[n], err = r.Marshal(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
