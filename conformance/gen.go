package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// GeneratorName is the program that writes the interlock-*.json vectors.
const GeneratorName = "conformance/cmd/genvectors"

// DeterministicReader is a randomness source for generators and tests only:
// SHA-256(label ‖ counter) in counter mode. Never use it for real keys.
type DeterministicReader struct {
	label []byte
	ctr   uint64
	buf   []byte
}

// NewDeterministicReader returns the stream named by label.
func NewDeterministicReader(label string) *DeterministicReader {
	return &DeterministicReader{label: []byte(label)}
}

func (r *DeterministicReader) Read(p []byte) (int, error) {
	for i := range p {
		if len(r.buf) == 0 {
			h := sha256.New()
			h.Write(r.label)
			binary.Write(h, binary.BigEndian, r.ctr)
			r.ctr++
			r.buf = h.Sum(nil)
		}
		p[i] = r.buf[0]
		r.buf = r.buf[1:]
	}
	return len(p), nil
}

// recorder keeps every byte read through it.
type recorder struct {
	r   *DeterministicReader
	got []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.got = append(r.got, p[:n]...)
	return n, err
}

var genTime = time.Unix(1_700_000_000, 0)

// genFile is one generated vector file: its name, category, comment and
// vectors.
type genFile struct {
	name, category, comment string
	vectors                 []any
}

// GenerateVectors returns the interlock-*.json files, byte for byte. dir is
// testdata/vectors: agreement vectors are also derived from the recorded
// libsignal and go.mau.fi sessions there.
func GenerateVectors(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	var agreements []any
	for _, version := range []int{4, 3} {
		sv, err := genSession(version)
		if err != nil {
			return nil, err
		}
		name := "interlock-session-pqxdh.json"
		if version == 3 {
			name = "interlock-session-x3dh.json"
		}
		if out[name], err = marshal(sv); err != nil {
			return nil, err
		}
		a, err := agreementFromSession(sv, len(agreements)+1, Sources{InterlockVersion}, "")
		if err != nil {
			return nil, err
		}
		agreements = append(agreements, a)
	}
	for _, f := range []string{"libsignal-pqxdh-session.json", "libsignal-pqxdh-session-noopk.json", "mau-x3dh-session.json", "mau-x3dh-session-noopk.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		var sv SessionVector
		if err := json.Unmarshal(b, &sv); err != nil {
			return nil, err
		}
		src := append(Sources{InterlockVersion}, fmt.Sprintf("%s (confirmed: its recorded first message authenticates under these keys, %s)", sv.Source[0], f))
		a, err := agreementFromSession(&sv, len(agreements)+1, src, f)
		if err != nil {
			return nil, err
		}
		agreements = append(agreements, a)
	}
	neg, err := agreementNegatives(out, len(agreements)+1)
	if err != nil {
		return nil, err
	}
	agreements = append(agreements, neg...)
	files := []genFile{
		{"interlock-agreement.json", "agreement", "X3DH (version 3) and PQXDH (version 4) at the responder: from the responder's private keys, the initiator's identity and base key and (PQXDH) the Kyber ciphertext, the first root key and chain key of the Double Ratchet. Negative vectors name the rejection kind (docs/peer-protocol.md#error-kinds).", agreements},
	}
	xv, err := genXEdDSA()
	if err != nil {
		return nil, err
	}
	kv, err := genKEM()
	if err != nil {
		return nil, err
	}
	fv, err := genFingerprint()
	if err != nil {
		return nil, err
	}
	files = append(files,
		genFile{"interlock-xeddsa.json", "xeddsa", "XEdDSA signatures made with deterministic randomness, and tampered ones that must not verify. public_key is the 33-byte libsignal form.", xv},
		genFile{"interlock-kem.json", "kem", "Kyber-1024 decapsulation (libsignal serialization, type byte 0x08). A tampered ciphertext decapsulates to the implicit-rejection secret (no error); malformed ones are rejected.", kv},
		genFile{"interlock-fingerprint.json", "fingerprint", "Safety numbers: a changed identity key changes the number (key-change detection); malformed keys are rejected. ids are given as bytes (local_id_bytes, remote_id_bytes).", fv},
	)
	sk, err := genSenderKey()
	if err != nil {
		return nil, err
	}
	mv, err := genMedia()
	if err != nil {
		return nil, err
	}
	files = append(files,
		genFile{"interlock-sender-key.json", "sender-key", "Sender keys in both flavours. Each vector is one receiver: run its steps in order on a fresh group member; op process takes a SenderKeyDistributionMessage (as if it arrived over the sender's 1:1 session), op decrypt a SenderKeyMessage from sender in group_id. Negative steps (tampered, truncated, replayed, unknown chain, before the distribution message) name the rejection kind and leave the receiver unchanged.", sk},
		genFile{"interlock-media.json", "media", "Attachments. format signal: blob = IV ‖ AES-256-CBC(PKCS#7(plaintext ‖ zeros to the padded size)) ‖ HMAC-SHA256 under key[32:], decrypt to size bytes, checking digest and incremental_mac (chunk_size) when given. format whatsapp: keys from HKDF-SHA256(media_key, info), blob = AES-256-CBC ‖ HMAC[:10], checking file_enc_sha256 and file_sha256 when given. Negative vectors (flipped, truncated, extended blobs; wrong digests, keys and info; a valid MAC over bad padding) name the rejection kind.", mv},
	)
	av, err := genAdversarial()
	if err != nil {
		return nil, err
	}
	files = append(files, genFile{"interlock-adversarial.json", "adversarial", adversarialComment, av})
	sf, err := genSealed()
	if err != nil {
		return nil, err
	}
	if out["interlock-sealed-sender.json"], err = marshal(map[string]any{
		"source": Sources{InterlockVersion}, "generator": GeneratorName, "category": "sealed-sender",
		"comment":           "Sealed sender v1 and v2. op open: the holder of recipient_identity_private opens ciphertext (0x11, or the per-recipient 0x22) and validates the sender certificate against trust_root_public (or the vector's trust_root) at now (ms); expected is the content (usmc and its fields; plaintext decrypts contents with sender_key_distribution_message). op split: the server's fan-out of the 0x23 sent_message for one device of service_id. Negative vectors: flipped and truncated messages, wrong or revoked trust chains, an expired certificate (invalid_message), another recipient, an excluded or unlisted device (no_session).",
		"trust_root_public": sf.trustRoot, "server_certificate": sf.serverCert, "vectors": sf.vectors,
	}); err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := marshal(map[string]any{
			"source": Sources{InterlockVersion}, "generator": GeneratorName, "category": f.category,
			"comment": f.comment, "vectors": f.vectors,
		})
		if err != nil {
			return nil, err
		}
		out[f.name] = b
	}
	return out, nil
}

func marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ---- sessions ---------------------------------------------------------------

type sessionGen struct {
	ctx        context.Context
	alice, bob *session.Cipher
	aAddr      session.Address
	bAddr      session.Address
	sv         *SessionVector
	n          int
	bStore     *session.MemoryStore
	bIK, aIK   []byte // identity keys, for the MAC check of recorded message keys
}

func (g *sessionGen) send() TranscriptEntry {
	g.n++
	pt := []byte(fmt.Sprintf("initiator message %d", g.n))
	typ, ct, err := g.alice.Encrypt(g.ctx, g.bAddr, pt)
	if err != nil {
		panic(err)
	}
	return TranscriptEntry{From: "initiator", Type: int(typ), Plaintext: pt, Ciphertext: ct}
}

func (g *sessionGen) deliver(e TranscriptEntry, comment string) {
	pt, err := g.bob.Decrypt(g.ctx, g.aAddr, session.MessageType(e.Type), e.Ciphertext)
	if err != nil || !bytes.Equal(pt, e.Plaintext) {
		panic(fmt.Sprintf("conformance: generator: deliver %q: %v", e.Plaintext, err))
	}
	e.Comment = comment
	g.sv.Transcript = append(g.sv.Transcript, e)
}

// negative records a mutated copy of e that the responder must reject.
func (g *sessionGen) negative(e TranscriptEntry, typ int, ct []byte, mutation string) {
	_, err := g.bob.Decrypt(g.ctx, g.aAddr, session.MessageType(typ), ct)
	kind := Interlock{}.Kind(err)
	if err == nil || kind == "other" {
		panic(fmt.Sprintf("conformance: generator: %s accepted or unclassified: %v", mutation, err))
	}
	g.sv.Transcript = append(g.sv.Transcript, TranscriptEntry{
		From: "initiator", Type: typ, Ciphertext: ct, ExpectError: kind, State: "unchanged",
		Mutation: mutation + fmt.Sprintf(" (of the message carrying %q)", e.Plaintext),
	})
}

