package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// The adversarial corpus (testdata/vectors/interlock-adversarial.json):
// the findings of issue #20 that are protocol properties any implementation
// could get wrong, as fixed bytes. A malicious server (SECURITY.md's threat
// model) delivers genuine messages relabelled, re-encoded or recombined, and
// envelopes it wrote itself; each vector says what a conforming receiver does
// with them. Schema in testdata/vectors/README.md ("Adversarial file").
//
// The vectors need a little more of an implementation than the interface
// Implementation asks for: taking a message as delivered from any address,
// being told that the application now trusts a new identity, and opening an
// envelope. These are optional interfaces (AddressedResponder,
// IdentityTruster, EnvelopeOpener), so adapters written before them keep
// compiling; a vector whose operation the adapter lacks fails with a note
// saying which interface is missing.

// AddressedResponder is a Responder that can decrypt a message as delivered
// from any address, not only from the recorded initiator: what a server that
// relabels envelopes makes the receiver do. The responder knows its own
// address (ResponderKeys' name and device) and should use it to check the
// recipient half of libsignal's address binding.
type AddressedResponder interface {
	Responder
	DecryptFrom(from Address, typ int, ciphertext []byte) ([]byte, error)
}

// IdentityTruster is a Responder whose application can accept a new
// identity key for an address (after the user saw the safety number
// change): libsignal's IdentityKeyStore::save_identity.
type IdentityTruster interface {
	TrustIdentity(a Address, identityPublic []byte) error
}

// EnvelopeOpener opens a Signal Envelope (SignalService.proto) as a client
// receiving it from the server, with no session: the vectors hold only
// PLAINTEXT_CONTENT envelopes.
type EnvelopeOpener interface {
	OpenEnvelope(envelope []byte) (*OpenedEnvelope, error)
}

// OpenedEnvelope is what came out of an envelope.
type OpenedEnvelope struct {
	// From is the source the envelope names.
	From Address
	// Authenticated says Content was decrypted by a session (its MAC
	// checked): only then may it be shown as a message from From.
	Authenticated bool
	// Content is the Content's bytes (unpadded), when Authenticated.
	Content []byte
	// ResendRequest is an unauthenticated request to resend a message (a
	// DecryptionErrorMessage from a PLAINTEXT_CONTENT envelope); nil
	// otherwise.
	ResendRequest *ResendRequest
}

// ResendRequest is a DecryptionErrorMessage's fields.
type ResendRequest struct {
	Timestamp  uint64 `json:"timestamp"`
	Device     uint32 `json:"device"`
	RatchetKey []byte `json:"ratchet_key,omitempty"`
}

// adversarialStep is one step of a session scenario: decrypt a message as
// delivered from an address, encrypt a reply that must be reproduced byte
// for byte, or trust a new identity for an address.
type adversarialStep struct {
	Op             string   `json:"op"`             // "decrypt", "encrypt" or "trust"
	From           *Address `json:"from,omitempty"` // decrypt, trust: default the initiator
	Type           int      `json:"type,omitempty"`
	Plaintext      []byte   `json:"plaintext,omitempty"`
	Ciphertext     []byte   `json:"ciphertext,omitempty"`
	IdentityPublic []byte   `json:"identity_public,omitempty"` // trust
	Comment        string   `json:"comment,omitempty"`
	Mutation       string   `json:"mutation,omitempty"`
	ExpectError    string   `json:"expect_error,omitempty"`
	// AcceptableErrors are other rejection kinds that also conform.
	AcceptableErrors []string `json:"acceptable_errors,omitempty"`
	State            string   `json:"state,omitempty"`
}

// envelopeExpect is what opening an envelope must give.
type envelopeExpect struct {
	From          Address        `json:"from"`
	Authenticated bool           `json:"authenticated"`
	ResendRequest *ResendRequest `json:"resend_request,omitempty"`
}

// adversarialVector is one vector of interlock-adversarial.json.
type adversarialVector struct {
	ID      int    `json:"id"`
	Comment string `json:"comment"`
	// Issue names the finding; Check the corpus check (and so the
	// guarantees, conformance/guarantees.go) the vector feeds.
	Issue string `json:"issue"`
	Check string `json:"check"`
	Op    string `json:"op"` // "session", "open_envelope" or "open_sealed"
	// session
	Version   int               `json:"version,omitempty"`
	Responder *ResponderKeys    `json:"responder,omitempty"`
	Initiator *Party            `json:"initiator,omitempty"`
	Steps     []adversarialStep `json:"steps,omitempty"`
	// open_envelope
	Envelope []byte          `json:"envelope,omitempty"`
	Body     []byte          `json:"body,omitempty"` // the envelope's content field, for reading
	Expected *envelopeExpect `json:"expected,omitempty"`
	// open_sealed: RecipientIdentityPrivate, Ciphertext, TrustRoot, Now
	// (0 or absent: the implementation's current time) and Sealed (the
	// expected content) as in interlock-sealed-sender.json.
	RecipientIdentityPrivate []byte        `json:"recipient_identity_private,omitempty"`
	Ciphertext               []byte        `json:"ciphertext,omitempty"`
	TrustRoot                []byte        `json:"trust_root,omitempty"`
	Now                      int64         `json:"now,omitempty"`
	Sealed                   *sealedExpect `json:"sealed,omitempty"`
	ExpectError              string        `json:"expect_error,omitempty"`
	AcceptableErrors         []string      `json:"acceptable_errors,omitempty"`
}

