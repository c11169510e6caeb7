package mau

// These tests pin down behaviours of go.mau.fi/libsignal v0.2.1 that differ
// from libsignal, so that a change in the library shows up here.

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	mcipher "go.mau.fi/libsignal/cipher"
	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/kdf"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/signalerror"
	"go.mau.fi/libsignal/util/optional"
)

func init() { RouteLibraryLogger(discard{}) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var (
	qAlice = protocol.NewSignalAddress("alice", 1)
	qBob   = protocol.NewSignalAddress("bob", 1)
)

// pair returns Alice and Bob with a session in both directions (Alice sent
// one PreKeySignalMessage, Bob replied once), so further messages are type 2.
func pair(t *testing.T) (alice, bob *Party) {
	t.Helper()
	var err error
	if alice, err = NewParty("alice", 1, 1); err != nil {
		t.Fatal(err)
	}
	if bob, err = NewParty("bob", 1, 2); err != nil {
		t.Fatal(err)
	}
	b, _, err := bob.NewBundle(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.ProcessBundle(qBob, b); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, alice, bob, qAlice, "hello")
	roundTrip(t, bob, alice, qBob, "hi")
	return alice, bob
}

func roundTrip(t *testing.T, from, to *Party, fromAddr *protocol.SignalAddress, text string) {
	t.Helper()
	toAddr := protocol.NewSignalAddress(to.St.Name, to.St.Device)
	m, err := from.Encrypt(toAddr, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := to.Decrypt(fromAddr, m.Type(), m.Serialize())
	if err != nil || string(pt) != text {
		t.Fatalf("decrypt: %q, %v", pt, err)
	}
}

func encrypt(t *testing.T, from *Party, to *protocol.SignalAddress, text string) []byte {
	t.Helper()
	m, err := from.Encrypt(to, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return m.Serialize()
}

// The version byte is strconv.Itoa(3) = '3' = 0x33 (protocol.NewSignalMessage,
// serialize.ProtoBufPreKeySignalMessageSerializer.Serialize).
func TestQuirkVersionByte(t *testing.T) {
	alice, _ := pair(t)
	if ct := encrypt(t, alice, qBob, "x"); ct[0] != 0x33 {
		t.Fatalf("version byte %#x", ct[0])
	}
}

// The MAC is verified over '3' ‖ the library's own re-encoding of the parsed
// fields (SignalMessage.VerifyMac), not over the received bytes: a changed
// low nibble of the version byte, or an unknown protobuf field, passes.
func TestQuirkMACOverReencoding(t *testing.T) {
	alice, bob := pair(t)

	ct := encrypt(t, alice, qBob, "low nibble")
	ct[0] = 0x3F
	if pt, err := bob.Decrypt(qAlice, 2, ct); err != nil || string(pt) != "low nibble" {
		t.Fatalf("0x3F version byte: %q, %v (libsignal rejects: MAC over received bytes)", pt, err)
	}

	ct = encrypt(t, alice, qBob, "unknown field")
	// Insert field 15 (varint 1) after the version byte.
	ext := append([]byte{ct[0], 0x78, 0x01}, ct[1:]...)
	if pt, err := bob.Decrypt(qAlice, 2, ext); err != nil || string(pt) != "unknown field" {
		t.Fatalf("unknown field: %q, %v", pt, err)
	}

	// A version-2 byte parses (NewSignalMessageFromStruct only rejects <= 1)
	// and fails later as a wrong version, reported as ErrNoValidSessions.
	ct = encrypt(t, alice, qBob, "v2")
	ct[0] = 0x23
	_, err := bob.Decrypt(qAlice, 2, ct)
	if !errors.Is(err, signalerror.ErrNoValidSessions) {
		t.Fatalf("version 2: %v", err)
	}
	// Nothing was consumed by the failures.
	ct[0] = 0x33
	if _, err := bob.Decrypt(qAlice, 2, ct); err != nil {
		t.Fatal(err)
	}
}

// Forward jumps: counter - chain index > 2000 is rejected
// (session.getOrCreateMessageKeys, maxFutureMessages), but
// DecryptWithRecord reports every current-state failure other than
// ErrOldCounter as ErrNoValidSessions, hiding ErrTooFarIntoFuture and
// ErrBadMAC.
func TestQuirkForwardJumpAndMasking(t *testing.T) {
	alice, bob := pair(t)
	var cts [][]byte
	for i := range 2003 {
		cts = append(cts, encrypt(t, alice, qBob, fmt.Sprint(i)))
	}
	_, err := bob.Decrypt(qAlice, 2, cts[2001])
	if errors.Is(err, signalerror.ErrTooFarIntoFuture) || !errors.Is(err, signalerror.ErrNoValidSessions) {
		t.Fatalf("jump of 2001: %v", err)
	}
	// The peer's diagnosis recovers the real cause.
	p := &Peer{opts: Options{Log: discard{}}}
	p.setState(bob.St)
	resp := p.Handle(decryptReq(cts[2001]))
	if e, _ := resp["error"].(map[string]any); e == nil || e["kind"] != KindTooFar {
		t.Fatalf("peer: %v", resp)
	}
	if pt, err := bob.Decrypt(qAlice, 2, cts[2000]); err != nil || string(pt) != "2000" {
		t.Fatalf("jump of 2000: %q, %v", pt, err)
	}
	bad := bytes.Clone(cts[5])
	bad[len(bad)-1] ^= 1
	_, err = bob.Decrypt(qAlice, 2, bad)
	if errors.Is(err, signalerror.ErrBadMAC) || !errors.Is(err, signalerror.ErrNoValidSessions) {
		t.Fatalf("bad MAC: %v", err)
	}
	if _, err := bob.Decrypt(qAlice, 2, cts[5]); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Decrypt(qAlice, 2, cts[5]); !errors.Is(err, signalerror.ErrOldCounter) {
		t.Fatalf("duplicate: %v", err)
	}
}

func decryptReq(ct []byte) []byte {
	b, _ := json.Marshal(map[string]any{"id": 1, "op": "decrypt", "address": map[string]any{"name": "alice", "device": 1}, "type": 2, "ciphertext": ct})
	return b
}

// previous_counter underflows to 2^32-1 when a party takes a receive step
// before it has sent on its current chain (session.getOrCreateChainKey:
// max(SenderChainKey().Index()-1, 0) on uint32).
func TestQuirkPreviousCounterUnderflow(t *testing.T) {
	alice, bob := NewPartyMust(t, "alice"), NewPartyMust(t, "bob")
	b, _, _ := bob.NewBundle(1, 1)
	if err := alice.ProcessBundle(qBob, b); err != nil {
		t.Fatal(err)
	}
	roundTrip(t, alice, bob, qAlice, "hello")
	ct := encrypt(t, bob, qAlice, "reply")
	m, err := protocol.NewSignalMessageFromBytes(ct, bob.Ser.SignalMessage)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Structure().PreviousCounter; got != 0xFFFFFFFF {
		t.Fatalf("previous_counter %d", got)
	}
}

func NewPartyMust(t *testing.T, name string) *Party {
	t.Helper()
	p, err := NewParty(name, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// cipher.DecryptCbc panics on a length that is not a multiple of 16 (it only
// checks < 16) and its unpad checks neither the padding bytes nor a zero
// padding length.
func TestQuirkCBC(t *testing.T) {
	key, iv := make([]byte, 32), make([]byte, 16)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("17-byte ciphertext did not panic")
			}
		}()
		mcipher.DecryptCbc(iv, key, make([]byte, 17))
	}()
	block, _ := aes.NewCipher(key)
	for _, last := range []byte{0x00, 0x05} {
		pt := bytes.Repeat([]byte{0xEE}, 16)
		pt[15] = last
		ct := make([]byte, 16)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
		out, err := mcipher.DecryptCbc(iv, key, ct)
		if err != nil {
			t.Fatalf("padding %#x rejected: %v", last, err)
		}
		if len(out) != 16-int(last) {
			t.Fatalf("padding %#x: %d bytes", last, len(out))
		}
	}
}

// session.Builder.Process saves the sender's identity before the inner
// message is authenticated, so a PreKeySignalMessage that fails still
// pins its identity key under the claimed address.
func TestQuirkIdentitySavedOnFailedPreKeyMessage(t *testing.T) {
	alice, eve, bob := NewPartyMust(t, "alice"), NewPartyMust(t, "alice"), NewPartyMust(t, "bob")
	b, _, _ := bob.NewBundle(1, 1)
	for _, p := range []*Party{alice, eve} {
		if err := p.ProcessBundle(qBob, b); err != nil {
			t.Fatal(err)
		}
	}
	forged := encrypt(t, eve, qBob, "forged")
	pm, err := protocol.NewPreKeySignalMessageFromBytes(forged, bob.Ser.PreKeySignalMessage, bob.Ser.SignalMessage)
	if err != nil {
		t.Fatal(err)
	}
	inner := pm.WhisperMessage().Serialize()
	at := bytes.Index(forged, inner)
	if at < 0 {
		t.Fatal("inner message not found")
	}
	forged[at+len(inner)-1] ^= 1 // break the inner MAC
	if _, err := bob.Decrypt(qAlice, 3, forged); err == nil {
		t.Fatal("forged message accepted")
	}
	_, err = bob.Decrypt(qAlice, 3, encrypt(t, alice, qBob, "genuine"))
	if !errors.Is(err, signalerror.ErrUntrustedIdentity) {
		t.Fatalf("genuine message after a rejected forgery: %v (want the untrusted-identity quirk)", err)
	}
}

// A pre_key_id of 0 is read as "no one-time prekey"
// (ProtoBufPreKeySignalMessageSerializer.Deserialize), although the sender
// used it.
func TestQuirkPreKeyIDZero(t *testing.T) {
	alice, bob := NewPartyMust(t, "alice"), NewPartyMust(t, "bob")
	b, _, err := bob.NewBundle(2, 9)
	if err != nil {
		t.Fatal(err)
	}
	// Re-store the one-time prekey 9 as id 0 and advertise id 0.
	rec, _ := bob.LoadPreKey(context.Background(), 9)
	bob.StorePreKey(context.Background(), 0, rec)
	bz := prekey.NewBundle(b.RegistrationID(), b.DeviceID(), optional.NewOptionalUint32(0), b.SignedPreKeyID(),
		b.PreKey(), b.SignedPreKey(), b.SignedPreKeySignature(), b.IdentityKey())
	if err := alice.ProcessBundle(qBob, bz); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Decrypt(qAlice, 3, encrypt(t, alice, qBob, "x")); err == nil {
		t.Fatal("pre_key_id 0 worked")
	}
}

// ecc.DecodePoint accepts any length after the type byte (copying at most
// 32 bytes, zero-filling the rest) and panics on empty input; X25519 with a
// low-order point yields all zeros without error (kdf.CalculateSharedSecret
// uses the deprecated curve25519.ScalarMult).
func TestQuirkKeys(t *testing.T) {
	for _, n := range []int{2, 40} {
		b := make([]byte, n)
		b[0] = 5
		if _, err := ecc.DecodePoint(b, 0); err != nil {
			t.Fatalf("%d-byte key: %v", n, err)
		}
	}
	var zero [32]byte
	priv := [32]byte{1: 7}
	if s := kdf.CalculateSharedSecret(zero, priv); s != zero {
		t.Fatal("low-order point gave a non-zero secret")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("empty key did not panic")
			}
		}()
		ecc.DecodePoint(nil, 0)
	}()
}

