package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/interlock-e2ee/interlock/prekey"
)

// IdentityScope says what a remote identity key is pinned to (issue #20
// item 10).
type IdentityScope int

const (
	// PerAccount (the default, the `signal` flavour): an account has one
	// identity key shared by all its devices, and safety numbers are per
	// account (libsignal and Signal-Android store identities per service
	// ID). The key is pinned per account name: any device of a known account
	// — a known one or one the server has just added — whose key differs is
	// untrusted.
	PerAccount IdentityScope = iota
	// PerDevice (the `whatsapp` flavour): each device has its own identity
	// key, pinned per address. The first device seen of an unknown account is
	// trusted on first use; any other new device of a known account is
	// untrusted (ErrUnverifiedDevice) until the application vouches for it —
	// in WhatsApp, by verifying the account's signature over the device
	// identity (package adv) and then trusting it with SaveIdentity. The
	// primary device (device 0) holds the account key.
	PerDevice
)

// String returns "per-account" or "per-device".
func (s IdentityScope) String() string {
	if s == PerDevice {
		return "per-device"
	}
	return "per-account"
}

// StoreOption configures MemoryStore's identity pinning.
type StoreOption func(*storeConfig)

type storeConfig struct {
	scope   IdentityScope
	ownName string
	hasOwn  bool
}

// WithIdentityScope sets the pinning scope (default PerAccount).
func WithIdentityScope(s IdentityScope) StoreOption {
	return func(c *storeConfig) { c.scope = s }
}

// WithOwnName names the local account, so that its other (linked) devices
// are never trusted on first use: under PerAccount they must carry the local
// identity key (as Signal-Android checks its own ACI), under PerDevice they
// must be vouched for like any new device of a known account.
func WithOwnName(name string) StoreOption {
	return func(c *storeConfig) { c.ownName, c.hasOwn = name, true }
}

// IdentityChange is what saving an identity changed.
type IdentityChange int

const (
	// IdentityUnchanged: the key was already stored for the device.
	IdentityUnchanged IdentityChange = iota
	// IdentityNewAccount: the first key stored for the account.
	IdentityNewAccount
	// IdentityNewDevice: a device not seen before of a known account, with
	// the account's key (PerAccount) or a key of its own (PerDevice).
	IdentityNewDevice
	// IdentityReplaced: the key replaced a different one (the safety number
	// changed).
	IdentityReplaced
)

// String names the change.
func (c IdentityChange) String() string {
	switch c {
	case IdentityNewAccount:
		return "new account"
	case IdentityNewDevice:
		return "new device"
	case IdentityReplaced:
		return "replaced"
	}
	return "unchanged"
}

// DeviceIdentityStore is implemented by identity stores that know the scope
// of their pins and the devices they have seen (MemoryStore and
// sqlstore.Store do). The Cipher uses it, when the store or the
// transaction's store implements it, to report new devices and to say in an
// *UntrustedIdentityError whether a device is unverified.
type DeviceIdentityStore interface {
	// IdentityScope returns the store's pinning scope.
	IdentityScope() IdentityScope
	// SaveDeviceIdentity is SaveIdentity reporting what it changed.
	SaveDeviceIdentity(ctx context.Context, addr Address, key prekey.IdentityKey) (IdentityChange, error)
	// DeviceIdentity returns the key last saved for this very device (not
	// the account's), if any.
	DeviceIdentity(ctx context.Context, addr Address) (prekey.IdentityKey, bool, error)
}

// ErrUnverifiedDevice is matched, besides ErrUntrustedIdentity, by an
// *UntrustedIdentityError for a new device of a known account under
// PerDevice: nothing vouches for its identity key yet.
var ErrUnverifiedDevice = errors.New("session: unverified device")

// UntrustedIdentityError is returned when a device's identity key is not
// trusted. It matches ErrUntrustedIdentity, and ErrUnverifiedDevice when
// Unverified is set.
type UntrustedIdentityError struct {
	// Address is the device.
	Address Address
	// Key is the identity key it presented.
	Key prekey.IdentityKey
	// Unverified: a new device of a known account (PerDevice) for which no
	// key is stored; trusting Key with SaveIdentity, after verifying it
	// (package adv), lets it through.
	Unverified bool
}

