package spqr

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"

	"github.com/interlock-e2ee/interlock/internal/kdf"
)

// Labels of the Braid's authenticator and epoch-secret KDF (The ML-KEM
// Braid, §4 "Authentication"; SPQR src/authenticator.rs, src/v1/unchunked).
var (
	labelAuthUpdate = []byte("Signal_PQCKA_V1_MLKEM768:Authenticator Update")
	labelMACCt      = []byte("Signal_PQCKA_V1_MLKEM768:ciphertext")
	labelMACHdr     = []byte("Signal_PQCKA_V1_MLKEM768:ekheader")
	labelSCKAKey    = []byte("Signal_PQCKA_V1_MLKEM768:SCKA Key")
)

const macSize = 32

// authenticator holds the Braid's root and MAC keys.
type authenticator struct {
	root, mac [32]byte
}

func withEpoch(label []byte, epoch uint64) []byte {
	return binary.BigEndian.AppendUint64(append(make([]byte, 0, len(label)+8), label...), epoch)
}

// newAuthenticator starts from zero keys and mixes in the SPQR key at epoch 1.
func newAuthenticator(authKey []byte) authenticator {
	var a authenticator
	a.update(1, authKey)
	return a
}

// update: HKDF(0, root ‖ k, Update ‖ BE64(epoch)) → root ‖ MAC key.
func (a *authenticator) update(epoch uint64, k []byte) {
	ikm := append(append(make([]byte, 0, 32+len(k)), a.root[:]...), k...)
	var okm [64]byte
	_ = kdf.HKDFInto(okm[:], ikm, nil, withEpoch(labelAuthUpdate, epoch))
	copy(a.root[:], okm[:32])
	copy(a.mac[:], okm[32:])
	clear(okm[:])
	clear(ikm)
}

func (a *authenticator) tag(label []byte, epoch uint64, data []byte) []byte {
	m := hmac.New(sha256.New, a.mac[:])
	m.Write(withEpoch(label, epoch))
	m.Write(data)
	return m.Sum(nil)
}

func (a *authenticator) macHdr(epoch uint64, hdr []byte) []byte {
	return a.tag(labelMACHdr, epoch, hdr)
}
func (a *authenticator) macCt(epoch uint64, ct []byte) []byte { return a.tag(labelMACCt, epoch, ct) }

// epochSecret: HKDF(0, ML-KEM shared key, SCKA Key ‖ BE64(epoch)) → 32 bytes.
func epochSecret(epoch uint64, ss []byte) []byte {
	out := make([]byte, 32)
	_ = kdf.HKDFInto(out, ss, nil, withEpoch(labelSCKAKey, epoch))
	return out
}
