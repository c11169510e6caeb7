package session

import (
	"context"

	"github.com/interlock-e2ee/interlock/prekey"
)

var (
	_ BatchSessionStore  = (*MemoryStore)(nil)
	_ BatchIdentityStore = (*MemoryStore)(nil)
)

// LoadSessions implements BatchSessionStore: copies of the stored records,
// under one lock.
func (m *MemoryStore) LoadSessions(_ context.Context, addrs []Address) (map[Address]*Record, error) {
	out := make(map[Address]*Record, len(addrs))
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range addrs {
		if r, ok := m.sessions[a]; ok {
			out[a] = r.Clone()
		}
	}
	return out, nil
}

// StoreSessions implements BatchSessionStore: every record is stored under
// one lock (atomically); the store takes ownership of them.
func (m *MemoryStore) StoreSessions(_ context.Context, records map[Address]*Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for a, r := range records {
		m.sessions[a] = r
	}
	return nil
}

// AreTrustedIdentities implements BatchIdentityStore (trust on first use).
func (m *MemoryStore) AreTrustedIdentities(_ context.Context, keys map[Address]prekey.IdentityKey, _ Direction) (map[Address]bool, error) {
	out := make(map[Address]bool, len(keys))
	m.mu.Lock()
	defer m.mu.Unlock()
	for a, k := range keys {
		old, ok := m.identities[a]
		out[a] = !ok || old.Equal(k)
	}
	return out, nil
}
