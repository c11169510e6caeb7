package session

import (
	"context"
	"fmt"
	"sync"

	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/prekey"
)

// Address names one device of a user: libsignal's ProtocolAddress.
type Address struct {
	Name     string
	DeviceID uint32
}

// String returns "name.device".
func (a Address) String() string { return fmt.Sprintf("%s.%d", a.Name, a.DeviceID) }

// Direction tells an IdentityStore why an identity is being checked.
type Direction int

// Directions.
const (
	Sending Direction = iota
	Receiving
)

// SessionStore keeps one Record per address. LoadSession returns (nil, nil)
// when there is none. Implementations must return records the caller may
// modify freely (a copy, or a freshly parsed one); StoreSession takes
// ownership of r: the caller does not use it afterwards.
//
// A stored record that does not parse is an error matching
// ErrCorruptRecord, a *CorruptRecordError naming addr (issue #20 item 17):
// the Cipher then lets a new session replace it. DeleteSession removes the
// record of addr, parsable or not; deleting none is not an error.
type SessionStore interface {
	LoadSession(ctx context.Context, addr Address) (*Record, error)
	StoreSession(ctx context.Context, addr Address, r *Record) error
	DeleteSession(ctx context.Context, addr Address) error
}

// IdentityStore holds the local identity and the remote identities trusted
// for each address.
//
// What a key is pinned to is the store's IdentityScope (issue #20 item 10).
// Under PerAccount (the signal flavour, MemoryStore's default) an account
// has one identity key for all its devices: the key saved for any device is
// the account's, and IsTrustedIdentity compares every device of the account
// with it — a device the server adds with another key is untrusted, as in
// libsignal, whose stores key identities by service ID. Under PerDevice (the
// whatsapp flavour) each device has its own key; a new device of a known
// account is untrusted until the application vouches for it (see
// PerDevice). SaveIdentity is also how an application trusts a key after
// the user accepted it (for example after a safety-number change).
type IdentityStore interface {
	IdentityKeyPair(ctx context.Context) (prekey.IdentityKeyPair, error)
	LocalRegistrationID(ctx context.Context) (uint32, error)
	// SaveIdentity records key for addr (for its account under PerAccount)
	// and reports whether it replaced a different key.
	SaveIdentity(ctx context.Context, addr Address, key prekey.IdentityKey) (replaced bool, err error)
	// IsTrustedIdentity reports whether key may be used with addr: true when
	// the stored key is equal, or when nothing is stored for the account yet
	// (trust on first use); false for any other key, and under PerDevice for
	// a new device of a known account.
	IsTrustedIdentity(ctx context.Context, addr Address, key prekey.IdentityKey, dir Direction) (bool, error)
	// Identity returns the stored identity for addr (its account's under
	// PerAccount), if any.
	Identity(ctx context.Context, addr Address) (prekey.IdentityKey, bool, error)
}

// PreKeyStore holds one-time prekeys. LoadPreKey returns an error wrapping
// ErrInvalidPreKey when the ID is unknown.
type PreKeyStore interface {
	LoadPreKey(ctx context.Context, id uint32) (*prekey.PreKeyRecord, error)
	StorePreKey(ctx context.Context, r *prekey.PreKeyRecord) error
	RemovePreKey(ctx context.Context, id uint32) error
}

// SignedPreKeyStore holds signed prekeys; unknown IDs wrap ErrInvalidPreKey.
type SignedPreKeyStore interface {
	LoadSignedPreKey(ctx context.Context, id uint32) (*prekey.SignedPreKeyRecord, error)
	StoreSignedPreKey(ctx context.Context, r *prekey.SignedPreKeyRecord) error
}

