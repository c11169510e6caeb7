package live

import (
	"bytes"
	"fmt"
	"time"
)

func identityChange(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.establish(a, b)
	// B reinstalls: a fresh process, same name and device, new identity.
	b2 := x.Start(RoleB, "B'", ClientOptions{Name: b.Addr.Name, Device: b.Addr.Device})
	if bytes.Equal(b2.Identity, b.Identity) {
		x.Failf("%s re-init kept the old identity key", b2.Label)
	}
	x.processBundle(b2, a, true, x.kyberDefault())
	s := x.encrypt(b2, a)
	x.expectType(s, TypePreKey, "first message of a new session")
	if k := x.reject(a, b2, s.Msg, "a PreKeySignalMessage from a changed identity"); k != "untrusted_identity" {
		x.Failf("message from a changed identity rejected with %s, want untrusted_identity", k)
	}
	bu, err := b2.Bundle(true, x.kyberDefault())
	x.must(err, "%s bundle", b2.Label)
	err = a.ProcessBundle(b2.Addr, bu)
	if k := KindOf(err); k != "untrusted_identity" {
		x.Failf("%s process_bundle of a changed identity: %v, want untrusted_identity", a.Label, err)
	}
	x.must(a.Trust(b2.Addr, b2.Identity), "%s trust", a.Label)
	x.deliver(s)
	r := x.exchange(a, b2)
	x.expectType(r, TypeSignal, "reply in B's new session")
	x.exchange(b2, a)
	x.exchange(a, b2)
}

func simultaneous(x *X) { simultaneousRounds(x, 0) }

func simultaneousCrossing(x *X) { simultaneousRounds(x, 3) }

// simultaneousRounds: both initiate, the first messages cross, then
// `crossing` more rounds of crossing messages, then turn-taking.
func simultaneousRounds(x *X, crossing int) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	k := x.kyberDefault()
	ba, err := a.Bundle(true, k)
	x.must(err, "%s bundle", a.Label)
	bb, err := b.Bundle(true, k)
	x.must(err, "%s bundle", b.Label)
	x.must(a.ProcessBundle(b.Addr, bb), "%s process_bundle", a.Label)
	x.must(b.ProcessBundle(a.Addr, ba), "%s process_bundle", b.Label)
	ma, mb := x.encrypt(a, b), x.encrypt(b, a)
	x.expectType(ma, TypePreKey, "A's first message")
	x.expectType(mb, TypePreKey, "B's first message")
	x.deliver(ma)
	x.deliver(mb)
	for i := 0; i < crossing; i++ {
		sa, sb := x.encrypt(a, b), x.encrypt(b, a)
		x.deliver(sb)
		x.deliver(sa)
	}
	var last [2]sent
	for i := 0; i < 4; i++ {
		last[0] = x.exchange(a, b)
		last[1] = x.exchange(b, a)
	}
	x.expectType(last[0], TypeSignal, "after convergence")
	x.expectType(last[1], TypeSignal, "after convergence")
	sa, err := a.Session(b.Addr)
	x.must(err, "%s session", a.Label)
	sb, err := b.Session(a.Addr)
	x.must(err, "%s session", b.Label)
	if sa.Version != sb.Version {
		x.Failf("session versions differ after convergence: %d vs %d", sa.Version, sb.Version)
	}
}

func restartPeer(x *X, c *Client) {
	if err := c.Restart(); err != nil {
		if KindOf(err) == "unsupported" {
			x.NotApplicablef("%s answers restart with unsupported", c.Label)
		}
		x.Failf("%s restart: %v", c.Label, err)
	}
}

func restartScenario(x *X) {
	x.RequireOps("restart")
	a := x.Start(RoleA, "A", ClientOptions{Store: true})
	b := x.Start(RoleB, "B", ClientOptions{Store: true})
	bu, err := b.Bundle(true, x.kyberDefault())
	x.must(err, "%s bundle", b.Label)
	restartPeer(x, b) // the private halves of the bundle must survive
	x.must(a.ProcessBundle(b.Addr, bu), "%s process_bundle", a.Label)
	m1 := x.encrypt(a, b)
	restartPeer(x, a) // a pending (unacknowledged) session must survive
	m2 := x.encrypt(a, b)
	x.expectType(m2, TypePreKey, "still unacknowledged after restart")
	x.deliver(m1)
	restartPeer(x, b)
	x.deliver(m2)
	r1 := x.encrypt(b, a)
	restartPeer(x, a)
	x.deliver(r1)
	m3, m4 := x.encrypt(a, b), x.encrypt(a, b)
	x.deliver(m4)
	restartPeer(x, b) // the skipped key for m3 must survive
	x.deliver(m3)
	restartPeer(x, b)
	x.reject(b, a, m3.Msg, "a duplicate after restart")
	x.exchange(b, a)
	restartPeer(x, a)
	restartPeer(x, b)
	for i := 0; i < 3; i++ {
		x.exchange(a, b)
		x.exchange(b, a)
	}
	s, err := a.Session(b.Addr)
	x.must(err, "%s session", a.Label)
	if !s.Exists {
		x.Failf("%s lost the session", a.Label)
	}
}