func (g *sessionGen) reply() {
	g.n++
	pt := []byte(fmt.Sprintf("responder message %d", g.n))
	rec, err := g.bStore.LoadSession(g.ctx, g.aAddr)
	if err != nil {
		panic(err)
	}
	mk, err := nextSendingKeys(rec)
	if err != nil {
		panic(err)
	}
	typ, ct, err := g.bob.Encrypt(g.ctx, g.aAddr, pt)
	if err != nil {
		panic(err)
	}
	if got, err := g.alice.Decrypt(g.ctx, g.bAddr, typ, ct); err != nil || !bytes.Equal(got, pt) {
		panic(fmt.Sprintf("conformance: generator: initiator decrypt: %v", err))
	}
	if typ != session.TypeSignal {
		panic("conformance: generator: a reply is not a SignalMessage")
	}
	if err := mk.Check(ct, g.bIK, g.aIK, pt); err != nil {
		panic(err)
	}
	g.sv.Transcript = append(g.sv.Transcript, TranscriptEntry{From: "responder", Type: int(typ), Plaintext: pt, Ciphertext: ct, MessageKeys: mk})
}

func flip(b []byte, off int, mask byte) []byte {
	c := append([]byte(nil), b...)
	c[off] ^= mask
	return c
}

func genSession(version int) (sv *SessionVector, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ctx := context.Background()
	label := fmt.Sprintf("interlock-session-v%d/", version)
	arand := NewDeterministicReader(label + "initiator")
	bkeys := NewDeterministicReader(label + "responder-keys")
	brand := &recorder{r: NewDeterministicReader(label + "responder-ratchet")}
	aID, err := prekey.GenerateIdentityKeyPair(arand)
	if err != nil {
		return nil, err
	}
	bID, err := prekey.GenerateIdentityKeyPair(bkeys)
	if err != nil {
		return nil, err
	}
	spk, err := prekey.GenerateSignedPreKey(bkeys, bID, 7, genTime)
	if err != nil {
		return nil, err
	}
	aAddr := session.Address{Name: "3f6b0c1e-8d2a-4b5c-9e7f-1a2b3c4d5e6f", DeviceID: 1}
	bAddr := session.Address{Name: "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", DeviceID: 2}
	bStore := session.NewMemoryStore(bID, 2222)
	bundle := &prekey.Bundle{RegistrationID: 2222, DeviceID: bAddr.DeviceID, IdentityKey: bID.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(bStore.StoreSignedPreKey(ctx, &spk))
	resp := ResponderKeys{
		Party: Party{Name: bAddr.Name, Device: bAddr.DeviceID, RegistrationID: 2222,
			IdentityPrivate: bID.PrivateKey().Bytes(), IdentityPublic: bID.PublicKey().Bytes()},
		SignedPreKeyID: spk.ID, SignedPreKeyPrivate: spk.KeyPair.Private.Bytes(),
		SignedPreKeyPublic: spk.KeyPair.Public.Bytes(), SignedPreKeySignature: spk.Signature,
	}
	policy := session.AllowX3DH
	comment := "An X3DH (message version 3, whatsapp flavour) conversation generated by Interlock with deterministic randomness; bundle without one-time or Kyber prekey."
	if version == 4 {
		policy = session.RequirePQXDH
		comment = "A PQXDH (message version 4, signal flavour, SPQR triple ratchet as Interlock negotiates it by default) conversation generated by Interlock with deterministic randomness; bundle with one-time and Kyber prekeys."
		opks, err := prekey.GeneratePreKeys(bkeys, 31, 1)
		must(err)
		kpk, err := prekey.GenerateKyberPreKey(bkeys, bID, 9, false, genTime)
		must(err)
		must(bStore.StorePreKey(ctx, &opks[0]))
		must(bStore.StoreKyberPreKey(ctx, &kpk))
		bundle.PreKeyID, bundle.PreKey = opks[0].ID, opks[0].KeyPair.Public
		bundle.KyberPreKeyID, bundle.KyberPreKey, bundle.KyberPreKeySignature = kpk.ID, kpk.KeyPair.Public, kpk.Signature
		resp.PreKeyID, resp.PreKeyPrivate, resp.PreKeyPublic = opks[0].ID, opks[0].KeyPair.Private.Bytes(), opks[0].KeyPair.Public.Bytes()
		resp.KyberPreKeyID, resp.KyberSecret, resp.KyberPublic, resp.KyberSignature = kpk.ID, kpk.KeyPair.Secret.Bytes(), kpk.KeyPair.Public.Bytes(), kpk.Signature
	}
	aStore := session.NewMemoryStore(aID, 1111)
	clock := session.WithClock(func() time.Time { return genTime })
	g := &sessionGen{ctx: ctx, aAddr: aAddr, bAddr: bAddr, bStore: bStore, bIK: bID.PublicKey().Bytes(), aIK: aID.PublicKey().Bytes(),
		alice: session.NewCipher(aStore, session.WithPolicy(policy), session.WithRand(arand), clock),
		bob:   session.NewCipher(bStore, session.WithPolicy(policy), session.WithRand(brand), clock),
		sv: &SessionVector{Source: Sources{InterlockVersion}, Generator: GeneratorName, Version: version,
			Comment:   comment + " Transcript in the responder's order: initiator messages to decrypt (positive) or reject (expect_error, an error kind of docs/peer-protocol.md#error-kinds; state unchanged: the receiver continues as if it never arrived), and responder messages it must produce byte for byte when its ratchet key pairs are drawn from ratchet_random (32 bytes each, in order).",
			Initiator: Party{Name: aAddr.Name, Device: aAddr.DeviceID, RegistrationID: 1111, IdentityPublic: aID.PublicKey().Bytes()}},
	}
	must(g.alice.ProcessBundle(ctx, bAddr, bundle))

	// Set-up: two PreKeySignalMessages, hostile copies of the first.
	m0 := g.send()
	g.negative(m0, m0.Type, m0.Ciphertext[:len(m0.Ciphertext)-1], "truncated by one byte")
	g.negative(m0, m0.Type, flip(m0.Ciphertext, 0, 0xF0), "version byte, high nibble flipped")
	g.negative(m0, m0.Type, flip(m0.Ciphertext, len(m0.Ciphertext)-1, 0x01), "last byte (MAC of the inner SignalMessage) flipped")
	g.negative(m0, 2, m0.Ciphertext, "sent as type 2")
	g.deliver(m0, "first PreKeySignalMessage")
	m1 := g.send()
	g.deliver(m1, "second PreKeySignalMessage (no reply yet)")
	g.negative(m0, m0.Type, m0.Ciphertext, "replayed")
	g.reply()
	g.reply()

	// A new chain, out of order, with every region of one message tampered.
	m2, m3, m4 := g.send(), g.send(), g.send()
	g.deliver(m4, "third message of a chain, first delivered")
	g.deliver(m2, "first message of the chain, late")
	ct := m3.Ciphertext
	n := len(ct)
	for _, mu := range []struct {
		off  int
		mask byte
		name string
	}{
		{0, 0xF0, "version byte, high nibble flipped"},
		{0, 0x01, "version byte, low nibble flipped (authenticated by the MAC)"},
		{3, 0x01, "ratchet_key, first byte after the type byte flipped"},
		{1 + 2 + 33 + 1, 0x01, "counter flipped"},
		{n - 9, 0x01, "last ciphertext byte flipped"},
		{n - 8, 0x01, "first MAC byte flipped"},
		{n - 1, 0x80, "last MAC byte flipped"},
	} {
		g.negative(m3, m3.Type, flip(ct, mu.off, mu.mask), mu.name)
	}
	g.negative(m3, m3.Type, ct[:n-1], "truncated by one byte")
	g.negative(m3, m3.Type, ct[:n-8], "MAC removed")
	g.negative(m3, 3, ct, "sent as type 3")
	g.deliver(m3, "the original after the tampered copies")
	g.negative(m4, m4.Type, m4.Ciphertext, "replayed")

	// Ratchet steps: every round trip a new DH ratchet key on both sides.
	for i := 0; i < 3; i++ {
		g.reply()
		x, y := g.send(), g.send()
		g.deliver(y, "new chain, second message first")
		g.deliver(x, "new chain, first message")
	}
	// A forward jump inside one chain.
	g.reply()
	var jump []TranscriptEntry
	for i := 0; i < 40; i++ {
		jump = append(jump, g.send())
	}
	g.deliver(jump[39], "message 40 of a chain, 39 skipped")
	g.deliver(jump[0], "message 1 of that chain, from a stored skipped key")
	g.deliver(jump[20], "message 21 of that chain")
	g.negative(jump[0], jump[0].Type, jump[0].Ciphertext, "replayed (its skipped key was used)")
	g.reply()
	g.deliver(g.send(), "after the replies")
	if len(brand.got)%32 != 0 {
		return nil, fmt.Errorf("conformance: responder drew %d random bytes, not whole keys", len(brand.got))
	}
	resp.RatchetRandom = brand.got
	resp.RatchetPrivate = brand.got[:32]
	g.sv.Responder = resp
	a, err := agreementOf(g.sv)
	if err != nil {
		return nil, err
	}
	g.sv.Agreement = &a
	return g.sv, nil
}

// ---- agreement ---------------------------------------------------------------

func agreementInputs(sv *SessionVector) (AgreementInputs, error) {
	first := sv.Transcript[0]
	for _, e := range sv.Transcript {
		if e.From == "initiator" && e.ExpectError == "" {
			first = e
			break
		}
	}
	m, err := session.ParsePreKeySignalMessage(first.Ciphertext)
	if err != nil {
		return AgreementInputs{}, err
	}
	in := AgreementInputs{Version: m.Version, IdentityPrivate: sv.Responder.IdentityPrivate,
		SignedPreKeyPrivate: sv.Responder.SignedPreKeyPrivate, TheirIdentity: m.IdentityKey.Bytes(),
		TheirBaseKey: m.BaseKey.Bytes()}
	if m.HasPreKeyID {
		in.PreKeyPrivate = sv.Responder.PreKeyPrivate
	}
	if m.Version == 4 {
		in.KyberSecret, in.KyberCiphertext = sv.Responder.KyberSecret, m.KyberCiphertext
	}
	return in, nil
}

func agreementOf(sv *SessionVector) (AgreementExpect, error) {
	in, err := agreementInputs(sv)
	if err != nil {
		return AgreementExpect{}, err
	}
	root, chain, err := Interlock{}.Agree(in)
	return AgreementExpect{RootKey: root, ChainKey: chain}, err
}

type agreementVector struct {
	ID          int             `json:"id"`
	Comment     string          `json:"comment"`
	Source      Sources         `json:"source"`
	Inputs      AgreementInputs `json:"inputs"`
	RootKey     []byte          `json:"root_key,omitempty"`
	ChainKey    []byte          `json:"chain_key,omitempty"`
	ExpectError string          `json:"expect_error,omitempty"`
}

func agreementFromSession(sv *SessionVector, id int, src Sources, file string) (agreementVector, error) {
	in, err := agreementInputs(sv)
	if err != nil {
		return agreementVector{}, err
	}
	root, chain, err := Interlock{}.Agree(in)
	if err != nil {
		return agreementVector{}, err
	}
	kind := map[int]string{3: "X3DH", 4: "PQXDH"}[in.Version]
	opk := "with"
	if in.PreKeyPrivate == nil {
		opk = "without"
	}
	c := fmt.Sprintf("%s %s a one-time prekey", kind, opk)
	if file != "" {
		c += ", from the first message of " + file
	}
	return agreementVector{ID: id, Comment: c, Source: src, Inputs: in, RootKey: root, ChainKey: chain}, nil
}

func agreementNegatives(files map[string][]byte, id int) ([]any, error) {
	var sv SessionVector
	if err := json.Unmarshal(files["interlock-session-pqxdh.json"], &sv); err != nil {
		return nil, err
	}
	base, err := agreementInputs(&sv)
	if err != nil {
		return nil, err
	}
	lowOrder := append([]byte{0x05}, make([]byte, 32)...)
	nonCanonical := append([]byte{0x05}, bytes.Repeat([]byte{0xff}, 32)...)
	nonCanonical[1], nonCanonical[32] = 0xee, 0x7f // p + 1: non-canonical encoding of 1
	cases := []struct {
		comment string
		mutate  func(*AgreementInputs)
	}{
		{"PQXDH with a low-order (all-zero) base key", func(in *AgreementInputs) { in.TheirBaseKey = lowOrder }},
		{"PQXDH with a non-canonical base key (u = p + 1)", func(in *AgreementInputs) { in.TheirBaseKey = nonCanonical }},
		{"PQXDH with the Kyber ciphertext truncated", func(in *AgreementInputs) { in.KyberCiphertext = in.KyberCiphertext[:len(in.KyberCiphertext)-1] }},
		{"PQXDH with the Kyber ciphertext's type byte changed", func(in *AgreementInputs) {
			in.KyberCiphertext = flip(in.KyberCiphertext, 0, 0x0f)
		}},
		{"PQXDH without a Kyber ciphertext", func(in *AgreementInputs) { in.KyberCiphertext, in.KyberSecret = nil, nil }},
		{"unknown version 5", func(in *AgreementInputs) { in.Version = 5 }},
		{"base key without its 0x05 type byte", func(in *AgreementInputs) { in.TheirBaseKey = in.TheirBaseKey[1:] }},
	}
	var out []any
	for _, c := range cases {
		in := base
		c.mutate(&in)
		_, _, err := Interlock{}.Agree(in)
		kind := Interlock{}.Kind(err)
		if err == nil || kind == "other" {
			return nil, fmt.Errorf("conformance: generator: %s: accepted or unclassified: %v", c.comment, err)
		}
		out = append(out, agreementVector{ID: id, Comment: c.comment, Source: Sources{InterlockVersion}, Inputs: in, ExpectError: kind})
		id++
	}
	return out, nil
}

// ---- primitives ----------------------------------------------------------------

func genXEdDSA() ([]any, error) {
	r := NewDeterministicReader("interlock-xeddsa")
	id, err := prekey.GenerateIdentityKeyPair(r)
	if err != nil {
		return nil, err
	}
	pub := id.PublicKey().Bytes()
	type vec struct {
		ID        int    `json:"id"`
		Comment   string `json:"comment"`
		PublicKey []byte `json:"public_key"`
		Message   []byte `json:"message"`
		Signature []byte `json:"signature"`
		Expect    string `json:"expect"`
	}
	var out []any
	msg := []byte("a signed prekey's public key, as bytes")
	sig, err := id.Sign(r, msg)
	if err != nil {
		return nil, err
	}
	other, _ := prekey.GenerateIdentityKeyPair(r)
	cases := []vec{
		{Comment: "valid", PublicKey: pub, Message: msg, Signature: sig, Expect: "valid"},
		{Comment: "message with one bit flipped", PublicKey: pub, Message: flip(msg, 0, 1), Signature: sig, Expect: "invalid"},
		{Comment: "R with one bit flipped", PublicKey: pub, Message: msg, Signature: flip(sig, 0, 1), Expect: "invalid"},
		{Comment: "s with one bit flipped", PublicKey: pub, Message: msg, Signature: flip(sig, 40, 1), Expect: "invalid"},
		{Comment: "sign bit (top bit of byte 63) flipped", PublicKey: pub, Message: msg, Signature: flip(sig, 63, 0x80), Expect: "invalid"},
		{Comment: "another identity's key", PublicKey: other.PublicKey().Bytes(), Message: msg, Signature: sig, Expect: "invalid"},
		{Comment: "signature truncated to 63 bytes", PublicKey: pub, Message: msg, Signature: sig[:63], Expect: "invalid"},
		{Comment: "public key without its 0x05 type byte", PublicKey: pub[1:], Message: msg, Signature: sig, Expect: "invalid"},
	}
	for i := range cases {
		cases[i].ID = i + 1
		if got := (Interlock{}).VerifyXEdDSA(cases[i].PublicKey, cases[i].Message, cases[i].Signature); got != (cases[i].Expect == "valid") {
			return nil, fmt.Errorf("conformance: generator: xeddsa %q: verify = %v", cases[i].Comment, got)
		}
		out = append(out, cases[i])
	}
	return out, nil
}

func genKEM() ([]any, error) {
	r := NewDeterministicReader("interlock-kem")
	kp, err := prekey.GenerateKEMKeyPair(r, prekey.Kyber1024)
	if err != nil {
		return nil, err
	}
	ct, ss, err := kp.Public.Encapsulate(r)
	if err != nil {
		return nil, err
	}
	sk := kp.Secret.Bytes()
	type vec struct {
		ID           int    `json:"id"`
		Comment      string `json:"comment"`
		SecretKey    []byte `json:"secret_key"`
		Ciphertext   []byte `json:"ciphertext"`
		SharedSecret []byte `json:"shared_secret,omitempty"`
		ExpectError  string `json:"expect_error,omitempty"`
	}
	cases := []vec{
		{Comment: "valid encapsulation", Ciphertext: ct},
		{Comment: "ciphertext with one bit flipped: implicit rejection, a different secret", Ciphertext: flip(ct, 100, 1)},
		{Comment: "ciphertext truncated by one byte", Ciphertext: ct[:len(ct)-1]},
		{Comment: "ciphertext with an unknown type byte", Ciphertext: flip(ct, 0, 0x0f)},
		{Comment: "empty ciphertext", Ciphertext: []byte{}},
	}
	var out []any
	for i, c := range cases {
		c.ID, c.SecretKey = i+1, sk
		got, err := Interlock{}.Decapsulate(sk, c.Ciphertext)
		if err != nil {
			c.ExpectError = Interlock{}.Kind(err)
		} else {
			c.SharedSecret = got
		}
		if i == 0 && !bytes.Equal(got, ss) {
			return nil, fmt.Errorf("conformance: generator: decapsulation differs from encapsulation")
		}
		if i == 1 && (err != nil || bytes.Equal(got, ss)) {
			return nil, fmt.Errorf("conformance: generator: tampered ciphertext gave the real secret or an error")
		}
		if i > 1 && c.ExpectError == "" {
			return nil, fmt.Errorf("conformance: generator: %s accepted", c.Comment)
		}
		out = append(out, c)
	}
	return out, nil
}

func genFingerprint() ([]any, error) {
	r := NewDeterministicReader("interlock-fingerprint")
	a, _ := prekey.GenerateIdentityKeyPair(r)
	b, _ := prekey.GenerateIdentityKeyPair(r)
	b2, _ := prekey.GenerateIdentityKeyPair(r)
	type vec struct {
		ID                int    `json:"id"`
		Comment           string `json:"comment"`
		Version           int    `json:"version"`
		Iterations        int    `json:"iterations"`
		LocalIDBytes      []byte `json:"local_id_bytes"`
		LocalIdentityKey  []byte `json:"local_identity_key"`
		RemoteIDBytes     []byte `json:"remote_id_bytes"`
		RemoteIdentityKey []byte `json:"remote_identity_key"`
		Displayable       string `json:"displayable,omitempty"`
		Scannable         []byte `json:"scannable,omitempty"`
		ExpectError       string `json:"expect_error,omitempty"`
	}
	la, lb := []byte("+14155550100"), []byte("+14155550199")
	cases := []vec{
		{Comment: "version 1", RemoteIdentityKey: b.PublicKey().Bytes()},
		{Comment: "the same pair after the remote identity key changed: the number changes", RemoteIdentityKey: b2.PublicKey().Bytes()},
		{Comment: "remote identity key without its type byte", RemoteIdentityKey: b.PublicKey().Bytes()[1:]},
		{Comment: "remote identity key with an unknown type byte", RemoteIdentityKey: flip(b.PublicKey().Bytes(), 0, 0x02)},
	}
	var out []any
	var first string
	for i, c := range cases {
		c.ID, c.Version, c.Iterations, c.LocalIDBytes, c.RemoteIDBytes, c.LocalIdentityKey = i+1, 1, 5200, la, lb, a.PublicKey().Bytes()
		d, s, err := Interlock{}.Fingerprint(c.Version, c.Iterations, la, c.LocalIdentityKey, lb, c.RemoteIdentityKey)
		if err != nil {
			c.ExpectError = Interlock{}.Kind(err)
			if c.ExpectError == "other" {
				return nil, fmt.Errorf("conformance: generator: fingerprint: unclassified %v", err)
			}
		} else {
			c.Displayable, c.Scannable = d, s
		}
		if i == 0 {
			first = d
		}
		if i == 1 && d == first {
			return nil, fmt.Errorf("conformance: generator: key change left the safety number unchanged")
		}
		if i > 1 && err == nil {
			return nil, fmt.Errorf("conformance: generator: %s accepted", c.Comment)
		}
		out = append(out, c)
	}
	return out, nil
}
