package live

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Status is a scenario outcome.
type Status int

const (
	Pass Status = iota
	Fail
	NotApplicable
	// ExpectedFail is a failure named in Options.XFail: a known defect of a
	// peer, asserted so that the table flips when the peer is fixed.
	ExpectedFail
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case ExpectedFail:
		return "XFAIL"
	}
	return "N/A"
}

// Result is the outcome of one scenario in one direction.
type Result struct {
	Scenario string
	A, B     string // implementations in roles A and B for this run
	Status   Status
	Reason   string   // why it failed or does not apply
	Notes    []string // observations (rejection kinds, tolerated mutations)
	// Tolerated lists the lenient mutations the receiver accepted with the
	// plaintext unchanged (tamper scenarios): bytes it does not authenticate.
	Tolerated []string
	Duration  time.Duration
}

// Line formats a result as the driver prints it.
func (r Result) Line() string {
	s := fmt.Sprintf("%s %s  A=%s → B=%s", r.Status, r.Scenario, r.A, r.B)
	if r.Reason != "" {
		s += "  " + r.Reason
	}
	return s
}

// Scenario is one interop check. Run is called once per direction; role A
// is the first implementation in one run and the second in the other.
type Scenario struct {
	ID   string
	Doc  string
	Run  func(x *X)
	Big  bool // long-running: only with Options.Big
	Core bool // a set-up scenario, also run in ExpectRefusal mode
	// Guarantees names the security guarantees the scenario demonstrates
	// (IDs of the conformance report, e.g. "integrity"); Spec the sections
	// of the specifications it traces to.
	Guarantees []string
	Spec       []string
}

// Options configure a run.
type Options struct {
	A, B          Spec
	Filter        *regexp.Regexp // matched against scenario IDs; nil = all
	ExpectRefusal bool
	Big           bool
	Timeout       time.Duration // per request; 0 = DefaultTimeout
	Seed          uint64        // 0 = random
	Trace         io.Writer     // every request/response line, if set
	Log           io.Writer     // progress notes, if set
	// XFail names scenarios expected to fail (known peer defects): a failure
	// is reported as XFAIL, a pass as FAIL. It is matched against the
	// scenario ID and against "ID B=implementation" (the receiving side of
	// that direction), so a defect of one peer can be named in one direction.
	XFail *regexp.Regexp
	// Adversary, when set, starts the driver's own adversary peer
	// (docs/peer-protocol.md, "Adversary mode"): the sender of messages no
	// honest peer writes, for the scenarios that need one (spqr/downgrade,
	// spqr/unknown-version); without it they do not apply.
	Adversary Spec
}

// Summary counts results.
type Summary struct {
	Passed, Failed, NotApplicable int
	ExpectedFailures              int
	Seed                          uint64
	// Pairing is set when the whole pairing does not apply.
	PairingNA string
	// Flavour is the negotiated flavour ("" if none).
	Flavour string
}

// Pairing is what the driver learnt about two implementations.
type Pairing struct {
	Specs   [2]Spec
	Caps    [2]Capabilities
	Flavour string // common flavour, "" if none
}

// Negotiate picks the flavour per the peer protocol: signal if every peer
// offers it, else whatsapp if every peer offers it, else "".
func Negotiate(caps ...Capabilities) string {
	for _, f := range []string{"signal", "whatsapp"} {
		all := true
		for _, c := range caps {
			all = all && c.Offers(f)
		}
		if all {
			return f
		}
	}
	return ""
}

func probe(spec Spec, timeout time.Duration) (Capabilities, error) {
	p, err := Start(spec, spec.String())
	if err != nil {
		return Capabilities{}, err
	}
	p.Timeout = timeout
	c, err := p.Capabilities()
	if err != nil {
		p.Kill()
		return c, err
	}
	if err := p.Close(); err != nil {
		return c, err
	}
	if c.Implementation == "" {
		c.Implementation = filepath.Base(spec.Argv[0])
	}
	return c, nil
}