// Sender-key signatures are verified over the library's re-encoding
// (GroupCipher.verifySignature uses SenderKeyMessage.Serialize), so the low
// nibble of the version byte is not covered; the key id is a full uint32.
func TestQuirkSenderKey(t *testing.T) {
	ctx := context.Background()
	alice, bob := NewPartyMust(t, "alice"), NewPartyMust(t, "bob")
	name := protocol.NewSenderKeyName("g", qAlice)
	skdm, err := groups.NewGroupSessionBuilder(alice.Store, alice.Ser).Create(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	dist := skdm.Serialize()
	if dist[0] != 0x33 {
		t.Fatalf("SKDM version byte %#x", dist[0])
	}
	rm, err := protocol.NewSenderKeyDistributionMessageFromBytes(dist, bob.Ser.SenderKeyDistributionMessage)
	if err != nil {
		t.Fatal(err)
	}
	rb := groups.NewGroupSessionBuilder(bob.Store, bob.Ser)
	if err := rb.Process(ctx, name, rm); err != nil {
		t.Fatal(err)
	}
	m, err := groups.NewGroupCipher(groups.NewGroupSessionBuilder(alice.Store, alice.Ser), name, alice.Store).Encrypt(ctx, []byte("g"))
	if err != nil {
		t.Fatal(err)
	}
	ct := m.SignedSerialize()
	ct[0] = 0x3C
	pm, err := protocol.NewSenderKeyMessageFromBytes(ct, bob.Ser.SenderKeyMessage)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := groups.NewGroupCipher(rb, name, bob.Store).Decrypt(ctx, pm); err != nil || string(pt) != "g" {
		t.Fatalf("0x3C version byte: %q, %v", pt, err)
	}
}
