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

// DeleteSession implements SessionStore.
func (m *MemoryStore) DeleteSession(_ context.Context, addr Address) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, addr)
	return nil
}

// AreTrustedIdentities implements BatchIdentityStore, as IsTrustedIdentity
// for each entry; under PerAccount, devices of one account not yet pinned
// that present different keys in the same batch are all untrusted (trust on
// first use cannot pick one).
func (m *MemoryStore) AreTrustedIdentities(_ context.Context, keys map[Address]prekey.IdentityKey, _ Direction) (map[Address]bool, error) {
	out := make(map[Address]bool, len(keys))
	m.mu.Lock()
	defer m.mu.Unlock()
	for a, k := range keys {
		out[a] = m.trustedLocked(a, k)
	}
	if m.idConfig.scope == PerAccount {
		refuseFirstUseConflicts(keys, out)
	}
	return out, nil
}

// refuseFirstUseConflicts marks untrusted every entry of an account whose
// trusted entries disagree on the key: none was pinned (or they would all
// equal the pin), so trust on first use would pin whichever came last.
func refuseFirstUseConflicts(keys map[Address]prekey.IdentityKey, out map[Address]bool) {
	first := make(map[string]prekey.IdentityKey)
	conflict := make(map[string]bool)
	for a, k := range keys {
		if !out[a] {
			continue
		}
		if f, ok := first[a.Name]; !ok {
			first[a.Name] = k
		} else if !f.Equal(k) {
			conflict[a.Name] = true
		}
	}
	for a := range keys {
		if conflict[a.Name] {
			out[a] = false
		}
	}
}