// Run negotiates the pairing and runs every selected scenario in both
// directions, calling report after each.
func Run(opts Options, scenarios []Scenario, report func(Result)) (Summary, error) {
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Seed == 0 {
		var b [8]byte
		rand.Read(b[:])
		opts.Seed = binary.BigEndian.Uint64(b[:]) >> 1
	}
	sum := Summary{Seed: opts.Seed}
	var pr Pairing
	pr.Specs = [2]Spec{opts.A, opts.B}
	for i, s := range pr.Specs {
		c, err := probe(s, opts.Timeout)
		if err != nil {
			return sum, fmt.Errorf("live: capabilities of %s: %w", s, err)
		}
		pr.Caps[i] = c
	}
	pr.Flavour = Negotiate(pr.Caps[0], pr.Caps[1])
	sum.Flavour = pr.Flavour
	if pr.Flavour == "" {
		sum.PairingNA = fmt.Sprintf("no common flavour: %s offers %v, %s offers %v",
			pr.Caps[0].Implementation, offered(pr.Caps[0]), pr.Caps[1].Implementation, offered(pr.Caps[1]))
		sum.NotApplicable++
		return sum, nil
	}
	logf(opts.Log, "flavour %s; seed %d", pr.Flavour, opts.Seed)
	for si, sc := range scenarios {
		if opts.Filter != nil && !opts.Filter.MatchString(sc.ID) {
			continue
		}
		if opts.ExpectRefusal && !sc.Core {
			continue
		}
		for dir := 0; dir < 2; dir++ {
			roles := [2]int{0, 1}
			if dir == 1 {
				roles = [2]int{1, 0}
			}
			r := runOne(&pr, opts, sc, roles, opts.Seed+uint64(si*2+dir))
			if opts.XFail != nil && (opts.XFail.MatchString(sc.ID) || opts.XFail.MatchString(sc.ID+" B="+r.B)) {
				switch r.Status {
				case Fail:
					r.Status = ExpectedFail
				case Pass:
					r.Status, r.Reason = Fail, "expected to fail (-xfail) but passed: the peer was fixed, drop it from -xfail"
				}
			}
			switch r.Status {
			case Pass:
				sum.Passed++
			case Fail:
				sum.Failed++
			case ExpectedFail:
				sum.ExpectedFailures++
			default:
				sum.NotApplicable++
			}
			if report != nil {
				report(r)
			}
		}
	}
	return sum, nil
}

