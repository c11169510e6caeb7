package conformance

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/ratchet"
	"github.com/interlock-e2ee/interlock/ratchet/spqr"
	"github.com/interlock-e2ee/interlock/session"
)

// MessageKeys are the per-message keys of a SignalMessage
// (docs/wire-formats.md#double-ratchet: HKDF-SHA256(salt = the SPQR key or none, seed,
// "WhisperMessageKeys") → cipher key ‖ MAC key ‖ IV).
type MessageKeys struct {
	Counter   uint32 `json:"counter"`
	CipherKey []byte `json:"cipher_key"`
	MACKey    []byte `json:"mac_key"`
	IV        []byte `json:"iv"`
}

// nextSendingKeys returns the keys of the next message the current state of
// rec sends, from the stored record alone (session exposes no keys): the
// ratchet's sending chain and, in the triple ratchet, the SPQR key that
// salts them. The state is worked on a copy; rec is not changed.
func nextSendingKeys(rec *session.Record) (*MessageKeys, error) {
	b, err := rec.Marshal()
	if err != nil {
		return nil, err
	}
	var pb signalpb.RecordStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, err
	}
	cur := pb.GetCurrentSession()
	if cur == nil {
		return nil, errors.New("conformance: no current session")
	}
	st, err := ratchet.UnmarshalProto(cur)
	if err != nil {
		return nil, err
	}
	var salt []byte
	if ps := cur.GetPqRatchetState(); len(ps) > 0 {
		pq, err := spqr.Unmarshal(ps)
		if err != nil {
			return nil, err
		}
		// The key comes from the SPQR chain; randomness only feeds the
		// next epoch's key pair, which this copy throws away.
		if _, _, salt, err = pq.Send(NewDeterministicReader("conformance: discarded")); err != nil {
			return nil, err
		}
	}
	_, mk, err := st.SendSalted(salt)
	if err != nil {
		return nil, err
	}
	return &MessageKeys{Counter: mk.Counter, CipherKey: bytes.Clone(mk.CipherKey[:]), MACKey: bytes.Clone(mk.MACKey[:]), IV: bytes.Clone(mk.IV[:])}, nil
}

// Check verifies that k authenticates and decrypts the SignalMessage msg
// to plaintext: the MAC over sender IK ‖ receiver IK ‖ the message and the
// AES-256-CBC body.
func (k *MessageKeys) Check(msg, senderIK, receiverIK, plaintext []byte) error {
	m, err := session.ParseSignalMessage(msg)
	if err != nil {
		return err
	}
	if m.Counter != k.Counter {
		return fmt.Errorf("conformance: message keys for counter %d, message counter %d", k.Counter, m.Counter)
	}
	if len(msg) < session.MACSize {
		return errors.New("conformance: message too short")
	}
	h := hmac.New(sha256.New, k.MACKey)
	h.Write(senderIK)
	h.Write(receiverIK)
	h.Write(msg[:len(msg)-session.MACSize])
	if !hmac.Equal(h.Sum(nil)[:session.MACSize], msg[len(msg)-session.MACSize:]) {
		return errors.New("conformance: message keys: MAC does not verify")
	}
	block, err := aes.NewCipher(k.CipherKey)
	if err != nil || len(k.IV) != aes.BlockSize || len(m.Ciphertext) == 0 || len(m.Ciphertext)%aes.BlockSize != 0 {
		return errors.New("conformance: message keys: malformed key, IV or body")
	}
	pt := make([]byte, len(m.Ciphertext))
	cipher.NewCBCDecrypter(block, k.IV).CryptBlocks(pt, m.Ciphertext)
	pad := int(pt[len(pt)-1])
	if pad == 0 || pad > aes.BlockSize || !bytes.Equal(pt[len(pt)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) ||
		!bytes.Equal(pt[:len(pt)-pad], plaintext) {
		return errors.New("conformance: message keys: body does not decrypt to the plaintext")
	}
	return nil
}
