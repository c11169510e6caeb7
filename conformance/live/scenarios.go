package live

import (
	"bytes"
	"fmt"
	"strings"
)

// All returns every scenario in running order.
func All() []Scenario {
	s := []Scenario{
		{ID: "setup/one-time+kyber", Core: true, Doc: "session from a bundle with one-time and Kyber prekeys", Run: setupScenario(true, true)},
		{ID: "setup/one-time", Core: true, Doc: "bundle with a one-time prekey, no Kyber prekey", Run: setupScenario(true, false)},
		{ID: "setup/kyber", Core: true, Doc: "bundle with a Kyber prekey, no one-time prekey", Run: setupScenario(false, true)},
		{ID: "setup/signed-only", Core: true, Doc: "bundle with neither one-time nor Kyber prekey", Run: setupScenario(false, false)},
		{ID: "conversation/long", Doc: "200 messages in random bursts, both directions", Run: longConversation},
		{ID: "delivery/reordered", Doc: "shuffled and delayed delivery across ratchet steps", Run: reordered},
		{ID: "delivery/dropped", Doc: "messages never delivered, including the first PreKeySignalMessage", Run: dropped},
		{ID: "delivery/duplicate", Doc: "re-delivered messages give duplicate_message", Run: duplicates},
		{ID: "tamper/signal-message", Doc: "every byte region of a SignalMessage", Run: tamperSignal},
		{ID: "tamper/prekey-message", Doc: "every byte region of a PreKeySignalMessage", Run: tamperPreKey},
		{ID: "truncation", Doc: "every prefix of a SignalMessage and a PreKeySignalMessage", Run: truncation},
		{ID: "replay/prekey-message", Doc: "a PreKeySignalMessage replayed after the session is established", Run: replayPreKey},
		{ID: "identity/change", Doc: "same name, new identity: untrusted_identity until trust", Run: identityChange},
		{ID: "simultaneous-initiation", Doc: "both sides initiate, first messages cross, then turn-taking", Run: simultaneous},
		{ID: "simultaneous-initiation/crossing", Doc: "as above, then three more rounds of crossing messages", Run: simultaneousCrossing},
		{ID: "forward-jump/1000", Doc: "only the 1,000th message of a chain is delivered", Run: forwardJump(1000, jumpAccept)},
		{ID: "forward-jump/2100", Doc: "2,100 messages: beyond go.mau.fi's 2,000, within libsignal's 25,000", Run: forwardJump(2100, jumpEither)},
		{ID: "forward-jump/25002", Big: true, Doc: "25,002 messages: beyond every implementation's limit", Run: forwardJump(25002, jumpReject)},
		{ID: "restart", Doc: "state survives restart mid-conversation", Run: restartScenario},
		{ID: "garbage", Doc: "random, empty, 1 MiB and mistyped input", Run: garbage},
		{ID: "group", Doc: "sender keys: three members, reordering, duplicates, late joiner", Run: groupScenario},
		{ID: "sealed-sender", Doc: "sealed sender v1 with certificates issued by B", Run: sealedSender},
		{ID: "fingerprint", Doc: "safety numbers, versions 1 and 2", Run: fingerprintScenario},
		{ID: "ratchet/key-rotation", Doc: "every reply starts a new sending chain with a fresh ratchet key", Run: keyRotation},
	}
	s = append(s, maliciousScenarios...)
	s = append(s, adversarialScenarios...)
	return tagged(s)
}

// ---- set-up ---------------------------------------------------------------

