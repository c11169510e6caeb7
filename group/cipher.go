package group

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/interlock-e2ee/interlock/internal/aescbc"
	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/kdf"
	"github.com/interlock-e2ee/interlock/internal/mutant"
	"google.golang.org/protobuf/encoding/protowire"
)

// Option configures a Cipher.
type Option func(*Cipher)

// WithLayout sets the layout of the messages the Cipher writes and that
// Decrypt parses (default LayoutSignal). DecryptMessage takes either.
func WithLayout(l Layout) Option { return func(c *Cipher) { c.layout = l } }

// WithRand sets the randomness source (default crypto/rand; nil keeps the
// default). Only tests and vector generators should set it.
func WithRand(r io.Reader) Option {
	return func(c *Cipher) {
		if r != nil {
			c.rand = r
		}
	}
}

// Cipher creates, distributes and uses sender keys over a SenderKeyStore:
// libsignal's group_cipher (create_sender_key_distribution_message,
// process_sender_key_distribution_message, group_encrypt, group_decrypt).
//
// It is safe for concurrent use: operations on one SenderKeyName are
// serialised from loading the record to storing it; operations on
// different names run in parallel.
type Cipher struct {
	store  SenderKeyStore
	layout Layout
	rand   io.Reader
	log    *slog.Logger // WithLogger (commit.go)

	mu    sync.Mutex
	locks map[SenderKeyName]*nameLock
}

type nameLock struct {
	sync.Mutex
	refs int
}

