package adv

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// MaxSize bounds every message this package parses.
const MaxSize = 4096

// Errors; check them with errors.Is.
var (
	// ErrInvalid: malformed bytes.
	ErrInvalid = errors.New("adv: invalid message")
	// ErrBadSignature: a signature does not verify, or the message names
	// another account key than the pinned one.
	ErrBadSignature = errors.New("adv: bad signature")
	// ErrNotListed: the device's key index is not in the account's device
	// list, or the list is another account's.
	ErrNotListed = errors.New("adv: device not in the signed device list")
	// ErrNoAccountKey: no account key is pinned for the account (no
	// identity for its device 0).
	ErrNoAccountKey = errors.New("adv: no account key pinned")
)

// Signature prefixes.
var (
	prefixAccount       = []byte{6, 0}
	prefixDevice        = []byte{6, 1}
	prefixKeyIndexList  = []byte{6, 2}
	prefixHostedAccount = []byte{6, 5}
	prefixHostedDevice  = []byte{6, 6}
)

// EncryptionType is ADVEncryptionType.
type EncryptionType uint32

// Encryption types.
const (
	E2EE   EncryptionType = 0
	Hosted EncryptionType = 1
)

// SignedDeviceIdentity is ADVSignedDeviceIdentity.
type SignedDeviceIdentity struct {
	Details             []byte // an ADVDeviceIdentity
	AccountSignatureKey []byte // 32 bytes, often absent on the wire
	AccountSignature    []byte // 64 bytes
	DeviceSignature     []byte // 64 bytes
}

// DeviceIdentity is ADVDeviceIdentity.
type DeviceIdentity struct {
	RawID       uint32
	Timestamp   uint64
	KeyIndex    uint32
	AccountType EncryptionType
	DeviceType  EncryptionType
}

// SignedKeyIndexList is ADVSignedKeyIndexList.
type SignedKeyIndexList struct {
	Details             []byte // an ADVKeyIndexList
	AccountSignature    []byte
	AccountSignatureKey []byte
}

// KeyIndexList is ADVKeyIndexList: the key indexes of the account's valid
// companion devices.
type KeyIndexList struct {
	RawID        uint32
	Timestamp    uint64
	CurrentIndex uint32
	ValidIndexes []uint32
	AccountType  EncryptionType
}

// Contains reports whether index is a valid key index.
func (l *KeyIndexList) Contains(index uint32) bool { return slices.Contains(l.ValidIndexes, index) }

// fields walks the fields of a proto2 message: fn gets each field's number
// and type and returns how many bytes of b it consumed (0: skip the field,
// negative: error). A known field may appear once, but repeated.
func fields(b []byte, repeated protowire.Number, fn func(num protowire.Number, typ protowire.Type, b []byte) int) error {
	if len(b) > MaxSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalid, len(b), MaxSize)
	}
	var seen [8]bool
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%w: bad tag", ErrInvalid)
		}
		b = b[n:]
		if num < protowire.Number(len(seen)) {
			if seen[num] && num != repeated {
				return fmt.Errorf("%w: field %d repeated", ErrInvalid, num)
			}
			seen[num] = true
		}
		if n = fn(num, typ, b); n == 0 {
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("%w: field %d", ErrInvalid, num)
		}
		b = b[n:]
	}
	return nil
}

func bytesField(dst *[]byte) func(b []byte) int {
	return func(b []byte) int {
		v, n := protowire.ConsumeBytes(b)
		if n >= 0 {
			*dst = v
		}
		return n
	}
}

func varint32(dst *uint32, b []byte) int {
	v, n := protowire.ConsumeVarint(b)
	if n >= 0 {
		if v > 0xFFFFFFFF {
			return -1
		}
		*dst = uint32(v)
	}
	return n
}

