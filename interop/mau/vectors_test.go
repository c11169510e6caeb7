package mau

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/state/record"
)

const vectorDir = "../../testdata/vectors"

type vecSession struct {
	Responder struct {
		Name                  string `json:"name"`
		Device                uint32 `json:"device"`
		RegistrationID        uint32 `json:"registration_id"`
		IdentityPrivate       []byte `json:"identity_private"`
		IdentityPublic        []byte `json:"identity_public"`
		SignedPreKeyID        uint32 `json:"signed_prekey_id"`
		SignedPreKeyPrivate   []byte `json:"signed_prekey_private"`
		SignedPreKeyPublic    []byte `json:"signed_prekey_public"`
		SignedPreKeySignature []byte `json:"signed_prekey_signature"`
		PreKeyID              uint32 `json:"prekey_id"`
		PreKeyPrivate         []byte `json:"prekey_private"`
		PreKeyPublic          []byte `json:"prekey_public"`
		RatchetPrivate        []byte `json:"ratchet_private"`
		RatchetPublic         []byte `json:"ratchet_public"`
	} `json:"responder"`
	Initiator struct {
		Name   string `json:"name"`
		Device uint32 `json:"device"`
	} `json:"initiator"`
	Transcript []struct {
		From       string `json:"from"`
		Type       uint32 `json:"type"`
		Plaintext  []byte `json:"plaintext"`
		Ciphertext []byte `json:"ciphertext"`
	} `json:"transcript"`
}

func keyPair(t *testing.T, priv, pub []byte) *ecc.ECKeyPair {
	t.Helper()
	kp := ecc.CreateKeyPair(priv)
	if !bytes.Equal(kp.PublicKey().Serialize(), pub) {
		t.Fatal("recorded private and public key disagree")
	}
	return kp
}

// TestSessionVectors replays each recorded session as the responder, from
// the recorded private keys alone: it decrypts every initiator message and
// re-creates the responder's replies byte for byte, injecting the recorded
// ratchet key pair where go.mau.fi would draw a random one.
func TestSessionVectors(t *testing.T) {
	for _, file := range []string{"mau-x3dh-session.json", "mau-x3dh-session-noopk.json"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(vectorDir, file))
			if err != nil {
				t.Skip(err)
			}
			var v vecSession
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			r := v.Responder
			ctx := context.Background()
			idKP := keyPair(t, r.IdentityPrivate, r.IdentityPublic)
			bob := &Party{NewStore(NewState(r.Name, r.Device, r.RegistrationID,
				identity.NewKeyPair(identity.NewKey(idKP.PublicKey()), idKP.PrivateKey())))}
			var sig [64]byte
			copy(sig[:], r.SignedPreKeySignature)
			spk := keyPair(t, r.SignedPreKeyPrivate, r.SignedPreKeyPublic)
			if !ecc.VerifySignature(idKP.PublicKey(), spk.PublicKey().Serialize(), sig) {
				t.Fatal("signed prekey signature")
			}
			bob.StoreSignedPreKey(ctx, r.SignedPreKeyID, record.NewSignedPreKey(r.SignedPreKeyID, 0, spk, sig, bob.Ser.SignedPreKeyRecord))
			if r.PreKeyPrivate != nil {
				bob.StorePreKey(ctx, r.PreKeyID, record.NewPreKey(r.PreKeyID, keyPair(t, r.PreKeyPrivate, r.PreKeyPublic), bob.Ser.PreKeyRecord))
			}
			ratchet := keyPair(t, r.RatchetPrivate, r.RatchetPublic)
			alice := protocol.NewSignalAddress(v.Initiator.Name, v.Initiator.Device)

			for i, e := range v.Transcript {
				switch {
				case e.From == "responder":
					m, err := bob.Encrypt(alice, e.Plaintext)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(m.Serialize(), e.Ciphertext) {
						t.Fatalf("entry %d: reply differs from the recording", i)
					}
				case i == 0:
					firstMessage(t, bob, alice, ratchet, e.Ciphertext, e.Plaintext)
				default:
					pt, err := bob.Decrypt(alice, e.Type, e.Ciphertext)
					if err != nil || !bytes.Equal(pt, e.Plaintext) {
						t.Fatalf("entry %d: %q, %v", i, pt, err)
					}
				}
			}
		})
	}
}

