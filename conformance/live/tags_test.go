package live

import (
	"strings"
	"testing"
)

func TestEveryScenarioTagged(t *testing.T) {
	for _, s := range All() {
		if len(s.Guarantees) == 0 || len(s.Spec) == 0 {
			t.Errorf("%s: no guarantees or spec sections", s.ID)
		}
	}
	if len(scenarioTags) != len(All()) {
		t.Errorf("%d tags for %d scenarios", len(scenarioTags), len(All()))
	}
}

func TestKeyRotationDetectsStaticRatchetKey(t *testing.T) {
	sum, rs := run(t, Options{A: fakeSpec("", "static-ratchet"), B: fakeSpec("", "static-ratchet")}, "^ratchet/key-rotation$")
	if sum.Failed != 2 {
		t.Fatalf("static ratchet keys: %+v %v", sum, rs)
	}
	for _, r := range rs {
		if !strings.Contains(r.Reason, "no DH ratchet step") {
			t.Errorf("%s", r.Line())
		}
	}
}

func TestToleratedRecorded(t *testing.T) {
	_, rs := run(t, Options{A: fakeSpec("", ""), B: fakeSpec("", "")}, "^tamper/prekey-message$")
	for _, r := range rs {
		if len(r.Tolerated) == 0 || !strings.HasPrefix(r.Tolerated[0], "registration_id") {
			t.Errorf("%s: Tolerated = %v, want registration_id", r.Line(), r.Tolerated)
		}
	}
}
