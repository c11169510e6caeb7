package ratchet

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
)

// A skipped message key is stored in one of two forms
// (SessionStructure.Chain.MessageKey):
//
//   - seed: HMAC(chain key, 0x01), expanded into keys when used; libsignal
//     writes it today and so does Interlock;
//   - keys: the cipher key, MAC key and IV themselves, with no seed; older
//     libsignal records and go.mau.fi/libsignal (the only form it keeps) hold
//     it, and libsignal still reads it (MessageKeyGenerator::Keys).
//
// A keys-form key is kept as given (issue #15 item 1): it opens its message
// with those keys and is written back in the same form. It cannot carry an
// SPQR salt, so in a triple-ratchet state whose message brings one it is
// refused; such states never held keys-form keys.

// storedKeys is a keys-form skipped key (immutable once parsed; copies of a
// state share it).
type storedKeys struct {
	cipherKey [32]byte
	macKey    [32]byte
	iv        [16]byte
}

// skippedFromProto reads one stored skipped key in either form.
func skippedFromProto(mk *signalpb.SessionStructure_Chain_MessageKey) (skippedKey, error) {
	k := skippedKey{counter: mk.GetIndex()}
	if seed := mk.GetSeed(); len(seed) > 0 {
		if len(seed) != 32 {
			return k, fmt.Errorf("%w: skipped key %d: seed is %d bytes, want 32", ErrCorruptState, k.counter, len(seed))
		}
		copy(k.seed[:], seed)
		return k, nil
	}
	ck, mac, iv := mk.GetCipherKey(), mk.GetMacKey(), mk.GetIv()
	switch {
	case len(ck) == 0 && len(mac) == 0 && len(iv) == 0:
		return k, fmt.Errorf("%w: skipped key %d: neither seed nor keys", ErrCorruptState, k.counter)
	case len(ck) != 32:
		return k, fmt.Errorf("%w: skipped key %d: cipher key is %d bytes, want 32", ErrCorruptState, k.counter, len(ck))
	case len(mac) != 32:
		return k, fmt.Errorf("%w: skipped key %d: MAC key is %d bytes, want 32", ErrCorruptState, k.counter, len(mac))
	case len(iv) != 16:
		return k, fmt.Errorf("%w: skipped key %d: IV is %d bytes, want 16", ErrCorruptState, k.counter, len(iv))
	}
	sk := new(storedKeys)
	copy(sk.cipherKey[:], ck)
	copy(sk.macKey[:], mac)
	copy(sk.iv[:], iv)
	k.keys = sk
	return k, nil
}

// toProto writes k in the form it was read in.
func (k skippedKey) toProto() *signalpb.SessionStructure_Chain_MessageKey {
	if sk := k.keys; sk != nil {
		return &signalpb.SessionStructure_Chain_MessageKey{
			Index:     k.counter,
			CipherKey: append([]byte(nil), sk.cipherKey[:]...),
			MacKey:    append([]byte(nil), sk.macKey[:]...),
			Iv:        append([]byte(nil), sk.iv[:]...),
		}
	}
	return &signalpb.SessionStructure_Chain_MessageKey{Index: k.counter, Seed: append([]byte(nil), k.seed[:]...)}
}

// openStored opens a late message with keys-form skipped key j of rc and
// removes the key once open accepts; on failure nothing changes.
func (rc *receiverChain) openStored(j int, salt func() ([]byte, error), open func(MessageKeys) error, w *Work) error {
	k := rc.skipped[j]
	s, err := salt()
	if err != nil {
		return err
	}
	if s != nil {
		return fmt.Errorf("%w: skipped key %d has no seed to salt with the SPQR key", ErrCorruptState, k.counter)
	}
	w.add(0, 0, 1)
	mk := MessageKeys{CipherKey: k.keys.cipherKey, MACKey: k.keys.macKey, IV: k.keys.iv, Counter: k.counter}
	err = open(mk)
	clear(mk.CipherKey[:])
	clear(mk.MACKey[:])
	if err != nil {
		return err
	}
	rc.skipped = append(rc.skipped[:j], rc.skipped[j+1:]...)
	return nil
}
