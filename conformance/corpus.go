package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Implementation is what the vector corpus needs of an implementation of the
// Signal protocol. Inputs and outputs are the bytes of the JSON vectors
// (testdata/vectors/README.md), so a thin adapter over any library, in any
// language reachable from Go, can run the corpus. Errors are classified with
// Kind into the error kinds of PEER-PROTOCOL.md.
type Implementation interface {
	// Name is the implementation's name and version.
	Name() string
	// VerifyXEdDSA checks an XEdDSA signature by a 33-byte Curve25519
	// public key.
	VerifyXEdDSA(publicKey, message, signature []byte) bool
	// Decapsulate returns the KEM shared secret; keys and ciphertexts carry
	// their libsignal type byte.
	Decapsulate(secretKey, ciphertext []byte) ([]byte, error)
	// Agree runs the responder's side of X3DH (version 3) or PQXDH
	// (version 4) and returns the first root and chain keys.
	Agree(in AgreementInputs) (rootKey, chainKey []byte, err error)
	// NewResponder sets up the responder of a recorded session: its keys,
	// and the randomness it must draw for its ratchet key pairs.
	NewResponder(r ResponderKeys, initiator Party, version int) (Responder, error)
	// Fingerprint computes a safety number (displayable digits and the
	// local side's scannable CombinedFingerprints bytes).
	Fingerprint(version, iterations int, localID, localKey, remoteID, remoteKey []byte) (string, []byte, error)
	// Kind classifies an error as a PEER-PROTOCOL.md error kind.
	Kind(err error) string
}

// Responder is one side of a recorded session.
type Responder interface {
	Decrypt(typ int, ciphertext []byte) ([]byte, error)
	Encrypt(plaintext []byte) (typ int, ciphertext []byte, err error)
}

// AgreementInputs are the responder's inputs to X3DH / PQXDH.
type AgreementInputs struct {
	Version             int    `json:"version"`
	IdentityPrivate     []byte `json:"identity_private"`
	SignedPreKeyPrivate []byte `json:"signed_prekey_private"`
	PreKeyPrivate       []byte `json:"prekey_private,omitempty"`
	KyberSecret         []byte `json:"kyber_secret,omitempty"`
	KyberCiphertext     []byte `json:"kyber_ciphertext,omitempty"`
	TheirIdentity       []byte `json:"their_identity"`
	TheirBaseKey        []byte `json:"their_base_key"`
}

// Party names a recorded party.
type Party struct {
	Name            string `json:"name"`
	Device          uint32 `json:"device"`
	RegistrationID  uint32 `json:"registration_id,omitempty"`
	IdentityPublic  []byte `json:"identity_public"`
	IdentityPrivate []byte `json:"identity_private,omitempty"`
}

// ResponderKeys is the responder of a session vector.
type ResponderKeys struct {
	Party
	SignedPreKeyID        uint32 `json:"signed_prekey_id"`
	SignedPreKeyPrivate   []byte `json:"signed_prekey_private"`
	SignedPreKeyPublic    []byte `json:"signed_prekey_public,omitempty"`
	SignedPreKeySignature []byte `json:"signed_prekey_signature"`
	PreKeyID              uint32 `json:"prekey_id,omitempty"`
	PreKeyPrivate         []byte `json:"prekey_private,omitempty"`
	PreKeyPublic          []byte `json:"prekey_public,omitempty"`
	KyberPreKeyID         uint32 `json:"kyber_prekey_id,omitempty"`
	KyberSecret           []byte `json:"kyber_secret,omitempty"`
	KyberPublic           []byte `json:"kyber_public,omitempty"`
	KyberSignature        []byte `json:"kyber_signature,omitempty"`
	// RatchetPrivate is the first ratchet key pair the responder draws;
	// RatchetRandom, when present, every byte of randomness it draws (the
	// private keys of its ratchet key pairs, 32 bytes each, in order).
	RatchetPrivate []byte `json:"ratchet_private,omitempty"`
	RatchetPublic  []byte `json:"ratchet_public,omitempty"`
	RatchetRandom  []byte `json:"ratchet_random,omitempty"`
}