func setupScenario(oneTime, kyber bool) func(*X) {
	return func(x *X) {
		if kyber && x.Flavour() == "whatsapp" {
			x.NotApplicablef("the whatsapp flavour has no Kyber prekeys")
		}
		a := x.Start(RoleA, "A", ClientOptions{})
		b := x.Start(RoleB, "B", ClientOptions{})
		if x.ExpectRefusal() {
			refusalSetup(x, a, b, oneTime, kyber)
			return
		}
		kyberless := func(who *Client, err error) {
			if !kyber && x.Flavour() == "signal" && KindOf(err) == "unsupported" {
				x.Passf("%s refuses a Kyber-less bundle in the signal flavour with unsupported, as allowed", who.Tag)
			}
		}
		bu, err := b.Bundle(oneTime, kyber)
		if err != nil {
			kyberless(b, err)
			x.Failf("%s bundle(one_time=%v, kyber=%v): %v", b.Label, oneTime, kyber, err)
		}
		checkBundle(x, b, bu, oneTime, kyber)
		if err := a.ProcessBundle(b.Addr, bu); err != nil {
			kyberless(a, err)
			x.Failf("%s process_bundle: %v", a.Label, err)
		}
		want := 3
		if kyber {
			want = 4
		}
		checkSession(x, a, b, want)
		m1 := x.encrypt(a, b)
		x.expectType(m1, TypePreKey, "first message of a new session")
		x.deliver(m1)
		checkSession(x, b, a, want)
		m2 := x.exchange(a, b)
		x.expectType(m2, TypePreKey, "no reply received yet")
		r1 := x.exchange(b, a)
		x.expectType(r1, TypeSignal, "responder's messages")
		m3 := x.exchange(a, b)
		x.expectType(m3, TypeSignal, "after the first reply")
		x.exchange(b, a)
		checkSession(x, a, b, want)
		if !kyber && x.Flavour() == "signal" {
			x.Notef("accepted a Kyber-less bundle: version 3 session")
		}
	}
}

func checkSession(x *X, on, with *Client, want int) {
	s, err := on.Session(with.Addr)
	x.must(err, "%s session", on.Label)
	if !s.Exists {
		x.Failf("%s reports no session with %s", on.Label, with.Tag)
	}
	if s.Version != want {
		x.Failf("%s reports session version %d, want %d (flavour %s)", on.Label, s.Version, want, x.Flavour())
	}
}

func checkBundle(x *X, b *Client, bu *Bundle, oneTime, kyber bool) {
	f := bu.BundleFields
	switch {
	case !bytes.Equal(f.IdentityKey, b.Identity):
		x.Failf("%s bundle: identity_key differs from init's", b.Label)
	case f.RegistrationID != b.RegID:
		x.Failf("%s bundle: registration_id %d, init said %d", b.Label, f.RegistrationID, b.RegID)
	case f.Device != b.Addr.Device:
		x.Failf("%s bundle: device %d, want %d", b.Label, f.Device, b.Addr.Device)
	case f.SignedPreKeyID == nil || len(f.SignedPreKey) != 33 || f.SignedPreKey[0] != 0x05 || len(f.SignedPreKeySignature) != 64:
		x.Failf("%s bundle: malformed signed prekey", b.Label)
	case oneTime && (f.PreKeyID == nil || len(f.PreKey) != 33):
		x.Failf("%s bundle(one_time=true): no one-time prekey", b.Label)
	case !oneTime && (f.PreKeyID != nil || len(f.PreKey) != 0):
		x.Failf("%s bundle(one_time=false) carries a one-time prekey", b.Label)
	case kyber && (f.KyberPreKeyID == nil || len(f.KyberPreKey) != 1569 || f.KyberPreKey[0] != 0x08 || len(f.KyberPreKeySignature) != 64):
		x.Failf("%s bundle(kyber=true): missing or malformed Kyber prekey", b.Label)
	case !kyber && (f.KyberPreKeyID != nil || len(f.KyberPreKey) != 0):
		x.Failf("%s bundle(kyber=false) carries a Kyber prekey", b.Label)
	}
}