// firstMessage does what SessionCipher.DecryptMessage does for the first
// PreKeySignalMessage, but with the recorded ratchet key pair in place of
// the one session.getOrCreateChainKey draws.
func firstMessage(t *testing.T, bob *Party, alice *protocol.SignalAddress, ratchet *ecc.ECKeyPair, ct, want []byte) {
	t.Helper()
	ctx := context.Background()
	pm, err := protocol.NewPreKeySignalMessageFromBytes(ct, bob.Ser.PreKeySignalMessage, bob.Ser.SignalMessage)
	if err != nil {
		t.Fatal(err)
	}
	builder := session.NewBuilderFromSignal(bob.Store, alice, bob.Ser)
	rec, _ := bob.LoadSession(ctx, alice)
	if _, err := builder.Process(ctx, rec, pm); err != nil {
		t.Fatal(err)
	}
	st := rec.SessionState()
	theirs := pm.WhisperMessage().SenderRatchetKey()
	recv, err := st.RootKey().CreateChain(theirs, st.SenderRatchetKeyPair())
	if err != nil {
		t.Fatal(err)
	}
	send, err := recv.RootKey.CreateChain(theirs, ratchet)
	if err != nil {
		t.Fatal(err)
	}
	st.SetRootKey(send.RootKey)
	st.AddReceiverChain(theirs, recv.ChainKey)
	st.SetPreviousCounter(0xFFFFFFFF) // go.mau.fi's uint32 underflow of 0 - 1
	st.SetSenderChain(ratchet, send.ChainKey)
	pt, _, err := session.NewCipher(builder, alice).DecryptWithRecord(ctx, rec, pm.WhisperMessage())
	if err != nil || !bytes.Equal(pt, want) {
		t.Fatalf("first message: %q, %v", pt, err)
	}
	bob.StoreSession(ctx, alice, rec)
	if id := pm.PreKeyID(); !id.IsEmpty {
		bob.RemovePreKey(ctx, id.Value)
	}
}

// TestSenderKeyVector decrypts the recorded sender-key messages in their
// delivery order.
func TestSenderKeyVector(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(vectorDir, "mau-sender-key.json"))
	if err != nil {
		t.Skip(err)
	}
	var v struct {
		GroupID string `json:"group_id"`
		Sender  struct {
			Name   string `json:"name"`
			Device uint32 `json:"device"`
		} `json:"sender"`
		DistributionMessage []byte `json:"distribution_message"`
		Messages            []struct {
			Plaintext  []byte `json:"plaintext"`
			Ciphertext []byte `json:"ciphertext"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bob := NewPartyMust(t, "bob")
	name := protocol.NewSenderKeyName(v.GroupID, protocol.NewSignalAddress(v.Sender.Name, v.Sender.Device))
	dm, err := protocol.NewSenderKeyDistributionMessageFromBytes(v.DistributionMessage, bob.Ser.SenderKeyDistributionMessage)
	if err != nil {
		t.Fatal(err)
	}
	builder := groups.NewGroupSessionBuilder(bob.Store, bob.Ser)
	if err := builder.Process(ctx, name, dm); err != nil {
		t.Fatal(err)
	}
	c := groups.NewGroupCipher(builder, name, bob.Store)
	for i, m := range v.Messages {
		sm, err := protocol.NewSenderKeyMessageFromBytes(m.Ciphertext, bob.Ser.SenderKeyMessage)
		if err != nil {
			t.Fatal(err)
		}
		pt, err := c.Decrypt(ctx, sm)
		if err != nil || !bytes.Equal(pt, m.Plaintext) {
			t.Fatalf("message %d: %q, %v", i, pt, err)
		}
	}
}