// ParseSignedDeviceIdentity parses an ADVSignedDeviceIdentity.
func ParseSignedDeviceIdentity(b []byte) (*SignedDeviceIdentity, error) {
	var m SignedDeviceIdentity
	err := fields(b, 0, func(num protowire.Number, typ protowire.Type, b []byte) int {
		if typ != protowire.BytesType {
			return 0
		}
		switch num {
		case 1:
			return bytesField(&m.Details)(b)
		case 2:
			return bytesField(&m.AccountSignatureKey)(b)
		case 3:
			return bytesField(&m.AccountSignature)(b)
		case 4:
			return bytesField(&m.DeviceSignature)(b)
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	if m.Details == nil || len(m.AccountSignature) != 64 || len(m.DeviceSignature) != 64 {
		return nil, fmt.Errorf("%w: signed device identity without details or signatures", ErrInvalid)
	}
	if m.AccountSignatureKey != nil && len(m.AccountSignatureKey) != 32 && len(m.AccountSignatureKey) != 0 {
		return nil, fmt.Errorf("%w: account signature key of %d bytes", ErrInvalid, len(m.AccountSignatureKey))
	}
	return &m, nil
}

// ParseDeviceIdentity parses an ADVDeviceIdentity.
func ParseDeviceIdentity(b []byte) (*DeviceIdentity, error) {
	var m DeviceIdentity
	err := fields(b, 0, func(num protowire.Number, typ protowire.Type, b []byte) int {
		if typ != protowire.VarintType {
			return 0
		}
		switch num {
		case 1:
			return varint32(&m.RawID, b)
		case 2:
			v, n := protowire.ConsumeVarint(b)
			m.Timestamp = v
			return n
		case 3:
			return varint32(&m.KeyIndex, b)
		case 4:
			return varint32((*uint32)(&m.AccountType), b)
		case 5:
			return varint32((*uint32)(&m.DeviceType), b)
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// ParseSignedKeyIndexList parses an ADVSignedKeyIndexList.
func ParseSignedKeyIndexList(b []byte) (*SignedKeyIndexList, error) {
	var m SignedKeyIndexList
	err := fields(b, 0, func(num protowire.Number, typ protowire.Type, b []byte) int {
		if typ != protowire.BytesType {
			return 0
		}
		switch num {
		case 1:
			return bytesField(&m.Details)(b)
		case 2:
			return bytesField(&m.AccountSignature)(b)
		case 3:
			return bytesField(&m.AccountSignatureKey)(b)
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	if m.Details == nil || len(m.AccountSignature) != 64 {
		return nil, fmt.Errorf("%w: signed key index list without details or signature", ErrInvalid)
	}
	if len(m.AccountSignatureKey) != 0 && len(m.AccountSignatureKey) != 32 {
		return nil, fmt.Errorf("%w: account signature key of %d bytes", ErrInvalid, len(m.AccountSignatureKey))
	}
	return &m, nil
}

// ParseKeyIndexList parses an ADVKeyIndexList (valid_indexes packed or not).
func ParseKeyIndexList(b []byte) (*KeyIndexList, error) {
	var m KeyIndexList
	err := fields(b, 4, func(num protowire.Number, typ protowire.Type, b []byte) int {
		switch {
		case num == 1 && typ == protowire.VarintType:
			return varint32(&m.RawID, b)
		case num == 2 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			m.Timestamp = v
			return n
		case num == 3 && typ == protowire.VarintType:
			return varint32(&m.CurrentIndex, b)
		case num == 4 && typ == protowire.VarintType:
			var x uint32
			n := varint32(&x, b)
			if n >= 0 {
				m.ValidIndexes = append(m.ValidIndexes, x)
			}
			return n
		case num == 4 && typ == protowire.BytesType:
			p, n := protowire.ConsumeBytes(b)
			for len(p) > 0 && n >= 0 {
				var x uint32
				k := varint32(&x, p)
				if k < 0 {
					return -1
				}
				m.ValidIndexes = append(m.ValidIndexes, x)
				p = p[k:]
			}
			return n
		case num == 5 && typ == protowire.VarintType:
			return varint32((*uint32)(&m.AccountType), b)
		}
		return 0
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

func raw(k prekey.IdentityKey) []byte {
	u := k.PublicKey().Raw()
	return u[:]
}

func verify(key []byte, sig []byte, parts ...[]byte) bool {
	pub, err := curve.NewPublicKeyRaw(key)
	if err != nil {
		return false
	}
	return pub.VerifySignature(slices.Concat(parts...), sig)
}

// checkAccountKey refuses a message naming another account key than the
// pinned one.
func checkAccountKey(named []byte, account prekey.IdentityKey) error {
	if len(named) != 0 && !slices.Equal(named, raw(account)) {
		return fmt.Errorf("%w: signed by another account key than the pinned one", ErrBadSignature)
	}
	return nil
}

// VerifyDeviceIdentity verifies a companion device's ADVSignedDeviceIdentity
// for the device key device against the pinned account key account (the
// primary device's identity key): the account's signature and the device's
// own. It returns the parsed details.
func VerifyDeviceIdentity(signed []byte, account, device prekey.IdentityKey) (*DeviceIdentity, error) {
	m, err := ParseSignedDeviceIdentity(signed)
	if err != nil {
		return nil, err
	}
	if err := checkAccountKey(m.AccountSignatureKey, account); err != nil {
		return nil, err
	}
	d, err := ParseDeviceIdentity(m.Details)
	if err != nil {
		return nil, err
	}
	pa, pd := prefixAccount, prefixDevice
	if d.DeviceType == Hosted {
		pa, pd = prefixHostedAccount, prefixHostedDevice
	}
	acc, dev := raw(account), raw(device)
	if !verify(acc, m.AccountSignature, pa, m.Details, dev) {
		return nil, fmt.Errorf("%w: account signature", ErrBadSignature)
	}
	if !verify(dev, m.DeviceSignature, pd, m.Details, dev, acc) {
		return nil, fmt.Errorf("%w: device signature", ErrBadSignature)
	}
	return d, nil
}

// VerifyKeyIndexList verifies an ADVSignedKeyIndexList against the pinned
// account key and returns the list.
func VerifyKeyIndexList(signed []byte, account prekey.IdentityKey) (*KeyIndexList, error) {
	m, err := ParseSignedKeyIndexList(signed)
	if err != nil {
		return nil, err
	}
	if err := checkAccountKey(m.AccountSignatureKey, account); err != nil {
		return nil, err
	}
	if !verify(raw(account), m.AccountSignature, prefixKeyIndexList, m.Details) {
		return nil, fmt.Errorf("%w: key index list signature", ErrBadSignature)
	}
	return ParseKeyIndexList(m.Details)
}

// Vouch verifies signed, the ADVSignedDeviceIdentity of the companion
// device addr with identity key device, against the account key pinned in
// st for addr.Name's device 0; when list is not nil (a list verified with
// VerifyKeyIndexList) the device's key index must be in it. It then trusts
// device for addr (st.SaveIdentity), which a session.PerDevice store
// requires before a Cipher accepts a new device of a known account. It
// returns the device's details and whether the key replaced another one.
func Vouch(ctx context.Context, st session.IdentityStore, addr session.Address, device prekey.IdentityKey, signed []byte, list *KeyIndexList) (*DeviceIdentity, bool, error) {
	if addr.DeviceID == 0 {
		return nil, false, fmt.Errorf("%w: device 0 is the primary device and holds the account key", ErrInvalid)
	}
	account, ok, err := st.Identity(ctx, session.Address{Name: addr.Name, DeviceID: 0})
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, fmt.Errorf("%w: %s", ErrNoAccountKey, addr.Name)
	}
	d, err := VerifyDeviceIdentity(signed, account, device)
	if err != nil {
		return nil, false, err
	}
	if list != nil && (list.RawID != d.RawID || !list.Contains(d.KeyIndex)) {
		return nil, false, fmt.Errorf("%w: key index %d", ErrNotListed, d.KeyIndex)
	}
	replaced, err := st.SaveIdentity(ctx, addr, device)
	if err != nil {
		return nil, false, err
	}
	return d, replaced, nil
}
