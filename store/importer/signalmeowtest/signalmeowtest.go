package signalmeowtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// DDL is the part of signalmeow's schema the importer reads (column names,
// types, checks and keys of pkg/signalmeow/store/upgrades/00-latest.sql;
// the foreign keys and the tables the importer does not read are left out).
var DDL = []string{
	`CREATE TABLE signalmeow_device (
		aci_uuid TEXT PRIMARY KEY,
		aci_identity_key_pair bytea NOT NULL,
		registration_id INTEGER NOT NULL CHECK ( registration_id >= 0 AND registration_id < 4294967296 ),
		pni_uuid TEXT NOT NULL,
		pni_identity_key_pair bytea NOT NULL,
		pni_registration_id INTEGER NOT NULL CHECK ( pni_registration_id >= 0 AND pni_registration_id < 4294967296 ),
		device_id INTEGER NOT NULL,
		number TEXT NOT NULL DEFAULT '',
		password TEXT NOT NULL DEFAULT '')`,
	`CREATE TABLE signalmeow_pre_keys (account_id TEXT NOT NULL, service_id TEXT NOT NULL, key_id INTEGER NOT NULL,
		is_signed BOOLEAN NOT NULL, key_pair bytea NOT NULL, PRIMARY KEY (account_id, service_id, key_id, is_signed))`,
	`CREATE TABLE signalmeow_kyber_pre_keys (account_id TEXT NOT NULL, service_id TEXT NOT NULL, key_id INTEGER NOT NULL,
		key_pair bytea NOT NULL, is_last_resort BOOLEAN NOT NULL, PRIMARY KEY (account_id, service_id, key_id))`,
	`CREATE TABLE signalmeow_identity_keys (account_id TEXT NOT NULL, their_service_id TEXT NOT NULL, key bytea NOT NULL,
		trust_level TEXT NOT NULL, PRIMARY KEY (account_id, their_service_id))`,
	`CREATE TABLE signalmeow_sessions (account_id TEXT NOT NULL, service_id TEXT NOT NULL, their_service_id TEXT NOT NULL,
		their_device_id INTEGER NOT NULL, record bytea NOT NULL, PRIMARY KEY (account_id, service_id, their_service_id, their_device_id))`,
	`CREATE TABLE signalmeow_sender_keys (account_id TEXT NOT NULL, sender_uuid TEXT NOT NULL, sender_device_id INTEGER NOT NULL,
		distribution_id TEXT NOT NULL, key_record bytea NOT NULL, PRIMARY KEY (account_id, sender_uuid, sender_device_id, distribution_id))`,
}

// PeerStore is the store file of interop/libsignal/peer.js
// (interlock-libsignal-peer-store/1): libsignal's serialized records of one
// party.
type PeerStore struct {
	Format          string            `json:"format"`
	Lib             string            `json:"lib"`
	Name            string            `json:"name"`
	Device          uint32            `json:"device"`
	RegistrationID  uint32            `json:"registration_id"`
	IdentityKeyPair []byte            `json:"identity_key_pair"`
	Sessions        map[string][]byte `json:"sessions"`   // "name.device"
	Identities      map[string][]byte `json:"identities"` // name → 33-byte key
	PreKeys         map[string][]byte `json:"prekeys"`    // id
	SignedPreKeys   map[string][]byte `json:"signed_prekeys"`
	KyberPreKeys    map[string][]byte `json:"kyber_prekeys"`
	SenderKeys      map[string][]byte `json:"sender_keys"` // "name.device/distribution"
	Server          json.RawMessage   `json:"server"`
	NextIDs         json.RawMessage   `json:"next_ids"`
}

// ReadPeerStore reads a peer store file.
func ReadPeerStore(path string) (*PeerStore, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s PeerStore
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Format != "interlock-libsignal-peer-store/1" {
		return nil, fmt.Errorf("%s: format %q", path, s.Format)
	}
	return &s, nil
}

// Pending is a message in flight to the imported account.
type Pending struct {
	To         string // "aci" or "pni"
	From       string
	Device     uint32
	Type       int // 2 SignalMessage, 3 PreKeySignalMessage, 7 SenderKeyMessage
	Plaintext  []byte
	Ciphertext []byte
}

