package ratchet

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
)

// Header is what a message carries about the ratchet: the sender's current
// ratchet public key, the message's index in its sending chain, and the
// length of the sender's previous sending chain.
type Header struct {
	RatchetKey      curve.PublicKey
	Counter         uint32
	PreviousCounter uint32
}

// skippedKey is a message key kept for a message not yet received. Only the
// seed is kept; the keys are expanded when it is used (Double Ratchet §3.2,
// "MKSKIPPED"), as libsignal's newer records do.
type skippedKey struct {
	seed    [32]byte
	counter uint32
	// keys is set for a key stored with its keys instead of a seed (see
	// compat.go, issue #15 item 1); seed is then unused.
	keys *storedKeys
}

// receiverChain is a receiving chain: the sender's ratchet key, the next
// position, and the skipped keys (oldest first).
type receiverChain struct {
	ratchetKey curve.PublicKey
	chain      ChainKey
	skipped    []skippedKey
}

// State is the Double Ratchet state of one session (Double Ratchet §3.2): root
// key, sending ratchet key pair and chain, and up to MaxReceiverChains
// receiving chains (oldest first). It performs no I/O; randomness is passed in.
//
// A State is not safe for concurrent use; the session package serialises
// access per address.
type State struct {
	RootKey         [32]byte
	SenderRatchet   curve.KeyPair
	SenderChain     ChainKey
	PreviousCounter uint32
	hasSender       bool
	receivers       []receiverChain
	// inline backs receivers in copies made by CloneInto while they hold
	// fewer than len(inline) chains, saving an allocation per copy.
	inline [3]receiverChain
}

// InitAlice builds the initiator's state from the key-agreement output
// (X3DH §3.3 / PQXDH §3.3 then Double Ratchet §3.3 RatchetInitAlice): the
// responder's signed prekey is its first ratchet key; Alice receives on it
// with chainKey and performs a root step with a fresh ratchet key pair for her
// sending chain.
func InitAlice(rand io.Reader, rootKey, chainKey [32]byte, theirRatchet curve.PublicKey) (*State, error) {
	kp, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return nil, err
	}
	return initAliceWith(kp, rootKey, chainKey, theirRatchet)
}

func initAliceWith(kp curve.KeyPair, rootKey, chainKey [32]byte, theirRatchet curve.PublicKey) (*State, error) {
	rk, sendCK, err := rootStepDH(rootKey, kp.Private, theirRatchet)
	if err != nil {
		return nil, err
	}
	return &State{
		RootKey:       rk,
		SenderRatchet: kp,
		SenderChain:   sendCK,
		hasSender:     true,
		receivers:     []receiverChain{{ratchetKey: theirRatchet, chain: ChainKey{Key: chainKey}}},
	}, nil
}

// InitBob builds the responder's state (Double Ratchet §3.3 RatchetInitBob):
// Bob sends on his signed prekey pair with chainKey; he has no receiving chain
// until Alice's first message arrives.
func InitBob(rootKey, chainKey [32]byte, ourRatchet curve.KeyPair) *State {
	return &State{
		RootKey:       rootKey,
		SenderRatchet: ourRatchet,
		SenderChain:   ChainKey{Key: chainKey},
		hasSender:     true,
	}
}

// Send returns the header and keys of the next outgoing message and advances
// the sending chain (Double Ratchet §3.4 RatchetEncrypt).
func (s *State) Send() (Header, MessageKeys, error) { return s.SendSalted(nil) }

// SendSalted is Send with a salt for the message keys: the triple ratchet's
// SPQR message key (Double Ratchet rev. 3 §5), or nil.
func (s *State) SendSalted(salt []byte) (Header, MessageKeys, error) {
	if !s.hasSender {
		return Header{}, MessageKeys{}, ErrNoSenderChain
	}
	ck := s.SenderChain
	if ck.Index == ^uint32(0) {
		return Header{}, MessageKeys{}, errors.New("ratchet: sending chain exhausted")
	}
	buf := new(stepScratch)
	next := ck.stepInto(buf)
	mk := deriveMessageKeys(buf, salt, ck.Index)
	clear(buf[:])
	h := Header{RatchetKey: s.SenderRatchet.Public, Counter: ck.Index, PreviousCounter: s.PreviousCounter}
	s.SenderChain = next
	return h, mk, nil
}

