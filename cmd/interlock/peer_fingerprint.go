package main

import (
	"encoding/json"
	"errors"

	"github.com/interlock-e2ee/interlock/fingerprint"
	"github.com/interlock-e2ee/interlock/prekey"
)

func init() {
	extraOps["fingerprint"] = (*peer).fingerprint
	addErrorKind(fingerprint.ErrInvalidKey, "invalid_key")
	addErrorKind(fingerprint.ErrUnsupportedVersion, "unsupported")
}

// fingerprint computes the safety number between this peer's identity
// (local_id) and remote_id with remote_identity_key; version 2 (ACIs, the
// default) or 1 (E.164 numbers); 5200 iterations as Signal's clients.
func (p *peer) fingerprint(raw []byte) (map[string]any, error) {
	var r struct {
		LocalID           *string `json:"local_id"`
		RemoteID          *string `json:"remote_id"`
		RemoteIdentityKey []byte  `json:"remote_identity_key"`
		Version           *int    `json:"version"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, kindErr("other", "bad request: %v", err)
	}
	if r.LocalID == nil || r.RemoteID == nil || r.RemoteIdentityKey == nil {
		return nil, kindErr("other", "fingerprint needs local_id, remote_id and remote_identity_key")
	}
	v := fingerprint.VersionACI
	if r.Version != nil {
		if *r.Version != 1 && *r.Version != 2 {
			return nil, kindErr("unsupported", "fingerprint version %d", *r.Version)
		}
		v = fingerprint.Version(*r.Version)
	}
	local, err := fingerprint.StableID(v, *r.LocalID)
	if err != nil {
		return nil, kindErr("other", "local_id: %v", err)
	}
	remote, err := fingerprint.StableID(v, *r.RemoteID)
	if err != nil {
		return nil, kindErr("other", "remote_id: %v", err)
	}
	remoteKey, err := prekey.NewIdentityKey(r.RemoteIdentityKey)
	if err != nil {
		return nil, kindErr("invalid_key", "%v: %v", fingerprint.ErrInvalidKey, err)
	}
	f, err := fingerprint.New(v, local, p.identity.PublicKey(), remote, remoteKey)
	if errors.Is(err, fingerprint.ErrInvalidKey) {
		return nil, kindErr("invalid_key", "%v", err)
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"displayable": f.Displayable(), "scannable": f.Scannable().Bytes()}, nil
}