// TranscriptEntry is one message of a session vector. A negative entry has
// ExpectError (a PEER-PROTOCOL.md kind) and State "unchanged": the receiver
// must reject it and go on as if it never arrived.
type TranscriptEntry struct {
	From        string `json:"from"` // "initiator" or "responder"
	Type        int    `json:"type"`
	Counter     *int   `json:"counter,omitempty"`
	Plaintext   []byte `json:"plaintext,omitempty"`
	Ciphertext  []byte `json:"ciphertext"`
	Comment     string `json:"comment,omitempty"`
	ExpectError string `json:"expect_error,omitempty"`
	Mutation    string `json:"mutation,omitempty"`
	State       string `json:"state,omitempty"`
}

// SessionVector is a recorded conversation (libsignal-*-session*.json,
// mau-x3dh-session*.json, interlock-session-*.json).
type SessionVector struct {
	Source     Sources           `json:"source"`
	Generator  string            `json:"generator"`
	Comment    string            `json:"comment"`
	Version    int               `json:"version,omitempty"`
	Responder  ResponderKeys     `json:"responder"`
	Initiator  Party             `json:"initiator"`
	Agreement  *AgreementExpect  `json:"agreement,omitempty"`
	Transcript []TranscriptEntry `json:"transcript"`
}

// AgreementExpect is the X3DH / PQXDH output a session vector starts from.
type AgreementExpect struct {
	RootKey  []byte `json:"root_key"`
	ChainKey []byte `json:"chain_key"`
}

// Sources is a vector's source: one string or a list in the JSON.
type Sources []string

// UnmarshalJSON accepts a string or a list of strings.
func (s *Sources) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = Sources{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("conformance: source is neither a string nor a list of strings")
	}
	*s = many
	return nil
}

// VectorFile is the common envelope of list-shaped vector files.
type VectorFile struct {
	Source    Sources           `json:"source"`
	Generator string            `json:"generator"`
	Comment   string            `json:"comment"`
	Category  string            `json:"category,omitempty"`
	Vectors   []json.RawMessage `json:"vectors"`
}

// Vector is the part of a vector every category shares.
type Vector struct {
	ID          json.Number `json:"id"`
	Comment     string      `json:"comment"`
	Source      Sources     `json:"source,omitempty"`
	Expect      string      `json:"expect,omitempty"`       // "valid" / "invalid" where a category uses it
	ExpectError string      `json:"expect_error,omitempty"` // a PEER-PROTOCOL.md kind
}

// CorpusResult is the outcome of one corpus check (one category over one
// vector file).
type CorpusResult struct {
	Check    string
	File     string
	Sources  []string
	Passed   int
	Failed   int
	Failures []string
	Notes    []string
	// Negative holds a session file's negative entries (check
	// "corpus/negative"); RunCorpus lists it as a result of its own.
	Negative *CorpusResult
}

// acceptable lists vectors where either outcome conforms, as Wycheproof's
// "acceptable" results: the reason is noted in the report.
var acceptable = map[string]string{
	"libsignal-xeddsa.json#38": "libsignal accepts s >= L (it reduces s mod L); rejecting it is stricter and allowed",
}

func (r *CorpusResult) failf(format string, args ...any) {
	r.Failed++
	if len(r.Failures) < 20 {
		r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
	}
}

// corpusFile is one file of the corpus and the check that runs it.
type corpusFile struct {
	check string
	file  string
	run   func(Implementation, []byte, *CorpusResult) error
}