// HasReceiverChain reports whether the state has received on ratchet key k.
func (s *State) HasReceiverChain(k curve.PublicKey) bool {
	return s.findReceiver(k) >= 0
}

// ReceiverChains returns the number of receiving chains held.
func (s *State) ReceiverChains() int { return len(s.receivers) }

func (s *State) findReceiver(k curve.PublicKey) int {
	for i := range s.receivers {
		if s.receivers[i].ratchetKey.Equal(k) {
			return i
		}
	}
	return -1
}

// Receive finds or derives the message keys for h and calls open with them.
// The state changes only if open returns nil (Double Ratchet §3.5
// RatchetDecrypt with libsignal's limits): a failed authentication leaves the
// state exactly as it was. rand supplies the new ratchet key pair when h
// carries a new ratchet key.
func (s *State) Receive(rand io.Reader, h Header, open func(MessageKeys) error) error {
	return s.ReceiveSalted(rand, h, nil, open)
}

func noSalt() ([]byte, error) { return nil, nil }

// openWith derives the message keys from the seed in buf with the salt,
// calls open, and clears buf.
func openWith(buf *stepScratch, counter uint32, salt func() ([]byte, error), open func(MessageKeys) error) error {
	defer clear(buf[:])
	sl, err := salt()
	if err != nil {
		return err
	}
	return open(deriveMessageKeys(buf, sl, counter))
}

// ReceiveSalted is Receive with a salt for the message keys: salt is called
// once the Double Ratchet has found the message's key (after its duplicate
// and forward-jump checks, as libsignal orders them) and returns the SPQR key
// that came with this message, or nil. Skipped keys are kept as seeds, so a
// late message is salted with its own SPQR key when it arrives.
func (s *State) ReceiveSalted(rand io.Reader, h Header, salt func() ([]byte, error), open func(MessageKeys) error) error {
	return s.ReceiveLimited(rand, h, Limits{MaxJump: MaxForwardJumps, NewChain: true}, salt, open)
}

// Limits bound the work ReceiveLimited may spend on a message before open
// has authenticated it. Every check runs before the first derivation, so a
// header outside the limits costs no key derivation at all.
type Limits struct {
	// MaxJump is how far ahead of its receiving chain a message's counter
	// may be; it is capped at MaxForwardJumps. A new chain starts at 0.
	MaxJump uint32
	// NewChain lets a ratchet key the state has not received on start a
	// new receiving chain, which costs a DH ratchet step (an X25519
	// agreement and a root-key derivation) before authentication. Without
	// it such a message fails with ErrUnknownChain.
	NewChain bool
	// Work, when not nil, is increased by the derivations done.
	Work *Work
}

// Work counts Double Ratchet key derivations, so that the cost a message can
// cause is measurable without a clock.
type Work struct {
	// DH counts X25519 agreements (and key pairs generated for a DH step).
	DH int
	// ChainSteps counts symmetric-key ratchet steps (KDF_CK: two HMAC-SHA256).
	ChainSteps int
	// KDF counts HKDF expansions: root-key steps and message keys.
	KDF int
}

// Total is the number of derivations of any kind.
func (w Work) Total() int { return w.DH + w.ChainSteps + w.KDF }

func (w *Work) add(dh, steps, kdf int) {
	if w != nil {
		w.DH += dh
		w.ChainSteps += steps
		w.KDF += kdf
	}
}

// ErrUnknownChain: the message's ratchet key starts a new receiving chain and
// the Limits given to ReceiveLimited did not allow one.
var ErrUnknownChain = errors.New("ratchet: no receiving chain for this ratchet key")