var groupOps = []string{"group_distribution", "group_process", "group_encrypt", "group_decrypt"}

type groupMsg struct {
	from *Client
	ct   []byte
	pt   []byte
}

func gsend(x *X, from *Client, dist string) groupMsg {
	pt := x.plaintext(from, from)
	ct, err := from.GroupEncrypt(dist, pt)
	x.must(err, "%s group_encrypt", from.Label)
	return groupMsg{from, ct, pt}
}

func grecv(x *X, to *Client, m groupMsg, what string) {
	pt, err := to.GroupDecrypt(m.from.Addr, m.ct)
	x.must(err, "%s group_decrypt of %s", to.Label, what)
	if !bytes.Equal(pt, m.pt) {
		x.Failf("%s group_decrypt of %s: wrong plaintext", to.Label, what)
	}
}

func greject(x *X, to *Client, from *Client, ct []byte, what string) string {
	pt, err := to.GroupDecrypt(from.Addr, ct)
	if err == nil {
		x.Failf("%s accepted %s (%d bytes)", to.Label, what, len(pt))
	}
	k := KindOf(err)
	if k == "" {
		x.Failf("%s on %s: %v", to.Label, what, err)
	}
	return k
}

func groupScenario(x *X) {
	x.RequireOps(groupOps...)
	dist := newUUID()
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	c := x.Start(RoleA, "C", ClientOptions{})
	skdm, err := a.GroupDistribution(dist)
	x.must(err, "%s group_distribution", a.Label)
	x.must(b.GroupProcess(a.Addr, skdm), "%s group_process", b.Label)
	x.must(c.GroupProcess(a.Addr, skdm), "%s group_process", c.Label)
	var g []groupMsg
	for i := 0; i < 6; i++ {
		g = append(g, gsend(x, a, dist))
	}
	for _, i := range x.rng.perm(len(g)) {
		grecv(x, b, g[i], fmt.Sprintf("A's message %d (shuffled)", i))
	}
	for i := range g {
		grecv(x, c, g[i], fmt.Sprintf("A's message %d", i))
	}
	if k := greject(x, b, a, g[2].ct, "a duplicate group message"); k != "duplicate_message" {
		x.Failf("duplicate group message rejected with %s, want duplicate_message", k)
	}
	if k := greject(x, c, a, g[5].ct, "a duplicate group message"); k != "duplicate_message" {
		x.Failf("duplicate group message rejected with %s, want duplicate_message", k)
	}
	skdmB, err := b.GroupDistribution(dist)
	x.must(err, "%s group_distribution", b.Label)
	x.must(a.GroupProcess(b.Addr, skdmB), "%s group_process", a.Label)
	x.must(c.GroupProcess(b.Addr, skdmB), "%s group_process", c.Label)
	h1, h2 := gsend(x, b, dist), gsend(x, b, dist)
	grecv(x, a, h2, "B's message 2")
	grecv(x, a, h1, "B's message 1")
	grecv(x, c, h1, "B's message 1")
	grecv(x, c, h2, "B's message 2")

	// A late member gets A's distribution message at the current iteration.
	d := x.Start(RoleB, "D", ClientOptions{})
	skdm2, err := a.GroupDistribution(dist)
	x.must(err, "%s group_distribution (again)", a.Label)
	x.must(d.GroupProcess(a.Addr, skdm2), "%s group_process", d.Label)
	g7 := gsend(x, a, dist)
	for _, m := range []*Client{b, c, d} {
		grecv(x, m, g7, "A's message after D joined")
	}
	kOld := greject(x, d, a, g[0].ct, "a message from before it joined")
	kNone := greject(x, d, b, h1.ct, "a message from a sender it has no key for")
	// Tampered group messages, then the originals.
	g8 := gsend(x, a, dist)
	t := append([]byte(nil), g8.ct...)
	t[len(t)-1] ^= 0x01
	kSig := greject(x, b, a, t, "a group message with a flipped signature byte")
	t = append([]byte(nil), g8.ct...)
	t[len(t)-70] ^= 0x01
	kBody := greject(x, c, a, t, "a group message with a flipped ciphertext byte")
	for _, m := range []*Client{b, c, d} {
		grecv(x, m, g8, "A's message after tampering")
	}
	x.Notef("before joining: %s; unknown sender: %s; bad signature: %s; bad body: %s", kOld, kNone, kSig, kBody)
}

var sealedOps = []string{"server_keys", "sender_certificate", "sealed_encrypt", "sealed_decrypt"}

