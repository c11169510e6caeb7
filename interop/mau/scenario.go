package mau

import (
	"bytes"
	"context"
	"fmt"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
)

// Issue #15: a conversation of go.mau.fi/libsignal clients left in a hard
// state, for the whatsmeow import test and the mau-records vectors. Account
// A (a whatsmeow companion device) talks to B, C and D, all go.mau.fi:
//
//   - B started a session with A; of B's messages b2…b6 A has read b6 and
//     b3 (b2, b4, b5 pending: skipped keys, with cipher key, MAC key and IV,
//     go.mau.fi's only form). Then B re-keyed (a new PreKeySignalMessage n1),
//     so A's record holds the first session archived with those skipped
//     keys; A read n3 but not n2 (both PreKeySignalMessages on the new base
//     key, sent before B read A's answer a2). A's new state was started
//     while A had sent nothing: go.mau.fi wrote previous_counter 0xFFFFFFFF.
//   - A started a session with C and sent c1, a PreKeySignalMessage C has
//     not received (unanswered: a pending prekey in A's record).
//   - D started a session with A on A's one-time prekey 3 and sent d1, which
//     A has not received.
//   - Group G: B's sender key, of which A read g0 and g3 (g1, g2 pending, g4
//     not yet delivered); A's own sender key, of which B read h0. A's record
//     of B's chain holds 32 zero bytes as its private signing key.

// Whatsmeow-style names: phone numbers, device 0 for phones, a companion
// device for A; the group is a group JID.
const (
	ScenarioA      = "15550000001"
	ScenarioDevice = 7
	ScenarioB      = "15550000002"
	ScenarioC      = "15550000003"
	ScenarioD      = "15550000004"
	ScenarioGroup  = "120363000000000001@g.us"
)

// Pending is a message sent to A and not yet delivered.
type Pending struct {
	From       string // sender name (device 0)
	Type       uint32 // 2 SignalMessage, 3 PreKeySignalMessage, 0 sender-key message
	Plaintext  []byte
	Ciphertext []byte
}

// Scenario is the state after the conversation.
type Scenario struct {
	A, B, C, D *Party
	// SignedPreKey is A's only signed prekey (whatsmeow keeps one).
	SignedPreKey *record.SignedPreKey
	// Pending lists the messages in flight to A, in the order the test
	// delivers them (deliberately not the order they were sent).
	Pending []Pending
	// Unanswered is c1, A's PreKeySignalMessage C has not received.
	Unanswered []byte
	// BBaseKeys are the base keys of B's two sessions with A (first, after
	// the re-key). After the import B's current session must still be one
	// of them: nobody re-keys. (A late message that decrypts in an archived
	// state makes it current again, on both sides, as libsignal and
	// go.mau.fi do.)
	BBaseKeys [2][]byte
}

// Addr returns the go.mau.fi address of a scenario party.
func Addr(name string) *protocol.SignalAddress {
	if name == ScenarioA {
		return protocol.NewSignalAddress(name, ScenarioDevice)
	}
	return protocol.NewSignalAddress(name, 0)
}

// bundleFor returns a bundle of p with its existing signed prekey and a new
// one-time prekey pkID.
func (p *Party) bundleFor(spk *record.SignedPreKey, pkID uint32, device uint32) (*prekey.Bundle, error) {
	kp, err := ecc.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	if err := p.StorePreKey(context.Background(), pkID, record.NewPreKey(pkID, kp, p.Ser.PreKeyRecord)); err != nil {
		return nil, err
	}
	return prekey.NewBundle(p.St.RegistrationID, device, optional.NewOptionalUint32(pkID), spk.ID(), kp.PublicKey(),
		spk.KeyPair().PublicKey(), spk.Signature(), identity.NewKey(p.GetIdentityKeyPair().PublicKey().PublicKey())), nil
}

