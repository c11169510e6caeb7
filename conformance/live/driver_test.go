package live

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv("INTEROP_FAKE_PEER") == "1" {
		fakeMain()
	}
	os.Exit(m.Run())
}

func fakeSpec(flavours, mode string) Spec {
	return Spec{Argv: []string{os.Args[0]}, Env: []string{
		"INTEROP_FAKE_PEER=1", "FAKE_FLAVOURS=" + flavours, "FAKE_MODE=" + mode,
		// A -race binary sleeps 1 s at exit by default; the fake is one.
		"GORACE=atexit_sleep_ms=0",
	}}
}

func run(t *testing.T, o Options, filter string) (Summary, []Result) {
	t.Helper()
	if filter != "" {
		o.Filter = regexp.MustCompile(filter)
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	var rs []Result
	sum, err := Run(o, All(), func(r Result) { rs = append(rs, r) })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sum, rs
}

func TestPeerPlumbing(t *testing.T) {
	p, err := Start(fakeSpec("", ""), "fake")
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Capabilities()
	if err != nil || c.Implementation != "fake" || c.FlavoursDeclared || !c.Has("encrypt") {
		t.Fatalf("capabilities = %+v, %v", c, err)
	}
	if _, err := p.Encrypt(Address{"x", 1}, []byte("hi")); KindOf(err) != "other" {
		t.Fatalf("encrypt before init: %v, want an other error", err)
	}
	r, err := p.Init(InitOptions{Name: newUUID(), Device: 1})
	if err != nil || len(r.IdentityKey) != 33 {
		t.Fatalf("init = %+v, %v", r, err)
	}
	err = p.Call("no_such_op", nil, nil)
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != "unsupported" {
		t.Fatalf("unknown op: %v, want unsupported", err)
	}
	if _, err := p.Decrypt(Address{"nobody", 1}, Message{2, []byte{1, 2, 3}}); KindOf(err) != "no_session" {
		t.Fatalf("decrypt from a stranger: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := p.Capabilities(); err == nil {
		t.Fatal("request after Close succeeded")
	}
}

func TestNegotiate(t *testing.T) {
	undeclared := Capabilities{}
	both := Capabilities{Flavours: []string{"whatsapp", "signal"}, FlavoursDeclared: true}
	wa := Capabilities{Flavours: []string{"whatsapp"}, FlavoursDeclared: true}
	empty := Capabilities{Flavours: []string{}, FlavoursDeclared: true}
	for _, tc := range []struct {
		a, b Capabilities
		want string
	}{
		{undeclared, undeclared, "signal"},
		{undeclared, both, "signal"},
		{both, both, "signal"},
		{wa, both, "whatsapp"},
		{wa, wa, "whatsapp"},
		{wa, undeclared, ""},
		{empty, undeclared, ""},
	} {
		if got := Negotiate(tc.a, tc.b); got != tc.want {
			t.Errorf("Negotiate(%v, %v) = %q, want %q", tc.a.Flavours, tc.b.Flavours, got, tc.want)
		}
	}
}

// TestFakeSelfPairing runs every scenario between two fake peers: all must
// pass or be not applicable, which exercises the scenarios' bookkeeping.
func TestFakeSelfPairing(t *testing.T) {
	sum, rs := run(t, Options{A: fakeSpec("", ""), B: fakeSpec("", "")}, "")
	byID := map[string]Result{}
	for _, r := range rs {
		if r.Status == Fail {
			t.Errorf("%s", r.Line())
		}
		byID[r.Scenario] = r
	}
	if sum.Passed+sum.Failed+sum.NotApplicable != 2*len(All()) {
		t.Errorf("summary %+v does not count %d results", sum, 2*len(All()))
	}
	for id, why := range map[string]string{
		"restart":            "unsupported",
		"group":              "does not list op group_distribution",
		"sealed-sender":      "does not list op server_keys",
		"fingerprint":        "does not list op fingerprint",
		"forward-jump/25002": "-big",
	} {
		if r := byID[id]; r.Status != NotApplicable || !strings.Contains(r.Reason, why) {
			t.Errorf("%s: %s %q, want N/A mentioning %q", id, r.Status, r.Reason, why)
		}
	}
	if r := byID["forward-jump/2100"]; !strings.Contains(r.Reason, "too_far") {
		t.Errorf("forward-jump/2100: %q, want a too_far rejection noted", r.Reason)
	}
	if r := byID["tamper/prekey-message"]; !strings.Contains(r.Reason, "accepted unchanged: registration_id") {
		t.Errorf("tamper/prekey-message: %q, want registration_id tolerated", r.Reason)
	}
}

func TestFlavourPlumbing(t *testing.T) {
	// The fake fails init if the flavour field is sent to a peer that did
	// not declare flavours, or withheld from one that did.
	sum, rs := run(t, Options{A: fakeSpec("signal,whatsapp", ""), B: fakeSpec("", "")}, "^setup/")
	if sum.Failed != 0 || sum.Passed != 8 {
		t.Errorf("mixed declaration: %+v %v", sum, rs)
	}
	sum, rs = run(t, Options{A: fakeSpec("whatsapp", ""), B: fakeSpec("signal,whatsapp", "")}, "^setup/")
	if sum.Failed != 0 || sum.Passed != 4 || sum.NotApplicable != 4 {
		t.Errorf("whatsapp pairing: %+v %v", sum, rs)
	}
	sum, _ = run(t, Options{A: fakeSpec("whatsapp", ""), B: fakeSpec("", "")}, "")
	if sum.PairingNA == "" || sum.Passed+sum.Failed != 0 {
		t.Errorf("no common flavour: %+v", sum)
	}
}

func failures(t *testing.T, o Options) []Result {
	t.Helper()
	start := time.Now()
	sum, rs := run(t, o, "^setup/one-time\\+kyber$")
	if sum.Failed != 2 {
		t.Fatalf("want 2 failures, got %+v %v", sum, rs)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v", d)
	}
	return rs
}

func TestCrashingPeerFails(t *testing.T) {
	for _, r := range failures(t, Options{A: fakeSpec("", ""), B: fakeSpec("", "crash")}) {
		if !strings.Contains(r.Reason, "exit status 3") || !strings.Contains(r.Reason, "crashing on purpose") {
			t.Errorf("reason %q lacks the exit status or stderr tail", r.Reason)
		}
	}
}

func TestHangingPeerTimesOut(t *testing.T) {
	for _, r := range failures(t, Options{A: fakeSpec("", ""), B: fakeSpec("", "hang"), Timeout: 500 * time.Millisecond}) {
		if !strings.Contains(r.Reason, "timed out") {
			t.Errorf("reason %q does not mention the timeout", r.Reason)
		}
	}
}

func TestGarbageLineFails(t *testing.T) {
	for _, r := range failures(t, Options{A: fakeSpec("", ""), B: fakeSpec("", "badline")}) {
		if !strings.Contains(r.Reason, "not a JSON object") {
			t.Errorf("reason %q", r.Reason)
		}
	}
}

func TestNonZeroExitFails(t *testing.T) {
	// The capabilities probe already closes a peer, so a peer that exits
	// with a non-zero status stops the whole run.
	_, err := Run(Options{A: fakeSpec("", ""), B: fakeSpec("", "exit1"), Timeout: 5 * time.Second}, All(), nil)
	if err == nil || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("Run = %v, want an exit status 1 failure", err)
	}
}

func TestExpectRefusal(t *testing.T) {
	sum, rs := run(t, Options{A: fakeSpec("", ""), B: fakeSpec("", "refuse"), ExpectRefusal: true}, "")
	if sum.Failed != 0 || sum.Passed != 8 {
		t.Fatalf("refusing peer: %+v %v", sum, rs)
	}
	for _, r := range rs {
		if !strings.Contains(r.Reason, "refused cleanly") {
			t.Errorf("%s", r.Line())
		}
	}
	sum, _ = run(t, Options{A: fakeSpec("", ""), B: fakeSpec("", ""), ExpectRefusal: true}, "^setup/kyber$")
	if sum.Failed != 2 {
		t.Errorf("agreeing peers under -expect-refusal: %+v, want 2 failures", sum)
	}
}

func TestMutations(t *testing.T) {
	st := &fakeState{base: fakeKey(), version: 4}
	sm := fakeSignalMessage(st, fakeKey(), fakeKey(), []byte("hello"))
	ms, err := signalMessageMutations(sm, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range ms {
		seen[strings.SplitN(m.Name, "[", 2)[0]] = true
		if m.Off < 0 || m.Off >= len(sm) {
			t.Errorf("%s: offset %d outside the message", m.Name, m.Off)
		}
	}
	for _, want := range []string{"version(high nibble)", "ratchet_key", "counter", "ciphertext", "mac", "ratchet_key.header"} {
		if !seen[want] {
			t.Errorf("no mutation of %s in %v", want, seen)
		}
	}
	for l := 0; l < 9; l++ {
		if _, err := signalMessageMutations(sm[:l], 0, ""); err == nil {
			t.Errorf("a %d-byte message gave mutations", l)
		}
	}
	if _, err := parseProto([]byte{0x0a, 0x05, 1}); err == nil {
		t.Error("parseProto accepted a truncated field")
	}
}
