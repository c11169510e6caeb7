package conformance

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// The generator of interlock-adversarial.json (issue #20). Every vector is
// checked against Interlock as it is recorded: a step whose outcome differs
// from the one written down stops the generator.

// Addresses of the adversarial scenarios: service IDs, so that libsignal's
// address binding applies.
var (
	advAlice   = session.Address{Name: "9d0652a3-dcc3-4d11-975f-74d61598733f", DeviceID: 1}
	advBob     = session.Address{Name: "0f3f2c0c-6e4b-4e2a-9b7a-0c5f2b2d7e11", DeviceID: 1}
	advMallory = session.Address{Name: "5b8e2f4a-1c3d-4e6f-8a9b-0c1d2e3f4a5b", DeviceID: 1}
	advCarol   = session.Address{Name: "c3a1d2e4-7b6f-4a58-9e0d-2f1b3c4d5e6a", DeviceID: 1}
)

func addrOf(a session.Address) *Address { return &Address{Name: a.Name, Device: a.DeviceID} }

// advSender is an initiator of a scenario.
type advSender struct {
	addr session.Address
	id   prekey.IdentityKeyPair
	c    *session.Cipher
	st   *session.MemoryStore
}

// advScenario records one session vector.
type advScenario struct {
	ctx    context.Context
	v      adversarialVector
	bob    *session.Cipher
	bStore *session.MemoryStore
	bID    prekey.IdentityKeyPair
	brand  *recorder
	bundle *prekey.Bundle
	label  string
	nSend  int
}

type advBundle struct{ oneTime, kyber, lastResort bool }

// newAdvScenario sets up Bob (the responder, who knows his address) with a
// signed prekey and, as asked, a one-time prekey and a Kyber prekey.
func newAdvScenario(label string, version int, b advBundle, v adversarialVector) (*advScenario, error) {
	ctx := context.Background()
	keys := NewDeterministicReader(label + "/responder-keys")
	bID, err := prekey.GenerateIdentityKeyPair(keys)
	if err != nil {
		return nil, err
	}
	spk, err := prekey.GenerateSignedPreKey(keys, bID, 7, genTime)
	if err != nil {
		return nil, err
	}
	bStore := session.NewMemoryStore(bID, 4242)
	if err := bStore.StoreSignedPreKey(ctx, &spk); err != nil {
		return nil, err
	}
	bundle := &prekey.Bundle{RegistrationID: 4242, DeviceID: advBob.DeviceID, IdentityKey: bID.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature}
	resp := ResponderKeys{
		Party: Party{Name: advBob.Name, Device: advBob.DeviceID, RegistrationID: 4242,
			IdentityPrivate: bID.PrivateKey().Bytes(), IdentityPublic: bID.PublicKey().Bytes()},
		SignedPreKeyID: spk.ID, SignedPreKeyPrivate: spk.KeyPair.Private.Bytes(),
		SignedPreKeyPublic: spk.KeyPair.Public.Bytes(), SignedPreKeySignature: spk.Signature,
	}
	if b.oneTime {
		opks, err := prekey.GeneratePreKeys(keys, 31, 1)
		if err != nil {
			return nil, err
		}
		if err := bStore.StorePreKey(ctx, &opks[0]); err != nil {
			return nil, err
		}
		bundle.PreKeyID, bundle.PreKey = opks[0].ID, opks[0].KeyPair.Public
		resp.PreKeyID, resp.PreKeyPrivate, resp.PreKeyPublic = opks[0].ID, opks[0].KeyPair.Private.Bytes(), opks[0].KeyPair.Public.Bytes()
	}
	if b.kyber {
		kpk, err := prekey.GenerateKyberPreKey(keys, bID, 9, b.lastResort, genTime)
		if err != nil {
			return nil, err
		}
		if err := bStore.StoreKyberPreKey(ctx, &kpk); err != nil {
			return nil, err
		}
		bundle.KyberPreKeyID, bundle.KyberPreKey, bundle.KyberPreKeySignature = kpk.ID, kpk.KeyPair.Public, kpk.Signature
		resp.KyberPreKeyID, resp.KyberSecret, resp.KyberPublic, resp.KyberSignature = kpk.ID, kpk.KeyPair.Secret.Bytes(), kpk.KeyPair.Public.Bytes(), kpk.Signature
		resp.KyberLastResort = b.lastResort
	}
	brand := &recorder{r: NewDeterministicReader(label + "/responder-ratchet")}
	policy := session.RequirePQXDH
	if version == 3 {
		policy = session.AllowX3DH
	}
	bob := session.NewCipher(bStore, session.WithPolicy(policy), session.WithRand(brand), session.WithLocalAddress(advBob),
		session.WithClock(func() time.Time { return genTime }))
	v.Op, v.Version, v.Responder = "session", version, &resp
	return &advScenario{ctx: ctx, v: v, bob: bob, bStore: bStore, bID: bID, brand: brand, bundle: bundle, label: label}, nil
}