// KyberPreKeyStore holds Kyber prekeys; unknown IDs wrap ErrInvalidPreKey.
type KyberPreKeyStore interface {
	LoadKyberPreKey(ctx context.Context, id uint32) (*prekey.KyberPreKeyRecord, error)
	StoreKyberPreKey(ctx context.Context, r *prekey.KyberPreKeyRecord) error
	// MarkKyberPreKeyUsed records that a PreKeySignalMessage with base key
	// baseKey, naming the Kyber prekey kyberID and the signed prekey
	// signedPreKeyID, has been accepted (libsignal's
	// mark_kyber_pre_key_used(kyber_prekey_id, ec_prekey_id, base_key)).
	// A one-time Kyber prekey is removed. A last-resort one is kept, and the
	// triple (kyberID, signedPreKeyID, baseKey) is remembered: when it was
	// already recorded, the message is a replay and MarkKyberPreKeyUsed
	// returns an error wrapping ErrReusedBaseKey (which matches
	// ErrInvalidPreKey) and changes nothing. An unknown kyberID wraps
	// ErrInvalidPreKey (a one-time key another message already used).
	//
	// The Cipher calls it in the same unit of work (Transactor) as the rest of
	// the decryption, before the plaintext is returned, and refuses the
	// message when it fails. Remembered triples may be forgotten once the
	// Kyber prekey or the signed prekey is removed or replaced by another
	// key: a message naming it can no longer decrypt. Version 4 base keys
	// are canonical (prekey.Respond refuses others), so comparing their
	// 33-byte serializations is exact.
	MarkKyberPreKeyUsed(ctx context.Context, kyberID, signedPreKeyID uint32, baseKey prekey.PublicKey) error
}

// ErrReusedBaseKey: a PreKeySignalMessage built on a last-resort Kyber prekey
// carries a base key already used with that Kyber prekey and signed prekey —
// a replay (issue #20 item 2; libsignal reports "reused base key"). It wraps
// ErrInvalidPreKey, so errors.Is matches both.
var ErrReusedBaseKey = fmt.Errorf("%w: base key already used with this last-resort Kyber prekey", ErrInvalidPreKey)

// Store is everything a Cipher needs.
type Store interface {
	SessionStore
	IdentityStore
	PreKeyStore
	SignedPreKeyStore
	KyberPreKeyStore
}

// Transactor is implemented by stores that can make a unit of work atomic.
// The Cipher runs every operation — loading the record, consuming prekeys,
// saving the identity and storing the new record — inside Transact, with
// the Store it is given: all writes commit together when fn returns nil and
// none do otherwise. Stores without it get the writes one after another:
// the new record first, then the consumed prekeys, so a crash in between
// leaves a prekey that a replay can no longer use (the record recognises the
// base key) rather than a lost session.
type Transactor interface {
	Transact(ctx context.Context, fn func(tx Store) error) error
}

// MemoryStore is an in-memory Store, safe for concurrent use. Records are
// copied in and out, so callers never share state with it.
type MemoryStore struct {
	identity prekey.IdentityKeyPair
	regID    uint32

	mu         sync.Mutex
	sessions   map[Address]*Record
	identities map[Address]prekey.IdentityKey // per device: the pins (PerDevice), the devices seen (PerAccount)
	accounts   map[string]prekey.IdentityKey  // per account name: the pins (PerAccount only)
	devices    map[string]int                 // per account name: devices in identities
	idConfig   storeConfig
	preKeys    map[uint32]*prekey.PreKeyRecord
	signed     map[uint32]*prekey.SignedPreKeyRecord
	kyber      map[uint32]*prekey.KyberPreKeyRecord
	// kyberUsed holds the (Kyber prekey, signed prekey, base key) triples
	// accepted on last-resort Kyber prekeys (MarkKyberPreKeyUsed).
	kyberUsed map[kyberUse]struct{}
	// lc is the PreKeyManager state (prekeys_memory.go).
	lc memoryLifecycle
}

// kyberUse is one accepted use of a last-resort Kyber prekey.
type kyberUse struct {
	kyberID, signedPreKeyID uint32
	baseKey                 [32]byte // the canonical u-coordinate
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store for the given local identity,
// pinning identities PerAccount unless WithIdentityScope says otherwise.
func NewMemoryStore(identity prekey.IdentityKeyPair, registrationID uint32, opts ...StoreOption) *MemoryStore {
	m := &MemoryStore{
		identity:   identity,
		regID:      registrationID,
		sessions:   map[Address]*Record{},
		identities: map[Address]prekey.IdentityKey{},
		accounts:   map[string]prekey.IdentityKey{},
		devices:    map[string]int{},
		preKeys:    map[uint32]*prekey.PreKeyRecord{},
		signed:     map[uint32]*prekey.SignedPreKeyRecord{},
		kyber:      map[uint32]*prekey.KyberPreKeyRecord{},
		kyberUsed:  map[kyberUse]struct{}{},
	}
	for _, o := range opts {
		o(&m.idConfig)
	}
	return m
}

// LoadSession implements SessionStore.
func (m *MemoryStore) LoadSession(_ context.Context, addr Address) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.sessions[addr]; ok {
		return r.Clone(), nil
	}
	return nil, nil
}

