package sealedsender

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/interlock-e2ee/interlock/internal/kdf"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/proto"
)

// Version bytes: (required version << 4) | current version.
const (
	// VersionV1 starts a sealed sender v1 message.
	VersionV1 byte = 0x11
	// VersionV2Received starts the per-recipient sealed sender v2 message a
	// recipient receives (and the original, ACI-only, sent form).
	VersionV2Received byte = 0x22
	// VersionV2Sent starts the multi-recipient message a sender gives the
	// server (recipients named by 17-byte service IDs).
	VersionV2Sent byte = 0x23
)

// v1MACSize is the length of the truncated HMAC-SHA256 in sealed sender v1.
const v1MACSize = 10

var v1SaltPrefix = []byte("UnidentifiedDelivery")

// v1Keys are 96 bytes of HKDF output: chain key (ephemeral step only),
// cipher key, MAC key.
type v1Keys struct {
	chain, cipher, mac [32]byte
}

func (k *v1Keys) clear() { clear(k.chain[:]); clear(k.cipher[:]); clear(k.mac[:]) }

// v1Derive is HKDF-SHA256(salt, ikm = dh, info = "") → 96 bytes.
func v1Derive(dh *[32]byte, salt []byte) (v1Keys, error) {
	var k v1Keys
	okm, err := kdf.HKDF(dh[:], salt, nil, 96)
	if err != nil {
		return k, err
	}
	copy(k.chain[:], okm[:32])
	copy(k.cipher[:], okm[32:64])
	copy(k.mac[:], okm[64:])
	clear(okm)
	return k, nil
}

// ephemeralKeys derives the first key set: salt "UnidentifiedDelivery" ‖
// recipient identity (33) ‖ ephemeral public key (33), ikm DH(E, recipient).
func ephemeralKeys(priv prekey.PrivateKey, pub prekey.PublicKey, recipient, ephemeral prekey.PublicKey) (v1Keys, error) {
	dh, err := priv.ECDH(pub)
	if err != nil {
		return v1Keys{}, invalid("ephemeral agreement: %v", err)
	}
	salt := make([]byte, 0, len(v1SaltPrefix)+66)
	salt = append(salt, v1SaltPrefix...)
	salt = recipient.AppendBytes(salt)
	salt = ephemeral.AppendBytes(salt)
	k, err := v1Derive(&dh, salt)
	clear(dh[:])
	return k, err
}

// staticKeys derives the second key set: salt chain key ‖ encryptedStatic,
// ikm DH(sender identity, recipient identity); the first 32 bytes are
// discarded.
func staticKeys(priv prekey.PrivateKey, pub prekey.PublicKey, chain *[32]byte, encryptedStatic []byte) (v1Keys, error) {
	dh, err := priv.ECDH(pub)
	if err != nil {
		return v1Keys{}, invalid("static agreement: %v", err)
	}
	salt := make([]byte, 0, 32+len(encryptedStatic))
	salt = append(salt, chain[:]...)
	salt = append(salt, encryptedStatic...)
	k, err := v1Derive(&dh, salt)
	clear(dh[:])
	clear(k.chain[:])
	return k, err
}

// ctrXOR is AES-256-CTR from an all-zero counter block.
func ctrXOR(key *[32]byte, dst, src []byte) {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("sealedsender: AES-256 rejected a 32-byte key") // unreachable
	}
	var iv [aes.BlockSize]byte
	cipher.NewCTR(b, iv[:]).XORKeyStream(dst, src)
}

// sealCTR returns AES-256-CTR(plaintext) ‖ HMAC-SHA256(macKey, ct)[:10].
func sealCTR(k *v1Keys, plaintext []byte) []byte {
	out := make([]byte, len(plaintext), len(plaintext)+v1MACSize)
	ctrXOR(&k.cipher, out, plaintext)
	m := hmac.New(sha256.New, k.mac[:])
	m.Write(out)
	return append(out, m.Sum(nil)[:v1MACSize]...)
}

// openCTR checks the truncated MAC (in constant time) and decrypts.
func openCTR(k *v1Keys, sealed []byte, what string) ([]byte, error) {
	if len(sealed) < v1MACSize {
		return nil, invalid("%s too short (%d bytes)", what, len(sealed))
	}
	ct, tag := sealed[:len(sealed)-v1MACSize], sealed[len(sealed)-v1MACSize:]
	m := hmac.New(sha256.New, k.mac[:])
	m.Write(ct)
	if !hmac.Equal(m.Sum(nil)[:v1MACSize], tag) {
		return nil, invalid("%s: bad MAC", what)
	}
	out := make([]byte, len(ct))
	ctrXOR(&k.cipher, out, ct)
	return out, nil
}