// corpusFiles lists what RunCorpus runs. Sender keys, sealed sender,
// padding and media vectors are run by the tests of group/, sealedsender/,
// envelope/ and media/ (see testdata/vectors/README.md).
var corpusFiles = []corpusFile{
	{"corpus/xeddsa", "libsignal-xeddsa.json", runXEdDSA},
	{"corpus/xeddsa", "interlock-xeddsa.json", runXEdDSA},
	{"corpus/kem", "libsignal-kyber1024.json", runKEM},
	{"corpus/kem", "interlock-kem.json", runKEM},
	{"corpus/agreement", "interlock-agreement.json", runAgreement},
	{"corpus/ratchet", "libsignal-pqxdh-session.json", runSession},
	{"corpus/ratchet", "libsignal-pqxdh-session-noopk.json", runSession},
	{"corpus/ratchet", "mau-x3dh-session.json", runSession},
	{"corpus/ratchet", "mau-x3dh-session-noopk.json", runSession},
	{"corpus/ratchet", "interlock-session-pqxdh.json", runSession},
	{"corpus/ratchet", "interlock-session-x3dh.json", runSession},
	{"corpus/fingerprint", "libsignal-fingerprint.json", runFingerprint},
	{"corpus/fingerprint", "interlock-fingerprint.json", runFingerprint},
}

// RunCorpus runs every vector file under dir against impl. progress, if
// not nil, is called before each file.
func RunCorpus(impl Implementation, dir string, progress func(file string)) ([]CorpusResult, error) {
	var out []CorpusResult
	for _, cf := range corpusFiles {
		if progress != nil {
			progress(cf.file)
		}
		b, err := os.ReadFile(filepath.Join(dir, cf.file))
		if err != nil {
			return out, fmt.Errorf("conformance: %w", err)
		}
		r := CorpusResult{Check: cf.check, File: cf.file}
		if err := cf.run(impl, b, &r); err != nil {
			return out, fmt.Errorf("conformance: %s: %w", cf.file, err)
		}
		neg := r.Negative
		r.Negative = nil
		out = append(out, r)
		if neg != nil {
			out = append(out, *neg)
		}
	}
	return out, nil
}

func decodeList(b []byte, r *CorpusResult) ([]json.RawMessage, error) {
	var f VectorFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	r.Sources = f.Source
	return f.Vectors, nil
}