func offered(c Capabilities) []string {
	if !c.FlavoursDeclared {
		return []string{"signal (undeclared)"}
	}
	return c.Flavours
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// abort ends a scenario early.
type abort struct {
	status Status
	reason string
}

// X is the context a scenario runs in.
type X struct {
	pairing   *Pairing
	opts      Options
	roles     [2]int // implementation index for role A and role B
	rng       *rng
	peers     []*Peer
	clients   []*Client
	notes     []string
	tolerated []string
	tmp       string
	counter   int
}

// Flavour is the negotiated flavour.
func (x *X) Flavour() string { return x.pairing.Flavour }

// Big reports whether long-running checks are enabled.
func (x *X) Big() bool { return x.opts.Big }

// ExpectRefusal reports the expected-refusal mode.
func (x *X) ExpectRefusal() bool { return x.opts.ExpectRefusal }

// Failf ends the scenario as failed.
func (x *X) Failf(format string, args ...any) {
	panic(abort{Fail, fmt.Sprintf(format, args...)})
}

// NotApplicablef ends the scenario as not applicable.
func (x *X) NotApplicablef(format string, args ...any) {
	panic(abort{NotApplicable, fmt.Sprintf(format, args...)})
}

// Passf ends the scenario as passed with a reason.
func (x *X) Passf(format string, args ...any) {
	panic(abort{Pass, fmt.Sprintf(format, args...)})
}

// attempt runs f and returns the reason if it fails the scenario, so that
// an observation can be made without failing.
func (x *X) attempt(f func()) (failure string) {
	defer func() {
		if r := recover(); r != nil {
			a, ok := r.(abort)
			if !ok || a.status != Fail {
				panic(r)
			}
			failure = a.reason
		}
	}()
	f()
	return ""
}

// Notef records an observation shown with the result.
func (x *X) Notef(format string, args ...any) {
	x.notes = append(x.notes, fmt.Sprintf(format, args...))
}

func (x *X) impl(role int) string { return x.pairing.Caps[x.roles[role]].Implementation }

// Role selects which implementation a new peer runs.
type Role int

const (
	RoleA Role = 0
	RoleB Role = 1
)

// RequireOps makes the scenario not applicable unless both implementations
// list every op.
func (x *X) RequireOps(ops ...string) {
	for i := 0; i < 2; i++ {
		c := x.pairing.Caps[i]
		for _, op := range ops {
			if !c.Has(op) {
				x.NotApplicablef("%s does not list op %s", c.Implementation, op)
			}
		}
	}
}

// Client is a started and initialised peer.
type Client struct {
	*Peer
	x        *X
	Tag      string // "A", "B", "C", …
	Impl     string
	Addr     Address
	Identity []byte
	RegID    int
	Store    string
}

// ClientOptions tune Start.
type ClientOptions struct {
	Name   string // reuse a name (identity change); "" = fresh UUID
	Device int    // 0 = random
	Store  bool   // give the peer a durable store in the scenario's temp dir
}

// Start launches a fresh peer of the implementation playing role and inits it.
func (x *X) Start(role Role, tag string, o ClientOptions) *Client {
	impl := x.roles[role]
	spec := x.pairing.Specs[impl]
	caps := x.pairing.Caps[impl]
	label := fmt.Sprintf("%s(%s)", tag, caps.Implementation)
	p, err := Start(spec, label)
	if err != nil {
		x.Failf("%v", err)
	}
	p.Timeout = x.opts.Timeout
	if x.opts.Trace != nil {
		w := x.opts.Trace
		p.Trace = func(label, dir, line string) { fmt.Fprintf(w, "%s %s %s\n", label, dir, line) }
	}
	x.peers = append(x.peers, p)
	name := o.Name
	if name == "" {
		name = newUUID()
	}
	dev := o.Device
	if dev == 0 {
		dev = 1 + x.rng.Intn(127)
	}
	in := InitOptions{Name: name, Device: dev}
	if caps.FlavoursDeclared {
		in.Flavour = x.pairing.Flavour
	}
	c := &Client{Peer: p, x: x, Tag: tag, Impl: caps.Implementation, Addr: Address{name, dev}}
	if o.Store {
		if x.tmp == "" {
			d, err := os.MkdirTemp("", "interop-driver-")
			if err != nil {
				x.Failf("live: %v", err)
			}
			x.tmp = d
		}
		x.counter++
		in.Store = filepath.Join(x.tmp, fmt.Sprintf("%s-store-%d", tag, x.counter))
		c.Store = in.Store
	}
	r, err := p.Init(in)
	if err != nil {
		if o.Store && KindOf(err) == "unsupported" {
			x.NotApplicablef("%s: init with a durable store is unsupported", label)
		}
		x.Failf("%s init: %v", label, err)
	}
	if len(r.IdentityKey) != 33 || r.IdentityKey[0] != 0x05 {
		x.Failf("%s init: identity_key is not a 33-byte Curve25519 key (%d bytes)", label, len(r.IdentityKey))
	}
	c.Identity, c.RegID = r.IdentityKey, r.RegistrationID
	x.clients = append(x.clients, c)
	return c
}

func runOne(pr *Pairing, opts Options, sc Scenario, roles [2]int, seed uint64) (res Result) {
	x := &X{pairing: pr, opts: opts, roles: roles, rng: newRNG(seed)}
	res = Result{Scenario: sc.ID, A: x.impl(0), B: x.impl(1)}
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()
	if sc.Big && !opts.Big {
		res.Status, res.Reason = NotApplicable, "long-running check; enable with -big"
		return res
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				a, ok := r.(abort)
				if !ok {
					panic(r)
				}
				res.Status, res.Reason = a.status, a.reason
			}
		}()
		sc.Run(x)
	}()
	// Close every peer: a clean exit 0 is part of passing.
	for _, p := range x.peers {
		if res.Status == Fail {
			p.Kill()
			continue
		}
		if err := p.Close(); err != nil && res.Status == Pass {
			res.Status, res.Reason = Fail, "on close: "+err.Error()
		}
	}
	if x.tmp != "" {
		os.RemoveAll(x.tmp)
	}
	res.Tolerated = x.tolerated
	if len(x.notes) > 0 {
		res.Notes = x.notes
		if res.Status == Pass || opts.Log != nil {
			joined := strings.Join(x.notes, "; ")
			if res.Reason == "" {
				res.Reason = "(" + joined + ")"
			} else {
				res.Reason += " (" + joined + ")"
			}
		}
	}
	return res
}

// ---- helpers used by scenarios -------------------------------------------