// StoreSession implements SessionStore.
func (m *MemoryStore) StoreSession(_ context.Context, addr Address, r *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[addr] = r
	return nil
}

// IdentityKeyPair implements IdentityStore.
func (m *MemoryStore) IdentityKeyPair(context.Context) (prekey.IdentityKeyPair, error) {
	return m.identity, nil
}

// LocalRegistrationID implements IdentityStore.
func (m *MemoryStore) LocalRegistrationID(context.Context) (uint32, error) { return m.regID, nil }

// SaveIdentity implements IdentityStore.
func (m *MemoryStore) SaveIdentity(ctx context.Context, addr Address, key prekey.IdentityKey) (bool, error) {
	ch, err := m.SaveDeviceIdentity(ctx, addr, key)
	return ch == IdentityReplaced, err
}

// IdentityScope implements DeviceIdentityStore.
func (m *MemoryStore) IdentityScope() IdentityScope { return m.idConfig.scope }

// SaveDeviceIdentity implements DeviceIdentityStore. Under PerAccount the
// key becomes the account's; saving another key than the local one for the
// local account (WithOwnName) fails with ErrUntrustedIdentity.
func (m *MemoryStore) SaveDeviceIdentity(_ context.Context, addr Address, key prekey.IdentityKey) (IdentityChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	own := m.idConfig.hasOwn && addr.Name == m.idConfig.ownName
	if own && m.idConfig.scope == PerAccount && !key.Equal(m.identity.PublicKey()) {
		return IdentityUnchanged, fmt.Errorf("%w: %s is a device of the local account and has another key", ErrUntrustedIdentity, addr)
	}
	oldDev, devKnown := m.identities[addr]
	m.identities[addr] = key
	if !devKnown {
		m.devices[addr.Name]++
	}
	if m.idConfig.scope == PerAccount {
		old, ok := m.accounts[addr.Name]
		m.accounts[addr.Name] = key
		switch {
		case own && !devKnown:
			return IdentityNewDevice, nil
		case !ok:
			return IdentityNewAccount, nil
		case !old.Equal(key):
			return IdentityReplaced, nil
		case !devKnown:
			return IdentityNewDevice, nil
		}
		return IdentityUnchanged, nil
	}
	switch {
	case !devKnown && m.devices[addr.Name] == 1 && !own:
		return IdentityNewAccount, nil
	case !devKnown:
		return IdentityNewDevice, nil
	case !oldDev.Equal(key):
		return IdentityReplaced, nil
	}
	return IdentityUnchanged, nil
}

// DeviceIdentity implements DeviceIdentityStore.
func (m *MemoryStore) DeviceIdentity(_ context.Context, addr Address) (prekey.IdentityKey, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.identities[addr]
	return k, ok, nil
}

// IsTrustedIdentity implements IdentityStore: trust on first use per account
// (PerAccount) or per device of an unknown account (PerDevice), then only
// the pinned key.
func (m *MemoryStore) IsTrustedIdentity(_ context.Context, addr Address, key prekey.IdentityKey, _ Direction) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.trustedLocked(addr, key), nil
}

// trustedLocked answers IsTrustedIdentity; the caller holds m.mu.
func (m *MemoryStore) trustedLocked(addr Address, key prekey.IdentityKey) bool {
	if mutant.On(mutant.IdentityNotPinned) {
		return true // mutant: every key trusted
	}
	if mutant.On(mutant.GhostDevice) {
		if old, ok := m.identities[addr]; ok {
			return old.Equal(key)
		}
		return true // mutant: trust on first use per device
	}
	own := m.idConfig.hasOwn && addr.Name == m.idConfig.ownName
	if m.idConfig.scope == PerAccount {
		if own {
			return key.Equal(m.identity.PublicKey())
		}
		old, ok := m.accounts[addr.Name]
		return !ok || old.Equal(key)
	}
	if old, ok := m.identities[addr]; ok {
		return old.Equal(key)
	}
	// A new device: trusted on first use only as the first device of an
	// account nothing is known of.
	return !own && m.devices[addr.Name] == 0
}

// Identity implements IdentityStore: the account's key under PerAccount,
// the device's under PerDevice.
func (m *MemoryStore) Identity(_ context.Context, addr Address) (prekey.IdentityKey, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.idConfig.scope == PerAccount {
		if m.idConfig.hasOwn && addr.Name == m.idConfig.ownName {
			return m.identity.PublicKey(), true, nil
		}
		k, ok := m.accounts[addr.Name]
		return k, ok, nil
	}
	k, ok := m.identities[addr]
	return k, ok, nil
}

