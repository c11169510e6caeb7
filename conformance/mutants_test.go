package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/internal/mutant"
)

// mutantCase says how the report must catch one mutant of internal/mutant
// (issue #21 item 1): the guarantee the defect breaks must FAIL with a
// failed check whose ID matches kill.
type mutantCase struct {
	name      string
	guarantee string
	kill      string // regular expression over the failed checks' IDs
	// live selects the live scenarios (--run) run by the stock tool with
	// the mutant as --peer (both sides); "" runs none.
	live string
	big  bool // the scenarios need --big
	// peerArgs are extra arguments of `interlock peer` (e.g. --no-spqr);
	// flavour, when set, restricts the flavours the mutant peer offers, so
	// that a class masked in the signal flavour (the address binding hides
	// a minted certificate; RequirePQXDH hides a stripped bundle) is tested
	// where only the check under test stands.
	peerArgs string
	flavour  string
	// corpus runs the mutant build's own report over the vector corpus
	// (conformance.Interlock in process, on the mutated library): the
	// classes the corpus shows with fixed bytes.
	corpus bool
	// survives, when set, says why the report cannot kill this mutant
	// today; the test then requires it to survive, so that the list is
	// corrected when a new check kills it.
	survives string
}

// mutantCases lists every mutant of internal/mutant.All.
var mutantCases = []mutantCase{
	{name: mutant.MACUnchecked, guarantee: "integrity", kill: `^live/tamper/signal-message$`, live: `^tamper/signal-message$`},
	{name: mutant.MACWrongBytes, guarantee: "integrity", kill: `^(live/tamper/signal-message|derived/authenticated-bytes|corpus/.*)$`, live: `^tamper/signal-message$`, corpus: true},
	{name: mutant.VersionUnauthentic, guarantee: "integrity", kill: `^(live/tamper/signal-message|derived/authenticated-bytes)$`, live: `^tamper/signal-message$`},
	{name: mutant.ReplayWindowMissing, guarantee: "replay-protection", kill: `^live/delivery/duplicate$`, live: `^delivery/duplicate$`},
	{name: mutant.SkippedKeysUnbounded, guarantee: "safe-failure", kill: `^live/forward-jump/25002$`, live: `^forward-jump/25002$`, big: true,
		peerArgs: "--no-spqr"}, // with SPQR, its own max_jump (25,000) refuses the jump first
	{name: mutant.IdentityNotPinned, guarantee: "identity-binding", kill: `^live/identity/change$`, live: `^identity/change$`},
	{name: mutant.SignedPreKeyUnchecked, guarantee: "identity-binding", kill: `^live/adversarial/forged-bundle$`, live: `^adversarial/forged-bundle$`},
	{name: mutant.LowOrderAccepted, guarantee: "integrity", kill: `^live/adversarial/low-order-bundle$`, live: `^adversarial/low-order-bundle$`},
	{name: mutant.SPQRDowngrade, guarantee: "pq-ratchet", kill: `^live/spqr/downgrade$`, live: `^spqr/downgrade$`},
	{name: mutant.SenderKeyUnsigned, guarantee: "integrity", kill: `^(live/group|corpus/sender-key/negative:.*)$`, live: `^group$`, corpus: true},
	{name: mutant.CertChainUnchecked, guarantee: "integrity", kill: `^(live/sealed-sender|corpus/sealed-sender/negative:.*)$`, live: `^sealed-sender$`, corpus: true},
	{name: mutant.CertExpiryUnchecked, guarantee: "integrity", kill: `^(live/sealed-sender|corpus/sealed-sender/negative:.*)$`, live: `^sealed-sender$`, corpus: true},
	{name: mutant.StateOnFailure, guarantee: "safe-failure", kill: `^live/tamper/signal-message$`, live: `^tamper/signal-message$`},
	{name: mutant.KyberLastResortReplay, guarantee: "replay-protection", kill: `^(live/adversarial/last-resort-replay|corpus/adversarial/replay:.*)$`, live: `^adversarial/last-resort-replay$`, corpus: true},
	{name: mutant.NonCanonicalBaseKey, guarantee: "replay-protection", kill: `^corpus/adversarial/replay:.*$`, corpus: true},
	{name: mutant.IdentityFieldTrusted, guarantee: "identity-binding", kill: `^corpus/adversarial/identity:.*$`, corpus: true},
	{name: mutant.AddressUnbound, guarantee: "identity-binding", kill: `^(live/malicious/relabelled-sender|corpus/adversarial/identity:.*)$`, live: `^malicious/relabelled-sender$`, corpus: true},
	{name: mutant.SealedZeroClock, guarantee: "integrity", kill: `^corpus/adversarial/sealed-sender:.*$`, corpus: true},
	{name: mutant.SPQRUnknownVersion, guarantee: "pq-ratchet", kill: `^live/spqr/unknown-version$`, live: `^spqr/unknown-version$`},
	{name: mutant.ForgedAmplification, guarantee: "safe-failure", kill: `^live/`,
		survives: "a cost, not an answer: forged messages are refused either way, and libsignal itself tries every archived state in full, so no accept/refuse check can tell; counted by session/amplification_test.go"},
	{name: mutant.GhostDevice, guarantee: "identity-binding", kill: `^live/malicious/ghost-device$`, live: `^malicious/ghost-device$`},
	{name: mutant.MintedCertificate, guarantee: "identity-binding", kill: `^live/malicious/minted-certificate$`, live: `^malicious/minted-certificate$`,
		flavour: "whatsapp"}, // in the signal flavour the address binding refuses the relabelled message first
	{name: mutant.StrippedBundle, guarantee: "pq-key-agreement", kill: `^live/malicious/stripped-bundle$`, live: `^malicious/stripped-bundle$`,
		flavour: "whatsapp"}, // in the signal flavour RequirePQXDH refuses every bundle without Kyber
}

