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
// Kind into the error kinds of docs/peer-protocol.md#error-kinds.
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
	// NewSenderKeyReceiver returns a group member that receives sender-key
	// messages in a flavour of docs/peer-protocol.md#flavours: "signal" or "whatsapp".
	NewSenderKeyReceiver(flavour string) (SenderKeyReceiver, error)
	// OpenSealedSender opens a sealed sender v1 (0x11) or per-recipient v2
	// (0x22) message and validates its sender certificate against the
	// trust root at the given time.
	OpenSealedSender(in SealedInputs) (*SealedContent, error)
	// SplitSealedSenderV2 is the server's fan-out of a multi-recipient
	// (0x23) message: what one device of serviceID (libsignal's string
	// form) receives.
	SplitSealedSenderV2(sent []byte, serviceID string, device uint32) ([]byte, error)
	// DecryptAttachment authenticates and decrypts a Signal attachment
	// blob and returns its first size bytes.
	DecryptAttachment(in AttachmentInputs) ([]byte, error)
	// DecryptWhatsAppMedia authenticates and decrypts a WhatsApp media
	// blob.
	DecryptWhatsAppMedia(in WhatsAppMediaInputs) ([]byte, error)
	// UnpadMessage strips the plaintext padding of a decrypted message in a
	// flavour: "signal" (content ‖ 0x80 ‖ zeros) or "whatsapp" (payload ‖ N
	// bytes of value N).
	UnpadMessage(flavour string, padded []byte) ([]byte, error)
	// Kind classifies an error as an error kind of docs/peer-protocol.md.
	Kind(err error) string
}

// SenderKeyReceiver is one group member's receiving side of sender keys.
// groupID names the group: the distribution UUID in the signal flavour
// (where the messages also carry it), the application's group ID in the
// whatsapp flavour.
type SenderKeyReceiver interface {
	ProcessSenderKeyDistribution(sender Address, groupID string, message []byte) error
	DecryptSenderKey(sender Address, groupID string, ciphertext []byte) ([]byte, error)
}

// Address is an address of docs/peer-protocol.md#addresses-and-keys.
type Address struct {
	Name   string `json:"name"`
	Device uint32 `json:"device"`
}

// SealedInputs are a recipient's inputs to opening a sealed message.
type SealedInputs struct {
	RecipientIdentityPrivate []byte // 32-byte Curve25519 scalar
	Ciphertext               []byte
	TrustRoot                []byte // 33-byte public key
	// Now is the validation time, ms since the epoch; 0 means the
	// implementation's current time (as sealed sender's DecryptOptions.Now),
	// never "before every expiry" (issue #20 item 7).
	Now int64
}

// SealedContent is an opened sealed message (libsignal's
// UnidentifiedSenderMessageContent) with its validated certificate.
type SealedContent struct {
	Sender             Address
	SenderIdentity     []byte
	SenderCertificate  []byte
	CertificateExpires int64 // ms since the epoch
	Type               int   // inner message type: 2, 3, 7 or 8
	ContentHint        uint32
	GroupID            []byte
	Contents           []byte
	USMC               []byte // the serialized content
}

// AttachmentInputs are a Signal AttachmentPointer's values and the blob.
type AttachmentInputs struct {
	Key            []byte // 64 bytes: AES-256 key ‖ HMAC-SHA256 key
	Blob           []byte
	Size           int64  // plaintext size
	Digest         []byte // SHA-256 of the blob, checked when set
	IncrementalMAC []byte // checked when set
	ChunkSize      int    // of the incremental MAC; 0: inferred from the blob size
}

// WhatsAppMediaInputs are a WhatsApp media message's values and the blob.
type WhatsAppMediaInputs struct {
	Info          string // HKDF info, e.g. "WhatsApp Image Keys"
	MediaKey      []byte
	Blob          []byte
	FileEncSHA256 []byte // checked when set
	FileSHA256    []byte // checked when set
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
	// KyberLastResort marks the Kyber prekey as a last-resort one: it stays
	// after use, and a base key used with it before must be refused
	// (libsignal's mark_kyber_pre_key_used; issue #20 item 2).
	KyberLastResort bool `json:"kyber_last_resort,omitempty"`
	// RatchetPrivate is the first ratchet key pair the responder draws;
	// RatchetRandom, when present, every byte of randomness it draws (the
	// private keys of its ratchet key pairs, 32 bytes each, in order).
	RatchetPrivate []byte `json:"ratchet_private,omitempty"`
	RatchetPublic  []byte `json:"ratchet_public,omitempty"`
	RatchetRandom  []byte `json:"ratchet_random,omitempty"`
}