// ReceiveLimited is ReceiveSalted within lim: a counter more than
// lim.MaxJump ahead of its chain is ErrTooFar, and an unknown ratchet key is
// ErrUnknownChain unless lim.NewChain, both before any derivation. The
// session package uses it to bound the work a forged message can cause on
// archived states (issue #20 item 5); ReceiveSalted applies libsignal's
// limits.
func (s *State) ReceiveLimited(rand io.Reader, h Header, lim Limits, salt func() ([]byte, error), open func(MessageKeys) error) error {
	if salt == nil {
		salt = noSalt
	}
	lim.MaxJump = min(lim.MaxJump, MaxForwardJumps)
	if mutant.On(mutant.SkippedKeysUnbounded) {
		lim.MaxJump = math.MaxUint32 // mutant: no forward-jump limit
	}
	if i := s.findReceiver(h.RatchetKey); i >= 0 {
		return s.receiveExisting(i, h, lim, salt, open)
	}
	if !lim.NewChain {
		return ErrUnknownChain
	}
	return s.receiveNewChain(rand, h, lim, salt, open)
}

func (s *State) receiveExisting(i int, h Header, lim Limits, salt func() ([]byte, error), open func(MessageKeys) error) error {
	rc := &s.receivers[i]
	if h.Counter < rc.chain.Index {
		j := slices.IndexFunc(rc.skipped, func(k skippedKey) bool { return k.counter == h.Counter })
		if j < 0 {
			return ErrDuplicateMessage
		}
		if rc.skipped[j].keys != nil {
			return rc.openStored(j, salt, open, lim.Work)
		}
		buf := new(stepScratch)
		*buf.seed() = rc.skipped[j].seed
		lim.Work.add(0, 0, 1)
		if err := openWith(buf, h.Counter, salt, open); err != nil {
			return err
		}
		if mutant.On(mutant.ReplayWindowMissing) {
			return nil // mutant: the used key is kept, the message decrypts again
		}
		rc.skipped = slices.Delete(rc.skipped, j, j+1)
		return nil
	}
	if h.Counter-rc.chain.Index > lim.MaxJump {
		return ErrTooFar
	}
	seed := new(stepScratch)
	next, skipped, err := advance(rc.chain, h.Counter, seed)
	if err != nil {
		return err
	}
	lim.Work.add(0, int(h.Counter-rc.chain.Index)+1, 1)
	if err := openWith(seed, h.Counter, salt, open); err != nil {
		if mutant.On(mutant.StateOnFailure) {
			rc.chain = next // mutant: the chain advanced by a message that failed
		}
		return err
	}
	rc.chain = next
	rc.skipped = appendSkipped(rc.skipped, skipped)
	return nil
}

func (s *State) receiveNewChain(rand io.Reader, h Header, lim Limits, salt func() ([]byte, error), open func(MessageKeys) error) error {
	if !s.hasSender {
		return ErrNoSenderChain
	}
	if h.Counter > lim.MaxJump {
		return ErrTooFar
	}
	lim.Work.add(1, 0, 1)
	rk, recvCK, err := rootStepDH(s.RootKey, s.SenderRatchet.Private, h.RatchetKey)
	if err != nil {
		return fmt.Errorf("ratchet: receiving chain: %w", err)
	}
	seed := new(stepScratch)
	next, skipped, err := advance(recvCK, h.Counter, seed)
	if err != nil {
		return err
	}
	lim.Work.add(0, int(h.Counter)+1, 1)
	if err := openWith(seed, h.Counter, salt, open); err != nil {
		if mutant.On(mutant.StateOnFailure) {
			// mutant: the chain of a message that failed is kept
			s.receivers = append(s.receivers, receiverChain{ratchetKey: h.RatchetKey, chain: next})
		}
		return err
	}
	// Authenticated: take the DH ratchet step (Double Ratchet §3.5 DHRatchet).
	lim.Work.add(2, 0, 1) // a key pair, an agreement and a root step
	kp, err := curve.GenerateKeyPair(rand)
	if err != nil {
		return err
	}
	rk2, sendCK, err := rootStepDH(rk, kp.Private, h.RatchetKey)
	if err != nil {
		return err
	}
	s.PreviousCounter = max(s.SenderChain.Index, 1) - 1
	s.RootKey = rk2
	s.SenderRatchet = kp
	s.SenderChain = sendCK
	s.receivers = append(s.receivers, receiverChain{
		ratchetKey: h.RatchetKey,
		chain:      next,
		skipped:    appendSkipped(nil, skipped),
	})
	if n := len(s.receivers); n > MaxReceiverChains {
		s.receivers = slices.Delete(s.receivers, 0, n-MaxReceiverChains)
	}
	return nil
}