// mutantOutcome is one mutant's result, as written to mutants.json.
type mutantOutcome struct {
	Name      string   `json:"name"`
	Guarantee string   `json:"guarantee"`
	Killed    bool     `json:"killed"`
	KilledBy  []string `json:"killed_by,omitempty"` // failed check IDs of the guarantee
	Survives  string   `json:"survives,omitempty"`  // why a survivor cannot be killed today
	Seconds   float64  `json:"seconds"`
	err       error
}

// TestLiveReportMutants is the mutation test of the report (issue #21 item
// 1): it builds Interlock with -tags interlock_mutants once, runs the
// report against each mutant (the stock tool with the mutant as --peer for
// the live scenarios; the mutant build's own report for the corpus) and
// requires the broken guarantee to fail with a named check, and stock
// Interlock, through the same runs, to fail no check. It ends with the
// mutation score ("mutants: K killed / N total"), also written as JSON to
// $INTERLOCK_MUTANTS_JSON when set.
func TestLiveReportMutants(t *testing.T) {
	bin := peersBin(t)
	start := time.Now()
	stock := filepath.Join(bin, "interlock")
	mut := filepath.Join(bin, "interlock-mutants")
	build := exec.Command("go", "build", "-tags", "interlock_mutants", "-o", mut, "../cmd/interlock")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags interlock_mutants: %v\n%s", err, out)
	}
	if len(mutantCases) != len(mutant.All) {
		t.Fatalf("mutantCases has %d entries, internal/mutant.All %d", len(mutantCases), len(mutant.All))
	}
	dir := t.TempDir()
	run := func(name string, env string, argv ...string) (map[string]any, error) {
		out := filepath.Join(dir, fmt.Sprintf("%s-%d.json", name, time.Now().UnixNano()))
		cmd := exec.Command(argv[0], append(argv[1:], "-q", "--format", "json", "-o", out)...)
		cmd.Env = append(os.Environ(), mutant.Env+"="+env)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() == 2) {
			return nil, fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.String())
		}
		b, rerr := os.ReadFile(out)
		if rerr != nil {
			return nil, fmt.Errorf("%s: %v (%v)\n%s", strings.Join(argv, " "), rerr, err, stderr.String())
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
	reports := func(c mutantCase, env string) ([]map[string]any, error) {
		var rs []map[string]any
		if c.live != "" {
			peer := mut + " peer"
			if c.peerArgs != "" {
				peer += " " + c.peerArgs
			}
			if c.flavour != "" {
				self, err := os.Executable()
				if err != nil {
					return nil, err
				}
				peer = self + " " + flavourProxyMark + c.flavour + " " + peer
			}
			argv := []string{stock, "conformance", "--peer", peer, "--run", c.live}
			if c.big {
				argv = append(argv, "--big")
			}
			r, err := run(c.name+"-live", env, argv...)
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
		if c.corpus {
			r, err := run(c.name+"-corpus", env, mut, "conformance", "--run", "^$")
			if err != nil {
				return nil, err
			}
			rs = append(rs, r)
		}
		return rs, nil
	}

	// Stock Interlock through every run the mutants get (one run per peer
	// configuration): no check fails.
	type config struct {
		peerArgs, flavour string
		big               bool
	}
	runs := map[config][]string{}
	var configs []config
	for _, c := range mutantCases {
		k := config{c.peerArgs, c.flavour, c.big}
		if c.live == "" {
			continue
		}
		if _, ok := runs[k]; !ok {
			configs = append(configs, k)
		}
		if !slices.Contains(runs[k], c.live) {
			runs[k] = append(runs[k], c.live)
		}
	}
	for i, k := range configs {
		b := mutantCase{name: "stock", live: strings.Join(runs[k], "|"), big: k.big, peerArgs: k.peerArgs, flavour: k.flavour, corpus: i == 0}
		rs, err := reports(b, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			for _, f := range jsonFailedChecks(r, "") {
				// A peer restricted to one flavour cannot run the corpus
				// files of the other: only its live checks count here.
				if k.flavour != "" && strings.Contains(f, ": corpus/") {
					continue
				}
				t.Errorf("stock Interlock (%+v) fails %s", k, f)
			}
		}
	}

	outcomes := make([]mutantOutcome, len(mutantCases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2)
	for i, c := range mutantCases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			o := mutantOutcome{Name: c.name, Guarantee: c.guarantee, Survives: c.survives}
			rs, err := reports(c, c.name)
			o.err = err
			kill := regexp.MustCompile(c.kill)
			for _, r := range rs {
				if jsonGuaranteeStatus(r, c.guarantee) != StatusFail {
					continue
				}
				for _, id := range jsonFailedChecks(r, c.guarantee) {
					if kill.MatchString(id) && !slices.Contains(o.KilledBy, id) {
						o.KilledBy = append(o.KilledBy, id)
					}
				}
			}
			o.Killed = len(o.KilledBy) > 0
			o.Seconds = time.Since(t0).Round(time.Millisecond).Seconds()
			outcomes[i] = o
		}()
	}
	wg.Wait()

	killed := 0
	for _, o := range outcomes {
		switch {
		case o.err != nil:
			t.Errorf("mutant %s: %v", o.Name, o.err)
		case o.Killed:
			killed++
			if o.Survives != "" {
				t.Errorf("mutant %s is killed by %v: drop its survives note", o.Name, o.KilledBy)
			}
			t.Logf("killed   %-26s %-18s by %s (%.1fs)", o.Name, o.Guarantee, strings.Join(o.KilledBy, ", "), o.Seconds)
		case o.Survives != "":
			t.Logf("SURVIVES %-26s %-18s %s", o.Name, o.Guarantee, o.Survives)
		default:
			t.Errorf("mutant %s survives: %s does not fail with a check matching %s", o.Name, o.Guarantee, mutantCaseOf(o.Name).kill)
		}
	}
	score := fmt.Sprintf("mutants: %d killed / %d total", killed, len(outcomes))
	if path := os.Getenv("INTERLOCK_MUTANTS_JSON"); path != "" {
		b, _ := json.MarshalIndent(map[string]any{
			"killed": killed, "total": len(outcomes), "seconds": time.Since(start).Round(time.Second).Seconds(),
			"mutants": outcomes,
		}, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%s (%s)", score, time.Since(start).Round(time.Second))
}

func mutantCaseOf(name string) mutantCase {
	for _, c := range mutantCases {
		if c.name == name {
			return c
		}
	}
	return mutantCase{}
}

// jsonGuaranteeStatus is the status of guarantee id in a JSON report.
func jsonGuaranteeStatus(r map[string]any, id string) string {
	gs, _ := r["guarantees"].([]any)
	for _, g := range gs {
		g, _ := g.(map[string]any)
		if g["id"] == id {
			s, _ := g["status"].(string)
			return s
		}
	}
	return ""
}

// jsonFailedChecks lists "guarantee: check" for every failed check of a JSON
// report, or the check IDs of one guarantee when id is set.
func jsonFailedChecks(r map[string]any, id string) []string {
	var out []string
	gs, _ := r["guarantees"].([]any)
	for _, g := range gs {
		g, _ := g.(map[string]any)
		if id != "" && g["id"] != id {
			continue
		}
		cs, _ := g["checks"].([]any)
		for _, c := range cs {
			c, _ := c.(map[string]any)
			if c["status"] != StatusFail {
				continue
			}
			cid, _ := c["id"].(string)
			if id == "" {
				ev, _ := c["evidence"].([]any)
				cid = fmt.Sprintf("%s: %s %v", g["id"], cid, firstN(ev, 2))
			}
			out = append(out, cid)
		}
	}
	return out
}

func firstN(v []any, n int) []any { return v[:min(n, len(v))] }

// flavourProxyMark, as the first argument of this test binary, makes it a
// peer-protocol proxy instead (see init): `conformance.test
// --interlock-flavour-proxy=whatsapp CMD...` runs CMD and rewrites the
// flavours its capabilities offer, so that two Interlock peers negotiate
// the whatsapp flavour.
const flavourProxyMark = "--interlock-flavour-proxy="

func init() {
	if len(os.Args) > 2 && strings.HasPrefix(os.Args[1], flavourProxyMark) {
		os.Exit(flavourProxy(strings.TrimPrefix(os.Args[1], flavourProxyMark), os.Args[2:]))
	}
}

// flavourProxy runs argv with its standard input, and copies its responses
// to standard output with every "flavours" list replaced by the one
// flavour given.
func flavourProxy(flavour string, argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var v map[string]any
			if json.Unmarshal(line, &v) == nil && v["flavours"] != nil {
				v["flavours"] = []string{flavour}
				b, _ := json.Marshal(v)
				line = append(b, '\n')
			}
			os.Stdout.Write(line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			break
		}
	}
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}