// refusalSetup passes iff some step of the first round trips is refused
// with a proper error line and both peers keep answering.
func refusalSetup(x *X, a, b *Client, oneTime, kyber bool) {
	refused := func(step string, err error) {
		if err == nil {
			return
		}
		k := KindOf(err)
		if k == "" {
			x.Failf("%s: %v", step, err)
		}
		for _, c := range []*Client{a, b} {
			if _, err := c.Capabilities(); err != nil {
				x.Failf("after the refusal at %s, %s no longer answers: %v", step, c.Label, err)
			}
		}
		msg := err.(*Error).Message
		if len(msg) > 120 {
			msg = msg[:120] + "…"
		}
		x.Passf("set-up refused cleanly at %s: %s: %s", step, k, msg)
	}
	bu, err := b.Bundle(oneTime, kyber)
	refused("B bundle", err)
	refused("A process_bundle", a.ProcessBundle(b.Addr, bu))
	msgs := []struct{ from, to *Client }{{a, b}, {b, a}, {a, b}, {b, a}}
	for i, m := range msgs {
		pt := x.plaintext(m.from, m.to)
		ct, err := m.from.Encrypt(m.to.Addr, pt)
		refused(fmt.Sprintf("%s encrypt #%d", m.from.Tag, i+1), err)
		got, err := m.to.Decrypt(m.from.Addr, ct)
		refused(fmt.Sprintf("%s decrypt #%d", m.to.Tag, i+1), err)
		if !bytes.Equal(got, pt) {
			x.Failf("%s decrypt #%d: wrong plaintext", m.to.Label, i+1)
		}
	}
	x.Failf("set-up succeeded in both directions, but -expect-refusal expects a clean refusal")
}

// ---- conversations --------------------------------------------------------

func longConversation(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.processBundle(a, b, true, x.kyberDefault())
	const total = 200
	n, replied := 0, false
	from, to := a, b
	for n < total {
		burst := 1 + x.rng.Intn(8)
		var batch []sent
		for i := 0; i < burst && n < total; i++ {
			pt := x.plaintext(from, to)
			if n == 4 {
				pt = []byte{}
			}
			s := x.encryptPT(from, to, pt)
			want := TypeSignal
			if from == a && !replied {
				want = TypePreKey
			}
			x.expectType(s, want, fmt.Sprintf("message %d", n+1))
			batch = append(batch, s)
			n++
		}
		for _, s := range batch {
			x.deliver(s)
		}
		if from == b {
			replied = true
		}
		from, to = to, from
	}
	sa, err := a.Session(b.Addr)
	x.must(err, "%s session", a.Label)
	sb, err := b.Session(a.Addr)
	x.must(err, "%s session", b.Label)
	if !sa.Exists || !sb.Exists || sa.Version != sb.Version {
		x.Failf("sessions disagree: A %+v, B %+v", sa, sb)
	}
}

func reordered(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.establish(a, b)
	var heldA, heldB []sent
	for round := 0; round < 4; round++ {
		var batch []sent
		for i := 0; i < 8; i++ {
			batch = append(batch, x.encrypt(a, b))
		}
		perm := x.rng.perm(len(batch))
		if round == 0 {
			heldA = append(heldA, batch[perm[0]], batch[perm[1]])
			perm = perm[2:]
		}
		for _, i := range perm {
			x.deliver(batch[i])
		}
		batch = batch[:0]
		for i := 0; i < 3; i++ {
			batch = append(batch, x.encrypt(b, a))
		}
		if round == 1 {
			heldB = append(heldB, batch[0])
			batch = batch[1:]
		}
		for i := len(batch) - 1; i >= 0; i-- {
			x.deliver(batch[i])
		}
	}
	// The held messages belong to chains several ratchet steps back.
	for _, s := range append(heldA, heldB...) {
		x.deliver(s)
	}
	for i := 0; i < 3; i++ {
		x.exchange(a, b)
		x.exchange(b, a)
	}
}

