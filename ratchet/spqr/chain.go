package spqr

import (
	"encoding/binary"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/kdf"
)

// Default chain limits (libsignal's; SPQR's ChainParams defaults).
const (
	DefaultMaxJump    = 25_000
	DefaultMaxOOOKeys = 2_000
)

// Limits on the chain parameters (issue #20 item 9): they bound the work one
// received message can cause (MaxJump KDF steps) and the key history a state
// holds (about 1.1·MaxOOOKeys entries per epoch), so stored states are held
// to them too. Both are libsignal's (consts::MAX_FORWARD_JUMPS and
// MAX_MESSAGE_KEYS, which it passes as SPQR's ChainParams).
const (
	// MaxJumpLimit is the furthest a receiving chain steps for one message,
	// whatever MaxJump a state holds: NewState refuses a larger MaxJump, but
	// Unmarshal keeps one, because libsignal stores u32::MAX for a session
	// with oneself. Interlock's Double Ratchet never jumps further than
	// ratchet.MaxForwardJumps (also 25,000) in any session either.
	MaxJumpLimit = DefaultMaxJump
	// MaxOOOKeysLimit is the largest MaxOOOKeys; NewState and Unmarshal
	// refuse more.
	MaxOOOKeysLimit = DefaultMaxOOOKeys
	// MaxChainEpochs is the most epochs a chain keeps: the send epoch, the
	// one before it, and the next one once its secret is known (SPQR's
	// EPOCHS_TO_KEEP_PRIOR_TO_SEND_EPOCH = 1; a party learns an epoch's
	// secret only one epoch ahead of the last it sent in).
	MaxChainEpochs = 3
)

// historyLimit is the most entries a key history holds: SPQR's trim size,
// at which KeyHistory::gc runs (src/chain.rs).
func historyLimit(maxOOO uint32) int { return int(maxOOO)*11/10 + 1 }

// Labels of the symmetric chain (Double Ratchet rev. 3, §5 "SPQR"; the
// Start label has two spaces, as SPQR's src/chain.rs).
var (
	labelChainStart    = []byte("Signal PQ Ratchet V1 Chain  Start")
	labelChainAddEpoch = []byte("Signal PQ Ratchet V1 Chain Add Epoch")
	labelChainNext     = []byte("Signal PQ Ratchet V1 Chain Next")
)

const historyEntry = 4 + 32 // BE32 index ‖ key

// direction is one half (send or receive) of an epoch's chain.
type direction struct {
	ctr  uint32
	next []byte // 32 bytes; empty once erased; replaced, never modified in place
	prev []byte // skipped keys: historyEntry-byte entries, unordered
	// shared: prev belongs to the state this one was cloned from (which is
	// never modified again); copy it before the first change (copy-on-write).
	shared bool
}

// own makes prev private before it is modified in place.
func (d *direction) own() {
	if d.shared {
		d.prev = append(make([]byte, 0, len(d.prev)+historyEntry), d.prev...)
		d.shared = false
	}
}

type epochLinks struct{ send, recv direction }

// chain is the SPQR symmetric chain: per epoch one sending and one receiving
// KDF chain, seeded from the epoch secrets the Braid produces.
type chain struct {
	dir          Direction
	currentEpoch uint64
	sendEpoch    uint64
	links        []epochLinks // links[len−1] is currentEpoch
	nextRoot     []byte
	maxJump      uint32 // 0 = default
	maxOOO       uint32 // 0 = default
}

// jump is the effective MaxJump: the stored one, at most MaxJumpLimit.
func (c *chain) jump() uint32 {
	if c.maxJump == 0 {
		return DefaultMaxJump
	}
	return min(c.maxJump, MaxJumpLimit)
}

func (c *chain) ooo() uint32 {
	if c.maxOOO == 0 {
		return DefaultMaxOOOKeys
	}
	return c.maxOOO
}

func splitLinks(okm []byte, dir Direction) epochLinks {
	a2b := direction{next: append([]byte(nil), okm[32:64]...)}
	b2a := direction{next: append([]byte(nil), okm[64:96]...)}
	if dir == A2B {
		return epochLinks{send: a2b, recv: b2a}
	}
	return epochLinks{send: b2a, recv: a2b}
}

// newChain is the chain of epoch 0 from the 32-byte SPQR key: HKDF(0, key,
// Start) → next root ‖ A→B chain ‖ B→A chain.
func newChain(authKey []byte, dir Direction, maxJump, maxOOO uint32) *chain {
	okm := make([]byte, 96)
	_ = kdf.HKDFInto(okm, authKey, nil, labelChainStart)
	return &chain{dir: dir, links: []epochLinks{splitLinks(okm, dir)}, nextRoot: okm[:32:32], maxJump: maxJump, maxOOO: maxOOO}
}

// addEpoch mixes the secret of epoch currentEpoch+1 into the chain.
func (c *chain) addEpoch(epoch uint64, secret []byte) error {
	if epoch != c.currentEpoch+1 {
		return fmt.Errorf("%w: epoch secret %d after %d", ErrState, epoch, c.currentEpoch)
	}
	okm := make([]byte, 96)
	_ = kdf.HKDFInto(okm, secret, c.nextRoot, labelChainAddEpoch)
	c.currentEpoch = epoch
	c.nextRoot = okm[:32:32]
	c.links = append(c.links, splitLinks(okm, c.dir))
	return nil
}

