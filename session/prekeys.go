package session

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
)

// PreKeyIDs are the last IDs a device generated of each kind of prekey; the
// next one of a kind is prekey.NextPreKeyID of it (IDs wrap at 2^24, never
// 0). Zero means none yet.
type PreKeyIDs struct {
	PreKey, SignedPreKey, KyberPreKey uint32
}

// PreKeyCounts are a device's remaining one-time prekeys, what decides when
// to upload more (Signal's servers and WhatsApp ask for more below a
// threshold).
type PreKeyCounts struct {
	// OneTime is the number of stored one-time Curve25519 prekeys.
	OneTime int
	// Kyber is the number of stored one-time (not last-resort) Kyber prekeys.
	Kyber int
	// OneTimeNotUploaded and KyberNotUploaded are those of them not marked
	// uploaded (MarkPreKeysUploaded).
	OneTimeNotUploaded, KyberNotUploaded int
}

// PreKeyManager is implemented by stores that manage a device's prekeys
// over their lifetime (MemoryStore and sqlstore.Store do; issue #16 item 4).
// The functions ReplenishPreKeys, RotateSignedPreKey and
// RotateLastResortKyberPreKey use it.
type PreKeyManager interface {
	// PreKeyIDs, SignedPreKeyIDs and KyberPreKeyIDs list the stored IDs in
	// ascending order (KyberPreKeyIDs includes last-resort keys).
	PreKeyIDs(ctx context.Context) ([]uint32, error)
	SignedPreKeyIDs(ctx context.Context) ([]uint32, error)
	KyberPreKeyIDs(ctx context.Context) ([]uint32, error)
	// RemoveSignedPreKey and RemoveKyberPreKey remove a key and the
	// last-resort Kyber prekey uses recorded with it (MarkKyberPreKeyUsed):
	// a message naming it no longer decrypts. Removing none is not an error.
	RemoveSignedPreKey(ctx context.Context, id uint32) error
	RemoveKyberPreKey(ctx context.Context, id uint32) error
	// PreKeyCounts counts the remaining one-time prekeys.
	PreKeyCounts(ctx context.Context) (PreKeyCounts, error)
	// MarkPreKeysUploaded records that the one-time prekeys and Kyber
	// prekeys with these IDs were accepted by the server; unknown IDs are
	// ignored. Storing a key again under an ID clears its mark.
	MarkPreKeysUploaded(ctx context.Context, preKeyIDs, kyberIDs []uint32) error
	// NotUploadedPreKeyIDs lists, ascending, the one-time prekeys and Kyber
	// prekeys (last-resort ones included) not marked uploaded.
	NotUploadedPreKeyIDs(ctx context.Context) (preKeyIDs, kyberIDs []uint32, err error)
	// LastPreKeyIDs and SetLastPreKeyIDs keep the last ID generated of each
	// kind, so that the IDs of consumed prekeys are not handed out again
	// before the 2^24 wrap.
	LastPreKeyIDs(ctx context.Context) (PreKeyIDs, error)
	SetLastPreKeyIDs(ctx context.Context, ids PreKeyIDs) error
}

// ManagedStore is a Store that manages its prekeys.
type ManagedStore interface {
	Store
	PreKeyManager
}

// NewPreKeys are prekeys that ReplenishPreKeys generated and stored: upload
// their public halves, then call MarkPreKeysUploaded.
type NewPreKeys struct {
	PreKeys      []prekey.PreKeyRecord
	KyberPreKeys []prekey.KyberPreKeyRecord
}

// managed runs fn on st in one transaction when st is a Transactor.
func managed(ctx context.Context, st ManagedStore, fn func(ManagedStore) error) error {
	t, ok := st.(Transactor)
	if !ok {
		return fn(st)
	}
	return t.Transact(ctx, func(tx Store) error {
		m, ok := tx.(ManagedStore)
		if !ok {
			return fmt.Errorf("session: the transaction's store %T does not manage prekeys", tx)
		}
		return fn(m)
	})
}

