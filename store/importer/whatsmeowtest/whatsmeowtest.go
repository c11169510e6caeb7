package whatsmeowtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"os"
	"strconv"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
)

// DDL is the part of whatsmeow's schema the importer reads
// (store/sqlstore/upgrades/00-latest-schema.sql of go.mau.fi/whatsmeow:
// column names, types and checks).
var DDL = []string{
	`CREATE TABLE whatsmeow_device (
		jid TEXT PRIMARY KEY, lid TEXT, facebook_uuid uuid,
		registration_id BIGINT NOT NULL CHECK ( registration_id >= 0 AND registration_id < 4294967296 ),
		noise_key bytea NOT NULL CHECK ( length(noise_key) = 32 ),
		identity_key bytea NOT NULL CHECK ( length(identity_key) = 32 ),
		signed_pre_key bytea NOT NULL CHECK ( length(signed_pre_key) = 32 ),
		signed_pre_key_id INTEGER NOT NULL CHECK ( signed_pre_key_id >= 0 AND signed_pre_key_id < 16777216 ),
		signed_pre_key_sig bytea NOT NULL CHECK ( length(signed_pre_key_sig) = 64 ),
		adv_key bytea NOT NULL, adv_details bytea NOT NULL,
		adv_account_sig bytea NOT NULL CHECK ( length(adv_account_sig) = 64 ),
		adv_account_sig_key bytea NOT NULL CHECK ( length(adv_account_sig_key) = 32 ),
		adv_device_sig bytea NOT NULL CHECK ( length(adv_device_sig) = 64 ),
		platform TEXT NOT NULL DEFAULT '', business_name TEXT NOT NULL DEFAULT '', push_name TEXT NOT NULL DEFAULT '',
		lid_migration_ts BIGINT NOT NULL DEFAULT 0)`,
	`CREATE TABLE whatsmeow_identity_keys (our_jid TEXT, their_id TEXT, identity bytea NOT NULL, PRIMARY KEY (our_jid, their_id))`,
	`CREATE TABLE whatsmeow_pre_keys (jid TEXT, key_id INTEGER CHECK ( key_id >= 0 AND key_id < 16777216 ), key bytea NOT NULL, uploaded BOOLEAN NOT NULL, PRIMARY KEY (jid, key_id))`,
	`CREATE TABLE whatsmeow_sessions (our_jid TEXT, their_id TEXT, session bytea, PRIMARY KEY (our_jid, their_id))`,
	`CREATE TABLE whatsmeow_sender_keys (our_jid TEXT, chat_id TEXT, sender_id TEXT, sender_key bytea NOT NULL, PRIMARY KEY (our_jid, chat_id, sender_id))`,
}

// Vector is testdata/vectors/mau-records.json: go.mau.fi's records of a
// conversation in a hard state (interop/mau/cmd/mau-records).
type Vector struct {
	Name            string            `json:"name"`
	Device          uint32            `json:"device"`
	RegistrationID  uint32            `json:"registration_id"`
	IdentityPrivate []byte            `json:"identity_private"`
	SignedPreKeys   map[string][]byte `json:"signed_prekeys"`
	PreKeys         map[string][]byte `json:"prekeys"`
	Sessions        map[string][]byte `json:"sessions"`
	Identities      map[string][]byte `json:"identities"`
	SenderKeys      []struct {
		Group, Sender string
		Record        []byte
	} `json:"sender_keys"`
	Pending []struct {
		From                  string
		Type                  int
		Plaintext, Ciphertext []byte
	} `json:"pending"`
}

// LoadVector reads the vector file at path.
func LoadVector(t testing.TB, path string) *Vector {
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

// JID is the device JID of the vector's account.
func (v *Vector) JID() string { return v.Name + ":" + strconv.Itoa(int(v.Device)) + "@s.whatsapp.net" }

// Fill writes v into whatsmeow's tables as whatsmeow would.
func Fill(t testing.TB, db *sql.DB, v *Vector) {
	t.Helper()
	ctx := context.Background()
	for _, q := range DDL {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var spkPriv, spkSig []byte
	var spkID uint32
	for _, b := range v.SignedPreKeys {
		r, err := prekey.UnmarshalSignedPreKeyRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		spkPriv, spkSig, spkID = r.KeyPair.Private.Bytes(), r.Signature, r.ID
	}
	z := func(n int) []byte { b := make([]byte, n); rand.Read(b); return b }
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	jid := v.JID()
	exec(`INSERT INTO whatsmeow_device (jid, registration_id, noise_key, identity_key, signed_pre_key, signed_pre_key_id, signed_pre_key_sig,
		adv_key, adv_details, adv_account_sig, adv_account_sig_key, adv_device_sig) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		jid, int64(v.RegistrationID), z(32), v.IdentityPrivate, spkPriv, int64(spkID), spkSig, z(32), z(10), z(64), z(32), z(64))
	for id, b := range v.PreKeys {
		r, err := prekey.UnmarshalPreKeyRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO whatsmeow_pre_keys (jid, key_id, key, uploaded) VALUES ($1,$2,$3,$4)`, jid, id, r.KeyPair.Private.Bytes(), id != "5")
	}
	for a, k := range v.Identities {
		exec(`INSERT INTO whatsmeow_identity_keys (our_jid, their_id, identity) VALUES ($1,$2,$3)`, jid, a, k[1:])
	}
	for a, b := range v.Sessions {
		exec(`INSERT INTO whatsmeow_sessions (our_jid, their_id, session) VALUES ($1,$2,$3)`, jid, a, b)
	}
	for _, sk := range v.SenderKeys {
		exec(`INSERT INTO whatsmeow_sender_keys (our_jid, chat_id, sender_id, sender_key) VALUES ($1,$2,$3,$4)`, jid, sk.Group, sk.Sender, sk.Record)
	}
}
