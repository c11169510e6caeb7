// Command mau-vectors records go.mau.fi/libsignal v0.2.1 conversations as
// language-neutral JSON test vectors:
//
//	mau-x3dh-session.json        X3DH (message version 3) session with a one-time prekey
//	mau-x3dh-session-noopk.json  the same without a one-time prekey
//	mau-sender-key.json          a sender-key (whatsapp layout) distribution and messages
//
// Usage, from interop/mau:
//
//	go run ./cmd/mau-vectors -out ../../testdata/vectors
//
// Every run draws fresh keys; the files are recordings, not derivations.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/protocol"

	"github.com/interlock-e2ee/interlock/interop/mau"
)

const (
	source    = "go.mau.fi/libsignal v0.2.1"
	generator = "interop/mau/cmd/mau-vectors"

	aliceName = "3e0a1b6c-52d4-4f8e-9c71-0d2b7a9e4f11"
	bobName   = "b7c9e2d0-1a3f-4e65-8b2c-6f4d3a1e9c22"
	groupID   = "0f3c6a9e-2b7d-4c1a-9e85-7d6b5a4c3e21"
)

type responder struct {
	Name                  string `json:"name"`
	Device                uint32 `json:"device"`
	RegistrationID        uint32 `json:"registration_id"`
	IdentityPrivate       []byte `json:"identity_private"`
	IdentityPublic        []byte `json:"identity_public"`
	SignedPreKeyID        uint32 `json:"signed_prekey_id"`
	SignedPreKeyPrivate   []byte `json:"signed_prekey_private"`
	SignedPreKeyPublic    []byte `json:"signed_prekey_public"`
	SignedPreKeySignature []byte `json:"signed_prekey_signature"`
	PreKeyID              uint32 `json:"prekey_id,omitempty"`
	PreKeyPrivate         []byte `json:"prekey_private,omitempty"`
	PreKeyPublic          []byte `json:"prekey_public,omitempty"`
	// The ratchet key pair the responder generated when it received the
	// initiator's first message; its replies are sent on the chain derived
	// from it. go.mau.fi draws it from crypto/rand, so it is recorded.
	RatchetPrivate []byte `json:"ratchet_private"`
	RatchetPublic  []byte `json:"ratchet_public"`
}

type initiator struct {
	Name            string `json:"name"`
	Device          uint32 `json:"device"`
	RegistrationID  uint32 `json:"registration_id"`
	IdentityPublic  []byte `json:"identity_public"`
	IdentityPrivate []byte `json:"identity_private"`
}

type entry struct {
	From            string `json:"from"`
	Type            uint32 `json:"type"`
	Plaintext       []byte `json:"plaintext"`
	Ciphertext      []byte `json:"ciphertext"`
	Counter         uint32 `json:"counter"`
	PreviousCounter uint32 `json:"previous_counter"`
}

type sessionVector struct {
	Source     string    `json:"source"`
	Generator  string    `json:"generator"`
	Comment    string    `json:"comment"`
	Responder  responder `json:"responder"`
	Initiator  initiator `json:"initiator"`
	Transcript []entry   `json:"transcript"`
}

const sessionComment = "X3DH (message version 3) session recorded from go.mau.fi/libsignal, in the order the " +
	"responder processes it: 2 PreKeySignalMessages from the initiator (decrypted by the responder), 2 " +
	"SignalMessage replies from the responder (decrypted by the initiator), then 4 SignalMessages from the " +
	"initiator delivered out of order (3rd, 1st, 4th, 2nd). Keys: 33-byte public keys with the 0x05 type byte, " +
	"32-byte clamped private keys. The responder's replies are reproducible from its identity, signed prekey, " +
	"one-time prekey and ratchet_private (the key pair go.mau.fi drew at its first receive step), but note " +
	"go.mau.fi quirks: the version byte is ASCII '3' (0x33), and previous_counter in the responder's first " +
	"replies is 4294967295 (uint32 underflow of 'sender chain index - 1' in session.getOrCreateChainKey when " +
	"the responder had not yet sent; libsignal writes 0 there). previous_counter is informational; the MAC " +
	"covers it."

func main() {
	out := flag.String("out", "../../testdata/vectors", "directory for the vector files")
	flag.Parse()
	mau.RouteLibraryLogger(os.Stderr)

	for _, v := range []struct {
		file string
		opk  bool
	}{
		{"mau-x3dh-session.json", true},
		{"mau-x3dh-session-noopk.json", false},
	} {
		vec, err := recordSession(v.opk)
		if err != nil {
			fatal(err)
		}
		if !v.opk {
			vec.Comment += " This file: no one-time prekey (prekey fields absent)."
		}
		write(filepath.Join(*out, v.file), vec)
	}
	sk, err := recordSenderKey()
	if err != nil {
		fatal(err)
	}
	write(filepath.Join(*out, "mau-sender-key.json"), sk)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mau-vectors:", err)
	os.Exit(1)
}