func dropped(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.processBundle(a, b, true, x.kyberDefault())
	first := x.encrypt(a, b)
	x.expectType(first, TypePreKey, "first message")
	_ = first // dropped: B learns the session from the second one
	x.deliver(x.encrypt(a, b))
	dropCount := 0
	for round := 0; round < 5; round++ {
		for _, pair := range [][2]*Client{{b, a}, {a, b}} {
			var batch []sent
			for i := 0; i < 6; i++ {
				batch = append(batch, x.encrypt(pair[0], pair[1]))
			}
			drop := map[int]bool{x.rng.Intn(6): true, x.rng.Intn(6): true}
			for i, s := range batch {
				if drop[i] {
					dropCount++
					continue
				}
				x.deliver(s)
			}
		}
	}
	// A whole burst lost, then the other side answers.
	for i := 0; i < 4; i++ {
		x.encrypt(a, b)
		dropCount++
	}
	x.exchange(b, a)
	x.exchange(a, b)
	x.exchange(b, a)
	x.Notef("%d messages dropped", dropCount)
}

func duplicates(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.processBundle(a, b, true, x.kyberDefault())
	var ks []string
	dup := func(s sent, allowed ...string) {
		k := x.reject(s.To, s.From, s.Msg, "a duplicate of "+s.Label)
		for _, al := range allowed {
			if k == al {
				ks = append(ks, k)
				return
			}
		}
		x.Failf("duplicate of %s (type %d) rejected with %s, want %s", s.Label, s.Msg.Type, k, strings.Join(allowed, " or "))
	}
	m1 := x.exchange(a, b)
	dup(m1, "duplicate_message", "invalid_prekey")
	r1 := x.exchange(b, a)
	dup(r1, "duplicate_message")
	m3, m4, m5 := x.encrypt(a, b), x.encrypt(a, b), x.encrypt(a, b)
	x.deliver(m5)
	dup(m5, "duplicate_message")
	x.deliver(m3)
	dup(m3, "duplicate_message")
	x.deliver(m4)
	dup(m4, "duplicate_message")
	for i := 0; i < 2; i++ {
		x.exchange(b, a)
		x.exchange(a, b)
	}
	// Old chains: already-used keys stay used.
	dup(m4, "duplicate_message")
	dup(r1, "duplicate_message")
	x.exchange(b, a)
	x.exchange(a, b)
	x.Notef("type-3 duplicate: %s", ks[0])
}

// ---- hostile input --------------------------------------------------------

// tamperOne delivers a mutated copy of s; it returns true if the receiver
// accepted a lenient mutation (so s itself is now a duplicate).
func tamperOne(x *X, s sent, m mutation, ks kinds, tolerated *[]string, odd *[]string) bool {
	t := Message{Type: s.Msg.Type, Ciphertext: m.apply(s.Msg.Ciphertext)}
	pt, err := s.To.Decrypt(s.From.Addr, t)
	if err == nil {
		if !m.Lenient {
			x.Failf("%s accepted %s with %s flipped (byte %d)", s.To.Label, s.Label, m.Name, m.Off)
		}
		if !bytes.Equal(pt, s.Plaintext) {
			x.Failf("%s accepted %s with %s flipped and returned a different plaintext", s.To.Label, s.Label, m.Name)
		}
		*tolerated = append(*tolerated, m.Name)
		return true
	}
	k := KindOf(err)
	if k == "" {
		x.Failf("%s on %s with %s flipped: %v", s.To.Label, s.Label, m.Name, err)
	}
	ks[k]++
	if !m.Lenient && (strings.Contains(m.Name, "mac") || strings.Contains(m.Name, "version")) && k != "invalid_message" {
		*odd = append(*odd, m.Name+"→"+k)
	}
	return false
}

func tamperNotes(x *X, n int, ks kinds, tolerated, odd []string) {
	x.Notef("%d mutations; rejections: %s", n, ks)
	if len(odd) > 0 {
		x.Notef("not invalid_message: %s", strings.Join(odd, ", "))
	}
	if len(tolerated) > 0 {
		x.Notef("accepted unchanged: %s", strings.Join(tolerated, ", "))
		x.tolerated = append(x.tolerated, tolerated...)
	}
}