// NewCipher returns a Cipher over store.
func NewCipher(store SenderKeyStore, opts ...Option) *Cipher {
	c := &Cipher{store: store, rand: rand.Reader, locks: map[SenderKeyName]*nameLock{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Layout returns the layout the Cipher writes.
func (c *Cipher) Layout() Layout { return c.layout }

func (c *Cipher) lock(n SenderKeyName) func() {
	c.mu.Lock()
	l := c.locks[n]
	if l == nil {
		l = &nameLock{}
		c.locks[n] = l
	}
	l.refs++
	c.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		c.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(c.locks, n)
		}
		c.mu.Unlock()
	}
}

// ownName checks the name of one of our own chains: in LayoutSignal the
// distribution ID must be a UUID and is used in canonical lowercase form.
func (c *Cipher) ownName(n SenderKeyName) (SenderKeyName, [16]byte, error) {
	if !c.layout.valid() {
		return n, [16]byte{}, fmt.Errorf("group: unknown layout %d", int(c.layout))
	}
	if c.layout == LayoutWhatsApp {
		return n, [16]byte{}, nil
	}
	u, ok := parseUUID(n.DistributionID)
	if !ok {
		return n, u, fmt.Errorf("group: distribution ID %q is not a UUID", n.DistributionID)
	}
	n.DistributionID = formatUUID(u[:])
	return n, u, nil
}

// senderName resolves the name a received message is filed under. In
// LayoutSignal the message names its distribution: name.DistributionID may
// be empty (taken from the message) or must be the same UUID. In
// LayoutWhatsApp the application names the group and name is used as is.
func senderName(n SenderKeyName, layout Layout, dist string) (SenderKeyName, error) {
	if layout != LayoutSignal {
		return n, nil
	}
	if n.DistributionID != "" {
		u, ok := parseUUID(n.DistributionID)
		if !ok || formatUUID(u[:]) != dist {
			return n, invalid("message for distribution %s, expected %q", dist, n.DistributionID)
		}
	}
	n.DistributionID = dist
	return n, nil
}

func (c *Cipher) save(ctx context.Context, n SenderKeyName, r *Record) error {
	return c.saveTo(ctx, c.store, n, r)
}

// loadFrom and saveTo load and store through st, the store of the
// operation's transaction (see transact).
func (c *Cipher) loadFrom(ctx context.Context, st SenderKeyStore, n SenderKeyName) (*Record, error) {
	r, err := st.LoadSenderKey(ctx, n)
	if err != nil {
		return nil, storeError("loading", n, err)
	}
	return r, nil
}

func (c *Cipher) saveTo(ctx context.Context, st SenderKeyStore, n SenderKeyName, r *Record) error {
	if err := st.StoreSenderKey(ctx, n, r); err != nil {
		return storeError("storing", n, err)
	}
	return nil
}

// storeError wraps a SenderKeyStore's error about n, naming n only when the
// store's message does not already (sqlstore's do), so that an error names
// the sender key once (issue #16 item 6).
func storeError(op string, n SenderKeyName, err error) error {
	if strings.Contains(err.Error(), n.String()) {
		return fmt.Errorf("group: %s sender key: %w", op, err)
	}
	return fmt.Errorf("group: %s sender key %s: %w", op, n, err)
}

// CreateDistributionMessage returns the distribution message for our own
// chain self (self.Sender and self.DeviceID are our address). When there is
// no chain yet it creates one, as libsignal does: a random 31-bit chain ID,
// a random 32-byte chain key at iteration 0 and a fresh signing key pair.
// Otherwise the message carries the current chain key and iteration, so a
// member that joins late cannot read earlier messages.
func (c *Cipher) CreateDistributionMessage(ctx context.Context, self SenderKeyName) (m *SenderKeyDistributionMessage, err error) {
	name, _, err := c.ownName(self)
	if err != nil {
		return nil, err
	}
	defer c.lock(name)()
	err = c.transact(ctx, func(st SenderKeyStore) (err error) {
		m, err = c.createDistributionMessage(ctx, st, self)
		return err
	})
	return m, err
}

// createDistributionMessage is CreateDistributionMessage in the
// transaction of st; the caller holds the name's lock.
func (c *Cipher) createDistributionMessage(ctx context.Context, st SenderKeyStore, self SenderKeyName) (*SenderKeyDistributionMessage, error) {
	self, uuid, err := c.ownName(self)
	if err != nil {
		return nil, err
	}
	rec, err := c.loadFrom(ctx, st, self)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.IsEmpty() {
		s, err := c.newChain()
		if err != nil {
			return nil, err
		}
		rec = NewRecord()
		rec.add(s)
		if err := c.saveTo(ctx, st, self, rec); err != nil {
			return nil, err
		}
		c.logNewChain(ctx, self, s.chainID, s.iteration, true, false)
	}
	s := rec.newest()
	b := marshalDistribution(c.layout, &uuid, s.chainID, s.iteration, s.chainKey[:], s.signingPub)
	return ParseSenderKeyDistributionMessage(b, c.layout)
}

func (c *Cipher) newChain() (*state, error) {
	var buf [4 + ChainKeySize]byte
	if _, err := io.ReadFull(c.rand, buf[:]); err != nil {
		return nil, fmt.Errorf("group: random: %w", err)
	}
	kp, err := curve.GenerateKeyPair(c.rand)
	if err != nil {
		return nil, fmt.Errorf("group: signing key: %w", err)
	}
	s := &state{
		version:    Version,
		chainID:    binary.BigEndian.Uint32(buf[:4]) >> 1,
		signingPub: kp.Public,
		signing:    kp.Private,
	}
	copy(s.chainKey[:], buf[4:])
	clear(buf[:])
	return s, nil
}

// ProcessDistributionMessage stores the chain a sender distributed, under
// sender (see DecryptMessage for how the name is resolved). As in libsignal,
// a message for a chain already held with the same signing key leaves that
// chain where it is (a repeated or older distribution message never rewinds
// it) and makes it the newest; a chain ID reused with another signing key
// replaces the old state; at most MaxSenderKeyStates are kept.
func (c *Cipher) ProcessDistributionMessage(ctx context.Context, sender SenderKeyName, m *SenderKeyDistributionMessage) error {
	name, err := senderName(sender, m.Layout, m.DistributionID)
	if err != nil {
		return err
	}
	if len(m.ChainKey) != ChainKeySize || m.SigningKey.IsZero() {
		return invalid("distribution message was not parsed")
	}
	defer c.lock(name)()
	return c.transact(ctx, func(st SenderKeyStore) error { return c.processDistributionMessage(ctx, st, name, m) })
}

// processDistributionMessage is ProcessDistributionMessage in the
// transaction of st, for the resolved name; the caller holds its lock.
func (c *Cipher) processDistributionMessage(ctx context.Context, st SenderKeyStore, name SenderKeyName, m *SenderKeyDistributionMessage) error {
	rec, err := c.loadFrom(ctx, st, name)
	if err != nil {
		return err
	}
	if rec == nil {
		rec = NewRecord()
	}
	s := &state{version: Version, chainID: m.ChainID, iteration: m.Iteration, signingPub: m.SigningKey}
	copy(s.chainKey[:], m.ChainKey)
	old := rec.stateFor(m.ChainID)
	fresh, rotated := old == nil || !old.signingPub.Equal(m.SigningKey), !rec.IsEmpty()
	rec.add(s)
	if err := c.saveTo(ctx, st, name, rec); err != nil {
		return err
	}
	if fresh {
		c.logNewChain(ctx, name, m.ChainID, m.Iteration, false, rotated)
	}
	return nil
}

// step returns the message key seed of a chain key and the next chain key:
// HMAC-SHA256(chain key, 0x01) and HMAC-SHA256(chain key, 0x02).
func step(ck *[ChainKeySize]byte) (seed, next [ChainKeySize]byte) {
	seed = aescbc.HMACSHA256(ck[:], []byte{0x01})
	next = aescbc.HMACSHA256(ck[:], []byte{0x02})
	return
}

// messageKeys derives IV 16 ‖ cipher key 32 = HKDF-SHA256(no salt, seed,
// "WhisperGroup").
func messageKeys(seed *[ChainKeySize]byte) (iv, key []byte, err error) {
	okm, err := kdf.HKDF(seed[:], nil, []byte("WhisperGroup"), 48)
	if err != nil {
		return nil, nil, err
	}
	return okm[:16], okm[16:], nil
}

// Encrypt encrypts plaintext with our own newest chain self and returns the
// signed SenderKeyMessage in the Cipher's layout. It fails with
// ErrNoSenderKey when CreateDistributionMessage has not created the chain.
//
// With a SenderKeyTransactor (sqlstore), loading the chain, stepping it and
// storing it are one transaction that holds the chain's row: two processes
// sending with one chain never use one iteration twice (issue #19 item 1).
func (c *Cipher) Encrypt(ctx context.Context, self SenderKeyName, plaintext []byte) (out []byte, err error) {
	name, _, err := c.ownName(self)
	if err != nil {
		return nil, err
	}
	defer c.lock(name)()
	err = c.transact(ctx, func(st SenderKeyStore) (err error) {
		out, err = c.encrypt(ctx, st, self, plaintext)
		return err
	})
	return out, err
}

// encrypt is Encrypt in the transaction of st; the caller holds the name's
// lock.
func (c *Cipher) encrypt(ctx context.Context, st SenderKeyStore, self SenderKeyName, plaintext []byte) ([]byte, error) {
	self, uuid, err := c.ownName(self)
	if err != nil {
		return nil, err
	}
	rec, err := c.loadFrom(ctx, st, self)
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.IsEmpty() {
		return nil, fmt.Errorf("%w: no chain of our own for %s", ErrNoSenderKey, self)
	}
	s := rec.newest()
	if s.signing.IsZero() {
		return nil, fmt.Errorf("%w: the newest chain for %s has no private signing key", ErrNoSenderKey, self)
	}
	if s.iteration == ^uint32(0) {
		return nil, fmt.Errorf("group: sender chain %s is exhausted", self)
	}
	seed, next := step(&s.chainKey)
	iv, key, err := messageKeys(&seed)
	if err != nil {
		return nil, err
	}
	n := len(plaintext) + 16 - len(plaintext)%16
	body := make([]byte, 0, 1+18+12+2+protowire.SizeVarint(uint64(n))+n+SignatureSize)
	body = append(body, versionByte)
	body = appendHeader(body, c.layout, &uuid, s.chainID, s.iteration)
	body = appendCiphertextTag(body, c.layout, n)
	if body, err = aescbc.AppendEncrypt(body, key, iv, plaintext); err != nil {
		return nil, err
	}
	sig, err := s.signing.Sign(c.rand, body)
	if err != nil {
		return nil, fmt.Errorf("group: sign: %w", err)
	}
	body = append(body, sig...)
	s.chainKey, s.iteration = next, s.iteration+1
	if err := c.saveTo(ctx, st, self, rec); err != nil {
		return nil, err
	}
	return body, nil
}

// Decrypt parses b in the Cipher's layout and decrypts it; see
// DecryptMessage.
func (c *Cipher) Decrypt(ctx context.Context, sender SenderKeyName, b []byte) ([]byte, error) {
	m, err := ParseSenderKeyMessage(b, c.layout)
	if err != nil {
		return nil, err
	}
	return c.DecryptMessage(ctx, sender, m)
}

// DecryptMessage decrypts a SenderKeyMessage of either layout from sender.
//
// In LayoutSignal the message names its distribution: sender.DistributionID
// may be empty (it is taken from the message) or must be that UUID (else
// ErrInvalidMessage). In LayoutWhatsApp the application names the group and
// sender is used as given.
//
// The steps are libsignal's group_decrypt: find the state with the
// message's chain ID (ErrNoSenderKey), verify the signature over the bytes
// as received (ErrInvalidSignature, which also matches ErrInvalidMessage),
// then find the message key: a skipped key for an earlier iteration
// (ErrDuplicateMessage when it was used or dropped), or step the chain
// forward at most MaxForwardJumps (ErrTooFar), keeping up to MaxMessageKeys
// skipped keys. Everything is derived on the side and stored only once the
// ciphertext decrypted: a failure changes nothing stored.
func (c *Cipher) DecryptMessage(ctx context.Context, sender SenderKeyName, m *SenderKeyMessage) ([]byte, error) {
	if m == nil || len(m.raw) < 1+SignatureSize {
		return nil, invalid("message was not parsed")
	}
	name, err := senderName(sender, m.Layout, m.DistributionID)
	if err != nil {
		return nil, err
	}
	defer c.lock(name)()
	var pt []byte
	err = c.transact(ctx, func(st SenderKeyStore) (err error) {
		pt, err = c.decryptMessage(ctx, st, name, m)
		return err
	})
	if err != nil {
		c.logRefused(ctx, sender, m, err) // commit.go
	}
	return pt, err
}

// decryptMessage is DecryptMessage in the transaction of st, for the
// resolved name; the caller holds its lock. On error nothing is stored
// (and the transaction rolls back).
func (c *Cipher) decryptMessage(ctx context.Context, st SenderKeyStore, name SenderKeyName, m *SenderKeyMessage) ([]byte, error) {
	rec, err := c.loadFrom(ctx, st, name)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, fmt.Errorf("%w: none for %s", ErrNoSenderKey, name)
	}
	s := rec.stateFor(m.ChainID)
	if s == nil {
		return nil, fmt.Errorf("%w: no chain %d for %s", ErrNoSenderKey, m.ChainID, name)
	}
	if s.version != Version {
		return nil, invalid("state version %d", s.version)
	}
	if !s.signingPub.VerifySignature(m.signedPart(), m.Signature()) && !mutant.On(mutant.SenderKeyUnsigned) {
		return nil, errBadSignature
	}

	// Find the message key without touching s.
	var seed, nextKey [ChainKeySize]byte
	var fresh []messageKey
	used := -1
	switch {
	case m.Iteration < s.iteration:
		for i, k := range s.skipped {
			if k.iteration == m.Iteration {
				used, seed = i, k.seed
				break
			}
		}
		if used < 0 {
			return nil, fmt.Errorf("%w: iteration %d, chain at %d", ErrDuplicateMessage, m.Iteration, s.iteration)
		}
	default:
		jump := m.Iteration - s.iteration
		if jump > MaxForwardJumps {
			return nil, fmt.Errorf("%w: iteration %d, chain at %d", ErrTooFar, m.Iteration, s.iteration)
		}
		if m.Iteration == ^uint32(0) {
			return nil, invalid("iteration %d cannot be followed", m.Iteration)
		}
		// Only the last MaxMessageKeys skipped keys can survive trimming.
		keepFrom := s.iteration
		if jump > MaxMessageKeys {
			keepFrom = m.Iteration - MaxMessageKeys
		}
		ck := s.chainKey
		for it := s.iteration; it < m.Iteration; it++ {
			sd, nx := step(&ck)
			if it >= keepFrom {
				fresh = append(fresh, messageKey{iteration: it, seed: sd})
			}
			ck = nx
		}
		seed, nextKey = step(&ck)
	}
	iv, key, err := messageKeys(&seed)
	if err != nil {
		return nil, err
	}
	pt, err := aescbc.Decrypt(key, iv, m.Ciphertext)
	if err != nil {
		return nil, invalid("decryption failed: %v", err)
	}

	// Authenticated and decrypted: commit.
	if used >= 0 {
		s.skipped = append(s.skipped[:used], s.skipped[used+1:]...)
	} else {
		s.skipped = append(s.skipped, fresh...)
		if extra := len(s.skipped) - MaxMessageKeys; extra > 0 {
			s.skipped = append(s.skipped[:0], s.skipped[extra:]...)
		}
		s.chainKey, s.iteration = nextKey, m.Iteration+1
	}
	if err := c.saveTo(ctx, st, name, rec); err != nil {
		return nil, err
	}
	return pt, nil
}

// sigError is a bad signature: it matches both ErrInvalidSignature and
// ErrInvalidMessage.
type sigError struct{}

func (sigError) Error() string   { return "group: invalid signature on sender-key message" }
func (sigError) Unwrap() []error { return []error{ErrInvalidSignature, ErrInvalidMessage} }

var errBadSignature error = sigError{}

func appendCiphertextTag(dst []byte, layout Layout, n int) []byte {
	dst = protowire.AppendTag(dst, layout.fields().cipher, protowire.BytesType)
	return protowire.AppendVarint(dst, uint64(n))
}
