package conformance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/session"
)

// Issue #20: the adversarial corpus (interlock-adversarial.json) holds, for
// each finding that is a protocol property, positive and negative vectors;
// Interlock passes them and implementations with the findings' holes fail
// them.

func adversarialFile(t *testing.T) []adversarialVector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorDir, "interlock-adversarial.json"))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := adversarialVectorsOf(b)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestIssue20AdversarialCoverage: every item the corpus can express has a
// vector with a refusal and one with an acceptance, each feeds a known
// check, and every refused session step leaves the state unchanged.
func TestIssue20AdversarialCoverage(t *testing.T) {
	neg, pos := map[string]int{}, map[string]int{}
	for _, v := range adversarialFile(t) {
		if v.Issue == "" || v.Comment == "" {
			t.Errorf("vector %d: no issue or comment", v.ID)
		}
		if _, ok := corpusTags[v.Check]; !ok {
			t.Errorf("vector %d: check %q has no guarantees", v.ID, v.Check)
		}
		if v.ExpectError != "" {
			neg[v.Issue]++
		} else if v.Op != "session" {
			pos[v.Issue]++
		}
		for i, s := range v.Steps {
			switch {
			case s.ExpectError != "" && s.State != "unchanged":
				t.Errorf("vector %d step %d: refused without state unchanged", v.ID, i)
			case s.ExpectError != "":
				neg[v.Issue]++
			case s.Op == "decrypt":
				pos[v.Issue]++
			}
		}
	}
	for _, item := range []string{"1", "2", "3", "4", "7", "11"} {
		issue := "#20 item " + item
		if neg[issue] == 0 || pos[issue] == 0 {
			t.Errorf("%s: %d negative, %d positive vectors", issue, neg[issue], pos[issue])
		}
	}
}

// TestIssue20AdversarialInterlock: Interlock passes every adversarial check.
func TestIssue20AdversarialInterlock(t *testing.T) {
	rs, err := RunCorpus(Interlock{}, vectorDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ran := map[string]int{}
	for _, r := range rs {
		if !strings.HasPrefix(r.Check, "corpus/adversarial/") {
			continue
		}
		ran[r.Check] += r.Passed
		if r.Failed != 0 {
			t.Errorf("%s: %v", r.Check, r.Failures)
		}
	}
	for _, c := range adversarialChecks {
		if ran[c] == 0 {
			t.Errorf("%s: no vector ran", c)
		}
	}
}

// openAsContent is an implementation with issue #20 item 4's hole: a
// PLAINTEXT_CONTENT envelope's content comes out as a decrypted message's.
type openAsContent struct{ Interlock }

func (openAsContent) OpenEnvelope(b []byte) (*OpenedEnvelope, error) {
	e, err := envelope.ParseEnvelope(b)
	if err != nil {
		return nil, err
	}
	from, err := envelope.Sender(e)
	if err != nil {
		return nil, err
	}
	if len(e.Content) == 0 || e.Content[0] != envelope.PlaintextContentMarker {
		return nil, errors.New("not plaintext content")
	}
	if _, err := envelope.ParseContent(e.Content[1:]); err != nil {
		return nil, err
	}
	return &OpenedEnvelope{From: Address{Name: from.Name, Device: from.DeviceID}, Authenticated: true, Content: e.Content[1:]}, nil
}

// noRecipient is an implementation that never learns its own address, so
// it checks only the sender half of the address binding.
type noRecipient struct{ Interlock }

type plainResponder struct {
	c    *session.Cipher
	peer session.Address
}

func (r *plainResponder) Decrypt(typ int, ct []byte) ([]byte, error) {
	return r.c.Decrypt(context.Background(), r.peer, session.MessageType(typ), ct)
}

func (r *plainResponder) Encrypt(pt []byte) (int, []byte, error) {
	typ, ct, err := r.c.Encrypt(context.Background(), r.peer, pt)
	return int(typ), ct, err
}

// NewResponder returns a responder without the optional interfaces.
func (noRecipient) NewResponder(k ResponderKeys, initiator Party, version int) (Responder, error) {
	r, err := Interlock{}.NewResponder(k, initiator, version)
	if err != nil {
		return nil, err
	}
	return &plainResponder{c: r.(*interlockResponder).c, peer: r.(*interlockResponder).peer}, nil
}

// TestIssue20AdversarialDiscriminates: the corpus catches item 4's hole and
// a responder that cannot be driven through the scenarios fails them with a
// note instead of passing them silently.
func TestIssue20AdversarialDiscriminates(t *testing.T) {
	failed := func(impl Implementation) map[string]int {
		rs, err := RunCorpus(impl, vectorDir, nil)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, r := range rs {
			out[r.Check] += r.Failed
		}
		return out
	}
	if f := failed(openAsContent{}); f["corpus/adversarial/integrity"] < 3 {
		t.Errorf("plaintext content returned as authenticated content passed: %v", f)
	}
	f := failed(noRecipient{})
	for _, c := range []string{"corpus/adversarial/replay", "corpus/adversarial/identity"} {
		if f[c] == 0 {
			t.Errorf("%s: a responder without DecryptFrom and TrustIdentity passed", c)
		}
	}
}