// advance derives the seed of message `counter` from chain position c, left
// in buf, and the skipped keys before it (at most the newest MaxMessageKeys
// of them).
func advance(c ChainKey, counter uint32, buf *stepScratch) (ChainKey, []skippedKey, error) {
	if counter < c.Index {
		return c, nil, ErrDuplicateMessage
	}
	jump := counter - c.Index
	if jump > MaxForwardJumps && !mutant.On(mutant.SkippedKeysUnbounded) {
		return c, nil, ErrTooFar
	}
	var skipped []skippedKey
	if jump > 0 {
		skipped = make([]skippedKey, 0, min(jump, MaxMessageKeys))
	}
	for c.Index < counter {
		if counter-c.Index <= MaxMessageKeys {
			next := c.stepInto(buf)
			skipped = append(skipped, skippedKey{seed: *buf.seed(), counter: c.Index})
			c = next
		} else {
			c = c.Next()
		}
	}
	next := c.stepInto(buf)
	return next, skipped, nil
}

// appendSkipped adds keys (oldest first) and drops the oldest beyond MaxMessageKeys.
func appendSkipped(dst, keys []skippedKey) []skippedKey {
	if len(keys) == 0 {
		return dst
	}
	dst = append(dst, keys...)
	if n := len(dst); n > MaxMessageKeys {
		dst = slices.Delete(dst, 0, n-MaxMessageKeys)
	}
	return dst
}

// SkippedKeys returns the number of skipped message keys held in all chains.
func (s *State) SkippedKeys() int {
	n := 0
	for _, rc := range s.receivers {
		n += len(rc.skipped)
	}
	return n
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	c := new(State)
	s.CloneInto(c)
	return c
}

// CloneInto sets *dst to a deep copy of s, so that a caller can allocate
// the copy together with other data.
func (s *State) CloneInto(dst *State) {
	*dst = *s
	dst.inline = [len(dst.inline)]receiverChain{}
	if n := len(s.receivers); n < len(dst.inline) {
		dst.receivers = dst.inline[:n:len(dst.inline)] // room for one new chain
	} else {
		dst.receivers = make([]receiverChain, n, n+1)
	}
	for i, rc := range s.receivers {
		dst.receivers[i] = rc
		dst.receivers[i].skipped = slices.Clone(rc.skipped)
	}
}

// MarshalProto writes the ratchet part of a stored session (root key,
// previous counter, sender chain, receiver chains) into pb.
func (s *State) MarshalProto(pb *signalpb.SessionStructure) {
	pb.RootKey = append([]byte(nil), s.RootKey[:]...)
	pb.PreviousCounter = s.PreviousCounter
	if s.hasSender {
		pb.SenderChain = &signalpb.SessionStructure_Chain{
			SenderRatchetKey:        s.SenderRatchet.Public.Bytes(),
			SenderRatchetKeyPrivate: s.SenderRatchet.Private.Bytes(),
			ChainKey:                &signalpb.SessionStructure_Chain_ChainKey{Index: s.SenderChain.Index, Key: append([]byte(nil), s.SenderChain.Key[:]...)},
		}
	}
	pb.ReceiverChains = make([]*signalpb.SessionStructure_Chain, len(s.receivers))
	for i, rc := range s.receivers {
		c := &signalpb.SessionStructure_Chain{
			SenderRatchetKey: rc.ratchetKey.Bytes(),
			ChainKey:         &signalpb.SessionStructure_Chain_ChainKey{Index: rc.chain.Index, Key: append([]byte(nil), rc.chain.Key[:]...)},
			MessageKeys:      make([]*signalpb.SessionStructure_Chain_MessageKey, len(rc.skipped)),
		}
		for j, k := range rc.skipped {
			c.MessageKeys[j] = k.toProto()
		}
		pb.ReceiverChains[i] = c
	}
}