func write(path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		fatal(err)
	}
	fmt.Fprintln(os.Stderr, "wrote", path)
}

func counters(p *mau.Party, typ uint32, ct []byte) (counter, previous uint32, err error) {
	var m *protocol.SignalMessage
	if typ == protocol.PREKEY_TYPE {
		pm, err := protocol.NewPreKeySignalMessageFromBytes(ct, p.Ser.PreKeySignalMessage, p.Ser.SignalMessage)
		if err != nil {
			return 0, 0, err
		}
		m = pm.WhisperMessage()
	} else if m, err = protocol.NewSignalMessageFromBytes(ct, p.Ser.SignalMessage); err != nil {
		return 0, 0, err
	}
	return m.Counter(), m.Structure().PreviousCounter, nil
}

func recordSession(withOPK bool) (*sessionVector, error) {
	alice, err := mau.NewParty(aliceName, 1, 1111)
	if err != nil {
		return nil, err
	}
	bob, err := mau.NewParty(bobName, 1, 2222)
	if err != nil {
		return nil, err
	}
	aliceAddr := protocol.NewSignalAddress(aliceName, 1)
	bobAddr := protocol.NewSignalAddress(bobName, 1)

	var pkID uint32
	if withOPK {
		pkID = 31
	}
	bundle, sec, err := bob.NewBundle(7, pkID)
	if err != nil {
		return nil, err
	}
	if err := alice.ProcessBundle(bobAddr, bundle); err != nil {
		return nil, err
	}

	vec := &sessionVector{Source: source, Generator: generator, Comment: sessionComment}
	// deliver encrypts on from and decrypts on to.
	type msg struct {
		typ uint32
		pt  []byte
		ct  []byte
	}
	encrypt := func(from *mau.Party, to *protocol.SignalAddress, text string) (msg, error) {
		m, err := from.Encrypt(to, []byte(text))
		if err != nil {
			return msg{}, err
		}
		return msg{m.Type(), []byte(text), m.Serialize()}, nil
	}
	deliver := func(to *mau.Party, fromAddr *protocol.SignalAddress, fromRole string, m msg) error {
		pt, err := to.Decrypt(fromAddr, m.typ, m.ct)
		if err != nil {
			return fmt.Errorf("%s message %q: %w", fromRole, m.pt, err)
		}
		if !bytes.Equal(pt, m.pt) {
			return fmt.Errorf("%s message %q decrypted to %q", fromRole, m.pt, pt)
		}
		c, pc, err := counters(to, m.typ, m.ct)
		if err != nil {
			return err
		}
		vec.Transcript = append(vec.Transcript, entry{fromRole, m.typ, m.pt, m.ct, c, pc})
		return nil
	}

	for i, text := range []string{"Hello Bob, this is Alice.", "A second PreKeySignalMessage."} {
		m, err := encrypt(alice, bobAddr, text)
		if err != nil {
			return nil, err
		}
		if m.typ != protocol.PREKEY_TYPE {
			return nil, fmt.Errorf("initial message %d has type %d", i, m.typ)
		}
		if err := deliver(bob, aliceAddr, "initiator", m); err != nil {
			return nil, err
		}
	}
	st, err := bob.SessionState(aliceAddr)
	if err != nil {
		return nil, err
	}
	ratchet := st.SenderRatchetKeyPair()
	ratchetPriv := ratchet.PrivateKey().Serialize()

	for _, text := range []string{"Hi Alice, Bob here.", "Bob's second reply."} {
		m, err := encrypt(bob, aliceAddr, text)
		if err != nil {
			return nil, err
		}
		if err := deliver(alice, bobAddr, "responder", m); err != nil {
			return nil, err
		}
	}

	var later []msg
	for i := range 4 {
		m, err := encrypt(alice, bobAddr, fmt.Sprintf("Alice's message %d of 4 on her new chain.", i+1))
		if err != nil {
			return nil, err
		}
		if m.typ != protocol.WHISPER_TYPE {
			return nil, fmt.Errorf("message %d after the reply has type %d", i, m.typ)
		}
		later = append(later, m)
	}
	for _, i := range []int{2, 0, 3, 1} {
		if err := deliver(bob, aliceAddr, "initiator", later[i]); err != nil {
			return nil, err
		}
	}

	bobID := bob.GetIdentityKeyPair()
	bobIDPriv := bobID.PrivateKey().Serialize()
	spkPriv := sec.SignedPreKey.KeyPair().PrivateKey().Serialize()
	spkSig := sec.SignedPreKey.Signature()
	vec.Responder = responder{
		Name:                  bobName,
		Device:                1,
		RegistrationID:        bob.St.RegistrationID,
		IdentityPrivate:       bobIDPriv[:],
		IdentityPublic:        bobID.PublicKey().Serialize(),
		SignedPreKeyID:        sec.SignedPreKey.ID(),
		SignedPreKeyPrivate:   spkPriv[:],
		SignedPreKeyPublic:    sec.SignedPreKey.KeyPair().PublicKey().Serialize(),
		SignedPreKeySignature: spkSig[:],
		RatchetPrivate:        ratchetPriv[:],
		RatchetPublic:         ratchet.PublicKey().Serialize(),
	}
	if sec.PreKey != nil {
		pkPriv := sec.PreKey.KeyPair().PrivateKey().Serialize()
		vec.Responder.PreKeyID = sec.PreKey.ID().Value
		vec.Responder.PreKeyPrivate = pkPriv[:]
		vec.Responder.PreKeyPublic = sec.PreKey.KeyPair().PublicKey().Serialize()
	}
	aliceID := alice.GetIdentityKeyPair()
	aliceIDPriv := aliceID.PrivateKey().Serialize()
	vec.Initiator = initiator{
		Name:            aliceName,
		Device:          1,
		RegistrationID:  alice.St.RegistrationID,
		IdentityPublic:  aliceID.PublicKey().Serialize(),
		IdentityPrivate: aliceIDPriv[:],
	}
	return vec, nil
}