// Encrypt seals content for the holder of recipient with sealed sender v1
// (libsignal's sealed_sender_encrypt_from_usmc; the Sealed Sender design,
// signal.org/blog/sealed-sender): a fresh ephemeral key E, the sender's
// identity encrypted under DH(E, recipient), the content encrypted under
// keys that also depend on DH(sender, recipient). The result is
// 0x11 ‖ UnidentifiedSenderMessage. sender must be the identity that the
// content's certificate names. A nil rand means crypto/rand.Reader.
func Encrypt(rnd io.Reader, recipient prekey.IdentityKey, sender prekey.IdentityKeyPair, content *UnidentifiedSenderMessageContent) ([]byte, error) {
	if content == nil || recipient.IsZero() || sender.IsZero() {
		return nil, wrap(ErrInvalidArgument, "missing content or key")
	}
	if !content.cert.sender.IdentityKey.Equal(sender.PublicKey()) {
		return nil, wrap(ErrInvalidArgument, "the sender certificate is for another identity key")
	}
	return sealV1(rnd, recipient, sender, content.raw)
}

// sealV1 is Encrypt without the argument checks (tests use it to forge).
func sealV1(rnd io.Reader, recipient prekey.IdentityKey, sender prekey.IdentityKeyPair, content []byte) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	e, err := prekey.GenerateKeyPair(rnd)
	if err != nil {
		return nil, fmt.Errorf("sealedsender: %w", err)
	}
	rpub := recipient.PublicKey()
	ek, err := ephemeralKeys(e.Private, rpub, rpub, e.Public)
	if err != nil {
		return nil, err
	}
	defer ek.clear()
	encryptedStatic := sealCTR(&ek, sender.PublicKey().Bytes())
	sk, err := staticKeys(sender.PrivateKey(), rpub, &ek.chain, encryptedStatic)
	if err != nil {
		return nil, err
	}
	defer sk.clear()
	encryptedMessage := sealCTR(&sk, content)
	body, err := proto.Marshal(&signalpb.UnidentifiedSenderMessage{
		EphemeralPublic:  e.Public.Bytes(),
		EncryptedStatic:  encryptedStatic,
		EncryptedMessage: encryptedMessage,
	})
	if err != nil {
		return nil, fmt.Errorf("sealedsender: %w", err)
	}
	return append([]byte{VersionV1}, body...), nil
}

// DecryptToContent opens a sealed message addressed to ours and returns its
// content (libsignal's sealed_sender_decrypt_to_usmc). It accepts sealed
// sender v1 (version byte high nibble 0 or 1, as libsignal does) and the
// per-recipient v2 message (high nibble 2, see SplitForRecipient). The
// content's sender certificate is parsed and bound to the message (its
// identity key must equal the sender key the message was encrypted with)
// but not validated: call Validate on it, or use DecryptMessage.
func DecryptToContent(ours prekey.IdentityKeyPair, msg []byte) (*UnidentifiedSenderMessageContent, error) {
	if ours.IsZero() {
		return nil, wrap(ErrInvalidArgument, "zero identity")
	}
	if len(msg) == 0 {
		return nil, invalid("empty message")
	}
	if len(msg) > MaxMessageSize {
		return nil, invalid("message of %d bytes", len(msg))
	}
	switch msg[0] >> 4 {
	case 0, 1:
		return decryptV1(ours, msg[1:])
	case 2:
		return decryptV2(ours, msg[1:])
	}
	return nil, invalid("unknown sealed sender version %d", msg[0]>>4)
}

func decryptV1(ours prekey.IdentityKeyPair, body []byte) (*UnidentifiedSenderMessageContent, error) {
	var pb signalpb.UnidentifiedSenderMessage
	if err := proto.Unmarshal(body, &pb); err != nil {
		return nil, invalid("v1 message: %v", err)
	}
	if pb.EphemeralPublic == nil || pb.EncryptedStatic == nil || pb.EncryptedMessage == nil {
		return nil, invalid("v1 message is missing a field")
	}
	epub, err := prekey.NewPublicKey(pb.EphemeralPublic)
	if err != nil {
		return nil, invalid("ephemeral key: %v", err)
	}
	ek, err := ephemeralKeys(ours.PrivateKey(), epub, ours.PublicKey().PublicKey(), epub)
	if err != nil {
		return nil, err
	}
	defer ek.clear()
	staticBytes, err := openCTR(&ek, pb.EncryptedStatic, "sender key")
	if err != nil {
		return nil, err
	}
	static, err := prekey.NewPublicKey(staticBytes)
	if err != nil {
		return nil, invalid("sender key: %v", err)
	}
	sk, err := staticKeys(ours.PrivateKey(), static, &ek.chain, pb.EncryptedStatic)
	if err != nil {
		return nil, err
	}
	defer sk.clear()
	plain, err := openCTR(&sk, pb.EncryptedMessage, "content")
	if err != nil {
		return nil, err
	}
	content, err := ParseContent(plain)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(content.cert.sender.IdentityKey.Bytes(), staticBytes) != 1 {
		return nil, invalid("the sender certificate's key is not the key the message was sealed with")
	}
	return content, nil
}
