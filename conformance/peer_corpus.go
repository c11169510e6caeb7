package conformance

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// peerCorpusOps says which corpus files can run through a peer (issue #21
// item 3, "--peer mode runs the corpus through the peer wherever the peer
// protocol allows it") and the ops they need. Every other file needs keys
// the peer protocol cannot load into a peer; peerCorpusWhy says which.
var peerCorpusOps = map[string][]string{
	"libsignal-fingerprint.json": {"init", "fingerprint"},
	"interlock-fingerprint.json": {"init", "fingerprint"},
	"libsignal-sender-key.json":  {"init", "group_process", "group_decrypt"},
}

// peerCorpusWhy says why a corpus check cannot run through a peer.
var peerCorpusWhy = map[string]string{
	"corpus/xeddsa":        "no op verifies an XEdDSA signature under a given public key",
	"corpus/kem":           "no op decapsulates with a given Kyber secret key",
	"corpus/agreement":     "no op loads fixed identity and prekey private keys",
	"corpus/ratchet":       "no op loads a recorded responder's identity, prekeys and ratchet randomness",
	"corpus/sender-key":    "a whatsapp-layout distribution message names no group, and group_process carries none",
	"corpus/sealed-sender": "sealed_decrypt opens with the peer's own identity key, not the vector recipient's",
	"corpus/media":         "no op decrypts attachments or media",
	"corpus/padding":       "no op strips plaintext padding",
}

// notThroughPeer is returned by peerImpl for what the peer protocol cannot
// ask of a peer.
var errNotThroughPeer = errors.New("conformance: not possible through the peer protocol")

