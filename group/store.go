package group

import (
	"context"
	"fmt"
	"sync"
)

// SenderKeyName identifies one sender's chain in one group.
type SenderKeyName struct {
	Sender   string // the sender's name (address name)
	DeviceID uint32
	// DistributionID is, in LayoutSignal, the distribution UUID in canonical
	// lowercase string form; in LayoutWhatsApp, the application's group ID.
	DistributionID string
}

// String returns "distribution/sender.device".
func (n SenderKeyName) String() string {
	return fmt.Sprintf("%s/%s.%d", n.DistributionID, n.Sender, n.DeviceID)
}

// SenderKeyStore keeps one Record per SenderKeyName. It must be safe for
// concurrent use.
type SenderKeyStore interface {
	// LoadSenderKey returns (nil, nil) when there is none; it returns a copy
	// the caller may modify.
	LoadSenderKey(ctx context.Context, name SenderKeyName) (*Record, error)
	StoreSenderKey(ctx context.Context, name SenderKeyName, r *Record) error
}

// MemoryStore is an in-memory SenderKeyStore, safe for concurrent use.
// Records are copied in and out.
type MemoryStore struct {
	mu      sync.Mutex
	records map[SenderKeyName]*Record
}

var _ SenderKeyStore = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[SenderKeyName]*Record{}}
}

// LoadSenderKey implements SenderKeyStore.
func (m *MemoryStore) LoadSenderKey(_ context.Context, name SenderKeyName) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.records[name]; ok {
		return r.Clone(), nil
	}
	return nil, nil
}

// StoreSenderKey implements SenderKeyStore.
func (m *MemoryStore) StoreSenderKey(_ context.Context, name SenderKeyName, r *Record) error {
	c := r.Clone()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[name] = c
	return nil
}
