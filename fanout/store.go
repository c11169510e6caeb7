package fanout

import (
	"context"
	"sync"

	"github.com/interlock-e2ee/interlock/session"
)

// DistributionStore records which devices hold which of our sender-key
// chains. A chain is named by its distribution ID (group.SenderKeyName's
// DistributionID) and chain ID. It must be safe for concurrent use.
type DistributionStore interface {
	// SharedWith returns which of addrs hold the chain (absent: not).
	SharedWith(ctx context.Context, distributionID string, chainID uint32, addrs []session.Address) (map[session.Address]bool, error)
	// MarkShared records that addrs hold the chain.
	MarkShared(ctx context.Context, distributionID string, chainID uint32, addrs []session.Address) error
	// ForgetShared forgets that addrs hold any chain of the distribution;
	// with no addrs, it forgets every device of it.
	ForgetShared(ctx context.Context, distributionID string, addrs ...session.Address) error
}

type sharedKey struct {
	dist    string
	chainID uint32
	addr    session.Address
}

// MemoryDistributionStore is an in-memory DistributionStore.
type MemoryDistributionStore struct {
	mu     sync.Mutex
	shared map[sharedKey]struct{}
}

var _ DistributionStore = (*MemoryDistributionStore)(nil)

// NewMemoryDistributionStore returns an empty store.
func NewMemoryDistributionStore() *MemoryDistributionStore {
	return &MemoryDistributionStore{shared: map[sharedKey]struct{}{}}
}

// SharedWith implements DistributionStore.
func (m *MemoryDistributionStore) SharedWith(_ context.Context, dist string, chainID uint32, addrs []session.Address) (map[session.Address]bool, error) {
	out := make(map[session.Address]bool)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range addrs {
		if _, ok := m.shared[sharedKey{dist, chainID, a}]; ok {
			out[a] = true
		}
	}
	return out, nil
}

// MarkShared implements DistributionStore.
func (m *MemoryDistributionStore) MarkShared(_ context.Context, dist string, chainID uint32, addrs []session.Address) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range addrs {
		m.shared[sharedKey{dist, chainID, a}] = struct{}{}
	}
	return nil
}

// ForgetShared implements DistributionStore.
func (m *MemoryDistributionStore) ForgetShared(_ context.Context, dist string, addrs ...session.Address) error {
	drop := make(map[session.Address]bool, len(addrs))
	for _, a := range addrs {
		drop[a] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.shared {
		if k.dist == dist && (len(addrs) == 0 || drop[k.addr]) {
			delete(m.shared, k)
		}
	}
	return nil
}
