package conformance

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// ---- sender keys ---------------------------------------------------------------

// skGen records the steps of one sender-key vector and checks each against
// Interlock as it goes.
type skGen struct {
	v   senderKeyVector
	rcv SenderKeyReceiver
}

func (g *skGen) step(s senderKeyStep, want string) error {
	var err error
	var pt []byte
	if s.Op == "process" {
		err = g.rcv.ProcessSenderKeyDistribution(g.v.Sender, g.v.GroupID, s.Message)
	} else {
		pt, err = g.rcv.DecryptSenderKey(g.v.Sender, g.v.GroupID, s.Message)
	}
	if got := (Interlock{}).Kind(err); got != want {
		return fmt.Errorf("conformance: generator: sender key %q%s: kind %q (%v), want %q", s.Comment, s.Mutation, got, err, want)
	}
	if want == "" && s.Op == "decrypt" && !bytes.Equal(pt, s.Plaintext) {
		return fmt.Errorf("conformance: generator: sender key %q: wrong plaintext", s.Comment)
	}
	if want != "" {
		s.ExpectError, s.State, s.Plaintext = want, "unchanged", nil
	}
	g.v.Steps = append(g.v.Steps, s)
	return nil
}

func genSenderKey() ([]any, error) {
	ctx := context.Background()
	var out []any
	for i, fl := range []struct {
		flavour, groupID, comment string
		layout                    group.Layout
	}{
		{"signal", "5a0e3c1d-7b2f-4e8a-9c6d-1f2e3d4c5b6a", "signal flavour: the messages carry the distribution UUID (group_id)", group.LayoutSignal},
		{"whatsapp", "120363041234567890@g.us", "whatsapp flavour: the application names the group (group_id)", group.LayoutWhatsApp},
	} {
		rnd := NewDeterministicReader("interlock-sender-key-" + fl.flavour)
		sender := Address{Name: "0c4a5b6e-2d1f-4c3b-8a9e-7f6d5c4b3a21", Device: 2}
		self := senderKeyName(sender, fl.groupID)
		alice := group.NewCipher(group.NewMemoryStore(), group.WithLayout(fl.layout), group.WithRand(rnd))
		dm, err := alice.CreateDistributionMessage(ctx, self)
		if err != nil {
			return nil, err
		}
		// Another chain for the same name: its messages name a chain ID the
		// receiver never got.
		stranger := group.NewCipher(group.NewMemoryStore(), group.WithLayout(fl.layout), group.WithRand(rnd))
		if _, err := stranger.CreateDistributionMessage(ctx, self); err != nil {
			return nil, err
		}
		unknown, err := stranger.Encrypt(ctx, self, []byte("from a chain never distributed"))
		if err != nil {
			return nil, err
		}
		var msgs [][]byte
		var pts [][]byte
		for n := 0; n < 5; n++ {
			pt := []byte(fmt.Sprintf("group message %d (%s)", n, fl.flavour))
			ct, err := alice.Encrypt(ctx, self, pt)
			if err != nil {
				return nil, err
			}
			msgs, pts = append(msgs, ct), append(pts, pt)
		}
		rcv, err := Interlock{}.NewSenderKeyReceiver(fl.flavour)
		if err != nil {
			return nil, err
		}
		g := &skGen{v: senderKeyVector{ID: i + 1, Comment: fl.comment + "; steps in order, negative steps leave the receiver unchanged", Flavour: fl.flavour, Sender: sender, GroupID: fl.groupID}, rcv: rcv}
		d := dm.Bytes()
		m := func(n int, comment string) senderKeyStep {
			return senderKeyStep{Op: "decrypt", Message: msgs[n], Plaintext: pts[n], Comment: comment}
		}
		bad := func(b []byte, mutation string) senderKeyStep {
			return senderKeyStep{Op: "decrypt", Message: b, Mutation: mutation + " (of the message at iteration 1)"}
		}
		m1 := msgs[1]
		n1 := len(m1)
		steps := []struct {
			s    senderKeyStep
			want string
		}{
			{m(0, "before the distribution message"), "no_session"},
			{senderKeyStep{Op: "process", Message: d[:len(d)-1], Mutation: "distribution message truncated by one byte"}, "invalid_message"},
			{senderKeyStep{Op: "process", Message: flip(d, len(d)-33, 0x01), Mutation: "distribution message: signing key type byte changed"}, "invalid_key"},
			{senderKeyStep{Op: "process", Message: d, Comment: "distribution message"}, ""},
			{m(2, "iteration 2 first (iterations 0 and 1 skipped)"), ""},
			{m(0, "iteration 0, from a skipped key"), ""},
			{bad(flip(m1, n1-1, 0x01), "last signature byte flipped"), "invalid_signature"},
			{bad(flip(m1, n1-65, 0x01), "last ciphertext byte flipped (covered by the signature)"), "invalid_signature"},
			{bad(flip(m1, 0, 0xF0), "version byte, high nibble flipped"), "invalid_message"},
			{bad(m1[:n1-1], "truncated by one byte"), "invalid_message"},
			{bad(m1[:n1-64], "signature removed"), "invalid_message"},
			{senderKeyStep{Op: "decrypt", Message: unknown, Mutation: "a message of a chain whose distribution message never arrived"}, "no_session"},
			{m(1, "iteration 1, after the tampered copies"), ""},
			{senderKeyStep{Op: "decrypt", Message: msgs[0], Mutation: "iteration 0 replayed"}, "duplicate_message"},
			{senderKeyStep{Op: "decrypt", Message: msgs[2], Mutation: "iteration 2 replayed"}, "duplicate_message"},
			{senderKeyStep{Op: "process", Message: d, Comment: "the distribution message again: it must not rewind the chain"}, ""},
			{senderKeyStep{Op: "decrypt", Message: msgs[1], Mutation: "iteration 1 replayed after the repeated distribution message"}, "duplicate_message"},
			{m(4, "iteration 4 (iteration 3 skipped)"), ""},
			{m(3, "iteration 3, from a skipped key"), ""},
			{senderKeyStep{Op: "decrypt", Message: msgs[3], Mutation: "iteration 3 replayed (its skipped key was used)"}, "duplicate_message"},
		}
		for _, s := range steps {
			if err := g.step(s.s, s.want); err != nil {
				return nil, err
			}
		}
		out = append(out, g.v)
	}
	return out, nil
}