func sealedSender(x *X) {
	x.RequireOps(sealedOps...)
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	srv, err := b.ServerKeys()
	x.must(err, "%s server_keys", b.Label)
	now := time.Now().UnixMilli()
	cert, err := b.SenderCertificate(a.Addr, a.Identity, now+3600_000)
	x.must(err, "%s sender_certificate", b.Label)
	x.processBundle(a, b, true, x.kyberDefault())

	seal := func(c []byte) ([]byte, []byte) {
		pt := x.plaintext(a, b)
		ct, err := a.SealedEncrypt(b.Addr, pt, c)
		x.must(err, "%s sealed_encrypt", a.Label)
		return ct, pt
	}
	open := func(ct, pt []byte, wantType int, what string) {
		r, err := b.SealedDecrypt(ct, srv.TrustRoot, now)
		x.must(err, "%s sealed_decrypt of %s", b.Label, what)
		switch {
		case !bytes.Equal(r.Plaintext, pt):
			x.Failf("%s sealed_decrypt of %s: wrong plaintext", b.Label, what)
		case r.Sender != a.Addr:
			x.Failf("%s sealed_decrypt of %s: sender %v, want %v", b.Label, what, r.Sender, a.Addr)
		case r.Type != wantType:
			x.Failf("%s sealed_decrypt of %s: inner type %d, want %d", b.Label, what, r.Type, wantType)
		}
	}
	refuse := func(ct, root []byte, at int64, what string) string {
		_, err := b.SealedDecrypt(ct, root, at)
		if err == nil {
			x.Failf("%s accepted %s", b.Label, what)
		}
		k := KindOf(err)
		if k == "" {
			x.Failf("%s on %s: %v", b.Label, what, err)
		}
		return k
	}

	ct, pt := seal(cert)
	open(ct, pt, TypePreKey, "the first sealed message")
	x.exchange(b, a)
	ct, pt = seal(cert)
	other, err := a.ServerKeys()
	x.must(err, "%s server_keys", a.Label)
	kRoot := refuse(ct, other.TrustRoot, now, "a certificate under a wrong trust root")
	kLate := refuse(ct, srv.TrustRoot, now+2*3600_000, "a certificate after its expiry")
	open(ct, pt, TypeSignal, "the same message with the right trust root")

	expired, err := b.SenderCertificate(a.Addr, a.Identity, now-60_000)
	x.must(err, "%s sender_certificate (expired)", b.Label)
	kExp := "refused by the sender"
	if ct, err := a.SealedEncrypt(b.Addr, []byte("expired"), expired); err == nil {
		kExp = refuse(ct, srv.TrustRoot, now, "an expired certificate")
	} else if KindOf(err) == "" {
		x.Failf("%s sealed_encrypt with an expired certificate: %v", a.Label, err)
	}
	ct, pt = seal(cert)
	open(ct, pt, TypeSignal, "a sealed message after the rejections")
	x.exchange(b, a)
	x.exchange(a, b)
	x.Notef("wrong trust root: %s; after expiry: %s; expired certificate: %s", kRoot, kLate, kExp)
}

func fingerprintScenario(x *X) {
	x.RequireOps("fingerprint")
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	for _, v := range []int{1, 2} {
		la, lb := a.Addr.Name, b.Addr.Name
		if v == 1 {
			la = fmt.Sprintf("+1555%07d", x.rng.Intn(10_000_000))
			lb = fmt.Sprintf("+1555%07d", x.rng.Intn(10_000_000))
		}
		fa, err := a.Fingerprint(la, lb, b.Identity, v)
		x.must(err, "%s fingerprint v%d", a.Label, v)
		fb, err := b.Fingerprint(lb, la, a.Identity, v)
		x.must(err, "%s fingerprint v%d", b.Label, v)
		for _, f := range []FingerprintResult{fa, fb} {
			if len(f.Displayable) != 60 || !digits(f.Displayable) {
				x.Failf("v%d: displayable %q is not 60 digits", v, f.Displayable)
			}
		}
		if fa.Displayable != fb.Displayable {
			x.Failf("v%d: displayable differs: A %s, B %s", v, fa.Displayable, fb.Displayable)
		}
		va, al, ar, err := scannableSides(fa.Scannable)
		x.must(err, "v%d: A's scannable", v)
		vb, bl, br, err := scannableSides(fb.Scannable)
		x.must(err, "v%d: B's scannable", v)
		switch {
		case va != vb:
			x.Failf("v%d: scannable versions differ: %d vs %d", v, va, vb)
		case !bytes.Equal(al, br) || !bytes.Equal(ar, bl):
			x.Failf("v%d: scannable fingerprints do not match with sides swapped", v)
		case bytes.Equal(al, ar):
			x.Failf("v%d: local and remote scannable parts are equal", v)
		}
		x.Notef("v%d scannable version %d", v, va)
	}
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