func runXEdDSA(impl Implementation, b []byte, r *CorpusResult) error {
	vs, err := decodeList(b, r)
	if err != nil {
		return err
	}
	for _, raw := range vs {
		var v struct {
			Vector
			PublicKey []byte `json:"public_key"`
			Message   []byte `json:"message"`
			Signature []byte `json:"signature"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		got := impl.VerifyXEdDSA(v.PublicKey, v.Message, v.Signature)
		if why, ok := acceptable[r.File+"#"+string(v.ID)]; ok && got != (v.Expect == "valid") {
			r.Notes = append(r.Notes, fmt.Sprintf("vector %s: verify = %v, acceptable: %s", v.ID, got, why))
			r.Passed++
			continue
		}
		if got != (v.Expect == "valid") {
			r.failf("xeddsa %s (%s): verify = %v, want %s", v.ID, v.Comment, got, v.Expect)
			continue
		}
		r.Passed++
	}
	return nil
}

func runKEM(impl Implementation, b []byte, r *CorpusResult) error {
	vs, err := decodeList(b, r)
	if err != nil {
		return err
	}
	for _, raw := range vs {
		var v struct {
			Vector
			SecretKey    []byte `json:"secret_key"`
			Ciphertext   []byte `json:"ciphertext"`
			SharedSecret []byte `json:"shared_secret"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		ss, err := impl.Decapsulate(v.SecretKey, v.Ciphertext)
		r.expect(impl, "kem "+string(v.ID), v.Comment, v.ExpectError, err, func() bool { return bytes.Equal(ss, v.SharedSecret) })
	}
	return nil
}

// expect scores one vector: a rejection of kind want, or success and ok().
func (r *CorpusResult) expect(impl Implementation, id, comment, want string, err error, ok func() bool) {
	switch {
	case want != "" && err == nil:
		r.failf("%s (%s): accepted, want %s", id, comment, want)
	case want != "" && impl.Kind(err) != want:
		r.failf("%s (%s): rejected with %s, want %s", id, comment, impl.Kind(err), want)
	case want == "" && err != nil:
		r.failf("%s (%s): %v", id, comment, err)
	case want == "" && !ok():
		r.failf("%s (%s): wrong output", id, comment)
	default:
		r.Passed++
	}
}

func runAgreement(impl Implementation, b []byte, r *CorpusResult) error {
	vs, err := decodeList(b, r)
	if err != nil {
		return err
	}
	for _, raw := range vs {
		var v struct {
			Vector
			Inputs AgreementInputs `json:"inputs"`
			AgreementExpect
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		root, chain, err := impl.Agree(v.Inputs)
		r.expect(impl, "agreement "+string(v.ID), v.Comment, v.ExpectError, err, func() bool {
			return bytes.Equal(root, v.RootKey) && bytes.Equal(chain, v.ChainKey)
		})
	}
	return nil
}

func runFingerprint(impl Implementation, b []byte, r *CorpusResult) error {
	vs, err := decodeList(b, r)
	if err != nil {
		return err
	}
	for _, raw := range vs {
		var v struct {
			Vector
			Version           int    `json:"version"`
			Iterations        int    `json:"iterations"`
			LocalIDBytes      []byte `json:"local_id_bytes"`
			LocalIdentityKey  []byte `json:"local_identity_key"`
			RemoteIDBytes     []byte `json:"remote_id_bytes"`
			RemoteIdentityKey []byte `json:"remote_identity_key"`
			Displayable       string `json:"displayable"`
			Scannable         []byte `json:"scannable"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		d, s, err := impl.Fingerprint(v.Version, v.Iterations, v.LocalIDBytes, v.LocalIdentityKey, v.RemoteIDBytes, v.RemoteIdentityKey)
		r.expect(impl, "fingerprint "+string(v.ID), v.Comment, v.ExpectError, err, func() bool {
			return d == v.Displayable && (v.Scannable == nil || bytes.Equal(s, v.Scannable))
		})
	}
	return nil
}

// runSession replays a recorded conversation at the responder. The
// responder's replies must be reproduced byte for byte (SPQR included in
// version 4 sessions), except in go.mau.fi/libsignal's recordings: it writes
// previous_counter 2^32-1 in a responder's first replies, so the ratchet
// key, counter and body are compared.
func runSession(impl Implementation, b []byte, r *CorpusResult) error {
	var v SessionVector
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Sources = v.Source
	src := strings.Join(v.Source, " ")
	exact := !strings.Contains(src, "go.mau.fi")
	version := v.Version
	if version == 0 {
		version = 3
		if v.Responder.KyberSecret != nil {
			version = 4
		}
	}
	resp, err := impl.NewResponder(v.Responder, v.Initiator, version)
	if err != nil {
		r.failf("set-up: %v", err)
		return nil
	}
	for i, m := range v.Transcript {
		id := fmt.Sprintf("message %d", i)
		switch m.From {
		case "initiator":
			pt, err := resp.Decrypt(m.Type, m.Ciphertext)
			into := r
			if m.ExpectError != "" {
				if r.Negative == nil {
					r.Negative = &CorpusResult{Check: "corpus/negative", File: r.File, Sources: r.Sources}
				}
				into = r.Negative
			}
			into.expect(impl, id, m.Comment+m.Mutation, m.ExpectError, err, func() bool { return bytes.Equal(pt, m.Plaintext) })
		case "responder":
			typ, ct, err := resp.Encrypt(m.Plaintext)
			r.expect(impl, id, "reply", "", err, func() bool {
				if typ != m.Type {
					return false
				}
				if exact {
					return bytes.Equal(ct, m.Ciphertext)
				}
				return sameSignalMessage(ct, m.Ciphertext)
			})
		default:
			return fmt.Errorf("message %d: from %q", i, m.From)
		}
	}
	return nil
}