// sender makes an initiator at addr whose identity is drawn from the named
// stream; bound senders write libsignal's address binding.
func (s *advScenario) sender(addr session.Address, stream string, bound bool) (*advSender, error) {
	rnd := NewDeterministicReader(s.label + "/" + stream)
	id, err := prekey.GenerateIdentityKeyPair(rnd)
	if err != nil {
		return nil, err
	}
	policy := session.RequirePQXDH
	if s.v.Version == 3 {
		policy = session.AllowX3DH
	}
	opts := []session.Option{session.WithPolicy(policy), session.WithRand(rnd), session.WithClock(func() time.Time { return genTime })}
	if bound {
		opts = append(opts, session.WithLocalAddress(addr))
	}
	st := session.NewMemoryStore(id, 1000+addr.DeviceID)
	a := &advSender{addr: addr, id: id, c: session.NewCipher(st, opts...), st: st}
	return a, a.c.ProcessBundle(s.ctx, advBob, s.bundle)
}

// initiator names the vector's initiator (the default sender of steps).
func (s *advScenario) initiator(a *advSender) {
	s.v.Initiator = &Party{Name: a.addr.Name, Device: a.addr.DeviceID, RegistrationID: 1000 + a.addr.DeviceID, IdentityPublic: a.id.PublicKey().Bytes()}
}

type advMsg struct {
	typ    session.MessageType
	pt, ct []byte
}

func (s *advScenario) send(a *advSender, to session.Address, text string) (advMsg, error) {
	s.nSend++
	typ, ct, err := a.c.Encrypt(s.ctx, to, []byte(text))
	return advMsg{typ: typ, pt: []byte(text), ct: ct}, err
}

// decrypt delivers ct to Bob as from from, checks the outcome (want: "" or
// the error kind of docs/peer-protocol.md) and records the step.
func (s *advScenario) decrypt(from session.Address, typ session.MessageType, ct, pt []byte, comment, mutation, want string, also ...string) error {
	got, err := s.bob.Decrypt(s.ctx, from, typ, ct)
	if kind := (Interlock{}).Kind(err); kind != want {
		return fmt.Errorf("conformance: generator: %s: %q%s: kind %q (%v), want %q", s.label, comment, mutation, kind, err, want)
	}
	if want == "" && !bytes.Equal(got, pt) {
		return fmt.Errorf("conformance: generator: %s: %q: wrong plaintext", s.label, comment)
	}
	st := adversarialStep{Op: "decrypt", Type: int(typ), Ciphertext: ct, Comment: comment, Mutation: mutation}
	if s.v.Initiator == nil || from.Name != s.v.Initiator.Name || from.DeviceID != s.v.Initiator.Device {
		st.From = addrOf(from)
	}
	if want == "" {
		st.Plaintext = pt
	} else {
		st.ExpectError, st.AcceptableErrors, st.State = want, also, "unchanged"
	}
	s.v.Steps = append(s.v.Steps, st)
	return nil
}

func (s *advScenario) deliver(from session.Address, m advMsg, comment string) error {
	return s.decrypt(from, m.typ, m.ct, m.pt, comment, "", "")
}

// reply has Bob encrypt text to a, which must decrypt it, and records the
// step (the bytes an implementation must reproduce).
func (s *advScenario) reply(a *advSender, text, comment string) error {
	typ, ct, err := s.bob.Encrypt(s.ctx, a.addr, []byte(text))
	if err != nil {
		return err
	}
	if got, err := a.c.Decrypt(s.ctx, advBob, typ, ct); err != nil || string(got) != text {
		return fmt.Errorf("conformance: generator: %s: reply %q: %v", s.label, text, err)
	}
	s.v.Steps = append(s.v.Steps, adversarialStep{Op: "encrypt", Type: int(typ), Plaintext: []byte(text), Ciphertext: ct, Comment: comment})
	return nil
}

func (s *advScenario) trust(a *advSender, comment string) error {
	if _, err := s.bStore.SaveIdentity(s.ctx, a.addr, a.id.PublicKey()); err != nil {
		return err
	}
	s.v.Steps = append(s.v.Steps, adversarialStep{Op: "trust", From: addrOf(a.addr), IdentityPublic: a.id.PublicKey().Bytes(), Comment: comment})
	return nil
}