func tamperSignal(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.establish(a, b)
	ks := kinds{}
	var tolerated, odd []string
	n := 0
	for i := 0; ; i++ {
		pair := []sent{x.encrypt(a, b), x.encrypt(a, b)}
		target := i % 2
		ms, err := signalMessageMutations(pair[target].Msg.Ciphertext, 0, "")
		if err != nil {
			x.Failf("%s: %v", pair[target].Label, err)
		}
		if i >= len(ms) {
			x.deliver(pair[0])
			x.deliver(pair[1])
			break
		}
		n++
		if tamperOne(x, pair[target], ms[i], ks, &tolerated, &odd) {
			x.reject(b, a, pair[target].Msg, "the original after an accepted mutation")
			pair = append(pair[:target], pair[target+1:]...)
		}
		for _, s := range pair {
			x.deliver(s)
		}
		x.exchange(b, a)
	}
	x.exchange(a, b)
	x.exchange(b, a)
	tamperNotes(x, n, ks, tolerated, odd)
}

func tamperPreKey(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.processBundle(a, b, true, x.kyberDefault())
	m1 := x.encrypt(a, b)
	x.expectType(m1, TypePreKey, "first message")
	ms, err := preKeyMessageMutations(m1.Msg.Ciphertext)
	if err != nil {
		x.Failf("%v", err)
	}
	ks := kinds{}
	var tolerated, odd []string
	accepted := false
	for _, m := range ms {
		if tamperOne(x, m1, m, ks, &tolerated, &odd) {
			accepted = true
		}
	}
	if accepted {
		k := x.reject(b, a, m1.Msg, "the original after an accepted mutation")
		if k != "duplicate_message" && k != "invalid_prekey" {
			x.Failf("original after an accepted mutation rejected with %s", k)
		}
	} else {
		x.deliver(m1)
	}
	x.exchange(b, a)
	x.exchange(a, b)
	x.exchange(b, a)
	tamperNotes(x, len(ms), ks, tolerated, odd)
}

func truncation(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	ks := kinds{}
	prefixes := func(s sent) {
		for l := 0; l < len(s.Msg.Ciphertext); l++ {
			t := Message{Type: s.Msg.Type, Ciphertext: s.Msg.Ciphertext[:l]}
			ks[x.reject(s.To, s.From, t, fmt.Sprintf("a %d-byte prefix of %s", l, s.Label))]++
		}
		x.deliver(s)
	}
	x.processBundle(a, b, true, x.kyberDefault())
	m1 := x.encrypt(a, b)
	x.expectType(m1, TypePreKey, "first message")
	prefixes(m1)
	x.exchange(b, a)
	x.encrypt(a, b) // skipped on purpose: the next one is counter 1
	prefixes(x.encrypt(a, b))
	x.exchange(b, a)
	x.exchange(a, b)
	x.Notef("rejections: %s", ks)
}

func replayPreKey(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.processBundle(a, b, true, x.kyberDefault())
	m1 := x.exchange(a, b)
	x.expectType(m1, TypePreKey, "first message")
	x.exchange(b, a)
	x.exchange(a, b)
	k := x.reject(b, a, m1.Msg, "a replayed PreKeySignalMessage")
	if k != "duplicate_message" && k != "invalid_prekey" {
		x.Failf("replayed PreKeySignalMessage rejected with %s, want duplicate_message or invalid_prekey", k)
	}
	x.exchange(b, a)
	x.exchange(a, b)
	x.exchange(b, a)
	x.Notef("replay rejected with %s", k)
}

