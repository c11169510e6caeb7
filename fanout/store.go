package fanout

import (
	"bytes"
	"context"
	"sync"

	"github.com/interlock-e2ee/interlock/session"
)

// SharedDevice is a member device and the 1:1 session a chain went to it
// over.
type SharedDevice struct {
	Address session.Address
	// Session names that session (session.State.BaseKey): a device that has
	// another session since — re-installed, or restarted its session — may
	// have lost the chain, and is sent it again (issue #20 item 8). Empty
	// never matches.
	Session []byte
}

// DistributionStore records which devices hold which of our sender-key
// chains, and over which session each got it. A chain is named by its
// distribution ID (group.SenderKeyName's DistributionID) and chain ID. It
// must be safe for concurrent use.
type DistributionStore interface {
	// SharedWith returns which of devices hold the chain over the session
	// given (absent: not, or over another session).
	SharedWith(ctx context.Context, distributionID string, chainID uint32, devices []SharedDevice) (map[session.Address]bool, error)
	// MarkShared records that devices hold the chain, over the sessions
	// given (replacing what was recorded for them).
	MarkShared(ctx context.Context, distributionID string, chainID uint32, devices []SharedDevice) error
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
	shared map[sharedKey][]byte // the session tag
}

var _ DistributionStore = (*MemoryDistributionStore)(nil)

// NewMemoryDistributionStore returns an empty store.
func NewMemoryDistributionStore() *MemoryDistributionStore {
	return &MemoryDistributionStore{shared: map[sharedKey][]byte{}}
}

// SharedWith implements DistributionStore.
func (m *MemoryDistributionStore) SharedWith(_ context.Context, dist string, chainID uint32, devices []SharedDevice) (map[session.Address]bool, error) {
	out := make(map[session.Address]bool)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range devices {
		if tag, ok := m.shared[sharedKey{dist, chainID, d.Address}]; ok && len(d.Session) > 0 && bytes.Equal(tag, d.Session) {
			out[d.Address] = true
		}
	}
	return out, nil
}

// MarkShared implements DistributionStore.
func (m *MemoryDistributionStore) MarkShared(_ context.Context, dist string, chainID uint32, devices []SharedDevice) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range devices {
		m.shared[sharedKey{dist, chainID, d.Address}] = bytes.Clone(d.Session)
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
