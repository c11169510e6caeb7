package mau

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"go.mau.fi/libsignal/ecc"
	groupRecord "go.mau.fi/libsignal/groups/state/record"
	groupStore "go.mau.fi/libsignal/groups/state/store"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/state/store"
)

// State is everything one go.mau.fi client holds, in a form that marshals to
// JSON. Records are kept in their serialized form (the library's own JSON
// record serializers), so every Load hands the library a fresh copy: a
// record the library mutated during a failed operation is never seen again
// unless the library stored it, as with a database-backed store.
type State struct {
	Name            string `json:"name"`
	Device          uint32 `json:"device"`
	RegistrationID  uint32 `json:"registration_id"`
	IdentityPublic  []byte `json:"identity_public"`
	IdentityPrivate []byte `json:"identity_private"`

	NextSignedPreKeyID uint32 `json:"next_signed_prekey_id"`
	NextPreKeyID       uint32 `json:"next_prekey_id"`

	SignedPreKeys map[string][]byte `json:"signed_prekeys"` // id → record
	PreKeys       map[string][]byte `json:"prekeys"`        // id → record
	Sessions      map[string][]byte `json:"sessions"`       // address → record
	Identities    map[string][]byte `json:"identities"`     // address → public key
	SenderKeys    map[string][]byte `json:"sender_keys"`    // senderKeyKey → record
}

// NewState returns an empty state for name and device.
func NewState(name string, device, registrationID uint32, id *identity.KeyPair) *State {
	priv := id.PrivateKey().Serialize()
	return &State{
		Name:               name,
		Device:             device,
		RegistrationID:     registrationID,
		IdentityPublic:     id.PublicKey().Serialize(),
		IdentityPrivate:    priv[:],
		NextSignedPreKeyID: 1,
		NextPreKeyID:       1,
		SignedPreKeys:      map[string][]byte{},
		PreKeys:            map[string][]byte{},
		Sessions:           map[string][]byte{},
		Identities:         map[string][]byte{},
		SenderKeys:         map[string][]byte{},
	}
}

// Clone returns a deep copy of s.
func (s *State) Clone() *State {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // only maps of byte slices: cannot fail
	}
	c, err := UnmarshalState(b)
	if err != nil {
		panic(err)
	}
	return c
}

// UnmarshalState parses a state written by json.Marshal.
func UnmarshalState(b []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("mau: parsing state: %w", err)
	}
	if len(s.IdentityPublic) != 33 || len(s.IdentityPrivate) != 32 {
		return nil, fmt.Errorf("mau: state has no identity")
	}
	for _, m := range []*map[string][]byte{&s.SignedPreKeys, &s.PreKeys, &s.Sessions, &s.Identities, &s.SenderKeys} {
		if *m == nil {
			*m = map[string][]byte{}
		}
	}
	return &s, nil
}

func addressKey(a *protocol.SignalAddress) string { return a.String() }

// senderKeyKey names a sender-key record: group id and sender address,
// separated by a NUL so that neither part can forge the other.
func senderKeyKey(n *protocol.SenderKeyName) string {
	return n.GroupID() + "\x00" + n.Sender().String()
}

// Store implements the go.mau.fi/libsignal store interfaces over a State.
type Store struct {
	St  *State
	Ser *serialize.Serializer
}

var (
	_ store.SignalProtocol = (*Store)(nil)
	_ groupStore.SenderKey = (*Store)(nil)
)

// NewStore wraps st.
func NewStore(st *State) *Store {
	return &Store{St: st, Ser: serialize.NewProtoBufSerializer()}
}

// LocalAddress is this client's address.
func (s *Store) LocalAddress() *protocol.SignalAddress {
	return protocol.NewSignalAddress(s.St.Name, s.St.Device)
}

// GetIdentityKeyPair implements store.IdentityKey.
func (s *Store) GetIdentityKeyPair() *identity.KeyPair {
	var pub, priv [32]byte
	copy(pub[:], s.St.IdentityPublic[1:])
	copy(priv[:], s.St.IdentityPrivate)
	return identity.NewKeyPair(identity.NewKey(ecc.NewDjbECPublicKey(pub)), ecc.NewDjbECPrivateKey(priv))
}

// GetLocalRegistrationID implements store.IdentityKey.
func (s *Store) GetLocalRegistrationID() uint32 { return s.St.RegistrationID }

// SaveIdentity implements store.IdentityKey.
func (s *Store) SaveIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) error {
	s.St.Identities[addressKey(a)] = append([]byte(nil), k.Serialize()...)
	return nil
}

// IsTrustedIdentity implements store.IdentityKey: trust on first use, then
// only the saved key.
func (s *Store) IsTrustedIdentity(_ context.Context, a *protocol.SignalAddress, k *identity.Key) (bool, error) {
	saved, ok := s.St.Identities[addressKey(a)]
	if !ok {
		return true, nil
	}
	return string(saved) == string(k.Serialize()), nil
}

// SetIdentity replaces the trusted identity for a.
func (s *Store) SetIdentity(a *protocol.SignalAddress, key []byte) {
	s.St.Identities[addressKey(a)] = append([]byte(nil), key...)
}

// LoadPreKey implements store.PreKey. An unknown id is (nil, nil), which the
// library turns into signalerror.ErrNoOneTimeKeyFound.
func (s *Store) LoadPreKey(_ context.Context, id uint32) (*record.PreKey, error) {
	b, ok := s.St.PreKeys[strconv.FormatUint(uint64(id), 10)]
	if !ok {
		return nil, nil
	}
	return record.NewPreKeyFromBytes(b, s.Ser.PreKeyRecord)
}