// TranscriptEntry is one message of a session vector. A negative entry has
// ExpectError (an error kind of docs/peer-protocol.md) and State "unchanged": the receiver
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
	// MessageKeys, in Interlock's transcripts, are the keys of a responder
	// message: for implementers to compare their key schedule with.
	MessageKeys *MessageKeys `json:"message_keys,omitempty"`
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
	ExpectError string      `json:"expect_error,omitempty"` // an error kind of docs/peer-protocol.md
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
	// Negative holds a file's negative vectors (check "corpus/negative"
	// for sessions, "corpus/<category>/negative" for the others); RunCorpus
	// lists it as a result of its own.
	Negative *CorpusResult
	negCheck string
}

// neg returns the result that collects negative vectors.
func (r *CorpusResult) neg() *CorpusResult {
	if r.Negative == nil {
		c := r.negCheck
		if c == "" {
			c = "corpus/negative"
		}
		r.Negative = &CorpusResult{Check: c, File: r.File, Sources: r.Sources}
	}
	return r.Negative
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

// corpusFile is one file of the corpus and the check that runs it. An
// optional file that is absent is skipped.
type corpusFile struct {
	check    string
	file     string
	run      func(Implementation, []byte, *CorpusResult) error
	negCheck string
	optional bool
}

// corpusFiles lists what RunCorpus runs.
var corpusFiles = []corpusFile{
	{check: "corpus/xeddsa", file: "libsignal-xeddsa.json", run: runXEdDSA},
	{check: "corpus/xeddsa", file: "interlock-xeddsa.json", run: runXEdDSA},
	{check: "corpus/kem", file: "libsignal-kyber1024.json", run: runKEM},
	{check: "corpus/kem", file: "interlock-kem.json", run: runKEM},
	{check: "corpus/agreement", file: "interlock-agreement.json", run: runAgreement},
	{check: "corpus/ratchet", file: "libsignal-pqxdh-session.json", run: runSession},
	{check: "corpus/ratchet", file: "libsignal-pqxdh-session-noopk.json", run: runSession},
	{check: "corpus/ratchet", file: "mau-x3dh-session.json", run: runSession},
	{check: "corpus/ratchet", file: "mau-x3dh-session-noopk.json", run: runSession},
	{check: "corpus/ratchet", file: "interlock-session-pqxdh.json", run: runSession},
	{check: "corpus/ratchet", file: "interlock-session-x3dh.json", run: runSession},
	{check: "corpus/fingerprint", file: "libsignal-fingerprint.json", run: runFingerprint},
	{check: "corpus/fingerprint", file: "interlock-fingerprint.json", run: runFingerprint},
	{check: "corpus/sender-key", file: "libsignal-sender-key.json", run: runLibsignalSenderKey, negCheck: "corpus/sender-key/negative"},
	{check: "corpus/sender-key", file: "mau-sender-key.json", run: runMauSenderKey, negCheck: "corpus/sender-key/negative"},
	{check: "corpus/sender-key", file: "interlock-sender-key.json", run: runSenderKeySteps, negCheck: "corpus/sender-key/negative"},
	{check: "corpus/sealed-sender", file: "libsignal-sealed-sender-v1.json", run: runSealedV1, negCheck: "corpus/sealed-sender/negative"},
	{check: "corpus/sealed-sender", file: "libsignal-sealed-sender-v2.json", run: runSealedV2, negCheck: "corpus/sealed-sender/negative"},
	{check: "corpus/sealed-sender", file: "interlock-sealed-sender.json", run: runSealedList, negCheck: "corpus/sealed-sender/negative"},
	{check: "corpus/media", file: "signal-attachment-incremental-mac.json", run: runSignalAttachments, negCheck: "corpus/media/negative"},
	{check: "corpus/media", file: "whatsapp-media.json", run: runWhatsAppMedia, negCheck: "corpus/media/negative"},
	{check: "corpus/media", file: "interlock-media.json", run: runMediaList, negCheck: "corpus/media/negative"},
	{check: "corpus/padding", file: "signal-padding.json", run: runPadding("signal", "content"), negCheck: "corpus/padding/negative", optional: true},
	{check: "corpus/padding", file: "whatsapp-padding.json", run: runPadding("whatsapp", "payload"), negCheck: "corpus/padding/negative", optional: true},
	{check: "corpus/padding", file: "signal-envelope.json", run: runEnvelopePadding, optional: true},
	// Issue #20's findings as fixed bytes, one check per guarantee
	// (corpus_issue20.go).
	{check: "corpus/adversarial/replay", file: "interlock-adversarial.json", run: runAdversarial("corpus/adversarial/replay")},
	{check: "corpus/adversarial/identity", file: "interlock-adversarial.json", run: runAdversarial("corpus/adversarial/identity")},
	{check: "corpus/adversarial/integrity", file: "interlock-adversarial.json", run: runAdversarial("corpus/adversarial/integrity")},
	{check: "corpus/adversarial/sealed-sender", file: "interlock-adversarial.json", run: runAdversarial("corpus/adversarial/sealed-sender")},
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
		if cf.optional && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("conformance: %w", err)
		}
		r := CorpusResult{Check: cf.check, File: cf.file, negCheck: cf.negCheck}
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

// eachVector decodes the file's vectors as T one by one and hands each to
// fn; the first error ends the run.
func eachVector[T any](b []byte, r *CorpusResult, fn func(v *T) error) error {
	vs, err := decodeList(b, r)
	if err != nil {
		return err
	}
	for _, raw := range vs {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		if err := fn(&v); err != nil {
			return err
		}
	}
	return nil
}

func runXEdDSA(impl Implementation, b []byte, r *CorpusResult) error {
	return eachVector(b, r, func(v *struct {
		Vector
		PublicKey []byte `json:"public_key"`
		Message   []byte `json:"message"`
		Signature []byte `json:"signature"`
	}) error {
		got := impl.VerifyXEdDSA(v.PublicKey, v.Message, v.Signature)
		if why, ok := acceptable[r.File+"#"+string(v.ID)]; ok && got != (v.Expect == "valid") {
			r.Notes = append(r.Notes, fmt.Sprintf("vector %s: verify = %v, acceptable: %s", v.ID, got, why))
			r.Passed++
			return nil
		}
		if got != (v.Expect == "valid") {
			r.failf("xeddsa %s (%s): verify = %v, want %s", v.ID, v.Comment, got, v.Expect)
			return nil
		}
		r.Passed++
		return nil
	})
}

func runKEM(impl Implementation, b []byte, r *CorpusResult) error {
	return eachVector(b, r, func(v *struct {
		Vector
		SecretKey    []byte `json:"secret_key"`
		Ciphertext   []byte `json:"ciphertext"`
		SharedSecret []byte `json:"shared_secret"`
	}) error {
		ss, err := impl.Decapsulate(v.SecretKey, v.Ciphertext)
		r.expect(impl, "kem "+string(v.ID), v.Comment, v.ExpectError, err, func() bool { return bytes.Equal(ss, v.SharedSecret) })
		return nil
	})
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
	return eachVector(b, r, func(v *struct {
		Vector
		Inputs AgreementInputs `json:"inputs"`
		AgreementExpect
	}) error {
		root, chain, err := impl.Agree(v.Inputs)
		r.expect(impl, "agreement "+string(v.ID), v.Comment, v.ExpectError, err, func() bool {
			return bytes.Equal(root, v.RootKey) && bytes.Equal(chain, v.ChainKey)
		})
		return nil
	})
}

func runFingerprint(impl Implementation, b []byte, r *CorpusResult) error {
	return eachVector(b, r, func(v *struct {
		Vector
		Version           int    `json:"version"`
		Iterations        int    `json:"iterations"`
		LocalIDBytes      []byte `json:"local_id_bytes"`
		LocalIdentityKey  []byte `json:"local_identity_key"`
		RemoteIDBytes     []byte `json:"remote_id_bytes"`
		RemoteIdentityKey []byte `json:"remote_identity_key"`
		Displayable       string `json:"displayable"`
		Scannable         []byte `json:"scannable"`
	}) error {
		d, s, err := impl.Fingerprint(v.Version, v.Iterations, v.LocalIDBytes, v.LocalIdentityKey, v.RemoteIDBytes, v.RemoteIdentityKey)
		r.expect(impl, "fingerprint "+string(v.ID), v.Comment, v.ExpectError, err, func() bool {
			return d == v.Displayable && (v.Scannable == nil || bytes.Equal(s, v.Scannable))
		})
		return nil
	})
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
				into = r.neg()
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
