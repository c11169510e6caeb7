package live

import (
	"crypto/rand"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// The malicious-server set (issue #20): the driver plays the server of the
// threat model, which hands out bundles, relabels envelopes and holds the
// sender-certificate signing key. Each scenario ends with the honest
// conversation still working.

var maliciousScenarios = []Scenario{
	{ID: "malicious/ghost-device", Doc: "the server invents a device of a known account with its own identity key", Run: ghostDevice},
	{ID: "malicious/relabelled-sender", Doc: "a first message delivered as from another device or account", Run: relabelledSender},
	{ID: "malicious/minted-certificate", Doc: "a sender certificate minted by the server for its own key around a genuine message", Run: mintedCertificate},
	{ID: "malicious/stripped-bundle", Doc: "a bundle without its Kyber prekey for a device that spoke version 4", Run: strippedBundle},
}

// ghostDevice: B's account gains a device the server made up, with a key of
// its own. In the signal flavour an account has one identity key for all
// its devices: A must refuse the ghost's messages and bundle with
// untrusted_identity. WhatsApp devices have their own keys, vouched for by
// the account's signatures (ADV), which the peer protocol does not carry.
func ghostDevice(x *X) {
	if x.Flavour() == "whatsapp" {
		x.NotApplicablef("whatsapp devices have their own identity keys, vouched for outside the peer protocol")
	}
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.establish(a, b)
	g := x.Start(RoleB, "G", ClientOptions{Name: b.Addr.Name, Device: b.Addr.Device%127 + 1})
	x.processBundle(g, a, true, x.kyberDefault())
	s := x.encrypt(g, a)
	if k := x.reject(a, g, s.Msg, "a message from a device of B's account with another identity key"); k != "untrusted_identity" {
		x.Failf("ghost device's message refused with %s, want untrusted_identity", k)
	}
	bu, err := g.Bundle(true, x.kyberDefault())
	x.must(err, "%s bundle", g.Label)
	if err := a.ProcessBundle(g.Addr, bu); KindOf(err) != "untrusted_identity" {
		x.Failf("%s process_bundle of the ghost device: %v, want untrusted_identity", a.Label, err)
	}
	x.exchange(a, b)
	x.exchange(b, a)
}

// relabelledSender: the server delivers A's first message as from another
// device of A's account and as from another account. A sender that writes
// libsignal's address binding (field 6 of the inner SignalMessage) must see
// its message refused under any other sender address; the genuine delivery
// then works (no prekey was spent).
func relabelledSender(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.processBundle(a, b, true, x.kyberDefault())
	s := x.encrypt(a, b)
	x.expectType(s, TypePreKey, "first message of a new session")
	inner, ok := fieldBytes(s.Msg.Ciphertext[1:], 4)
	bound := false
	if ok && len(inner) > 9 {
		_, bound = fieldBytes(inner[1:len(inner)-8], 6)
	}
	if bound {
		for _, from := range []*Client{
			{Tag: "A'", Addr: Address{a.Addr.Name, a.Addr.Device%127 + 1}},
			{Tag: "M", Addr: Address{newUUID(), a.Addr.Device}},
		} {
			pt, err := b.Decrypt(from.Addr, s.Msg)
			if err == nil {
				x.Failf("%s accepted A's first message relabelled as from %s (decrypted %d bytes)", b.Label, from.Addr, len(pt))
			}
			if KindOf(err) == "" {
				x.Failf("%s on a relabelled message: %v", b.Label, err)
			}
		}
	} else {
		x.Notef("%s writes no address binding: relabelling cannot be detected by %s", a.Label, b.Label)
	}
	x.deliver(s)
	x.exchange(b, a)
	if !bound {
		x.NotApplicablef("%s writes no address binding (libsignal ≤ 0.90, version 3 sessions)", a.Impl)
	}
}

// mintedCertificate: the server, which signs sender certificates, mints one
// for a made-up account C with a key of its own and seals A's genuine first
// message to B under it. B must refuse it: A's message would otherwise be
// reported as certified from C (libsignal ≥ 0.91 refuses it through the
// address binding, Interlock also because the certificate's key is not the
// identity that authenticated the inner message). The genuine unsealed
// delivery then works.
func mintedCertificate(x *X) {
	x.RequireOps(sealedOps...)
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	srv, err := b.ServerKeys()
	x.must(err, "%s server_keys", b.Label)
	now := time.Now().UnixMilli()
	x.processBundle(a, b, true, x.kyberDefault())
	s := x.encrypt(a, b)

	server, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	x.must(err, "server identity")
	forge := func(sender Address, typ int, inner []byte, what string) {
		raw, err := b.SenderCertificate(sender, server.PublicKey().Bytes(), now+3600_000)
		x.must(err, "%s sender_certificate", b.Label)
		cert, err := sealedsender.ParseSenderCertificate(raw)
		x.must(err, "parse %s's sender certificate", b.Label)
		content, err := sealedsender.NewContent(session.MessageType(typ), cert, inner, 0, nil)
		x.must(err, "sealed sender content")
		bik, err := prekey.NewIdentityKey(b.Identity)
		x.must(err, "%s identity key", b.Label)
		ct, err := sealedsender.Encrypt(rand.Reader, bik, server, content)
		x.must(err, "seal")
		if r, err := b.SealedDecrypt(ct, srv.TrustRoot, now); err == nil {
			x.Failf("%s accepted %s (sender %v)", b.Label, what, r.Sender)
		} else if KindOf(err) == "" {
			x.Failf("%s on %s: %v", b.Label, what, err)
		}
	}
	carol := Address{newUUID(), 1 + x.rng.Intn(127)}
	forge(carol, s.Msg.Type, s.Msg.Ciphertext, "A's message under a certificate minted for another account")
	x.deliver(s)
	x.exchange(b, a)
}

// strippedBundle: A and B speak version 4; the server then hands A a bundle
// of B without its Kyber prekey. A must refuse it (a version 3 session would
// drop post-quantum protection), in both flavours; the conversation goes on.
func strippedBundle(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	bu, err := b.Bundle(true, true)
	if KindOf(err) == "unsupported" {
		x.NotApplicablef("%s has no Kyber prekeys", b.Impl)
	}
	x.must(err, "%s bundle", b.Label)
	if err := a.ProcessBundle(b.Addr, bu); KindOf(err) == "unsupported" {
		x.NotApplicablef("%s does not speak version 4", a.Impl)
	} else {
		x.must(err, "%s process_bundle", a.Label)
	}
	x.exchange(a, b)
	x.exchange(b, a)
	if info, err := a.Session(b.Addr); err != nil || info.Version != 4 {
		x.NotApplicablef("%s set up no version 4 session from a bundle with a Kyber prekey (%+v, %v)", a.Impl, info, err)
	}
	stripped, err := b.Bundle(true, false)
	x.must(err, "%s bundle without Kyber", b.Label)
	if err := a.ProcessBundle(b.Addr, stripped); err == nil {
		x.Failf("%s accepted a Kyber-stripped bundle for a device that spoke version 4", a.Label)
	} else if KindOf(err) == "" {
		x.Failf("%s on a stripped bundle: %v", a.Label, err)
	}
	x.exchange(a, b)
	x.exchange(b, a)
}