// must fails the scenario on any error.
func (x *X) must(err error, format string, args ...any) {
	if err != nil {
		x.Failf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// plaintext returns a recognisable message body.
func (x *X) plaintext(from, to *Client) []byte {
	x.counter++
	head := fmt.Sprintf("%s→%s #%d ", from.Tag, to.Tag, x.counter)
	size := 1 + x.rng.Intn(200)
	if size < len(head) {
		return []byte(head)
	}
	return append([]byte(head), x.rng.bytes(size-len(head))...)
}

// sent is a message in flight.
type sent struct {
	From, To  *Client
	Msg       Message
	Plaintext []byte
	Label     string
}

// encrypt has from encrypt a fresh message to to.
func (x *X) encrypt(from, to *Client) sent {
	pt := x.plaintext(from, to)
	return x.encryptPT(from, to, pt)
}

func (x *X) encryptPT(from, to *Client, pt []byte) sent {
	m, err := from.Encrypt(to.Addr, pt)
	x.must(err, "%s encrypt to %s", from.Label, to.Tag)
	if m.Type != TypeSignal && m.Type != TypePreKey {
		x.Failf("%s encrypt: type %d, want 2 or 3", from.Label, m.Type)
	}
	label := fmt.Sprintf("%q", short(pt))
	if len(pt) == 0 {
		label = fmt.Sprintf("%s→%s (empty)", from.Tag, to.Tag)
	}
	return sent{From: from, To: to, Msg: m, Plaintext: pt, Label: label}
}

// short returns the recognisable head of a plaintext ("A→B #17").
func short(pt []byte) string {
	if f := bytes.SplitN(pt, []byte(" "), 3); len(f) == 3 {
		return string(f[0]) + " " + string(f[1])
	}
	if len(pt) > 16 {
		return string(pt[:16])
	}
	return string(pt)
}

// deliver decrypts s at its recipient and checks the plaintext.
func (x *X) deliver(s sent) {
	pt, err := s.To.Decrypt(s.From.Addr, s.Msg)
	x.must(err, "%s decrypt of %s (type %d, %d bytes)", s.To.Label, s.Label, s.Msg.Type, len(s.Msg.Ciphertext))
	if !bytes.Equal(pt, s.Plaintext) {
		x.Failf("%s decrypt of %s: wrong plaintext (%d bytes, want %d)", s.To.Label, s.Label, len(pt), len(s.Plaintext))
	}
}

// exchange sends one message and delivers it.
func (x *X) exchange(from, to *Client) sent {
	s := x.encrypt(from, to)
	x.deliver(s)
	return s
}

// expectType checks the message type of s.
func (x *X) expectType(s sent, want int, why string) {
	if s.Msg.Type != want {
		x.Failf("%s: type %d, want %d (%s)", s.Label, s.Msg.Type, want, why)
	}
}

// reject delivers bytes that must be refused and returns the error kind.
func (x *X) reject(to, from *Client, m Message, what string) string {
	pt, err := to.Decrypt(from.Addr, m)
	if err == nil {
		x.Failf("%s accepted %s (decrypted %d bytes)", to.Label, what, len(pt))
	}
	k := KindOf(err)
	if k == "" {
		x.Failf("%s on %s: %v", to.Label, what, err)
	}
	return k
}

// establish sets up a session A→B from a fresh bundle of B and completes the
// first round trip, so that both sides send SignalMessages afterwards.
func (x *X) establish(a, b *Client) {
	x.processBundle(a, b, true, x.kyberDefault())
	s := x.exchange(a, b)
	x.expectType(s, TypePreKey, "first message of a new session")
	r := x.exchange(b, a)
	x.expectType(r, TypeSignal, "responder's reply")
	s = x.exchange(a, b)
	x.expectType(s, TypeSignal, "after the first reply")
}

// kyberDefault is whether bundles carry a Kyber prekey in this flavour.
func (x *X) kyberDefault() bool { return x.Flavour() != "whatsapp" }

// processBundle has a process a fresh bundle of b.
func (x *X) processBundle(a, b *Client, oneTime, kyber bool) *Bundle {
	bu, err := b.Bundle(oneTime, kyber)
	x.must(err, "%s bundle(one_time=%v, kyber=%v)", b.Label, oneTime, kyber)
	x.must(a.ProcessBundle(b.Addr, bu), "%s process_bundle of %s", a.Label, b.Tag)
	return bu
}

// kinds summarises rejection kinds.
type kinds map[string]int

func (k kinds) String() string {
	var ks []string
	for kind := range k {
		ks = append(ks, kind)
	}
	sort.Strings(ks)
	var parts []string
	for _, kind := range ks {
		parts = append(parts, fmt.Sprintf("%s×%d", kind, k[kind]))
	}
	return strings.Join(parts, ", ")
}
