package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// The peer's durable store: init's `store` is the path of an SQLite file
// holding one account, and `restart` closes it and loads everything again.

// peerAccount is the account name the peer uses in its SQLite file.
const peerAccount = "peer"

// sqlPeerStore is an account of an SQLite file, with what restart needs to
// open it again.
type sqlPeerStore struct {
	*sqlstore.Store
	db   *sqlstore.DB
	path string
}

func init() {
	newPeerStore = openPeerStore
	extraOps["restart"] = (*peer).restart
}

// openPeerStore opens the store given to init: in memory when path is empty,
// else the SQLite file at path, whose account (created with id and reg when
// the file has none) supplies the identity.
func openPeerStore(ctx context.Context, path string, id prekey.IdentityKeyPair, reg uint32) (peerStore, prekey.IdentityKeyPair, uint32, error) {
	if path == "" {
		return memoryPeerStore(ctx, path, id, reg)
	}
	db, err := sqlstore.Open(ctx, path)
	if err != nil {
		return nil, id, reg, err
	}
	s, err := db.Account(ctx, peerAccount)
	if err != nil {
		s, err = db.CreateAccount(ctx, peerAccount, id, reg)
	}
	if err != nil {
		db.Close()
		return nil, id, reg, err
	}
	id, _ = s.IdentityKeyPair(ctx)
	reg, _ = s.LocalRegistrationID(ctx)
	return &sqlPeerStore{Store: s, db: db, path: path}, id, reg, nil
}

// memoryPeerStore is peer.go's default, kept for init without a store.
var memoryPeerStore = newPeerStore

// nextPreKeyID returns the first prekey ID the peer has not used: bundle
// gives the signed, one-time and Kyber prekeys of one bundle the same ID and
// signed prekeys are never removed, so it follows the largest signed one.
func nextPreKeyID(ctx context.Context, st peerStore) (uint32, error) {
	s, ok := st.(*sqlPeerStore)
	if !ok {
		return 1, nil
	}
	ids, err := s.SignedPreKeyIDs(ctx)
	if err != nil || len(ids) == 0 {
		return 1, err
	}
	return ids[len(ids)-1] + 1, nil
}

// restart drops the peer's in-memory state and reloads it from the durable
// store given to init; without one it keeps the in-memory store (as the
// libsignal peer does) and answers ok.
func (p *peer) restart(raw []byte) (map[string]any, error) {
	var req struct{}
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, kindErr("other", "bad request: %v", err)
	}
	old, ok := p.store.(*sqlPeerStore)
	if !ok {
		return nil, nil
	}
	if err := old.db.Close(); err != nil {
		return nil, fmt.Errorf("closing the store: %w", err)
	}
	p.store, p.cipher = nil, nil // restart failed: every later op fails "before init"
	st, id, reg, err := openPeerStore(p.ctx, old.path, prekey.IdentityKeyPair{}, 0)
	if err != nil {
		return nil, fmt.Errorf("reopening the store: %w", err)
	}
	next, err := nextPreKeyID(p.ctx, st)
	if err != nil {
		return nil, err
	}
	p.store, p.identity, p.regID, p.nextID = st, id, reg, next
	p.cipher = p.newCipher()
	return nil, nil
}