// NewScenario plays the conversation.
func NewScenario() (*Scenario, error) {
	ctx := context.Background()
	sc := &Scenario{}
	var err error
	for _, x := range []struct {
		p    **Party
		name string
		reg  uint32
	}{{&sc.A, ScenarioA, 1001}, {&sc.B, ScenarioB, 1002}, {&sc.C, ScenarioC, 1003}, {&sc.D, ScenarioD, 1004}} {
		if *x.p, err = NewParty(x.name, Addr(x.name).DeviceID(), x.reg); err != nil {
			return nil, err
		}
	}
	A, B, C, D := sc.A, sc.B, sc.C, sc.D
	aA, aB, aC := Addr(ScenarioA), Addr(ScenarioB), Addr(ScenarioC)
	if sc.SignedPreKey, err = keyhelper.GenerateSignedPreKey(A.GetIdentityKeyPair(), 1, A.Ser.SignedPreKeyRecord); err != nil {
		return nil, err
	}
	if err := A.StoreSignedPreKey(ctx, 1, sc.SignedPreKey); err != nil {
		return nil, err
	}
	type msg struct {
		typ    uint32
		pt, ct []byte
	}
	enc := func(from *Party, to *protocol.SignalAddress, text string) (msg, error) {
		m, err := from.Encrypt(to, []byte(text))
		if err != nil {
			return msg{}, fmt.Errorf("%s → %s: %w", from.St.Name, to, err)
		}
		return msg{m.Type(), []byte(text), m.Serialize()}, nil
	}
	deliver := func(to *Party, from *protocol.SignalAddress, m msg) error {
		pt, err := to.Decrypt(from, m.typ, m.ct)
		if err != nil {
			return fmt.Errorf("%s ← %s %q: %w", to.St.Name, from, m.pt, err)
		}
		if !bytes.Equal(pt, m.pt) {
			return fmt.Errorf("%q decrypted to %q", m.pt, pt)
		}
		return nil
	}
	pend := func(from string, m msg) { sc.Pending = append(sc.Pending, Pending{from, m.typ, m.pt, m.ct}) }

	// B ↔ A, first session.
	bundle, err := A.bundleFor(sc.SignedPreKey, 1, ScenarioDevice)
	if err != nil {
		return nil, err
	}
	if err := B.ProcessBundle(aA, bundle); err != nil {
		return nil, err
	}
	var bm []msg
	for i := 1; i <= 6; i++ {
		if i == 2 { // A answers b1 before B goes on
			a1, err := enc(A, aB, "a1: hello B")
			if err != nil {
				return nil, err
			}
			if err := deliver(B, aA, a1); err != nil {
				return nil, err
			}
		}
		m, err := enc(B, aA, fmt.Sprintf("b%d from B, first session", i))
		if err != nil {
			return nil, err
		}
		if i == 1 {
			if err := deliver(A, aB, m); err != nil {
				return nil, err
			}
		}
		bm = append(bm, m)
	}
	st, err := B.SessionState(aA)
	if err != nil {
		return nil, err
	}
	sc.BBaseKeys[0] = st.SenderBaseKey()
	for _, i := range []int{6, 3} {
		if err := deliver(A, aB, bm[i-1]); err != nil {
			return nil, err
		}
	}
	// B re-keys: a new PreKeySignalMessage on A's one-time prekey 2.
	if bundle, err = A.bundleFor(sc.SignedPreKey, 2, ScenarioDevice); err != nil {
		return nil, err
	}
	if err := B.ProcessBundle(aA, bundle); err != nil {
		return nil, err
	}
	n1, err := enc(B, aA, "n1: B re-keyed")
	if err != nil {
		return nil, err
	}
	if err := deliver(A, aB, n1); err != nil {
		return nil, err
	}
	// A answers, but B sends n2 and n3 (still PreKeySignalMessages on the
	// same base key) before it reads the answer: A's state keeps the
	// previous_counter 0xFFFFFFFF of its first ratchet step.
	a2, err := enc(A, aB, "a2: A answers the new session")
	if err != nil {
		return nil, err
	}
	n2, err := enc(B, aA, "n2 from B, second session")
	if err != nil {
		return nil, err
	}
	n3, err := enc(B, aA, "n3 from B, second session")
	if err != nil {
		return nil, err
	}
	if err := deliver(A, aB, n3); err != nil {
		return nil, err
	}
	if err := deliver(B, aA, a2); err != nil {
		return nil, err
	}
	if st, err = B.SessionState(aA); err != nil {
		return nil, err
	}
	sc.BBaseKeys[1] = st.SenderBaseKey()

	// A → C, unanswered.
	cs, err := keyhelper.GenerateSignedPreKey(C.GetIdentityKeyPair(), 1, C.Ser.SignedPreKeyRecord)
	if err != nil {
		return nil, err
	}
	if err := C.StoreSignedPreKey(ctx, 1, cs); err != nil {
		return nil, err
	}
	if bundle, err = C.bundleFor(cs, 1, 0); err != nil {
		return nil, err
	}
	if err := A.ProcessBundle(aC, bundle); err != nil {
		return nil, err
	}
	c1, err := enc(A, aC, "c1: A to C, not yet answered")
	if err != nil {
		return nil, err
	}
	sc.Unanswered = c1.ct

	// D → A on one-time prekey 3, in flight. Prekeys 4 and 5 stay unused.
	if bundle, err = A.bundleFor(sc.SignedPreKey, 3, ScenarioDevice); err != nil {
		return nil, err
	}
	for _, id := range []uint32{4, 5} {
		kp, err := ecc.GenerateKeyPair()
		if err != nil {
			return nil, err
		}
		if err := A.StorePreKey(ctx, id, record.NewPreKey(id, kp, A.Ser.PreKeyRecord)); err != nil {
			return nil, err
		}
	}
	if err := D.ProcessBundle(aA, bundle); err != nil {
		return nil, err
	}
	d1, err := enc(D, aA, "d1: D to A, in flight")
	if err != nil {
		return nil, err
	}

	// Group G.
	gB := protocol.NewSenderKeyName(ScenarioGroup, aB)
	gA := protocol.NewSenderKeyName(ScenarioGroup, aA)
	skdm, err := groups.NewGroupSessionBuilder(B.Store, B.Ser).Create(ctx, gB)
	if err != nil {
		return nil, err
	}
	if err := groups.NewGroupSessionBuilder(A.Store, A.Ser).Process(ctx, gB, skdm); err != nil {
		return nil, err
	}
	bEnc := groups.NewGroupCipher(groups.NewGroupSessionBuilder(B.Store, B.Ser), gB, B.Store)
	var gm []msg
	for i := range 5 {
		text := fmt.Sprintf("g%d from B to the group", i)
		m, err := bEnc.Encrypt(ctx, []byte(text))
		if err != nil {
			return nil, err
		}
		gm = append(gm, msg{0, []byte(text), m.SignedSerialize()})
	}
	aDec := groups.NewGroupCipher(groups.NewGroupSessionBuilder(A.Store, A.Ser), gB, A.Store)
	for _, i := range []int{0, 3} {
		m, err := protocol.NewSenderKeyMessageFromBytes(gm[i].ct, A.Ser.SenderKeyMessage)
		if err != nil {
			return nil, err
		}
		pt, err := aDec.Decrypt(ctx, m)
		if err != nil || !bytes.Equal(pt, gm[i].pt) {
			return nil, fmt.Errorf("group message g%d: %q, %v", i, pt, err)
		}
	}
	askdm, err := groups.NewGroupSessionBuilder(A.Store, A.Ser).Create(ctx, gA)
	if err != nil {
		return nil, err
	}
	if err := groups.NewGroupSessionBuilder(B.Store, B.Ser).Process(ctx, gA, askdm); err != nil {
		return nil, err
	}
	h0, err := groups.NewGroupCipher(groups.NewGroupSessionBuilder(A.Store, A.Ser), gA, A.Store).Encrypt(ctx, []byte("h0 from A to the group"))
	if err != nil {
		return nil, err
	}
	if pt, err := B.GroupDecrypt(gA, h0.SignedSerialize()); err != nil || string(pt) != "h0 from A to the group" {
		return nil, fmt.Errorf("group message h0: %q, %v", pt, err)
	}

	// In flight to A, delivered late and out of order.
	pend(ScenarioB, bm[4]) // b5, first (archived) session
	pend(ScenarioB, n2)    // second session, skipped
	pend(ScenarioB, bm[1]) // b2
	pend(ScenarioD, d1)    // unanswered PreKeySignalMessage to A
	pend(ScenarioB, gm[2]) // g2
	pend(ScenarioB, bm[3]) // b4
	pend(ScenarioB, gm[4]) // g4, ahead of the chain
	pend(ScenarioB, gm[1]) // g1
	return sc, nil
}