// advSpareKeys is how many spare ratchet keys follow the ones the
// responder drew.
const advSpareKeys = 4

// finish records Bob's randomness: the bytes he drew, then spare keys, so
// that an implementation that draws a key pair for a message it then
// refuses (or, wrongly, accepts) is judged by that outcome rather than by
// running out of recorded randomness.
func (s *advScenario) finish() (adversarialVector, error) {
	if len(s.brand.got)%32 != 0 {
		return s.v, fmt.Errorf("conformance: generator: %s: responder drew %d random bytes", s.label, len(s.brand.got))
	}
	spare := make([]byte, 32*advSpareKeys)
	if _, err := s.brand.r.Read(spare); err != nil {
		return s.v, err
	}
	s.v.Responder.RatchetRandom = append(s.brand.got, spare...)
	if len(s.brand.got) >= 32 {
		s.v.Responder.RatchetPrivate = s.brand.got[:32]
	}
	return s.v, nil
}

// newAdvSession is the set-up every session scenario starts with: the
// scenario (newAdvScenario), its initiator at advAlice drawing from the
// named stream (writing the address binding when bound) with the
// responder's bundle processed, and, when first is not empty, the
// initiator's first message to the responder with that text.
func newAdvSession(label string, version int, b advBundle, v adversarialVector, stream string, bound bool, first string) (s *advScenario, alice *advSender, m0 advMsg, err error) {
	if s, err = newAdvScenario(label, version, b, v); err != nil {
		return s, nil, m0, err
	}
	if alice, err = s.sender(advAlice, stream, bound); err != nil {
		return s, nil, m0, err
	}
	s.initiator(alice)
	if first != "" {
		m0, err = s.send(alice, advBob, first)
	}
	return s, alice, m0, err
}

// run runs steps in order and, when all pass, finishes the vector.
func (s *advScenario) run(steps ...func() error) (adversarialVector, error) {
	for _, f := range steps {
		if err := f(); err != nil {
			return s.v, err
		}
	}
	return s.finish()
}

// reencodePreKey re-encodes a PreKeySignalMessage with the given base key
// bytes, identity key bytes and inner SignalMessage: what anyone can build,
// since the outer message has no MAC of its own.
func reencodePreKey(orig, baseKey, identity, inner []byte) ([]byte, error) {
	m, err := session.ParsePreKeySignalMessage(orig)
	if err != nil {
		return nil, err
	}
	out := []byte{orig[0]}
	if m.HasPreKeyID {
		out = protowire.AppendTag(out, 1, protowire.VarintType)
		out = protowire.AppendVarint(out, uint64(m.PreKeyID))
	}
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendBytes(out, baseKey)
	out = protowire.AppendTag(out, 3, protowire.BytesType)
	out = protowire.AppendBytes(out, identity)
	out = protowire.AppendTag(out, 4, protowire.BytesType)
	out = protowire.AppendBytes(out, inner)
	out = protowire.AppendTag(out, 5, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(m.RegistrationID))
	out = protowire.AppendTag(out, 6, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(m.SignedPreKeyID))
	if m.KyberCiphertext != nil {
		out = protowire.AppendTag(out, 7, protowire.VarintType)
		out = protowire.AppendVarint(out, uint64(m.KyberPreKeyID))
		out = protowire.AppendTag(out, 8, protowire.BytesType)
		out = protowire.AppendBytes(out, m.KyberCiphertext)
	}
	return out, nil
}

// topBitSet returns key (33 bytes, type byte first) with the unused top bit
// of u set: the same X25519 point, other bytes.
func topBitSet(key []byte) []byte {
	k := bytes.Clone(key)
	k[32] |= 0x80
	return k
}