// Vector is one signalmeow device: the ACI's state (its Name is the ACI
// UUID) and optionally the PNI's (its Name is "PNI:" and the PNI), as
// libsignal peers left them, with the messages in flight to them.
type Vector struct {
	Source       string `json:"source"`    // the libsignal that wrote the records
	Generator    string `json:"generator"` // the program that wrote the file
	Comment      string `json:"comment"`
	Lib          string
	ACI, PNI     *PeerStore
	LastResort   []uint32 // Kyber prekey IDs of the ACI stored as last resort
	Distribution string   // the group's distribution ID, if any
	Pending      []Pending
}

// LoadVector reads a vector file.
func LoadVector(t testing.TB, path string) *Vector {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v Vector
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// CreateSchema creates signalmeow's tables.
func CreateSchema(ctx context.Context, db *sql.DB) error {
	for _, q := range DDL {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// Fill creates signalmeow's tables in db and writes v into them, as
// signalmeow stores it: records as libsignal serialized them, service IDs
// as strings (the ACI bare, the PNI with "PNI:"), every remote identity
// TRUSTED_UNVERIFIED.
func Fill(t testing.TB, db *sql.DB, v *Vector) {
	t.Helper()
	if err := Write(context.Background(), db, v); err != nil {
		t.Fatal(err)
	}
}

// Write is Fill returning its error.
func Write(ctx context.Context, db *sql.DB, v *Vector) error {
	if err := CreateSchema(ctx, db); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	aci := v.ACI.Name
	pniUUID, pniKP, pniReg := "", []byte{}, uint32(0)
	if v.PNI != nil {
		pniUUID, pniKP, pniReg = strings.TrimPrefix(v.PNI.Name, "PNI:"), v.PNI.IdentityKeyPair, v.PNI.RegistrationID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO signalmeow_device (aci_uuid, aci_identity_key_pair, registration_id, pni_uuid, pni_identity_key_pair, pni_registration_id, device_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		aci, v.ACI.IdentityKeyPair, int64(v.ACI.RegistrationID), pniUUID, pniKP, int64(pniReg), int64(v.ACI.Device)); err != nil {
		return err
	}
	last := map[string]bool{}
	for _, id := range v.LastResort {
		last[strconv.FormatUint(uint64(id), 10)] = true
	}
	seen := map[string]bool{}
	for _, s := range []*PeerStore{v.ACI, v.PNI} {
		if s == nil {
			continue
		}
		sid := s.Name
		for id, b := range s.PreKeys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO signalmeow_pre_keys (account_id, service_id, key_id, is_signed, key_pair) VALUES ($1, $2, $3, false, $4)`, aci, sid, num(id), b); err != nil {
				return err
			}
		}
		for id, b := range s.SignedPreKeys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO signalmeow_pre_keys (account_id, service_id, key_id, is_signed, key_pair) VALUES ($1, $2, $3, true, $4)`, aci, sid, num(id), b); err != nil {
				return err
			}
		}
		for id, b := range s.KyberPreKeys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO signalmeow_kyber_pre_keys (account_id, service_id, key_id, key_pair, is_last_resort) VALUES ($1, $2, $3, $4, $5)`, aci, sid, num(id), b, s == v.ACI && last[id]); err != nil {
				return err
			}
		}
		for k, b := range s.Sessions {
			i := strings.LastIndexByte(k, '.')
			if i < 0 {
				return fmt.Errorf("session key %q", k)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO signalmeow_sessions (account_id, service_id, their_service_id, their_device_id, record) VALUES ($1, $2, $3, $4, $5)`, aci, sid, k[:i], num(k[i+1:]), b); err != nil {
				return err
			}
		}
		for name, b := range s.Identities {
			if seen[name] {
				continue
			}
			seen[name] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO signalmeow_identity_keys (account_id, their_service_id, key, trust_level) VALUES ($1, $2, $3, 'TRUSTED_UNVERIFIED')`, aci, name, b); err != nil {
				return err
			}
		}
		for k, b := range s.SenderKeys {
			addr, dist, ok := strings.Cut(k, "/")
			i := strings.LastIndexByte(addr, '.')
			if !ok || i < 0 {
				return fmt.Errorf("sender key %q", k)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO signalmeow_sender_keys (account_id, sender_uuid, sender_device_id, distribution_id, key_record) VALUES ($1, $2, $3, $4, $5)`, aci, addr[:i], num(addr[i+1:]), dist, b); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

// num is a decimal key of the peer store as an integer column value (an
// unparsable key is kept as text, for tests of bad rows).
func num(s string) any {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	return n
}