type senderKeyMessage struct {
	Plaintext  []byte `json:"plaintext"`
	Ciphertext []byte `json:"ciphertext"`
	Iteration  uint32 `json:"iteration"`
}

type senderKeyVector struct {
	Source              string             `json:"source"`
	Generator           string             `json:"generator"`
	Comment             string             `json:"comment"`
	GroupID             string             `json:"group_id"`
	Sender              map[string]any     `json:"sender"`
	DistributionMessage []byte             `json:"distribution_message"`
	Messages            []senderKeyMessage `json:"messages"`
}

func recordSenderKey() (*senderKeyVector, error) {
	ctx := context.Background()
	alice, err := mau.NewParty(aliceName, 1, 1111)
	if err != nil {
		return nil, err
	}
	bob, err := mau.NewParty(bobName, 1, 2222)
	if err != nil {
		return nil, err
	}
	aliceAddr := protocol.NewSignalAddress(aliceName, 1)
	name := protocol.NewSenderKeyName(groupID, aliceAddr)

	skdm, err := groups.NewGroupSessionBuilder(alice.Store, alice.Ser).Create(ctx, name)
	if err != nil {
		return nil, err
	}
	dist := skdm.Serialize()

	enc := groups.NewGroupCipher(groups.NewGroupSessionBuilder(alice.Store, alice.Ser), name, alice.Store)
	var sent []senderKeyMessage
	for i := range 4 {
		pt := []byte(fmt.Sprintf("Group message %d from Alice.", i))
		m, err := enc.Encrypt(ctx, pt)
		if err != nil {
			return nil, err
		}
		sent = append(sent, senderKeyMessage{pt, m.SignedSerialize(), uint32(i)})
	}

	// Check the recording: Bob processes the distribution message and
	// decrypts in delivery order.
	rb := groups.NewGroupSessionBuilder(bob.Store, bob.Ser)
	rm, err := protocol.NewSenderKeyDistributionMessageFromBytes(dist, bob.Ser.SenderKeyDistributionMessage)
	if err != nil {
		return nil, err
	}
	if err := rb.Process(ctx, name, rm); err != nil {
		return nil, err
	}
	dec := groups.NewGroupCipher(rb, name, bob.Store)
	vec := &senderKeyVector{
		Source:    source,
		Generator: generator,
		Comment: "Sender key in the whatsapp layout (SenderKeyDistributionMessage {id 1, iteration 2, chain_key 3, " +
			"signing_key 4}, SenderKeyMessage {id 1, iteration 2, ciphertext 3} + 64-byte XEdDSA signature over " +
			"version byte 0x33 and the protobuf), recorded from go.mau.fi/libsignal. The group is named by " +
			"(group_id, sender) outside the messages. Messages are listed in delivery order: iterations 0, 2, 1, 3.",
		GroupID:             groupID,
		Sender:              map[string]any{"name": aliceName, "device": 1},
		DistributionMessage: dist,
	}
	for _, i := range []int{0, 2, 1, 3} {
		m, err := protocol.NewSenderKeyMessageFromBytes(sent[i].Ciphertext, bob.Ser.SenderKeyMessage)
		if err != nil {
			return nil, err
		}
		pt, err := dec.Decrypt(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("sender-key message %d: %w", i, err)
		}
		if !bytes.Equal(pt, sent[i].Plaintext) {
			return nil, fmt.Errorf("sender-key message %d decrypted to %q", i, pt)
		}
		vec.Messages = append(vec.Messages, sent[i])
	}
	return vec, nil
}
