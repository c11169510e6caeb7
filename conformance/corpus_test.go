package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/sealedsender"
)

var vectorDir = filepath.Join("..", "testdata", "vectors")

func TestCorpusInterlock(t *testing.T) {
	rs, err := RunCorpus(Interlock{}, vectorDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{}
	for _, r := range rs {
		checks[r.Check] = true
		if r.Failed != 0 || r.Passed == 0 {
			t.Errorf("%s %s: %d passed, %d failed: %v", r.Check, r.File, r.Passed, r.Failed, r.Failures)
		}
	}
	// Every category of the issue has positive and negative checks.
	for _, c := range []string{"corpus/ratchet", "corpus/negative", "corpus/sender-key", "corpus/sender-key/negative",
		"corpus/sealed-sender", "corpus/sealed-sender/negative", "corpus/media", "corpus/media/negative",
		"corpus/adversarial/replay", "corpus/adversarial/identity", "corpus/adversarial/integrity", "corpus/adversarial/sealed-sender"} {
		if !checks[c] {
			t.Errorf("no %s results", c)
		}
	}
}

// lax is Interlock with two holes a careless implementation might have:
// it accepts expired sender certificates and decrypts replayed sender-key
// messages again. The corpus must catch both.
type lax struct{ Interlock }

func (lax) OpenSealedSender(in SealedInputs) (*SealedContent, error) {
	c, err := Interlock{}.OpenSealedSender(in)
	if errors.Is(err, sealedsender.ErrExpired) {
		in.Now = 1 // 1970: before every expiry (0 means now)
		return Interlock{}.OpenSealedSender(in)
	}
	return c, err
}

type laxGroup struct {
	SenderKeyReceiver
	seen map[string][]byte
}

func (g *laxGroup) DecryptSenderKey(sender Address, groupID string, ct []byte) ([]byte, error) {
	if pt, ok := g.seen[string(ct)]; ok {
		return pt, nil
	}
	pt, err := g.SenderKeyReceiver.DecryptSenderKey(sender, groupID, ct)
	if err == nil {
		g.seen[string(ct)] = pt
	}
	return pt, err
}

func (lax) NewSenderKeyReceiver(flavour string) (SenderKeyReceiver, error) {
	r, err := Interlock{}.NewSenderKeyReceiver(flavour)
	return &laxGroup{SenderKeyReceiver: r, seen: map[string][]byte{}}, err
}

func TestCorpusDiscriminates(t *testing.T) {
	rs, err := RunCorpus(lax{}, vectorDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]int{}
	for _, r := range rs {
		failed[r.Check] += r.Failed
		if r.Failed > 0 && r.Check != "corpus/sealed-sender/negative" && r.Check != "corpus/sender-key/negative" && r.Check != "corpus/adversarial/sealed-sender" {
			t.Errorf("%s %s: %d failed: %v", r.Check, r.File, r.Failed, r.Failures)
		}
	}
	if failed["corpus/sealed-sender/negative"] == 0 || failed["corpus/sender-key/negative"] == 0 || failed["corpus/adversarial/sealed-sender"] == 0 {
		t.Errorf("a lax implementation passed: %v", failed)
	}
}

// TestTranscriptMessageKeys: the message keys recorded for every responder
// message of Interlock's transcripts authenticate and decrypt it.
func TestTranscriptMessageKeys(t *testing.T) {
	for _, n := range []string{"interlock-session-pqxdh.json", "interlock-session-x3dh.json"} {
		b, err := os.ReadFile(filepath.Join(vectorDir, n))
		if err != nil {
			t.Fatal(err)
		}
		var sv SessionVector
		if err := json.Unmarshal(b, &sv); err != nil {
			t.Fatal(err)
		}
		count := 0
		for i, e := range sv.Transcript {
			if e.From != "responder" {
				continue
			}
			if e.MessageKeys == nil {
				t.Fatalf("%s: message %d has no message_keys", n, i)
			}
			if err := e.MessageKeys.Check(e.Ciphertext, sv.Responder.IdentityPublic, sv.Initiator.IdentityPublic, e.Plaintext); err != nil {
				t.Errorf("%s: message %d: %v", n, i, err)
			}
			bad := *e.MessageKeys
			bad.MACKey = flip(bad.MACKey, 0, 1)
			if bad.Check(e.Ciphertext, sv.Responder.IdentityPublic, sv.Initiator.IdentityPublic, e.Plaintext) == nil {
				t.Errorf("%s: message %d: a wrong MAC key passed the check", n, i)
			}
			count++
		}
		if count < 5 {
			t.Errorf("%s: %d responder messages", n, count)
		}
	}
}

// TestVectorsRegenerate: the generator reproduces the committed files.
func TestVectorsRegenerate(t *testing.T) {
	files, err := GenerateVectors(vectorDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(vectorDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go run ./conformance/cmd/genvectors", name)
		}
	}
}

// TestCorpusSchema: every file names a generator and a source, every
// vector an id and a comment, and every category has positive and negative
// vectors (README.md's envelope).
func TestCorpusSchema(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(vectorDir, "*.json"))
	if len(names) < 10 {
		t.Fatalf("only %d vector files", len(names))
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Source     Sources                      `json:"source"`
			Generator  string                       `json:"generator"`
			Comment    string                       `json:"comment"`
			Vectors    []map[string]json.RawMessage `json:"vectors"`
			Transcript []TranscriptEntry            `json:"transcript"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if len(f.Source) == 0 || f.Generator == "" || f.Comment == "" {
			t.Errorf("%s: source, generator or comment missing", n)
		}
		for i, v := range f.Vectors {
			if v["id"] == nil {
				t.Errorf("%s: vector %d has no id", n, i)
			}
		}
	}
	// Positive and negative vectors per category Interlock generates.
	for _, n := range []string{"interlock-agreement.json", "interlock-xeddsa.json", "interlock-kem.json", "interlock-fingerprint.json",
		"interlock-session-pqxdh.json", "interlock-session-x3dh.json", "interlock-sender-key.json", "interlock-sealed-sender.json", "interlock-media.json",
		"interlock-adversarial.json"} {
		b, _ := os.ReadFile(filepath.Join(vectorDir, n))
		s := string(b)
		neg := strings.Contains(s, `"expect_error"`) || strings.Contains(s, `"expect": "invalid"`)
		if !neg {
			t.Errorf("%s: no negative vectors", n)
		}
	}
}