// LoadPreKey implements PreKeyStore.
func (m *MemoryStore) LoadPreKey(_ context.Context, id uint32) (*prekey.PreKeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.preKeys[id]
	if !ok {
		return nil, fmt.Errorf("%w: one-time prekey %d", ErrInvalidPreKey, id)
	}
	c := *r
	return &c, nil
}

// StorePreKey implements PreKeyStore.
func (m *MemoryStore) StorePreKey(_ context.Context, r *prekey.PreKeyRecord) error {
	c := *r
	m.mu.Lock()
	defer m.mu.Unlock()
	m.preKeys[r.ID] = &c
	return nil
}

// RemovePreKey implements PreKeyStore.
func (m *MemoryStore) RemovePreKey(_ context.Context, id uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.preKeys, id)
	return nil
}

// LoadSignedPreKey implements SignedPreKeyStore.
func (m *MemoryStore) LoadSignedPreKey(_ context.Context, id uint32) (*prekey.SignedPreKeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.signed[id]
	if !ok {
		return nil, fmt.Errorf("%w: signed prekey %d", ErrInvalidPreKey, id)
	}
	c := *r
	return &c, nil
}

// StoreSignedPreKey implements SignedPreKeyStore. Replacing a key by another
// one under the same ID forgets the last-resort Kyber prekey uses recorded
// with the old key (see MarkKyberPreKeyUsed).
func (m *MemoryStore) StoreSignedPreKey(_ context.Context, r *prekey.SignedPreKeyRecord) error {
	c := *r
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.signed[r.ID]; ok && !old.KeyPair.Public.Equal(r.KeyPair.Public) {
		m.forgetKyberUses(r.ID, false)
	}
	m.signed[r.ID] = &c
	return nil
}

// LoadKyberPreKey implements KyberPreKeyStore.
func (m *MemoryStore) LoadKyberPreKey(_ context.Context, id uint32) (*prekey.KyberPreKeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.kyber[id]
	if !ok {
		return nil, fmt.Errorf("%w: Kyber prekey %d", ErrInvalidPreKey, id)
	}
	c := *r
	return &c, nil
}

// StoreKyberPreKey implements KyberPreKeyStore. Replacing a key by another
// one under the same ID forgets the uses recorded for the old key.
func (m *MemoryStore) StoreKyberPreKey(_ context.Context, r *prekey.KyberPreKeyRecord) error {
	c := *r
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.kyber[r.ID]; ok && !old.KeyPair.Public.Equal(r.KeyPair.Public) {
		m.forgetKyberUses(r.ID, true)
	}
	m.kyber[r.ID] = &c
	return nil
}

// MarkKyberPreKeyUsed implements KyberPreKeyStore: a one-time Kyber prekey
// is removed; for a last-resort one the (kyberID, signedPreKeyID, baseKey)
// triple is remembered, and a triple seen before is refused with
// ErrReusedBaseKey.
func (m *MemoryStore) MarkKyberPreKeyUsed(_ context.Context, kyberID, signedPreKeyID uint32, baseKey prekey.PublicKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.kyber[kyberID]
	if !ok {
		return fmt.Errorf("%w: Kyber prekey %d", ErrInvalidPreKey, kyberID)
	}
	if !r.LastResort {
		delete(m.kyber, kyberID)
		return nil
	}
	u := kyberUse{kyberID: kyberID, signedPreKeyID: signedPreKeyID, baseKey: baseKey.Raw()}
	if _, seen := m.kyberUsed[u]; seen && !mutant.On(mutant.KyberLastResortReplay) {
		return fmt.Errorf("%w: Kyber prekey %d, signed prekey %d", ErrReusedBaseKey, kyberID, signedPreKeyID)
	}
	m.kyberUsed[u] = struct{}{}
	return nil
}

// forgetKyberUses drops the remembered last-resort uses that name the Kyber
// prekey kyberID (when kyber) or the signed prekey id (otherwise): the key
// they name has been replaced, so a replay of them no longer decrypts.
// The caller holds m.mu.
func (m *MemoryStore) forgetKyberUses(id uint32, kyber bool) {
	for u := range m.kyberUsed {
		if (kyber && u.kyberID == id) || (!kyber && u.signedPreKeyID == id) {
			delete(m.kyberUsed, u)
		}
	}
}
