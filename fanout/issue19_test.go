package fanout_test

import (
	"context"
	"crypto/rand"
	"sync/atomic"
	"testing"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// rotatingStore is a sender-key store shared with "another process" that
// rotates our chain (empty record, new chain) just before the armed load.
type rotatingStore struct {
	*group.MemoryStore
	self  group.SenderKeyName
	armAt atomic.Int64 // rotate before this load (1-based); 0: never
	loads atomic.Int64
	t     testing.TB
}

func (s *rotatingStore) LoadSenderKey(ctx context.Context, n group.SenderKeyName) (*group.Record, error) {
	if s.loads.Add(1) == s.armAt.Load() && n == s.self {
		if err := s.MemoryStore.StoreSenderKey(ctx, n, group.NewRecord()); err != nil {
			s.t.Error(err)
		}
		if _, err := group.NewCipher(s.MemoryStore).CreateDistributionMessage(ctx, n); err != nil {
			s.t.Error(err)
		}
	}
	return s.MemoryStore.LoadSenderKey(ctx, n)
}

// TestIssue19Item1_ChainRotatedDuringSend: issue #19 item 1 (fanout).
// Another process rotates our chain between Send's distribution message
// and its group message. Before the fix the group message used the new
// chain, which no device had been sent: every device failed to decrypt it.
// Send now sees the chain change and starts again with the new chain.
func TestIssue19Item1_ChainRotatedDuringSend(t *testing.T) {
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	keys := &rotatingStore{MemoryStore: group.NewMemoryStore(), t: t}
	alice := newGroupSender(t, uuidName(0), testDist, session.NewMemoryStore(id, 1), keys, fanout.NewMemoryDistributionStore())
	keys.self = alice.self
	users := []*user{newUser(t, uuidName(1), 2)}
	devs := users[0].devices
	out := alice.send(t, devs, "one")
	alice.deliver(t, out, devs)
	// The next Send loads the chain twice (distribution, then Encrypt):
	// rotate before the second.
	keys.armAt.Store(keys.loads.Load() + 2)
	out = alice.send(t, devs, "two")
	m, err := group.ParseSenderKeyMessage(out.SenderKeyMessage, group.LayoutSignal)
	if err != nil {
		t.Fatal(err)
	}
	if m.ChainID != out.ChainID {
		t.Fatalf("the group message uses chain %d, the devices were sent chain %d", m.ChainID, out.ChainID)
	}
	alice.deliver(t, out, devs)
}