// ErrCorruptState is returned for a stored state that does not parse.
var ErrCorruptState = errors.New("ratchet: corrupt stored state")

// UnmarshalProto reads the ratchet part of a stored session. Stored records
// are trusted less than memory: every length is checked.
func UnmarshalProto(pb *signalpb.SessionStructure) (*State, error) {
	s := new(State)
	if err := UnmarshalProtoInto(pb, s); err != nil {
		return nil, err
	}
	return s, nil
}

// UnmarshalProtoInto is UnmarshalProto into *s, so that a caller can
// allocate the state together with other data. *s must be the zero State.
func UnmarshalProtoInto(pb *signalpb.SessionStructure, s *State) error {
	s.PreviousCounter = pb.GetPreviousCounter()
	if len(pb.GetRootKey()) != 32 {
		return fmt.Errorf("%w: root key", ErrCorruptState)
	}
	copy(s.RootKey[:], pb.GetRootKey())
	if sc := pb.GetSenderChain(); sc != nil {
		kp, err := curve.NewStoredKeyPair(sc.GetSenderRatchetKeyPrivate(), sc.GetSenderRatchetKey())
		if err != nil {
			return fmt.Errorf("%w: sender ratchet key: %w", ErrCorruptState, err)
		}
		s.SenderRatchet = kp
		ck, err := chainFromProto(sc.GetChainKey())
		if err != nil {
			return err
		}
		s.SenderChain = ck
		s.hasSender = true
	}
	if len(pb.GetReceiverChains()) > MaxReceiverChains {
		return fmt.Errorf("%w: %d receiver chains", ErrCorruptState, len(pb.GetReceiverChains()))
	}
	if n := len(pb.GetReceiverChains()); n > 0 && n < len(s.inline) {
		s.receivers = s.inline[:0:len(s.inline)] // room for one new chain, as CloneInto leaves
	}
	for _, c := range pb.GetReceiverChains() {
		pub, err := curve.NewPublicKey(c.GetSenderRatchetKey())
		if err != nil {
			return fmt.Errorf("%w: receiver ratchet key: %w", ErrCorruptState, err)
		}
		ck, err := chainFromProto(c.GetChainKey())
		if err != nil {
			return err
		}
		if len(c.GetMessageKeys()) > MaxMessageKeys {
			return fmt.Errorf("%w: %d skipped keys", ErrCorruptState, len(c.GetMessageKeys()))
		}
		rc := receiverChain{ratchetKey: pub, chain: ck, skipped: make([]skippedKey, 0, len(c.GetMessageKeys()))}
		for _, mk := range c.GetMessageKeys() {
			k, err := skippedFromProto(mk)
			if err != nil {
				return err
			}
			rc.skipped = append(rc.skipped, k)
		}
		s.receivers = append(s.receivers, rc)
	}
	return nil
}

func chainFromProto(c *signalpb.SessionStructure_Chain_ChainKey) (ChainKey, error) {
	if c == nil || len(c.GetKey()) != 32 {
		return ChainKey{}, fmt.Errorf("%w: chain key", ErrCorruptState)
	}
	var ck ChainKey
	ck.Index = c.GetIndex()
	copy(ck.Key[:], c.GetKey())
	return ck, nil
}