func genAdversarial() ([]any, error) {
	var out []any
	add := func(v adversarialVector, err error) error {
		if err != nil {
			return err
		}
		v.ID = len(out) + 1
		out = append(out, v)
		return nil
	}
	for _, gen := range []func() (adversarialVector, error){
		genAdvBaseKey, genAdvRatchetKey, genAdvLastResort, genAdvIdentityField, genAdvAddressBinding,
	} {
		if err := add(gen()); err != nil {
			return nil, err
		}
	}
	envs, err := genAdvPlaintextContent()
	if err != nil {
		return nil, err
	}
	sealed, err := genAdvSealedExpiry()
	if err != nil {
		return nil, err
	}
	for _, v := range append(envs, sealed...) {
		if err := add(v, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Item 3: a version 3 PreKeySignalMessage without one-time prekey, its base
// key re-encoded.
func genAdvBaseKey() (adversarialVector, error) {
	s, alice, m0, err := newAdvSession("interlock-adversarial/base-key", 3, advBundle{}, adversarialVector{Issue: "#20 item 3", Check: "corpus/adversarial/replay",
		Comment: "X3DH (version 3) from a bundle without one-time prekey. The server re-delivers the first PreKeySignalMessage with its base key re-encoded (top bit of u set: the same X25519 point, so the same agreement, with other bytes). It must be refused (a non-canonical key, or the same base key compared canonically), must not decrypt a second time and must not replace the session; the conversation goes on."},
		"alice", false, "pay 100")
	if err != nil {
		return s.v, err
	}
	pm, err := session.ParsePreKeySignalMessage(m0.ct)
	if err != nil {
		return s.v, err
	}
	replay, err := reencodePreKey(m0.ct, topBitSet(pm.BaseKey.Bytes()), pm.IdentityKey.Bytes(), pm.Message.Bytes())
	if err != nil {
		return s.v, err
	}
	return s.run(
		func() error { return s.deliver(advAlice, m0, "first PreKeySignalMessage (X3DH, no one-time prekey)") },
		func() error {
			return s.decrypt(advAlice, m0.typ, replay, nil, "", "the same message, base key with the top bit of u set (non-canonical encoding of the same point)", "invalid_message")
		},
		func() error {
			return s.decrypt(advAlice, m0.typ, m0.ct, nil, "", "the genuine first message replayed", "duplicate_message")
		},
		func() error {
			return s.reply(alice, "received", "the session is the first one: the reply is reproduced byte for byte")
		},
		func() error {
			return s.decrypt(advAlice, m0.typ, replay, nil, "", "the re-encoded message again, after the reply", "invalid_message")
		},
		func() error {
			m, err := s.send(alice, advBob, "pay 100, second message")
			if err != nil {
				return err
			}
			return s.deliver(advAlice, m, "the initiator's next message, on the original session")
		},
		func() error { return s.reply(alice, "received again", "") },
	)
}

// Item 3: a SignalMessage whose ratchet key has the top bit set, with a MAC
// its sender computed over those bytes.
func genAdvRatchetKey() (adversarialVector, error) {
	s, alice, m0, err := newAdvSession("interlock-adversarial/ratchet-key", 3, advBundle{}, adversarialVector{Issue: "#20 item 3", Check: "corpus/adversarial/integrity",
		Comment: "X3DH (version 3). The first message of the initiator's second sending chain arrives with its ratchet key re-encoded (top bit of u set) and a MAC its sender computed over those bytes: every received public key must be canonical, so it is refused; the genuine message then decrypts."},
		"alice", false, "hello")
	if err != nil {
		return s.v, err
	}
	if err := s.deliver(advAlice, m0, "first PreKeySignalMessage"); err != nil {
		return s.v, err
	}
	if err := s.reply(alice, "hi", "the reply that makes the initiator start a new chain"); err != nil {
		return s.v, err
	}
	rec, err := alice.st.LoadSession(s.ctx, advBob)
	if err != nil {
		return s.v, err
	}
	mk, err := nextSendingKeys(rec)
	if err != nil {
		return s.v, err
	}
	m1, err := s.send(alice, advBob, "first message of a new chain")
	if err != nil {
		return s.v, err
	}
	if m1.typ != session.TypeSignal {
		return s.v, errors.New("conformance: generator: ratchet-key: not a SignalMessage")
	}
	sm, err := session.ParseSignalMessage(m1.ct)
	if err != nil {
		return s.v, err
	}
	i := bytes.Index(m1.ct, sm.RatchetKey.Bytes())
	if i < 0 {
		return s.v, errors.New("conformance: generator: ratchet key not found")
	}
	bad := bytes.Clone(m1.ct)
	bad[i+32] |= 0x80
	body := bad[:len(bad)-session.MACSize]
	h := hmac.New(sha256.New, mk.MACKey)
	h.Write(alice.id.PublicKey().Bytes())
	h.Write(s.bID.PublicKey().Bytes())
	h.Write(body)
	copy(bad[len(body):], h.Sum(nil)[:session.MACSize])
	if err := s.decrypt(advAlice, m1.typ, bad, nil, "", "ratchet key with the top bit of u set, MAC recomputed by the sender over the re-encoded bytes", "invalid_message"); err != nil {
		return s.v, err
	}
	if err := s.deliver(advAlice, m1, "the genuine message"); err != nil {
		return s.v, err
	}
	if err := s.reply(alice, "ok", ""); err != nil {
		return s.v, err
	}
	return s.finish()
}

// Item 2: a PreKeySignalMessage on a last-resort Kyber prekey, relabelled.
func genAdvLastResort() (adversarialVector, error) {
	s, alice, m0, err := newAdvSession("interlock-adversarial/last-resort", 4, advBundle{kyber: true, lastResort: true}, adversarialVector{Issue: "#20 item 2", Check: "corpus/adversarial/replay",
		Comment: "PQXDH (version 4) from a bundle with a last-resort Kyber prekey and no one-time prekey (kyber_last_resort); the initiator writes no address binding (as libsignal 0.90). Nothing is consumed by the first message, so the server re-delivers its bytes as from another account and from another device of the sender: a base key seen before with a last-resort Kyber prekey must be refused (libsignal's mark_kyber_pre_key_used) and store no session. A new session on the same last-resort prekey with a new base key is accepted."},
		"alice", false, "first message on a last-resort Kyber prekey")
	if err != nil {
		return s.v, err
	}
	carol, err := s.sender(advCarol, "carol", false)
	if err != nil {
		return s.v, err
	}
	alice2 := advAlice
	alice2.DeviceID = 2
	return s.run(
		func() error {
			return s.deliver(advAlice, m0, "first PreKeySignalMessage (last-resort Kyber prekey, no one-time prekey)")
		},
		func() error {
			return s.decrypt(advMallory, m0.typ, m0.ct, nil, "", "the same bytes delivered as from another account", "invalid_prekey", "invalid_message")
		},
		func() error {
			return s.decrypt(alice2, m0.typ, m0.ct, nil, "", "the same bytes delivered as from another device of the sender", "invalid_prekey", "invalid_message")
		},
		func() error {
			return s.decrypt(advAlice, m0.typ, m0.ct, nil, "", "the same bytes from the sender again", "duplicate_message")
		},
		func() error {
			m, err := s.send(carol, advBob, "another sender, a new base key, the same last-resort prekey")
			if err != nil {
				return err
			}
			return s.deliver(advCarol, m, "a genuine new session on the last-resort prekey (new base key)")
		},
		func() error { return s.reply(alice, "reply to the first sender", "") },
		func() error {
			m, err := s.send(alice, advBob, "after the reply")
			if err != nil {
				return err
			}
			return s.deliver(advAlice, m, "the first sender's next message")
		},
	)
}

// Item 1: a PreKeySignalMessage for an existing session whose identity
// field names another, trusted, identity.
func genAdvIdentityField() (adversarialVector, error) {
	s, oldAlice, first, err := newAdvSession("interlock-adversarial/identity-field", 3, advBundle{}, adversarialVector{Issue: "#20 item 1", Check: "corpus/adversarial/identity",
		Comment: "The initiator's old installation (identity K1) had a session; the account reinstalled with identity K2, which the application trusted (op trust). A thief holding the old phone sends a SignalMessage of the K1 session: refused (K1 is no longer trusted). He wraps it in a PreKeySignalMessage carrying the K1 session's base key and K2 in the identity field (the outer message has no MAC): the identity that authenticates it is the K1 session's, which must equal the identity field and be trusted, so it is refused, and the K1 session does not become current (the following steps prove it). Refusing it as untrusted_identity also conforms."},
		"alice-K1", false, "hello from K1")
	if err != nil {
		return s.v, err
	}
	if err := s.deliver(advAlice, first, "first PreKeySignalMessage of the old installation (K1)"); err != nil {
		return s.v, err
	}
	if err := s.reply(oldAlice, "hi K1", "reply to the old installation"); err != nil {
		return s.v, err
	}
	newAlice, err := s.sender(advAlice, "alice-K2", false)
	if err != nil {
		return s.v, err
	}
	w, err := s.send(newAlice, advBob, "new phone (K2)")
	if err != nil {
		return s.v, err
	}
	if err := s.decrypt(advAlice, w.typ, w.ct, nil, "", "first message of the reinstalled account (K2) before the application accepts K2", "untrusted_identity"); err != nil {
		return s.v, err
	}
	if err := s.trust(newAlice, "the application accepts the initiator's new identity K2"); err != nil {
		return s.v, err
	}
	if err := s.deliver(advAlice, w, "first message of the reinstalled account (K2), accepted"); err != nil {
		return s.v, err
	}
	evil, err := s.send(oldAlice, advBob, "evil")
	if err != nil {
		return s.v, err
	}
	if evil.typ != session.TypeSignal {
		return s.v, errors.New("conformance: generator: identity-field: the thief's message is not a SignalMessage")
	}
	pm, err := session.ParsePreKeySignalMessage(first.ct)
	if err != nil {
		return s.v, err
	}
	withK2, err := reencodePreKey(first.ct, pm.BaseKey.Bytes(), newAlice.id.PublicKey().Bytes(), evil.ct)
	if err != nil {
		return s.v, err
	}
	withK1, err := reencodePreKey(first.ct, pm.BaseKey.Bytes(), oldAlice.id.PublicKey().Bytes(), evil.ct)
	if err != nil {
		return s.v, err
	}
	for _, c := range []struct {
		typ      session.MessageType
		ct       []byte
		mutation string
		want     string
		also     []string
	}{
		{evil.typ, evil.ct, "a SignalMessage of the old K1 session (the thief's)", "untrusted_identity", nil},
		{session.TypePreKey, withK2, "the thief's SignalMessage wrapped in a PreKeySignalMessage with the K1 session's base key and the trusted K2 in the identity field", "invalid_message", []string{"untrusted_identity"}},
		{session.TypePreKey, withK1, "the same wrapped with K1 in the identity field", "untrusted_identity", nil},
	} {
		if err := s.decrypt(advAlice, c.typ, c.ct, nil, "", c.mutation, c.want, c.also...); err != nil {
			return s.v, err
		}
	}
	still, err := s.send(newAlice, advBob, "still here (K2)")
	if err != nil {
		return s.v, err
	}
	if err := s.deliver(advAlice, still, "the reinstalled account's next message"); err != nil {
		return s.v, err
	}
	// The reply goes to the K2 session: the refused message changed nothing.
	if err := s.reply(newAlice, "welcome back", "reply on the K2 session (the refused messages did not make the K1 session current)"); err != nil {
		return s.v, err
	}
	return s.finish()
}

// Item 11: libsignal's address binding.
func genAdvAddressBinding() (adversarialVector, error) {
	s, alice, _, err := newAdvSession("interlock-adversarial/address-binding", 4, advBundle{oneTime: true, kyber: true}, adversarialVector{Issue: "#20 item 11", Check: "corpus/adversarial/identity",
		Comment: "PQXDH (version 4) first message whose inner SignalMessage carries libsignal's address binding (field 6, 36 bytes under the MAC: sender service ID, fixed width 17 bytes ‖ sender device ‖ recipient service ID ‖ recipient device), as libsignal ≥ 0.91 writes it. Relabelled by the server as from another device or account, or written for another recipient (the server swapped the responder's bundle in for carol's), it must be refused before a session is stored or a prekey spent; the genuine delivery then decrypts. The responder knows its own address (the responder's name and device)."},
		"alice", true, "")
	if err != nil {
		return s.v, err
	}
	// The server publishes Bob's bundle as carol's: Alice's message to
	// "carol" is bound to carol.
	if err := alice.c.ProcessBundle(s.ctx, advCarol, s.bundle); err != nil {
		return s.v, err
	}
	toCarol, err := s.send(alice, advCarol, "for carol")
	if err != nil {
		return s.v, err
	}
	m0, err := s.send(alice, advBob, "hello bob")
	if err != nil {
		return s.v, err
	}
	pm, err := session.ParsePreKeySignalMessage(m0.ct)
	if err != nil {
		return s.v, err
	}
	if len(pm.Message.Addresses) != session.AddressBindingSize {
		return s.v, errors.New("conformance: generator: address-binding: no binding written")
	}
	alice60 := advAlice
	alice60.DeviceID = 60
	pni := session.Address{Name: "PNI:" + advAlice.Name, DeviceID: 1}
	for _, c := range []struct {
		from     session.Address
		mutation string
	}{
		{alice60, "delivered as from another device of the sender (60)"},
		{advMallory, "delivered as from another account"},
		{pni, "delivered as from the sender's PNI"},
	} {
		if err := s.decrypt(c.from, m0.typ, m0.ct, nil, "", c.mutation, "invalid_message"); err != nil {
			return s.v, err
		}
	}
	if err := s.decrypt(advAlice, toCarol.typ, toCarol.ct, nil, "", "a first message bound to carol as its recipient, delivered to the responder (its bundle was published as carol's)", "invalid_message"); err != nil {
		return s.v, err
	}
	if err := s.deliver(advAlice, m0, "the genuine delivery: the refused ones spent no prekey"); err != nil {
		return s.v, err
	}
	if err := s.reply(alice, "hi alice", ""); err != nil {
		return s.v, err
	}
	m1, err := s.send(alice, advBob, "after the reply")
	if err != nil {
		return s.v, err
	}
	if err := s.deliver(advAlice, m1, "the sender's next message"); err != nil {
		return s.v, err
	}
	return s.finish()
}

// Item 4: PLAINTEXT_CONTENT envelopes. The bytes are the ones proposed on
// the issue; the generator rebuilds and checks them.
func genAdvPlaintextContent() ([]adversarialVector, error) {
	const ts = 1_700_000_000_000
	from, to := advAlice, session.Address{Name: advBob.Name}
	dataMessage := protowire.AppendTag(nil, 1, protowire.BytesType)
	dataMessage = protowire.AppendString(dataMessage, "wire 5,000 EUR")
	dataMessage = protowire.AppendTag(dataMessage, 7, protowire.VarintType)
	dataMessage = protowire.AppendVarint(dataMessage, ts)
	dem := protowire.AppendTag(nil, 2, protowire.VarintType)
	dem = protowire.AppendVarint(dem, ts)
	dem = protowire.AppendTag(dem, 3, protowire.VarintType)
	dem = protowire.AppendVarint(dem, 1)
	contentDM := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), dataMessage)
	contentDEM := protowire.AppendBytes(protowire.AppendTag(nil, 8, protowire.BytesType), dem)
	body := func(content ...[]byte) []byte {
		b := []byte{envelope.PlaintextContentMarker}
		for _, c := range content {
			b = append(b, c...)
		}
		return append(b, 0x80)
	}
	wrap := func(b []byte) ([]byte, error) {
		e := &envelope.Envelope{Type: envelope.TypePlaintextContent, SourceServiceID: from.Name, SourceDevice: from.DeviceID,
			DestinationServiceID: to.Name, ClientTimestamp: ts, Content: b, Urgent: true}
		return e.Marshal()
	}
	proposed := map[string]string{
		"c00a170a0e7769726520352c303030204555523880d095ffbc3180":                       "08082880d095ffbc313801421bc00a170a0e7769726520352c303030204555523880d095ffbc31805a2439643036353261332d646363332d346431312d393735662d3734643631353938373333666a2430663366326330632d366534622d346532612d396237612d306335663262326437653131",
		"c042091080d095ffbc31180180":                                                   "08082880d095ffbc313801420dc042091080d095ffbc311801805a2439643036353261332d646363332d346431312d393735662d3734643631353938373333666a2430663366326330632d366534622d346532612d396237612d306335663262326437653131",
		"c00a170a0e7769726520352c303030204555523880d095ffbc3142091080d095ffbc31180180": "",
	}
	var out []adversarialVector
	for _, c := range []struct {
		body    []byte
		comment string
		want    string
	}{
		{body(contentDM), "PLAINTEXT_CONTENT envelope (type 8) from 9d0652a3-….1 whose content is a DataMessage (\"wire 5,000 EUR\"): nothing in it is authenticated (anyone who delivers envelopes can write it, naming any source), so it must never come out as content from that source; it is no resend request either: refused", "invalid_message"},
		{body(contentDM, contentDEM), "PLAINTEXT_CONTENT envelope whose content carries the same DataMessage beside a DecryptionErrorMessage: the content of a plaintext envelope may hold a DecryptionErrorMessage and nothing else, so refused", "invalid_message"},
		{body(contentDEM), "PLAINTEXT_CONTENT envelope carrying a lone DecryptionErrorMessage (timestamp 1700000000000, device 1; libsignal's PlaintextContent 0xC0 ‖ Content ‖ 0x80): accepted only as an unauthenticated resend request, never as authenticated content", ""},
	} {
		want, ok := proposed[hex.EncodeToString(c.body)]
		if !ok {
			return nil, fmt.Errorf("conformance: generator: plaintext content body %x is not one of the proposed ones", c.body)
		}
		env, err := wrap(c.body)
		if err != nil {
			return nil, err
		}
		if want != "" && hex.EncodeToString(env) != want {
			return nil, fmt.Errorf("conformance: generator: envelope %x differs from the proposed %s", env, want)
		}
		v := adversarialVector{Issue: "#20 item 4", Check: "corpus/adversarial/integrity", Op: "open_envelope", Comment: c.comment, Envelope: env, Body: c.body}
		got, err := Interlock{}.OpenEnvelope(env)
		if kind := (Interlock{}).Kind(err); kind != c.want {
			return nil, fmt.Errorf("conformance: generator: plaintext content: kind %q (%v), want %q", kind, err, c.want)
		}
		if c.want == "" {
			v.Expected = &envelopeExpect{From: *addrOf(from), ResendRequest: &ResendRequest{Timestamp: ts, Device: 1}}
			if !v.Expected.matches(got) {
				return nil, fmt.Errorf("conformance: generator: plaintext content: got %+v", got)
			}
		} else {
			v.ExpectError = c.want
		}
		out = append(out, v)
	}
	return out, nil
}

// Item 7: a sender certificate that expired in 2019, validated at time 0
// ("now").
func genAdvSealedExpiry() ([]adversarialVector, error) {
	rnd := NewDeterministicReader("interlock-adversarial/sealed-expiry")
	expires := time.Date(2019, time.June, 1, 0, 0, 0, 0, time.UTC)
	root, err := prekey.GenerateKeyPair(rnd)
	if err != nil {
		return nil, err
	}
	server, err := prekey.GenerateKeyPair(rnd)
	if err != nil {
		return nil, err
	}
	sc, err := sealedsender.NewServerCertificate(rnd, root.Private, 7, server.Public)
	if err != nil {
		return nil, err
	}
	alice, err := prekey.GenerateIdentityKeyPair(rnd)
	if err != nil {
		return nil, err
	}
	bob, err := prekey.GenerateIdentityKeyPair(rnd)
	if err != nil {
		return nil, err
	}
	cert, err := sealedsender.NewSenderCertificate(rnd, sealedsender.Sender{UUID: advAlice.Name, DeviceID: advAlice.DeviceID,
		IdentityKey: alice.PublicKey(), Expires: expires}, sc, server.Private)
	if err != nil {
		return nil, err
	}
	inner := []byte("an inner message the recipient never gets to")
	content, err := sealedsender.NewContent(session.TypeSignal, cert, inner, sealedsender.HintDefault, nil)
	if err != nil {
		return nil, err
	}
	ct, err := sealedsender.Encrypt(rnd, bob.PublicKey(), alice, content)
	if err != nil {
		return nil, err
	}
	exp := &sealedExpect{Sender: *addrOf(advAlice), SenderIdentityPublic: alice.PublicKey().Bytes(), SenderCertificate: cert.Bytes(),
		SenderCertificateExpires: expires.UnixMilli(), USMC: content.Bytes(), MsgType: int(session.TypeSignal), Contents: inner}
	var out []adversarialVector
	for _, c := range []struct {
		now     int64
		comment string
		want    string
	}{
		{expires.Add(-150 * 24 * time.Hour).UnixMilli(), "sealed sender v1 whose sender certificate expires on 2019-06-01, validated at a time before that (now, ms): accepted", ""},
		{0, "the same message with no validation time (now absent, 0): the validation time is the implementation's current time, never one before every expiry; the certificate expired in 2019, so refused", "invalid_message"},
	} {
		v := adversarialVector{Issue: "#20 item 7", Check: "corpus/adversarial/sealed-sender", Op: "open_sealed", Comment: c.comment,
			RecipientIdentityPrivate: bob.PrivateKey().Bytes(), Ciphertext: ct, TrustRoot: root.Public.Bytes(), Now: c.now}
		got, err := Interlock{}.OpenSealedSender(SealedInputs{RecipientIdentityPrivate: v.RecipientIdentityPrivate, Ciphertext: ct, TrustRoot: v.TrustRoot, Now: c.now})
		if kind := (Interlock{}).Kind(err); kind != c.want {
			return nil, fmt.Errorf("conformance: generator: sealed expiry: kind %q (%v), want %q", kind, err, c.want)
		}
		if c.want == "" {
			if !exp.matches(got) {
				return nil, errors.New("conformance: generator: sealed expiry: wrong content")
			}
			v.Sealed = exp
		} else {
			v.ExpectError = c.want
		}
		out = append(out, v)
	}
	return out, nil
}

// adversarialComment is the file comment of interlock-adversarial.json.
const adversarialComment = "Issue #20: what a malicious server (or a thief holding an old device) does with genuine messages and envelopes it writes itself, as fixed bytes. Each vector names its finding (issue) and the corpus check it feeds (check: corpus/adversarial/replay, identity, integrity, sealed-sender; guarantees in conformance/guarantees.go). op session: a fresh responder (responder, as in the session files; kyber_last_resort marks a last-resort Kyber prekey) runs steps in order: decrypt (a message as delivered from `from`, default the initiator: plaintext, or expect_error with state unchanged; acceptable_errors are other conforming rejection kinds), encrypt (a reply the responder must produce byte for byte, its ratchet key pairs drawn from ratchet_random) and trust (the application accepts identity_public for `from`). op open_envelope: a client opens the Signal Envelope `envelope` (its content field is `body`): refused (expect_error), or expected with authenticated false and the resend request it carries. op open_sealed: as interlock-sealed-sender.json's open, expected content in `sealed`; now 0 or absent means the implementation's current time."
