package session

import (
	"crypto/sha256"

	"github.com/interlock-e2ee/interlock/internal/aescbc"
	"github.com/interlock-e2ee/interlock/internal/curve"
	"github.com/interlock-e2ee/interlock/internal/kdf"
	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/ratchet"
	"google.golang.org/protobuf/encoding/protowire"
)

// sealSignalMessage builds a whole SignalMessage — version ‖ fields 1–4 (5
// when pq is set, 6 when addrs, the address binding, is set: libsignal's
// field order) ‖ MAC — in one buffer, encrypting the plaintext in place into
// its final position.
func sealSignalMessage(version int, h ratchet.Header, mk *ratchet.MessageKeys, plaintext, pq, addrs []byte, sender, receiver prekey.IdentityKey) ([]byte, error) {
	k := newMsgKeys(mk)
	defer k.clear()
	ctLen := len(plaintext) + aescbc.IVSize - len(plaintext)%aescbc.IVSize
	size := 1 + 2 + curve.PublicKeySize + 2*(1+protowire.SizeVarint(0xffffffff)) +
		1 + protowire.SizeVarint(uint64(ctLen)) + ctLen + MACSize
	if len(pq) > 0 {
		size += 1 + protowire.SizeVarint(uint64(len(pq))) + len(pq)
	}
	if len(addrs) > 0 {
		size += 1 + protowire.SizeVarint(uint64(len(addrs))) + len(addrs)
	}
	msg := make([]byte, 0, size)
	msg = append(msg, versionByte(version))
	msg = protowire.AppendTag(msg, 1, protowire.BytesType)
	msg = protowire.AppendVarint(msg, curve.PublicKeySize)
	msg = h.RatchetKey.AppendBytes(msg)
	msg = protowire.AppendTag(msg, 2, protowire.VarintType)
	msg = protowire.AppendVarint(msg, uint64(h.Counter))
	msg = protowire.AppendTag(msg, 3, protowire.VarintType)
	msg = protowire.AppendVarint(msg, uint64(h.PreviousCounter))
	msg = protowire.AppendTag(msg, 4, protowire.BytesType)
	msg = protowire.AppendVarint(msg, uint64(ctLen))
	msg, err := aescbc.AppendEncrypt(msg, k.mk.CipherKey[:], k.mk.IV[:], plaintext)
	if err != nil {
		return nil, err
	}
	if len(pq) > 0 {
		msg = protowire.AppendTag(msg, 5, protowire.BytesType)
		msg = protowire.AppendBytes(msg, pq)
	}
	if len(addrs) > 0 {
		msg = protowire.AppendTag(msg, 6, protowire.BytesType)
		msg = protowire.AppendBytes(msg, addrs)
	}
	mac := k.computeMAC(sender, receiver, msg)
	return append(msg, mac[:]...), nil
}

// msgKeys holds a message's keys and computeMAC's buffers in one heap
// allocation (every slice handed to crypto/aes or to kdf.HMACConcat's pooled
// hash escapes).
// Callers clear it when done.
type msgKeys struct {
	mk  ratchet.MessageKeys
	ik  [2 * curve.PublicKeySize]byte
	sum [sha256.Size]byte
}

func newMsgKeys(mk *ratchet.MessageKeys) *msgKeys {
	k := new(msgKeys)
	k.mk = *mk
	return k
}

func (k *msgKeys) clear() { *k = msgKeys{} }

// computeMAC computes HMAC-SHA256(MAC key, sender IK ‖ receiver IK ‖ msg)[:8].
func (k *msgKeys) computeMAC(sender, receiver prekey.IdentityKey, msg []byte) [MACSize]byte {
	sender.PublicKey().AppendBytes(k.ik[:0])
	receiver.PublicKey().AppendBytes(k.ik[:curve.PublicKeySize])
	if mutant.On(mutant.MACWrongBytes) && len(msg) > 0 {
		msg = msg[1:] // mutant: the version byte left out of the MAC, on both sides
	}
	k.sum = kdf.HMACConcat(k.mk.MACKey[:], k.ik[:], msg)
	var mac [MACSize]byte
	copy(mac[:], k.sum[:MACSize])
	return mac
}