// StorePreKey implements store.PreKey.
func (s *Store) StorePreKey(_ context.Context, id uint32, r *record.PreKey) error {
	s.St.PreKeys[strconv.FormatUint(uint64(id), 10)] = r.Serialize()
	return nil
}

// ContainsPreKey implements store.PreKey.
func (s *Store) ContainsPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.St.PreKeys[strconv.FormatUint(uint64(id), 10)]
	return ok, nil
}

// RemovePreKey implements store.PreKey.
func (s *Store) RemovePreKey(_ context.Context, id uint32) error {
	delete(s.St.PreKeys, strconv.FormatUint(uint64(id), 10))
	return nil
}

// LoadSignedPreKey implements store.SignedPreKey. An unknown id is (nil,
// nil), which the library turns into signalerror.ErrNoSignedPreKey.
func (s *Store) LoadSignedPreKey(_ context.Context, id uint32) (*record.SignedPreKey, error) {
	b, ok := s.St.SignedPreKeys[strconv.FormatUint(uint64(id), 10)]
	if !ok {
		return nil, nil
	}
	return record.NewSignedPreKeyFromBytes(b, s.Ser.SignedPreKeyRecord)
}

// LoadSignedPreKeys implements store.SignedPreKey.
func (s *Store) LoadSignedPreKeys(ctx context.Context) ([]*record.SignedPreKey, error) {
	ids := make([]string, 0, len(s.St.SignedPreKeys))
	for id := range s.St.SignedPreKeys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []*record.SignedPreKey
	for _, id := range ids {
		r, err := record.NewSignedPreKeyFromBytes(s.St.SignedPreKeys[id], s.Ser.SignedPreKeyRecord)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// StoreSignedPreKey implements store.SignedPreKey.
func (s *Store) StoreSignedPreKey(_ context.Context, id uint32, r *record.SignedPreKey) error {
	s.St.SignedPreKeys[strconv.FormatUint(uint64(id), 10)] = r.Serialize()
	return nil
}

// ContainsSignedPreKey implements store.SignedPreKey.
func (s *Store) ContainsSignedPreKey(_ context.Context, id uint32) (bool, error) {
	_, ok := s.St.SignedPreKeys[strconv.FormatUint(uint64(id), 10)]
	return ok, nil
}

// RemoveSignedPreKey implements store.SignedPreKey.
func (s *Store) RemoveSignedPreKey(_ context.Context, id uint32) error {
	delete(s.St.SignedPreKeys, strconv.FormatUint(uint64(id), 10))
	return nil
}

// LoadSession implements store.Session. Like the library's own test store
// it returns a fresh record, never nil, when there is none.
func (s *Store) LoadSession(_ context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	b, ok := s.St.Sessions[addressKey(a)]
	if !ok {
		return record.NewSession(s.Ser.Session, s.Ser.State), nil
	}
	return record.NewSessionFromBytes(b, s.Ser.Session, s.Ser.State)
}

// GetSubDeviceSessions implements store.Session.
func (s *Store) GetSubDeviceSessions(_ context.Context, name string) ([]uint32, error) {
	var out []uint32
	prefix := name + protocol.ADDRESS_SEPARATOR
	for k := range s.St.Sessions {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			d, err := strconv.ParseUint(k[len(prefix):], 10, 32)
			if err == nil && d != 1 {
				out = append(out, uint32(d))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// StoreSession implements store.Session.
func (s *Store) StoreSession(_ context.Context, a *protocol.SignalAddress, r *record.Session) error {
	s.St.Sessions[addressKey(a)] = r.Serialize()
	return nil
}

// ContainsSession implements store.Session.
func (s *Store) ContainsSession(_ context.Context, a *protocol.SignalAddress) (bool, error) {
	_, ok := s.St.Sessions[addressKey(a)]
	return ok, nil
}

// DeleteSession implements store.Session.
func (s *Store) DeleteSession(_ context.Context, a *protocol.SignalAddress) error {
	delete(s.St.Sessions, addressKey(a))
	return nil
}

// DeleteAllSessions implements store.Session.
func (s *Store) DeleteAllSessions(context.Context) error {
	s.St.Sessions = map[string][]byte{}
	return nil
}

// StoreSenderKey implements groups/state/store.SenderKey.
func (s *Store) StoreSenderKey(_ context.Context, n *protocol.SenderKeyName, r *groupRecord.SenderKey) error {
	s.St.SenderKeys[senderKeyKey(n)] = r.Serialize()
	return nil
}

// LoadSenderKey implements groups/state/store.SenderKey. It returns an empty
// record, never nil, when there is none: GroupCipher.Decrypt calls IsEmpty
// on the result without a nil check.
func (s *Store) LoadSenderKey(_ context.Context, n *protocol.SenderKeyName) (*groupRecord.SenderKey, error) {
	b, ok := s.St.SenderKeys[senderKeyKey(n)]
	if !ok {
		return groupRecord.NewSenderKey(s.Ser.SenderKeyRecord, s.Ser.SenderKeyState), nil
	}
	return groupRecord.NewSenderKeyFromBytes(b, s.Ser.SenderKeyRecord, s.Ser.SenderKeyState)
}

// SenderKeyGroups lists the group ids for which a record from sender exists.
func (s *Store) SenderKeyGroups(sender *protocol.SignalAddress) []string {
	suffix := "\x00" + sender.String()
	var out []string
	for k := range s.St.SenderKeys {
		if len(k) >= len(suffix) && k[len(k)-len(suffix):] == suffix {
			out = append(out, k[:len(k)-len(suffix)])
		}
	}
	sort.Strings(out)
	return out
}