// ReplenishPreKeys tops up the one-time prekeys and the one-time Kyber
// prekeys to target each when fewer than low of that kind remain, with the
// next IDs (prekey.NextPreKeyID after LastPreKeyIDs), signing the Kyber
// prekeys with the store's identity. The new keys are stored, not yet marked
// uploaded, in one transaction when st is a Transactor. A nil rand means
// crypto/rand.Reader. Nothing is generated when both kinds have at least low
// keys left.
func ReplenishPreKeys(ctx context.Context, rand io.Reader, st ManagedStore, now time.Time, low, target int) (*NewPreKeys, error) {
	if rand == nil {
		rand = crand.Reader
	}
	if low < 0 || target < low || target > prekey.MaxPreKeyID {
		return nil, fmt.Errorf("session: replenishing prekeys: low %d, target %d", low, target)
	}
	out := new(NewPreKeys)
	err := managed(ctx, st, func(st ManagedStore) error {
		*out = NewPreKeys{}
		counts, err := st.PreKeyCounts(ctx)
		if err != nil {
			return err
		}
		last, identity, err := lastAndIdentity(ctx, st)
		if err != nil {
			return err
		}
		if counts.OneTime < low {
			keys, err := prekey.GeneratePreKeys(rand, prekey.NextPreKeyID(last.PreKey), target-counts.OneTime)
			if err != nil {
				return err
			}
			for i := range keys {
				if err := st.StorePreKey(ctx, &keys[i]); err != nil {
					return err
				}
				last.PreKey = keys[i].ID
			}
			out.PreKeys = keys
		}
		if counts.Kyber < low {
			for range target - counts.Kyber {
				last.KyberPreKey = prekey.NextPreKeyID(last.KyberPreKey)
				k, err := prekey.GenerateKyberPreKey(rand, identity, last.KyberPreKey, false, now)
				if err != nil {
					return err
				}
				if err := st.StoreKyberPreKey(ctx, &k); err != nil {
					return err
				}
				out.KyberPreKeys = append(out.KyberPreKeys, k)
			}
		}
		return st.SetLastPreKeyIDs(ctx, last)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RotateSignedPreKey generates a signed prekey with the next ID, signed by
// the store's identity and dated now, stores it, and removes the previous
// signed prekeys dated before now-keep except the newest of them: a message
// in flight may still name the key it replaces (Signal-Android keeps old
// signed prekeys for 30 days and libsignal leaves the policy to the app).
// Publish the returned key. A nil rand means crypto/rand.Reader.
func RotateSignedPreKey(ctx context.Context, rand io.Reader, st ManagedStore, now time.Time, keep time.Duration) (*prekey.SignedPreKeyRecord, error) {
	if rand == nil {
		rand = crand.Reader
	}
	var out prekey.SignedPreKeyRecord
	err := managed(ctx, st, func(st ManagedStore) error {
		last, identity, err := lastAndIdentity(ctx, st)
		if err != nil {
			return err
		}
		last.SignedPreKey = prekey.NextPreKeyID(last.SignedPreKey)
		if out, err = prekey.GenerateSignedPreKey(rand, identity, last.SignedPreKey, now); err != nil {
			return err
		}
		ids, err := st.SignedPreKeyIDs(ctx)
		if err != nil {
			return err
		}
		var old []dated
		for _, id := range ids {
			r, err := st.LoadSignedPreKey(ctx, id)
			if err != nil {
				return err
			}
			old = append(old, dated{id, r.Timestamp})
		}
		if err := st.StoreSignedPreKey(ctx, &out); err != nil {
			return err
		}
		for _, id := range expired(old, out.ID, now.Add(-keep)) {
			if err := st.RemoveSignedPreKey(ctx, id); err != nil {
				return err
			}
		}
		return st.SetLastPreKeyIDs(ctx, last)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RotateLastResortKyberPreKey is RotateSignedPreKey for the last-resort
// Kyber prekey: one-time Kyber prekeys are left alone.
func RotateLastResortKyberPreKey(ctx context.Context, rand io.Reader, st ManagedStore, now time.Time, keep time.Duration) (*prekey.KyberPreKeyRecord, error) {
	if rand == nil {
		rand = crand.Reader
	}
	var out prekey.KyberPreKeyRecord
	err := managed(ctx, st, func(st ManagedStore) error {
		last, identity, err := lastAndIdentity(ctx, st)
		if err != nil {
			return err
		}
		last.KyberPreKey = prekey.NextPreKeyID(last.KyberPreKey)
		if out, err = prekey.GenerateKyberPreKey(rand, identity, last.KyberPreKey, true, now); err != nil {
			return err
		}
		ids, err := st.KyberPreKeyIDs(ctx)
		if err != nil {
			return err
		}
		var old []dated
		for _, id := range ids {
			r, err := st.LoadKyberPreKey(ctx, id)
			if err != nil {
				return err
			}
			if r.LastResort {
				old = append(old, dated{id, r.Timestamp})
			}
		}
		if err := st.StoreKyberPreKey(ctx, &out); err != nil {
			return err
		}
		for _, id := range expired(old, out.ID, now.Add(-keep)) {
			if err := st.RemoveKyberPreKey(ctx, id); err != nil {
				return err
			}
		}
		return st.SetLastPreKeyIDs(ctx, last)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// lastAndIdentity returns the last IDs and the local identity. A kind with
// no last ID recorded (0) but keys stored, put there before the store kept
// last IDs or by hand, continues after the highest stored ID, so that no
// stored key is overwritten.
func lastAndIdentity(ctx context.Context, st ManagedStore) (PreKeyIDs, prekey.IdentityKeyPair, error) {
	last, err := st.LastPreKeyIDs(ctx)
	if err != nil {
		return PreKeyIDs{}, prekey.IdentityKeyPair{}, err
	}
	for _, k := range []struct {
		id   *uint32
		list func(context.Context) ([]uint32, error)
	}{{&last.PreKey, st.PreKeyIDs}, {&last.SignedPreKey, st.SignedPreKeyIDs}, {&last.KyberPreKey, st.KyberPreKeyIDs}} {
		if *k.id != 0 {
			continue
		}
		ids, err := k.list(ctx)
		if err != nil {
			return PreKeyIDs{}, prekey.IdentityKeyPair{}, err
		}
		if len(ids) > 0 {
			*k.id = ids[len(ids)-1]
		}
	}
	identity, err := st.IdentityKeyPair(ctx)
	return last, identity, err
}

type dated struct {
	id uint32
	at time.Time
}

// expired returns the IDs of old dated before cutoff, except the newest key
// of old and the ID just stored.
func expired(old []dated, stored uint32, cutoff time.Time) []uint32 {
	slices.SortFunc(old, func(a, b dated) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.id, b.id)) })
	var out []uint32
	for i, d := range old {
		if i == len(old)-1 || d.id == stored || !d.at.Before(cutoff) {
			continue
		}
		out = append(out, d.id)
	}
	return out
}