// ---- sealed sender ---------------------------------------------------------------

// sealedGen builds interlock-sealed-sender.json and checks every vector
// against Interlock as it goes.
type sealedGen struct {
	root []byte
	out  []any
}

func (g *sealedGen) add(v sealedVector, want string) error {
	var err error
	ok := true
	switch v.Op {
	case "open":
		root := g.root
		if v.TrustRoot != nil {
			root = v.TrustRoot
		}
		var c *SealedContent
		c, err = Interlock{}.OpenSealedSender(SealedInputs{RecipientIdentityPrivate: v.RecipientIdentityPrivate, Ciphertext: v.Ciphertext, TrustRoot: root, Now: v.Now})
		ok = err != nil || (v.Expected != nil && v.Expected.matches(c))
	case "split":
		var out []byte
		out, err = Interlock{}.SplitSealedSenderV2(v.SentMessage, v.ServiceID, v.Device)
		ok = err != nil || bytes.Equal(out, v.Received)
	}
	if got := (Interlock{}).Kind(err); got != want || !ok {
		return fmt.Errorf("conformance: generator: sealed %q%s: kind %q (%v), want %q", v.Comment, v.Mutation, got, err, want)
	}
	v.ID = len(g.out) + 1
	if want != "" {
		v.ExpectError, v.Expected, v.Received = want, nil, nil
	}
	g.out = append(g.out, v)
	return nil
}

type sealedFile struct {
	trustRoot, serverCert []byte
	vectors               []any
}

