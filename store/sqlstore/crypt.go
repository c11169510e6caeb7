package sqlstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
)

// Encryption at rest (issue #19 item 2).
//
// With WithKeyEncryption every row holding private material — the
// account's identity key pair, one-time, signed and Kyber prekey records,
// session records and sender-key records — is sealed by the application's
// KeyEncrypter before it is written and opened after it is read. A sealed
// row is
//
//	0x00 'I' 'K' 0x01 ‖ len(keyID) (1 byte) ‖ keyID ‖ KeyEncrypter ciphertext
//
// No plaintext row starts with 0x00 (every stored form is a protobuf, and
// field number 0 is invalid), so sealed and plaintext rows tell themselves
// apart, and the key each row is sealed with is stored in the row. The
// associated data names the row — table, account and the row's key
// (address, prekey ID, sender-key name) — together with the key ID, so a
// sealed row copied into another row, another table or another account
// does not open.

// KeyEncrypter seals and opens rows with a key-encryption key the
// application provides: a local key (NewKeyring) or a KMS. It must be safe
// for concurrent use. Encrypt must be an AEAD under a random nonce (or
// another construction secure for many messages under one key) that
// authenticates associatedData.
type KeyEncrypter interface {
	// CurrentKeyID names the key new rows are sealed with (1 to 255 bytes).
	CurrentKeyID() string
	// Encrypt seals plaintext under the key keyID with associatedData.
	Encrypt(ctx context.Context, keyID string, plaintext, associatedData []byte) ([]byte, error)
	// Decrypt opens what Encrypt sealed. It fails, never returning
	// unauthenticated bytes, when the key is unknown (an error matching
	// ErrKeyUnavailable) or the ciphertext or associated data do not
	// authenticate (ErrRowAuthentication).
	Decrypt(ctx context.Context, keyID string, ciphertext, associatedData []byte) ([]byte, error)
}

var (
	// ErrKeyUnavailable: a row is sealed with a key this DB cannot use —
	// WithKeyEncryption was not given, or its KeyEncrypter does not hold
	// the row's key ID.
	ErrKeyUnavailable = errors.New("sqlstore: the key a row is encrypted with is not available")
	// ErrRowAuthentication: a sealed row does not authenticate under its
	// key: the key material is wrong, the row was altered, or it was
	// copied from another row, table or account.
	ErrRowAuthentication = errors.New("sqlstore: encrypted row does not authenticate")
	// ErrPlaintextRow: RequireKeyEncryption is set and a row holding
	// private material is not encrypted.
	ErrPlaintextRow = errors.New("sqlstore: row is not encrypted")
)

// WithKeyEncryption seals every row holding private material with kek
// (see KeyEncrypter). Rows written before are still read (the migration
// path) until Store.RotateKeys has sealed them; RequireKeyEncryption then
// refuses any plaintext row. Off by default; recommended on servers, where
// the database, its replicas and its backups are out of the application's
// hands.
func WithKeyEncryption(kek KeyEncrypter) Option {
	return func(o *options) { o.kek = kek }
}

// RequireKeyEncryption makes a plaintext row of private material an error
// (ErrPlaintextRow) instead of the migration path's accepted input: use it
// once RotateKeys has sealed every row, so that someone who can write to
// the database cannot plant a session or prekey whose keys they know.
func RequireKeyEncryption() Option {
	return func(o *options) { o.requireSealed = true }
}

// sealMagic starts every sealed row.
var sealMagic = [4]byte{0x00, 'I', 'K', 0x01}

// sealPrefix is the start of every row sealed under keyID.
func sealPrefix(keyID string) []byte {
	p := append(sealMagic[:0:0], sealMagic[:]...)
	p = append(p, byte(len(keyID)))
	return append(p, keyID...)
}

// rowID names a row for the associated data.
type rowID struct {
	table, key string
}

func (r rowID) String() string { return r.table + " " + r.key }

// associatedData is "interlock-sqlstore-row" and the length-prefixed
// table, account, row key and key ID.
func associatedData(account string, r rowID, keyID string) []byte {
	ad := []byte("interlock-sqlstore-row\x01")
	for _, f := range []string{r.table, account, r.key, keyID} {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(f)))
		ad = append(ad, f...)
	}
	return ad
}

// crypt is the DB's encryption at rest; the zero value stores plaintext.
type crypt struct {
	kek     KeyEncrypter
	require bool
}

