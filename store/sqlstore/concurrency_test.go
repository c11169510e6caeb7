package sqlstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// TestConcurrentConversations: 64 goroutines run 256 conversations among 32
// accounts of one database, 50,000 messages in all (5,000 under the race
// detector, which slows the pure-Go SQLite down tenfold; 2,000 over 64
// conversations with -short; INTERLOCK_STRESS_MESSAGES overrides the count). Every account has one Cipher shared by every
// goroutine that talks for it, so one Store sees many concurrent
// transactions. Messages are delivered in small shuffled batches, some twice;
// every message must decrypt exactly once. Commits are not flushed to disk
// (RelaxedDurability): the test is about concurrency, TestCrash about
// durability.
func TestConcurrentConversations(t *testing.T) {
	cfg := concurrencyConfig{workers: 64, accounts: 32, conversations: 256, messages: 50000}
	switch {
	case testing.Short():
		cfg.conversations, cfg.messages = 64, 2000
	case raceEnabled:
		cfg.messages = 5000
	}
	if n, err := strconv.Atoi(os.Getenv("INTERLOCK_STRESS_MESSAGES")); err == nil && n >= cfg.conversations {
		cfg.messages = n
	}
	backends(t, func(t *testing.T, db *sqlstore.DB) {
		start := time.Now()
		runConcurrent(t, db, cfg)
		t.Logf("%d messages in %d conversations by %d goroutines: %v", cfg.messages, cfg.conversations, cfg.workers, time.Since(start).Round(time.Millisecond))
	}, sqlstore.RelaxedDurability())
}

type concurrencyConfig struct{ workers, accounts, conversations, messages int }

type party struct {
	addr   session.Address
	id     prekey.IdentityKeyPair
	reg    uint32
	store  *sqlstore.Store
	cipher *session.Cipher
}

// bundleWithID stores prekeys under id and returns their bundle.
func (p *party) bundleWithID(ctx context.Context, id uint32) (*prekey.Bundle, error) {
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, p.id, id, time.Now())
	if err != nil {
		return nil, err
	}
	pks, err := prekey.GeneratePreKeys(rand.Reader, id, 1)
	if err != nil {
		return nil, err
	}
	kpk, err := prekey.GenerateKyberPreKey(rand.Reader, p.id, id, false, time.Now())
	if err != nil {
		return nil, err
	}
	if err := p.store.StoreSignedPreKey(ctx, &spk); err != nil {
		return nil, err
	}
	if err := p.store.StorePreKey(ctx, &pks[0]); err != nil {
		return nil, err
	}
	if err := p.store.StoreKyberPreKey(ctx, &kpk); err != nil {
		return nil, err
	}
	return &prekey.Bundle{
		RegistrationID: p.reg, DeviceID: p.addr.DeviceID, IdentityKey: p.id.PublicKey(),
		SignedPreKeyID: id, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		PreKeyID: pks[0].ID, PreKey: pks[0].KeyPair.Public,
		KyberPreKeyID: id, KyberPreKey: kpk.KeyPair.Public, KyberPreKeySignature: kpk.Signature,
	}, nil
}

func newParty(ctx context.Context, db *sqlstore.DB, name string) (*party, error) {
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	reg, err := prekey.GenerateRegistrationID(rand.Reader)
	if err != nil {
		return nil, err
	}
	s, err := db.CreateAccount(ctx, name, id, reg)
	if err != nil {
		return nil, err
	}
	return &party{addr: session.Address{Name: name, DeviceID: 1}, id: id, reg: reg, store: s, cipher: session.NewCipher(s)}, nil
}