// GroupDecrypt decrypts a whatsapp-layout sender-key message of name.
func (p *Party) GroupDecrypt(name *protocol.SenderKeyName, ct []byte) ([]byte, error) {
	m, err := protocol.NewSenderKeyMessageFromBytes(ct, p.Ser.SenderKeyMessage)
	if err != nil {
		return nil, err
	}
	return groups.NewGroupCipher(groups.NewGroupSessionBuilder(p.Store, p.Ser), name, p.Store).Decrypt(context.Background(), m)
}

// GroupEncrypt encrypts to the group as p (a chain created on first use
// must have been distributed by the caller).
func (p *Party) GroupEncrypt(name *protocol.SenderKeyName, pt []byte) ([]byte, error) {
	m, err := groups.NewGroupCipher(groups.NewGroupSessionBuilder(p.Store, p.Ser), name, p.Store).Encrypt(context.Background(), pt)
	if err != nil {
		return nil, err
	}
	return m.SignedSerialize(), nil
}

// ProcessDistribution processes a whatsapp-layout distribution message.
func (p *Party) ProcessDistribution(name *protocol.SenderKeyName, b []byte) error {
	m, err := protocol.NewSenderKeyDistributionMessageFromBytes(b, p.Ser.SenderKeyDistributionMessage)
	if err != nil {
		return err
	}
	return groups.NewGroupSessionBuilder(p.Store, p.Ser).Process(context.Background(), name, m)
}