func (c *chain) epochIndex(epoch uint64) (int, error) {
	if epoch > c.currentEpoch || c.currentEpoch-epoch >= uint64(len(c.links)) {
		return 0, fmt.Errorf("%w: epoch %d", ErrEpoch, epoch)
	}
	return len(c.links) - 1 - int(c.currentEpoch-epoch), nil
}

// step advances d by one: ctr+1, HKDF(0, next, BE32(ctr) ‖ Next) → next ‖ key.
func (d *direction) step() (uint32, []byte, error) {
	if len(d.next) != 32 || d.ctr == ^uint32(0) {
		return 0, nil, fmt.Errorf("%w: chain exhausted", ErrState)
	}
	d.ctr++
	info := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(labelChainNext)), d.ctr)
	info = append(info, labelChainNext...)
	okm := make([]byte, 64)
	_ = kdf.HKDFInto(okm, d.next, nil, info)
	d.next = okm[:32:32]
	return d.ctr, okm[32:], nil
}

// sendKey returns the next sending key of epoch (which may not go back) and
// its index; moving to a later epoch keeps one earlier epoch and erases the
// sending chains before it.
func (c *chain) sendKey(epoch uint64) (uint32, []byte, error) {
	if epoch < c.sendEpoch {
		return 0, nil, fmt.Errorf("%w: send epoch decreased (%d → %d)", ErrState, c.sendEpoch, epoch)
	}
	i, err := c.epochIndex(epoch)
	if err != nil {
		return 0, nil, err
	}
	if epoch != c.sendEpoch {
		c.sendEpoch = epoch
		for i > 1 { // keep one epoch before the send epoch
			c.links = c.links[1:]
			i--
		}
		for j := range i {
			c.links[j].send.next = nil
		}
	}
	return c.links[i].send.step()
}

// recvKey returns the receiving key of (epoch, index) once.
func (c *chain) recvKey(epoch uint64, index uint32) ([]byte, error) {
	i, err := c.epochIndex(epoch)
	if err != nil {
		return nil, err
	}
	return c.links[i].recv.key(index, c.jump(), c.ooo())
}

func (d *direction) key(at, maxJump, maxOOO uint32) ([]byte, error) {
	switch {
	case at == d.ctr:
		return nil, fmt.Errorf("%w: key %d", ErrDuplicate, at)
	case at < d.ctr:
		return d.takeSkipped(at, maxOOO)
	case at-d.ctr > maxJump:
		return nil, fmt.Errorf("%w: key %d from %d", ErrTooFar, at, d.ctr)
	}
	if at > d.ctr+1 {
		d.own() // keys are skipped: prev changes
	}
	if uint64(at) > uint64(d.ctr)+uint64(maxOOO) {
		d.prev = d.prev[:0] // every held key is now too old
	}
	for at > d.ctr+1 {
		idx, k, err := d.step()
		if err != nil {
			return nil, err
		}
		if uint64(idx)+uint64(maxOOO) >= uint64(at) {
			d.prev = binary.BigEndian.AppendUint32(d.prev, idx)
			d.prev = append(d.prev, k...)
		}
	}
	d.gc(maxOOO)
	_, k, err := d.step()
	return k, err
}

// removeEntry deletes the entry at byte offset i by moving the last entry
// into its place (SPQR's KeyHistory order, kept so stored states match).
func (d *direction) removeEntry(i int) {
	d.own()
	last := len(d.prev) - historyEntry
	if i < last {
		copy(d.prev[i:i+historyEntry], d.prev[last:])
	}
	d.prev = d.prev[:last]
}

func (d *direction) gc(maxOOO uint32) {
	trim := historyLimit(maxOOO) * historyEntry
	if len(d.prev) < trim || d.ctr < maxOOO {
		return
	}
	horizon := d.ctr - maxOOO
	for i := 0; i < len(d.prev); {
		if binary.BigEndian.Uint32(d.prev[i:]) < horizon {
			d.removeEntry(i)
		} else {
			i += historyEntry
		}
	}
}

func (d *direction) takeSkipped(at, maxOOO uint32) ([]byte, error) {
	if uint64(at)+uint64(maxOOO) < uint64(d.ctr) {
		return nil, fmt.Errorf("%w: key %d trimmed", ErrDuplicate, at)
	}
	for i := 0; i+historyEntry <= len(d.prev); i += historyEntry {
		if binary.BigEndian.Uint32(d.prev[i:]) == at {
			k := append([]byte(nil), d.prev[i+4:i+historyEntry]...)
			d.removeEntry(i)
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: key %d", ErrDuplicate, at)
}

// clone copies the chain for a new immutable State. The byte slices next
// and nextRoot are only ever replaced, so they are shared; prev is shared
// copy-on-write (direction.own).
func (c *chain) clone() *chain {
	n := *c
	n.links = make([]epochLinks, len(c.links), len(c.links)+1)
	copy(n.links, c.links)
	for i := range n.links {
		n.links[i].send.shared = true
		n.links[i].recv.shared = true
	}
	return &n
}