func (e *UntrustedIdentityError) Error() string {
	if e.Unverified {
		return fmt.Sprintf("%v: %s: %v", ErrUntrustedIdentity, e.Address, ErrUnverifiedDevice)
	}
	return fmt.Sprintf("%v: %s", ErrUntrustedIdentity, e.Address)
}

// Unwrap returns ErrUntrustedIdentity, and ErrUnverifiedDevice when
// Unverified.
func (e *UntrustedIdentityError) Unwrap() []error {
	if e.Unverified {
		return []error{ErrUntrustedIdentity, ErrUnverifiedDevice}
	}
	return []error{ErrUntrustedIdentity}
}

// IdentityEvent tells an IdentityObserver what a Cipher operation stored.
type IdentityEvent struct {
	Address Address
	Key     prekey.IdentityKey
	Change  IdentityChange
}

// WithIdentityObserver sets fn to be told of every identity the Cipher
// stores that is not IdentityUnchanged: a new account, a new device of a
// known account, a replaced key (libsignal's IdentityChange::ReplacedExisting,
// which Signal shows as a safety-number change). New devices are thus never
// silent. Without a DeviceIdentityStore only replacements are reported.
//
// fn runs inside the operation's unit of work, before it commits, possibly
// on several goroutines at once (EncryptMany): it must be safe for concurrent
// use and must not call back into the Cipher. An error from fn fails the
// operation and, with a Transactor, rolls it back — a veto: the message is
// not decrypted or the session not started. If the operation fails for
// another reason after fn ran, the change fn saw was not stored.
func WithIdentityObserver(fn func(ctx context.Context, ev IdentityEvent) error) Option {
	return func(c *Cipher) { c.observer = fn }
}

// deviceStore returns the DeviceIdentityStore behind st, looking through
// EncryptMany's per-device views.
func deviceStore(st Store) (DeviceIdentityStore, bool) {
	if v, ok := st.(*deviceView); ok {
		st = v.Store
	}
	ds, ok := st.(DeviceIdentityStore)
	return ds, ok
}

// saveIdentity stores key for addr and reports the change to the observer
// (issue #20 item 10: SaveIdentity's result is never discarded).
func (c *Cipher) saveIdentity(ctx context.Context, st Store, addr Address, key prekey.IdentityKey) error {
	var ch IdentityChange
	if ds, ok := st.(DeviceIdentityStore); ok {
		var err error
		if ch, err = ds.SaveDeviceIdentity(ctx, addr, key); err != nil {
			return err
		}
	} else {
		replaced, err := st.SaveIdentity(ctx, addr, key)
		if err != nil {
			return err
		}
		if replaced {
			ch = IdentityReplaced
		}
	}
	if ch != IdentityUnchanged && c.hooks != nil {
		c.logIdentity(ctx, addr, ch) // logging.go
	}
	if ch != IdentityUnchanged && c.observer != nil {
		return c.observer(ctx, IdentityEvent{Address: addr, Key: key, Change: ch})
	}
	return nil
}

// untrusted builds the error for an identity st does not trust for addr.
func untrusted(ctx context.Context, st Store, addr Address, key prekey.IdentityKey) error {
	e := &UntrustedIdentityError{Address: addr, Key: key}
	if ds, ok := deviceStore(st); ok && ds.IdentityScope() == PerDevice {
		_, known, err := ds.DeviceIdentity(ctx, addr)
		if err != nil {
			return errors.Join(e, err)
		}
		e.Unverified = !known
	}
	return e
}

// BaseKey returns the serialized base key of the key agreement that started
// the session (the initiator's ephemeral key, X3DH §3.3): it names one
// session of one installation, so a re-installed device, or any new session
// with it, has another one. package fanout uses it to tell whether a device
// still holds the session a sender key went to (issue #20 item 8).
func (s *State) BaseKey() []byte { return append([]byte(nil), s.aliceBaseKey...) }
