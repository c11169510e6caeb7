package spqr_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/ratchet"
	"github.com/interlock-e2ee/interlock/ratchet/spqr"
	"github.com/interlock-e2ee/interlock/session"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

type vectorFile struct {
	Responder struct {
		IdentityPrivate     []byte `json:"identity_private"`
		SignedPreKeyPrivate []byte `json:"signed_prekey_private"`
		PreKeyPrivate       []byte `json:"prekey_private"`
		KyberSecret         []byte `json:"kyber_secret"`
		RatchetPrivate      []byte `json:"ratchet_private"`
	} `json:"responder"`
	Transcript []struct {
		From       string              `json:"from"`
		Type       session.MessageType `json:"type"`
		Ciphertext []byte              `json:"ciphertext"`
	} `json:"transcript"`
}

// fixedReader yields b, then fails.
type fixedReader struct{ b []byte }

func (r *fixedReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestLibsignalSalts replays the responder of a conversation between two
// libsignal 0.90.0 parties (testdata/vectors/libsignal-pqxdh-session*.json):
// the PQXDH secrets are recomputed with prekey.Respond, the responder's SPQR
// state is started from the SPQR key (B2A, MinVersion V0), fed the
// initiator's pq_ratchet fields, and asked for its replies' pq_ratchet
// fields and keys. The fields must equal the recorded bytes and, with the
// SPQR key as the HKDF salt of the message keys, the recorded replies' MACs
// must verify (and must not verify without it).
func TestLibsignalSalts(t *testing.T) {
	for _, file := range []string{"libsignal-pqxdh-session.json", "libsignal-pqxdh-session-noopk.json"} {
		t.Run(file, func(t *testing.T) {
			var v vectorFile
			vectortest.Load(t, file, &v)
			r := v.Responder
			id, err := prekey.NewIdentityKeyPair(r.IdentityPrivate)
			if err != nil {
				t.Fatal(err)
			}
			spkPriv, _ := prekey.NewPrivateKey(r.SignedPreKeyPrivate)
			spk := prekey.KeyPair{Private: spkPriv, Public: spkPriv.PublicKey()}
			kyber, err := prekey.NewKEMSecretKey(r.KyberSecret)
			if err != nil {
				t.Fatal(err)
			}
			first, err := session.ParsePreKeySignalMessage(v.Transcript[0].Ciphertext)
			if err != nil {
				t.Fatal(err)
			}
			resp := &prekey.Response{
				Version: first.Version, Ours: id, SignedPreKey: spk, KyberPreKey: &kyber,
				KyberCiphertext: first.KyberCiphertext, TheirIdentity: first.IdentityKey, TheirBaseKey: first.BaseKey,
			}
			if first.HasPreKeyID {
				opk, _ := prekey.NewPrivateKey(r.PreKeyPrivate)
				resp.OneTimePreKey = &prekey.KeyPair{Private: opk, Public: opk.PublicKey()}
			}
			secrets, err := prekey.Respond(resp)
			if err != nil {
				t.Fatal(err)
			}
			dr := ratchet.InitBob(secrets.RootKey, secrets.ChainKey, spk)
			pq, err := spqr.NewState(spqr.Params{Direction: spqr.B2A, Version: spqr.V1, MinVersion: spqr.V0, AuthKey: secrets.PQRatchetKey[:]})
			if err != nil {
				t.Fatal(err)
			}
			replies := 0
			for i, m := range v.Transcript {
				if m.From == "initiator" {
					var sm *session.SignalMessage
					if session.MessageType(m.Type) == session.TypePreKey {
						pm, err := session.ParsePreKeySignalMessage(m.Ciphertext)
						if err != nil {
							t.Fatal(err)
						}
						sm = pm.Message
					} else {
						if sm, err = session.ParseSignalMessage(m.Ciphertext); err != nil {
							t.Fatal(err)
						}
					}
					next, key, err := pq.Recv(sm.PQRatchet)
					if err != nil {
						t.Fatalf("message %d: spqr recv of %x: %v", i, sm.PQRatchet, err)
					}
					t.Logf("initiator message %d: pq_ratchet %x, SPQR key %v", i, sm.PQRatchet, key != nil)
					h := ratchet.Header{RatchetKey: sm.RatchetKey, Counter: sm.Counter, PreviousCounter: sm.PreviousCounter}
					if !dr.HasReceiverChain(sm.RatchetKey) || session.MessageType(m.Type) == session.TypePreKey {
						// Only the first message takes the DH step (with the recorded key).
						err = dr.Receive(&fixedReader{bytes.Clone(r.RatchetPrivate)}, h, func(mk ratchet.MessageKeys) error { return nil })
					}
					if err != nil {
						t.Fatal(err)
					}
					pq = next
					if replies > 0 {
						break // later initiator messages are not needed
					}
					continue
				}
				sm, err := session.ParseSignalMessage(m.Ciphertext)
				if err != nil {
					t.Fatal(err)
				}
				next, field, key, err := pq.Send(rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				pq = next
				if !bytes.Equal(field, sm.PQRatchet) {
					t.Fatalf("reply %d: pq_ratchet %x, recorded %x", i, field, sm.PQRatchet)
				}
				seed := dr.SenderChain.Seed()
				if dr.SenderChain.Index != sm.Counter {
					t.Fatalf("reply %d: counter %d, chain at %d", i, sm.Counter, dr.SenderChain.Index)
				}
				dr.SenderChain = dr.SenderChain.Next()
				body := m.Ciphertext[:len(m.Ciphertext)-8]
				tag := m.Ciphertext[len(m.Ciphertext)-8:]
				macWith := func(salt []byte) bool {
					mk := ratchet.DeriveMessageKeys(seed, salt, sm.Counter)
					h := hmac.New(sha256.New, mk.MACKey[:])
					h.Write(id.PublicKey().Bytes())
					h.Write(first.IdentityKey.Bytes())
					h.Write(body)
					return hmac.Equal(h.Sum(nil)[:8], tag)
				}
				if key == nil || !macWith(key) {
					t.Fatalf("reply %d: MAC does not verify with the SPQR key %x as salt", i, key)
				}
				if macWith(nil) {
					t.Fatalf("reply %d: MAC verifies without a salt", i)
				}
				t.Logf("reply %d: pq_ratchet %x matches; MAC verifies with SPQR key %x… as salt", i, field, key[:4])
				replies++
			}
			if replies == 0 {
				t.Fatal("no replies checked")
			}
			// Header chunks 0, 1 and the redundant chunk 4 decoded to a
			// header whose MAC verified: the responder now encapsulates.
			_, field, _, err := pq.Send(rand.Reader)
			if err != nil || len(field) < 4 || spqr.MessageType(field[3]) != spqr.TypeCt1 {
				t.Fatalf("next responder message %x (%v), want a ct1 chunk", field, err)
			}
		})
	}
}