func genSealed() (*sealedFile, error) {
	ctx := context.Background()
	rnd := NewDeterministicReader("interlock-sealed-sender")
	now := genTime
	expires := now.Add(30 * 24 * time.Hour)
	root, err := prekey.GenerateKeyPair(rnd)
	if err != nil {
		return nil, err
	}
	otherRoot, _ := prekey.GenerateKeyPair(rnd)
	server, _ := prekey.GenerateKeyPair(rnd)
	sc, err := sealedsender.NewServerCertificate(rnd, root.Private, 42, server.Public)
	if err != nil {
		return nil, err
	}
	alice, _ := prekey.GenerateIdentityKeyPair(rnd)
	bob, _ := prekey.GenerateIdentityKeyPair(rnd)
	carol, _ := prekey.GenerateIdentityKeyPair(rnd)
	aliceAddr := Address{Name: "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", Device: 3}
	certFor := func(sc *sealedsender.ServerCertificate, key prekey.PrivateKey) (*sealedsender.SenderCertificate, error) {
		return sealedsender.NewSenderCertificate(rnd, sealedsender.Sender{UUID: aliceAddr.Name, DeviceID: aliceAddr.Device,
			IdentityKey: alice.PublicKey(), Expires: expires}, sc, key)
	}
	cert, err := certFor(sc, server.Private)
	if err != nil {
		return nil, err
	}
	// The inner message: a signal-flavour SenderKeyMessage.
	gc := group.NewCipher(group.NewMemoryStore(), group.WithRand(rnd))
	self := senderKeyName(aliceAddr, "9b8a7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d")
	skdm, err := gc.CreateDistributionMessage(ctx, self)
	if err != nil {
		return nil, err
	}
	plaintext := []byte("sealed group message")
	inner, err := gc.Encrypt(ctx, self, plaintext)
	if err != nil {
		return nil, err
	}
	groupID := []byte("interlock sealed sender group id")
	content, err := sealedsender.NewContent(session.TypeSenderKey, cert, inner, sealedsender.HintResendable, groupID)
	if err != nil {
		return nil, err
	}
	exp := &sealedExpect{Sender: aliceAddr, SenderIdentityPublic: alice.PublicKey().Bytes(), SenderCertificate: cert.Bytes(),
		SenderCertificateExpires: expires.UnixMilli(), USMC: content.Bytes(), MsgType: int(session.TypeSenderKey),
		ContentHint: uint32(sealedsender.HintResendable), GroupID: groupID, Contents: inner, Plaintext: plaintext,
		SenderKeyDistributionMessage: skdm.Bytes()}
	g := &sealedGen{root: root.Public.Bytes()}
	bobPriv, carolPriv := bob.PrivateKey().Bytes(), carol.PrivateKey().Bytes()
	open := func(comment string, priv, ct []byte, at time.Time) sealedVector {
		return sealedVector{Op: "open", Comment: comment, RecipientIdentityPrivate: priv, Ciphertext: ct, Now: at.UnixMilli(), Expected: exp}
	}
	mut := func(v sealedVector, mutation string) sealedVector {
		v.Comment, v.Mutation = "", mutation
		return v
	}

	// v1 to bob.
	v1, err := sealedsender.Encrypt(rnd, bob.PublicKey(), alice, content)
	if err != nil {
		return nil, err
	}
	ok1 := open("sealed sender v1 around a SenderKeyMessage, content hint resendable, with a group ID", bobPriv, v1, now)
	checks := []struct {
		v    sealedVector
		want string
	}{
		{ok1, ""},
		{open("the same, validated at exactly the certificate's expiry (still valid)", bobPriv, v1, expires), ""},
		{mut(open("", bobPriv, v1, expires.Add(time.Millisecond)), "v1: certificate expired 1 ms before"), "invalid_message"},
		{mut(sealedVector{Op: "open", RecipientIdentityPrivate: bobPriv, Ciphertext: v1, Now: now.UnixMilli(), TrustRoot: otherRoot.Public.Bytes()}, "v1: wrong trust root"), "invalid_signature"},
		{mut(open("", bobPriv, flip(v1, len(v1)-1, 0x01), now), "v1: last MAC byte flipped"), "invalid_message"},
		{mut(open("", bobPriv, flip(v1, 5, 0x01), now), "v1: ephemeral key byte flipped"), "invalid_message"},
		{mut(open("", bobPriv, flip(v1, len(v1)/2, 0x01), now), "v1: a byte in the middle flipped"), "invalid_message"},
		{mut(open("", bobPriv, v1[:len(v1)-1], now), "v1: truncated by one byte"), "invalid_message"},
		{mut(open("", bobPriv, flip(v1, 0, 0x30), now), "v1: version byte 0x11 changed to 0x21"), "invalid_message"},
		{mut(open("", carolPriv, v1, now), "v1: opened by another recipient"), "invalid_message"},
	}
	// A server certificate signed by another root, and a revoked one.
	for _, c := range []struct {
		signer   prekey.PrivateKey
		id       uint32
		mutation string
	}{
		{otherRoot.Private, 42, "v1: server certificate signed by another trust root"},
		{root.Private, sealedsender.RevokedServerCertificateID, "v1: server certificate ID revoked (0xDEADC357)"},
	} {
		sc2, err := sealedsender.NewServerCertificate(rnd, c.signer, c.id, server.Public)
		if err != nil {
			return nil, err
		}
		cert2, err := certFor(sc2, server.Private)
		if err != nil {
			return nil, err
		}
		content2, err := sealedsender.NewContent(session.TypeSenderKey, cert2, inner, sealedsender.HintResendable, groupID)
		if err != nil {
			return nil, err
		}
		ct, err := sealedsender.Encrypt(rnd, bob.PublicKey(), alice, content2)
		if err != nil {
			return nil, err
		}
		checks = append(checks, struct {
			v    sealedVector
			want string
		}{mut(open("", bobPriv, ct, now), c.mutation), "invalid_signature"})
	}
	// A sender certificate signed by a key other than the server's.
	rogue, _ := prekey.GenerateKeyPair(rnd)
	if _, err := certFor(sc, rogue.Private); err == nil {
		return nil, fmt.Errorf("conformance: generator: a sender certificate signed by a key other than its server's was issued")
	}

	// v2 to bob (two devices) and carol (a PNI), dave excluded.
	bobID, carolID, daveID := "1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d", "PNI:7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a", "2b3c4d5e-6f70-4b1c-9d2e-3f4a5b6c7d8e"
	ids := map[string]sealedsender.ServiceID{}
	for _, s := range []string{bobID, carolID, daveID} {
		if ids[s], err = sealedsender.ParseServiceID(s); err != nil {
			return nil, err
		}
	}
	sent, err := sealedsender.EncryptMultiRecipient(rnd, []sealedsender.Recipient{
		{ServiceID: ids[bobID], Devices: []sealedsender.Device{{ID: 1, RegistrationID: 1001}, {ID: 2, RegistrationID: 1002}}, IdentityKey: bob.PublicKey()},
		{ServiceID: ids[carolID], Devices: []sealedsender.Device{{ID: 1, RegistrationID: 2001}}, IdentityKey: carol.PublicKey()},
	}, []sealedsender.ServiceID{ids[daveID]}, alice, content)
	if err != nil {
		return nil, err
	}
	split := func(id string, dev uint32, comment string) (sealedVector, error) {
		out, err := sealedsender.SplitForRecipient(sent, ids[id], dev)
		return sealedVector{Op: "split", Comment: comment, SentMessage: sent, ServiceID: id, Device: dev, Received: out}, err
	}
	bob1, err := split(bobID, 1, "v2: the server's split for an ACI's device 1")
	if err != nil {
		return nil, err
	}
	bob2, _ := split(bobID, 2, "v2: the same account's device 2 receives the same bytes")
	carol1, err := split(carolID, 1, "v2: the split for a PNI")
	if err != nil {
		return nil, err
	}
	dave1, _ := split(daveID, 1, "")
	bob5, _ := split(bobID, 5, "")
	rb, rc := bob1.Received, carol1.Received
	checks = append(checks, []struct {
		v    sealedVector
		want string
	}{
		{bob1, ""}, {bob2, ""}, {carol1, ""},
		{mut(dave1, "v2: split for an excluded recipient"), "no_session"},
		{mut(bob5, "v2: split for a device the message does not list"), "no_session"},
		{open("sealed sender v2 as bob receives it", bobPriv, rb, now), ""},
		{open("sealed sender v2 as carol (a PNI) receives it", carolPriv, rc, now), ""},
		{mut(open("", bobPriv, sent, now), "v2: the unsplit 0x23 message opened"), "invalid_message"},
		{mut(open("", carolPriv, rb, now), "v2: bob's copy opened by carol"), "invalid_message"},
		{mut(open("", bobPriv, flip(rb, 1, 0x01), now), "v2: C flipped"), "invalid_message"},
		{mut(open("", bobPriv, flip(rb, 40, 0x01), now), "v2: authentication tag flipped"), "invalid_message"},
		{mut(open("", bobPriv, flip(rb, 60, 0x01), now), "v2: ephemeral key flipped"), "invalid_message"},
		{mut(open("", bobPriv, flip(rb, len(rb)-1, 0x01), now), "v2: AES-GCM-SIV tag flipped"), "invalid_message"},
		{mut(open("", bobPriv, rb[:len(rb)-1], now), "v2: truncated by one byte"), "invalid_message"},
		{mut(open("", bobPriv, rb, expires.Add(time.Millisecond)), "v2: certificate expired 1 ms before"), "invalid_message"},
		{mut(sealedVector{Op: "open", RecipientIdentityPrivate: bobPriv, Ciphertext: rb, Now: now.UnixMilli(), TrustRoot: otherRoot.Public.Bytes()}, "v2: wrong trust root"), "invalid_signature"},
	}...)
	for _, c := range checks {
		if err := g.add(c.v, c.want); err != nil {
			return nil, err
		}
	}
	return &sealedFile{trustRoot: root.Public.Bytes(), serverCert: sc.Bytes(), vectors: g.out}, nil
}
