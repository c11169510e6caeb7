package session

import (
	"context"
	"maps"
	"slices"

	"github.com/interlock-e2ee/interlock/prekey"
)

// memoryLifecycle is MemoryStore's PreKeyManager state (issue #16 item 4),
// guarded by MemoryStore.mu. A key counts as uploaded while the key stored
// under its ID is the one that was marked.
type memoryLifecycle struct {
	last          PreKeyIDs
	uploaded      map[uint32]prekey.PublicKey
	kyberUploaded map[uint32]prekey.KEMPublicKey
}

var _ ManagedStore = (*MemoryStore)(nil)
var _ SessionLister = (*MemoryStore)(nil)

func sortedKeys[V any](m map[uint32]V) []uint32 { return slices.Sorted(maps.Keys(m)) }

// PreKeyIDs implements PreKeyManager.
func (m *MemoryStore) PreKeyIDs(context.Context) ([]uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedKeys(m.preKeys), nil
}

// SignedPreKeyIDs implements PreKeyManager.
func (m *MemoryStore) SignedPreKeyIDs(context.Context) ([]uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedKeys(m.signed), nil
}

// KyberPreKeyIDs implements PreKeyManager.
func (m *MemoryStore) KyberPreKeyIDs(context.Context) ([]uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedKeys(m.kyber), nil
}

// RemoveSignedPreKey implements PreKeyManager.
func (m *MemoryStore) RemoveSignedPreKey(_ context.Context, id uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.signed, id)
	m.forgetKyberUses(id, false)
	return nil
}

// RemoveKyberPreKey implements PreKeyManager.
func (m *MemoryStore) RemoveKyberPreKey(_ context.Context, id uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.kyber, id)
	m.forgetKyberUses(id, true)
	return nil
}

// PreKeyCounts implements PreKeyManager.
func (m *MemoryStore) PreKeyCounts(context.Context) (PreKeyCounts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var c PreKeyCounts
	for id, r := range m.preKeys {
		c.OneTime++
		if !m.preKeyUploadedLocked(id, r) {
			c.OneTimeNotUploaded++
		}
	}
	for id, r := range m.kyber {
		if r.LastResort {
			continue
		}
		c.Kyber++
		if !m.kyberUploadedLocked(id, r) {
			c.KyberNotUploaded++
		}
	}
	return c, nil
}

func (m *MemoryStore) preKeyUploadedLocked(id uint32, r *prekey.PreKeyRecord) bool {
	k, ok := m.lc.uploaded[id]
	return ok && k.Equal(r.KeyPair.Public)
}

func (m *MemoryStore) kyberUploadedLocked(id uint32, r *prekey.KyberPreKeyRecord) bool {
	k, ok := m.lc.kyberUploaded[id]
	return ok && k.Equal(r.KeyPair.Public)
}

// MarkPreKeysUploaded implements PreKeyManager.
func (m *MemoryStore) MarkPreKeysUploaded(_ context.Context, preKeyIDs, kyberIDs []uint32) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lc.uploaded == nil {
		m.lc.uploaded, m.lc.kyberUploaded = map[uint32]prekey.PublicKey{}, map[uint32]prekey.KEMPublicKey{}
	}
	// Forget the marks of keys consumed since.
	for id := range m.lc.uploaded {
		if _, ok := m.preKeys[id]; !ok {
			delete(m.lc.uploaded, id)
		}
	}
	for id := range m.lc.kyberUploaded {
		if _, ok := m.kyber[id]; !ok {
			delete(m.lc.kyberUploaded, id)
		}
	}
	for _, id := range preKeyIDs {
		if r, ok := m.preKeys[id]; ok {
			m.lc.uploaded[id] = r.KeyPair.Public
		}
	}
	for _, id := range kyberIDs {
		if r, ok := m.kyber[id]; ok {
			m.lc.kyberUploaded[id] = r.KeyPair.Public
		}
	}
	return nil
}

// NotUploadedPreKeyIDs implements PreKeyManager.
func (m *MemoryStore) NotUploadedPreKeyIDs(context.Context) (preKeyIDs, kyberIDs []uint32, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range sortedKeys(m.preKeys) {
		if !m.preKeyUploadedLocked(id, m.preKeys[id]) {
			preKeyIDs = append(preKeyIDs, id)
		}
	}
	for _, id := range sortedKeys(m.kyber) {
		if !m.kyberUploadedLocked(id, m.kyber[id]) {
			kyberIDs = append(kyberIDs, id)
		}
	}
	return preKeyIDs, kyberIDs, nil
}

// LastPreKeyIDs implements PreKeyManager.
func (m *MemoryStore) LastPreKeyIDs(context.Context) (PreKeyIDs, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lc.last, nil
}

// SetLastPreKeyIDs implements PreKeyManager.
func (m *MemoryStore) SetLastPreKeyIDs(_ context.Context, ids PreKeyIDs) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lc.last = ids
	return nil
}

// SubDeviceSessions implements SessionLister.
func (m *MemoryStore) SubDeviceSessions(_ context.Context, name string) ([]uint32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []uint32
	for a := range m.sessions {
		if a.Name == name {
			out = append(out, a.DeviceID)
		}
	}
	slices.Sort(out)
	return out, nil
}