// runPeerCorpus runs what it can of the corpus in fsys through the peer
// spec, and reports the rest as not run with the reason.
func runPeerCorpus(r *Report, spec live.Spec, timeout time.Duration, fsys fs.FS, progress func(string)) error {
	caps, err := probeCaps(spec, timeout)
	if err != nil {
		return err
	}
	impl := &peerImpl{spec: spec, caps: caps, timeout: timeout}
	defer impl.close()
	var results []CorpusResult
	for _, cf := range corpusFiles {
		b, err := fs.ReadFile(fsys, cf.file)
		if errors.Is(err, fs.ErrNotExist) {
			r.Corpus.Missing = dedupe(append(r.Corpus.Missing, cf.file))
			r.AddCorpusNotRun(cf.check, cf.file, nil, "vector file not found in the corpus")
			if neg := negativeCheck(cf); neg != "" {
				r.AddCorpusNotRun(neg, cf.file, nil, "vector file not found in the corpus")
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("conformance: %w", err)
		}
		sources := fileSources(b)
		ops, ok := peerCorpusOps[cf.file]
		if !ok {
			why := peerCorpusWhy[cf.check]
			if why == "" {
				why = "no op of the peer protocol runs these vectors"
			}
			r.AddCorpusNotRun(cf.check, cf.file, sources, "not run through the peer: "+why+
				"; run the corpus through a conformance.Implementation adapter, or --skip the guarantee")
			if neg := negativeCheck(cf); neg != "" {
				r.AddCorpusNotRun(neg, cf.file, sources, "not run through the peer: "+why)
			}
			continue
		}
		if missing := missingOps(caps, ops); missing != "" {
			why := fmt.Sprintf("the peer does not list op %s", missing)
			r.AddCorpusNotRun(cf.check, cf.file, sources, why)
			if neg := negativeCheck(cf); neg != "" {
				r.AddCorpusNotRun(neg, cf.file, sources, why)
			}
			continue
		}
		if cf.file == "libsignal-sender-key.json" && !caps.Offers("signal") {
			// libsignal's layout carries the distribution UUID; a peer of
			// the whatsapp flavour alone reads only the older layout.
			why := "the peer offers only the whatsapp flavour; these vectors are in libsignal's sender-key layout"
			r.AddCorpusNotRun(cf.check, cf.file, sources, why)
			if neg := negativeCheck(cf); neg != "" {
				r.AddCorpusNotRun(neg, cf.file, sources, why)
			}
			continue
		}
		if progress != nil {
			progress(cf.file + " (through the peer)")
		}
		cr := CorpusResult{Check: cf.check, File: cf.file, negCheck: cf.negCheck}
		if err := cf.run(impl, b, &cr); err != nil {
			return fmt.Errorf("conformance: %s: %w", cf.file, err)
		}
		neg := cr.Negative
		cr.Negative = nil
		results = append(results, cr)
		if neg != nil {
			results = append(results, *neg)
		}
	}
	r.AddCorpus(impl.Name(), results)
	return nil
}

// negativeCheck is the check a file's negative vectors report under, ""
// if it has none.
func negativeCheck(cf corpusFile) string {
	if cf.negCheck == "" && cf.check == "corpus/ratchet" {
		return "corpus/negative"
	}
	return cf.negCheck
}

// fileSources reads a vector file's "source".
func fileSources(b []byte) []string {
	var v struct {
		Source Sources `json:"source"`
	}
	json.Unmarshal(b, &v)
	return v.Source
}

func missingOps(c live.Capabilities, ops []string) string {
	for _, op := range ops {
		if !c.Has(op) {
			return op
		}
	}
	return ""
}

func probeCaps(spec live.Spec, timeout time.Duration) (live.Capabilities, error) {
	p, err := live.Start(spec, spec.String())
	if err != nil {
		return live.Capabilities{}, err
	}
	p.Timeout = timeout
	c, err := p.Capabilities()
	if err != nil {
		p.Kill()
		return c, err
	}
	return c, p.Close()
}

// peerImpl is the part of Implementation a peer process can do.
type peerImpl struct {
	spec    live.Spec
	caps    live.Capabilities
	timeout time.Duration
	peers   []*live.Peer
	fp      *live.Peer
}

func (p *peerImpl) Name() string {
	return fmt.Sprintf("peer %s (describes itself as %q)", p.spec, p.caps.Implementation)
}

func (p *peerImpl) close() {
	for _, x := range p.peers {
		x.Close()
	}
}

// start launches and inits a fresh peer in flavour.
func (p *peerImpl) start(name, flavour string) (*live.Peer, error) {
	x, err := live.Start(p.spec, p.spec.String())
	if err != nil {
		return nil, err
	}
	x.Timeout = p.timeout
	p.peers = append(p.peers, x)
	in := live.InitOptions{Name: name, Device: 1}
	if p.caps.FlavoursDeclared {
		in.Flavour = flavour
	}
	if _, err := x.Init(in); err != nil {
		return nil, err
	}
	return x, nil
}

const peerCorpusName = "00000000-0000-4000-8000-00000000c0de"

// Fingerprint asks the peer for the safety number between its own
// identity and each side of the vector in turn. Each answer is the sorted
// pair of 30-digit halves, one from the peer's own key, the other from
// the remote (id, key); the half common to both answers is the peer's, so
// the vector's two halves and its CombinedFingerprints come from the peer
// alone.
func (p *peerImpl) Fingerprint(version, iterations int, localID, localKey, remoteID, remoteKey []byte) (string, []byte, error) {
	if iterations != 5200 {
		return "", nil, fmt.Errorf("%w: the fingerprint op computes 5200 iterations, the vector %d", errNotThroughPeer, iterations)
	}
	if p.fp == nil {
		flavour := "signal"
		if !p.caps.Offers("signal") {
			flavour = "whatsapp"
		}
		x, err := p.start(peerCorpusName, flavour)
		if err != nil {
			return "", nil, err
		}
		p.fp = x
	}
	own := peerCorpusName
	if version == 1 {
		own = "+15550000000"
	}
	lid, err := stableIDString(version, localID)
	if err != nil {
		return "", nil, err
	}
	rid, err := stableIDString(version, remoteID)
	if err != nil {
		return "", nil, err
	}
	toRemote, err := p.fp.Fingerprint(own, rid, remoteKey, version)
	if err != nil {
		return "", nil, err
	}
	toLocal, err := p.fp.Fingerprint(own, lid, localKey, version)
	if err != nil {
		return "", nil, err
	}
	d1, d2 := toRemote.Displayable, toLocal.Displayable
	if len(d1) != 60 || len(d2) != 60 {
		return "", nil, fmt.Errorf("displayable of %d and %d digits, want 60", len(d1), len(d2))
	}
	var remoteHalf, localHalf string
	switch {
	case d1[:30] == d2[:30] && d1[30:] != d2[30:]:
		remoteHalf, localHalf = d1[30:], d2[30:]
	case d1[:30] == d2[30:] && d1[30:] != d2[:30]:
		remoteHalf, localHalf = d1[30:], d2[:30]
	case d1[30:] == d2[:30] && d1[:30] != d2[30:]:
		remoteHalf, localHalf = d1[:30], d2[30:]
	case d1[30:] == d2[30:] && d1[:30] != d2[:30]:
		remoteHalf, localHalf = d1[:30], d2[:30]
	default:
		return "", nil, fmt.Errorf("the peer's two safety numbers %s and %s share no single half", d1, d2)
	}
	displayable := localHalf + remoteHalf
	if remoteHalf < localHalf {
		displayable = remoteHalf + localHalf
	}
	scannable, err := combineScannable(toRemote.Scannable, toLocal.Scannable)
	if err != nil {
		return "", nil, err
	}
	return displayable, scannable, nil
}

// combineScannable builds the vector's CombinedFingerprints (version = 1,
// local_fingerprint = 2, remote_fingerprint = 3; libsignal
// fingerprint.proto) from the peer's two answers: the remote fingerprint
// of each, the second as the local one.
func combineScannable(toRemote, toLocal []byte) ([]byte, error) {
	f1, err := protoFields(toRemote)
	if err != nil {
		return nil, err
	}
	f2, err := protoFields(toLocal)
	if err != nil {
		return nil, err
	}
	if f1[1] == nil || f1[3] == nil || f2[3] == nil {
		return nil, errors.New("scannable fingerprint lacks version or remote_fingerprint")
	}
	out := append([]byte(nil), f1[1]...)
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendBytes(out, f2[3])
	out = protowire.AppendTag(out, 3, protowire.BytesType)
	return protowire.AppendBytes(out, f1[3]), nil
}

// protoFields maps field 1 to its whole encoding (tag and varint) and
// the length-delimited fields to their values.
func protoFields(b []byte) (map[protowire.Number][]byte, error) {
	out := map[protowire.Number][]byte{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		switch {
		case num == 1:
			out[1] = b[:n+m]
		case typ == protowire.BytesType:
			v, _ := protowire.ConsumeBytes(b[n:])
			out[num] = v
		}
		b = b[n+m:]
	}
	return out, nil
}

// stableIDString is the peer protocol's form of a fingerprint ID: the
// UTF-8 string (version 1, E.164) or the UUID (version 2, 16 bytes).
func stableIDString(version int, id []byte) (string, error) {
	switch version {
	case 1:
		if !utf8.Valid(id) {
			return "", fmt.Errorf("%w: a version 1 ID that is not UTF-8", errNotThroughPeer)
		}
		return string(id), nil
	case 2:
		if len(id) != 16 {
			return "", fmt.Errorf("%w: a version 2 ID of %d bytes", errNotThroughPeer, len(id))
		}
		h := hex.EncodeToString(id)
		return strings.Join([]string{h[:8], h[8:12], h[12:16], h[16:20], h[20:]}, "-"), nil
	}
	return "", fmt.Errorf("%w: fingerprint version %d", errNotThroughPeer, version)
}

// NewSenderKeyReceiver starts a fresh peer as the group member.
func (p *peerImpl) NewSenderKeyReceiver(flavour string) (SenderKeyReceiver, error) {
	if flavour != "signal" || !p.caps.Offers("signal") {
		return nil, fmt.Errorf("%w: sender keys in the %s flavour", errNotThroughPeer, flavour)
	}
	x, err := p.start(peerCorpusName, flavour)
	if err != nil {
		return nil, err
	}
	return peerGroup{x}, nil
}

type peerGroup struct{ p *live.Peer }

func (g peerGroup) ProcessSenderKeyDistribution(sender Address, _ string, m []byte) error {
	return g.p.GroupProcess(live.Address{Name: sender.Name, Device: int(sender.Device)}, m)
}

func (g peerGroup) DecryptSenderKey(sender Address, _ string, ct []byte) ([]byte, error) {
	return g.p.GroupDecrypt(live.Address{Name: sender.Name, Device: int(sender.Device)}, ct)
}

// Kind is the peer's error kind.
func (p *peerImpl) Kind(err error) string {
	if k := live.KindOf(err); k != "" {
		return k
	}
	return "other"
}

// The rest cannot be asked of a peer (peerCorpusWhy); runPeerCorpus never
// calls them.

func (p *peerImpl) VerifyXEdDSA(_, _, _ []byte) bool { return false }
func (p *peerImpl) Decapsulate(_, _ []byte) ([]byte, error) {
	return nil, errNotThroughPeer
}
func (p *peerImpl) Agree(AgreementInputs) ([]byte, []byte, error) {
	return nil, nil, errNotThroughPeer
}
func (p *peerImpl) NewResponder(ResponderKeys, Party, int) (Responder, error) {
	return nil, errNotThroughPeer
}
func (p *peerImpl) OpenSealedSender(SealedInputs) (*SealedContent, error) {
	return nil, errNotThroughPeer
}
func (p *peerImpl) SplitSealedSenderV2([]byte, string, uint32) ([]byte, error) {
	return nil, errNotThroughPeer
}
func (p *peerImpl) DecryptAttachment(AttachmentInputs) ([]byte, error) {
	return nil, errNotThroughPeer
}
func (p *peerImpl) DecryptWhatsAppMedia(WhatsAppMediaInputs) ([]byte, error) {
	return nil, errNotThroughPeer
}
func (p *peerImpl) UnpadMessage(string, []byte) ([]byte, error) {
	return nil, errNotThroughPeer
}