// seal returns what to store for plain, the private material of row r of
// account.
func (c crypt) seal(ctx context.Context, account string, r rowID, plain []byte) ([]byte, error) {
	if c.kek == nil {
		return plain, nil
	}
	id := c.kek.CurrentKeyID()
	if id == "" || len(id) > 255 {
		return nil, fmt.Errorf("sqlstore: key ID %q: must be 1 to 255 bytes", id)
	}
	ct, err := c.kek.Encrypt(ctx, id, plain, associatedData(account, r, id))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: encrypting %s: %w", r, err)
	}
	out := make([]byte, 0, len(sealMagic)+1+len(id)+len(ct))
	out = append(out, sealPrefix(id)...)
	return append(out, ct...), nil
}

// open returns the private material stored in row r of account.
func (c crypt) open(ctx context.Context, account string, r rowID, stored []byte) ([]byte, error) {
	if len(stored) == 0 || stored[0] != 0x00 {
		if c.require {
			return nil, fmt.Errorf("%w: %s of account %q", ErrPlaintextRow, r, account)
		}
		return stored, nil
	}
	if len(stored) < len(sealMagic)+1 || [4]byte(stored[:4]) != sealMagic {
		return nil, fmt.Errorf("%w: %s of account %q: unknown format", ErrRowAuthentication, r, account)
	}
	n := int(stored[4])
	if n == 0 || len(stored) < 5+n {
		return nil, fmt.Errorf("%w: %s of account %q: truncated", ErrRowAuthentication, r, account)
	}
	id := string(stored[5 : 5+n])
	if c.kek == nil {
		return nil, fmt.Errorf("%w: %s of account %q is encrypted with key %q and no WithKeyEncryption was given", ErrKeyUnavailable, r, account, id)
	}
	pt, err := c.kek.Decrypt(ctx, id, stored[5+n:], associatedData(account, r, id))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: decrypting %s of account %q (key %q): %w", r, account, id, err)
	}
	return pt, nil
}

// Keyring is a KeyEncrypter over local AES-256-GCM keys (crypto/cipher,
// 96-bit random nonces: rotate well before 2^32 rows have been written
// under one key). Its ciphertexts are nonce ‖ GCM ciphertext and tag.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

var _ KeyEncrypter = (*Keyring)(nil)

// NewKeyring returns a Keyring holding keys (ID → 32-byte AES-256 key)
// that seals new rows with keys[current]. During a rotation it holds the
// old key and the new one, current naming the new one.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("sqlstore: keyring: no key %q", current)
	}
	k := &Keyring{current: current, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		key := keys[id]
		if id == "" || len(id) > 255 {
			return nil, fmt.Errorf("sqlstore: keyring: key ID %q must be 1 to 255 bytes", id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("sqlstore: keyring: key %q is %d bytes, want 32 (AES-256)", id, len(key))
		}
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: keyring: %w", err)
		}
		a, err := cipher.NewGCM(b)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: keyring: %w", err)
		}
		k.aeads[id] = a
	}
	return k, nil
}

// CurrentKeyID implements KeyEncrypter.
func (k *Keyring) CurrentKeyID() string { return k.current }

// Encrypt implements KeyEncrypter.
func (k *Keyring) Encrypt(_ context.Context, keyID string, plaintext, ad []byte) ([]byte, error) {
	a, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not in the keyring", ErrKeyUnavailable, keyID)
	}
	out := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, err
	}
	return a.Seal(out, out, plaintext, ad), nil
}

// Decrypt implements KeyEncrypter.
func (k *Keyring) Decrypt(_ context.Context, keyID string, ciphertext, ad []byte) ([]byte, error) {
	a, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w: key %q is not in the keyring", ErrKeyUnavailable, keyID)
	}
	if len(ciphertext) < a.NonceSize()+a.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrRowAuthentication)
	}
	pt, err := a.Open(nil, ciphertext[:a.NonceSize()], ciphertext[a.NonceSize():], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key, altered or moved row", ErrRowAuthentication)
	}
	return pt, nil
}

// The rows of private material, by table and key.
var accountRow = rowID{"interlock_accounts", ""}

func sessionRow(a session.Address) rowID {
	return rowID{"interlock_sessions", a.Name + "\x00" + strconv.FormatUint(uint64(a.DeviceID), 10)}
}

func idRow(table string, id uint32) rowID {
	return rowID{table, strconv.FormatUint(uint64(id), 10)}
}

func senderKeyRow(n group.SenderKeyName) rowID {
	return rowID{"interlock_sender_keys", n.Sender + "\x00" + strconv.FormatUint(uint64(n.DeviceID), 10) + "\x00" + n.DistributionID}
}

// seal and open are the DB's crypt for this Store's account.
func (s *Store) seal(ctx context.Context, r rowID, plain []byte) ([]byte, error) {
	return s.db.crypt.seal(ctx, s.account, r, plain)
}

func (s *Store) open(ctx context.Context, r rowID, stored []byte) ([]byte, error) {
	return s.db.crypt.open(ctx, s.account, r, stored)
}