func runConcurrent(t *testing.T, db *sqlstore.DB, cfg concurrencyConfig) {
	ctx := context.Background()
	parties := make([]*party, cfg.accounts)
	for i := range parties {
		p, err := newParty(ctx, db, fmt.Sprintf("acct-%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		parties[i] = p
	}
	type conversation struct {
		id   int
		a, b *party
		msgs int
	}
	convs := make([]*conversation, cfg.conversations)
	for i := range convs {
		// Distinct unordered pairs: offsets 1..8 around the ring of accounts.
		a := i % cfg.accounts
		b := (a + 1 + i/cfg.accounts) % cfg.accounts
		convs[i] = &conversation{id: i, a: parties[a], b: parties[b], msgs: cfg.messages / cfg.conversations}
		if i < cfg.messages%cfg.conversations {
			convs[i].msgs++
		}
	}

	var (
		mu        sync.Mutex
		decrypted = make(map[string]int, cfg.messages)
		sent      atomic.Int64
		replays   atomic.Int64
	)
	deliver := func(to, from *party, typ session.MessageType, ct []byte, want string) error {
		pt, err := to.cipher.Decrypt(ctx, from.addr, typ, ct)
		if err != nil {
			return fmt.Errorf("%s decrypting %q from %s: %w", to.addr.Name, want, from.addr.Name, err)
		}
		if string(pt) != want {
			return fmt.Errorf("decrypted %q, want %q", pt, want)
		}
		mu.Lock()
		decrypted[want]++
		n := decrypted[want]
		mu.Unlock()
		if n != 1 {
			return fmt.Errorf("%q decrypted %d times", want, n)
		}
		return nil
	}

	errs := make(chan error, cfg.workers)
	var wg sync.WaitGroup
	for w := range cfg.workers {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(w), 42))
			var mine []*conversation
			for i := w; i < len(convs); i += cfg.workers {
				mine = append(mine, convs[i])
			}
			count := make([]int, len(mine))
			fail := func(err error) { errs <- err }
			// Set-up: b publishes a bundle, a processes it and sends the
			// first (PreKeySignalMessage) message.
			for i, c := range mine {
				bundle, err := c.b.bundleWithID(ctx, uint32(c.id+1))
				if err != nil {
					fail(err)
					return
				}
				if err := c.a.cipher.ProcessBundle(ctx, c.b.addr, bundle); err != nil {
					fail(err)
					return
				}
				text := fmt.Sprintf("c%d-m0", c.id)
				typ, ct, err := c.a.cipher.Encrypt(ctx, c.b.addr, []byte(text))
				if err != nil {
					fail(err)
					return
				}
				if typ != session.TypePreKey {
					fail(fmt.Errorf("first message type %d", typ))
					return
				}
				sent.Add(1)
				if err := deliver(c.b, c.a, typ, ct, text); err != nil {
					fail(err)
					return
				}
				count[i] = 1
			}
			type inflight struct {
				typ  session.MessageType
				ct   []byte
				text string
			}
			for {
				progress := false
				for i, c := range mine {
					if count[i] >= c.msgs {
						continue
					}
					progress = true
					from, to := c.a, c.b
					if rng.IntN(2) == 1 {
						from, to = c.b, c.a
					}
					batch := make([]inflight, min(1+rng.IntN(3), c.msgs-count[i]))
					for j := range batch {
						text := fmt.Sprintf("c%d-m%d", c.id, count[i])
						count[i]++
						typ, ct, err := from.cipher.Encrypt(ctx, to.addr, []byte(text))
						if err != nil {
							fail(fmt.Errorf("%s encrypting %q: %w", from.addr.Name, text, err))
							return
						}
						sent.Add(1)
						batch[j] = inflight{typ, ct, text}
					}
					rng.Shuffle(len(batch), func(x, y int) { batch[x], batch[y] = batch[y], batch[x] })
					for _, m := range batch {
						if err := deliver(to, from, m.typ, m.ct, m.text); err != nil {
							fail(err)
							return
						}
						if rng.IntN(25) == 0 {
							replays.Add(1)
							// Refused (ErrDuplicateMessage from the Double
							// Ratchet, ErrInvalidMessage when a post-quantum
							// layer refuses first), never decrypted.
							_, err := to.cipher.Decrypt(ctx, from.addr, m.typ, m.ct)
							if !errors.Is(err, session.ErrDuplicateMessage) && !errors.Is(err, session.ErrInvalidMessage) {
								fail(fmt.Errorf("redelivered %q: %v, want it refused", m.text, err))
								return
							}
						}
					}
				}
				if !progress {
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if int(sent.Load()) != cfg.messages || len(decrypted) != cfg.messages {
		t.Fatalf("sent %d, decrypted %d distinct messages; want %d", sent.Load(), len(decrypted), cfg.messages)
	}
	for text, n := range decrypted {
		if n != 1 {
			t.Errorf("%q decrypted %d times", text, n)
		}
	}
	// Every one-time prekey was consumed exactly once.
	for _, p := range parties {
		ids, err := p.store.PreKeyIDs(ctx)
		if err != nil || len(ids) != 0 {
			t.Errorf("%s has one-time prekeys left: %v (%v)", p.addr.Name, ids, err)
		}
	}
	t.Logf("%d redeliveries refused as duplicates", replays.Load())
}