// adversarialChecks are the checks the adversarial file feeds, in report
// order; corpusTags maps each to its guarantees.
var adversarialChecks = []string{
	"corpus/adversarial/replay",
	"corpus/adversarial/identity",
	"corpus/adversarial/integrity",
	"corpus/adversarial/sealed-sender",
}

// runAdversarial returns the runner of the vectors of one check.
func runAdversarial(check string) func(Implementation, []byte, *CorpusResult) error {
	return func(impl Implementation, b []byte, r *CorpusResult) error {
		return eachVector(b, r, func(v *adversarialVector) error {
			if v.Check != check {
				return nil
			}
			if !slices.Contains(adversarialChecks, v.Check) {
				return fmt.Errorf("vector %d: check %q", v.ID, v.Check)
			}
			id := fmt.Sprintf("%s vector %d", v.Issue, v.ID)
			switch v.Op {
			case "session":
				return runAdversarialSession(impl, r, id, v)
			case "open_envelope":
				o, ok := impl.(EnvelopeOpener)
				if !ok {
					r.failf("%s: the implementation has no OpenEnvelope (conformance.EnvelopeOpener)", id)
					return nil
				}
				got, err := o.OpenEnvelope(v.Envelope)
				r.expectAny(impl, id, v.Comment, v.ExpectError, v.AcceptableErrors, err, func() bool { return v.Expected.matches(got) })
			case "open_sealed":
				c, err := impl.OpenSealedSender(SealedInputs{RecipientIdentityPrivate: v.RecipientIdentityPrivate, Ciphertext: v.Ciphertext, TrustRoot: v.TrustRoot, Now: v.Now})
				r.expectAny(impl, id, v.Comment, v.ExpectError, v.AcceptableErrors, err, func() bool { return v.Sealed != nil && v.Sealed.matches(c) })
			default:
				return fmt.Errorf("vector %d: op %q", v.ID, v.Op)
			}
			return nil
		})
	}
}

// expectAny is expect with other conforming rejection kinds.
func (r *CorpusResult) expectAny(impl Implementation, id, comment, want string, also []string, err error, ok func() bool) {
	if want != "" && err != nil && slices.Contains(also, impl.Kind(err)) {
		want = impl.Kind(err)
	}
	r.expect(impl, id, comment, want, err, ok)
}

// matches compares an opened envelope with e.
func (e *envelopeExpect) matches(o *OpenedEnvelope) bool {
	if e == nil || o == nil || o.From != e.From || o.Authenticated != e.Authenticated {
		return false
	}
	if e.ResendRequest == nil || o.ResendRequest == nil {
		return e.ResendRequest == nil && o.ResendRequest == nil
	}
	return o.ResendRequest.Timestamp == e.ResendRequest.Timestamp && o.ResendRequest.Device == e.ResendRequest.Device &&
		bytes.Equal(o.ResendRequest.RatchetKey, e.ResendRequest.RatchetKey)
}

// runAdversarialSession runs a session scenario at a fresh responder.
func runAdversarialSession(impl Implementation, r *CorpusResult, id string, v *adversarialVector) error {
	if v.Responder == nil || v.Initiator == nil {
		return fmt.Errorf("vector %d: session without responder or initiator", v.ID)
	}
	resp, err := impl.NewResponder(*v.Responder, *v.Initiator, v.Version)
	if err != nil {
		r.failf("%s: set-up: %v", id, err)
		return nil
	}
	initiator := Address{Name: v.Initiator.Name, Device: v.Initiator.Device}
	for i, s := range v.Steps {
		sid := fmt.Sprintf("%s step %d", id, i)
		from := initiator
		if s.From != nil {
			from = *s.From
		}
		switch s.Op {
		case "decrypt":
			var pt []byte
			if from == initiator {
				pt, err = resp.Decrypt(s.Type, s.Ciphertext)
			} else if ar, ok := resp.(AddressedResponder); ok {
				pt, err = ar.DecryptFrom(from, s.Type, s.Ciphertext)
			} else {
				r.failf("%s: the responder cannot decrypt as from %s.%d (conformance.AddressedResponder)", sid, from.Name, from.Device)
				continue
			}
			r.expectAny(impl, sid, s.Comment+s.Mutation, s.ExpectError, s.AcceptableErrors, err, func() bool { return bytes.Equal(pt, s.Plaintext) })
		case "encrypt":
			typ, ct, err := resp.Encrypt(s.Plaintext)
			r.expect(impl, sid, "reply: "+s.Comment, "", err, func() bool { return typ == s.Type && bytes.Equal(ct, s.Ciphertext) })
		case "trust":
			t, ok := resp.(IdentityTruster)
			if !ok {
				r.failf("%s: the responder cannot be told to trust an identity (conformance.IdentityTruster)", sid)
				continue
			}
			err := t.TrustIdentity(from, s.IdentityPublic)
			r.expect(impl, sid, "trust: "+s.Comment, "", err, func() bool { return true })
		default:
			return fmt.Errorf("vector %d step %d: op %q", v.ID, i, s.Op)
		}
	}
	return nil
}

// adversarialVectorsOf decodes the adversarial file (for the tests).
func adversarialVectorsOf(b []byte) ([]adversarialVector, error) {
	var f struct {
		Vectors []adversarialVector `json:"vectors"`
	}
	err := json.Unmarshal(b, &f)
	return f.Vectors, err
}