func garbage(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.establish(a, b)
	held := x.encrypt(a, b)
	ct := held.Msg.Ciphertext
	mixed := append(append([]byte(nil), ct[:len(ct)/2]...), x.rng.bytes(len(ct)-len(ct)/2)...)
	cases := []struct {
		name string
		m    Message
	}{
		{"64 random bytes as type 2", Message{2, x.rng.bytes(64)}},
		{"64 random bytes as type 3", Message{3, x.rng.bytes(64)}},
		{"empty type 2", Message{2, nil}},
		{"empty type 3", Message{3, nil}},
		{"1 MiB random as type 2", Message{2, x.rng.bytes(1 << 20)}},
		{"1 MiB random as type 3", Message{3, x.rng.bytes(1 << 20)}},
		{"a SignalMessage as type 3", Message{3, ct}},
		{"a SignalMessage as type 7", Message{7, ct}},
		{"a SignalMessage as type 1", Message{1, ct}},
		{"a SignalMessage as type 0", Message{0, ct}},
		{"a SignalMessage as type 99", Message{99, ct}},
		{"a SignalMessage with a random second half", Message{2, mixed}},
		{"one byte 0x44 as type 2", Message{2, []byte{0x44}}},
		{"one byte 0x33 as type 3", Message{3, []byte{0x33}}},
	}
	ks := kinds{}
	for _, c := range cases {
		ks[x.reject(b, a, c.m, c.name)]++
		if _, err := b.Session(a.Addr); err != nil {
			x.Failf("%s no longer answers after %s: %v", b.Label, c.name, err)
		}
	}
	stranger := &Client{Tag: "stranger", Addr: Address{newUUID(), 1}}
	ks[x.reject(b, stranger, Message{2, x.rng.bytes(80)}, "random bytes from an unknown sender")]++
	ks[x.reject(b, stranger, Message{2, ct}, "a SignalMessage from an unknown sender")]++
	x.deliver(held)
	x.exchange(b, a)
	x.exchange(a, b)
	x.Notef("rejections: %s", ks)
}

type jumpRule int

const (
	jumpAccept jumpRule = iota
	jumpEither
	jumpReject
)

func forwardJump(n int, rule jumpRule) func(*X) {
	return func(x *X) {
		a := x.Start(RoleA, "A", ClientOptions{})
		b := x.Start(RoleB, "B", ClientOptions{})
		x.establish(a, b)
		x.exchange(b, a) // A's next message starts a new chain at counter 0
		msgs := make([]sent, 0, 3)
		var last sent
		for i := 0; i < n; i++ {
			s := x.encryptPT(a, b, []byte(fmt.Sprintf("jump %d", i)))
			if i == 0 || i == n-60 {
				msgs = append(msgs, s)
			}
			last = s
		}
		pt, err := b.Decrypt(a.Addr, last.Msg)
		switch {
		case err == nil:
			if !bytes.Equal(pt, last.Plaintext) {
				x.Failf("%s decrypted message %d to a wrong plaintext", b.Label, n)
			}
			if rule == jumpReject {
				x.Failf("%s accepted a jump of %d messages", b.Label, n-1)
			}
			if rule == jumpEither {
				x.Notef("accepted: the receiver's limit is above %d", n-1)
			}
			x.deliver(msgs[1]) // a stored skipped key
			if n <= 2000 {
				x.deliver(msgs[0])
			}
		case KindOf(err) == "too_far" || KindOf(err) == "invalid_message":
			if rule == jumpAccept {
				x.Failf("%s rejected a jump of %d messages: %v", b.Label, n-1, err)
			}
			x.Notef("rejected with %s", KindOf(err))
			// As if it never arrived: the chain start still decrypts.
			x.deliver(msgs[0])
			if n > 25000 {
				// A gap this large may legitimately end the session even
				// without the rejection (SPQR's own max_jump is 25,000), so
				// recovery is observed, not required.
				if why := x.attempt(func() {
					x.exchange(b, a)
					x.exchange(a, b)
				}); why != "" {
					x.Notef("the session did not survive %d undelivered messages: %s", n-1, why)
				} else {
					x.Notef("the session recovered")
				}
				return
			}
		default:
			x.Failf("%s on a jump of %d messages: %v (want too_far or invalid_message)", b.Label, n-1, err)
		}
		x.exchange(b, a)
		x.exchange(a, b)
		x.exchange(b, a)
	}
}
