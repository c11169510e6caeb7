package fingerprint

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Version is the fingerprint version: it says what the stable IDs are and is
// written into the scannable form. The displayable digits do not depend on it.
type Version uint32

const (
	// VersionE164 (1): the stable IDs are E.164 phone numbers ("+14155551000"),
	// hashed as their UTF-8 bytes.
	VersionE164 Version = 1
	// VersionACI (2): the stable IDs are ACIs (account UUIDs), hashed as their
	// 16 bytes. Signal's clients use this version.
	VersionACI Version = 2
)

// Iteration limits (libsignal's Fingerprint::new).
const (
	// DefaultIterations is what Signal's clients use.
	DefaultIterations = 5200
	// MinIterations and MaxIterations bound WithIterations.
	MinIterations = 2
	MaxIterations = 1_000_000
)

const (
	// DisplayableLength is the number of digits of a safety number.
	DisplayableLength = 60
	// ContentSize is the size of one side's scannable fingerprint.
	ContentSize = 32
)

// Sentinel errors; check them with errors.Is.
var (
	// ErrInvalidIterations: an iteration count outside [MinIterations, MaxIterations].
	ErrInvalidIterations = errors.New("fingerprint: invalid iteration count")
	// ErrInvalidKey: an identity key that is not a 33-byte serialized
	// Curve25519 public key, or a stable ID of the wrong form.
	ErrInvalidKey = errors.New("fingerprint: invalid identity key or ID")
	// ErrUnsupportedVersion: a fingerprint version other than 1 or 2.
	ErrUnsupportedVersion = errors.New("fingerprint: unsupported version")
	// ErrInvalidScannable: scannable bytes that are not a CombinedFingerprints
	// message with two 32-byte sides.
	ErrInvalidScannable = errors.New("fingerprint: invalid scannable fingerprint")
	// ErrVersionMismatch: the other side's scannable fingerprint has another
	// version (one side uses phone numbers, the other ACIs: neither is wrong,
	// they cannot be compared).
	ErrVersionMismatch = errors.New("fingerprint: version mismatch")
)

// Option configures New.
type Option func(*options)

type options struct{ iterations int }

// WithIterations sets the number of SHA-512 iterations (default
// DefaultIterations; MinIterations to MaxIterations). Both sides must use
// the same number.
func WithIterations(n int) Option { return func(o *options) { o.iterations = n } }

// Fingerprint is a safety number between a local and a remote identity.
type Fingerprint struct {
	displayable string
	scannable   Scannable
}

// New computes the safety number of (localID, localIdentityKey) and
// (remoteID, remoteIdentityKey), as libsignal's Fingerprint::new does
// (docs/wire-formats.md#safety-numbers); the keys are hashed in their
// 33-byte serialized form (0x05 ‖ 32 bytes, IdentityKey.Bytes). IDs are the
// stable IDs' bytes for the version: StableID converts the usual string
// forms. A zero identity key is refused with ErrInvalidKey; parse received
// keys with prekey.NewIdentityKey.
func New(version Version, localID []byte, localIdentityKey prekey.IdentityKey, remoteID []byte, remoteIdentityKey prekey.IdentityKey, opts ...Option) (*Fingerprint, error) {
	o := options{iterations: DefaultIterations}
	for _, opt := range opts {
		opt(&o)
	}
	if o.iterations < MinIterations || o.iterations > MaxIterations {
		return nil, fmt.Errorf("%w: %d (allowed %d to %d)", ErrInvalidIterations, o.iterations, MinIterations, MaxIterations)
	}
	if version != VersionE164 && version != VersionACI {
		return nil, fmt.Errorf("%w: %d", ErrUnsupportedVersion, version)
	}
	if localIdentityKey.IsZero() || remoteIdentityKey.IsZero() {
		return nil, fmt.Errorf("%w: zero identity key", ErrInvalidKey)
	}
	local := hashSide(o.iterations, localID, localIdentityKey.Bytes())
	remote := hashSide(o.iterations, remoteID, remoteIdentityKey.Bytes())
	f := &Fingerprint{scannable: Scannable{Version: version}}
	copy(f.scannable.Local[:], local[:ContentSize])
	copy(f.scannable.Remote[:], remote[:ContentSize])
	l, r := displayHalf(&local), displayHalf(&remote)
	if l <= r {
		f.displayable = l + r
	} else {
		f.displayable = r + l
	}
	return f, nil
}

// hashSide is h = SHA-512(0x00 0x00 ‖ IK ‖ ID ‖ IK), then (iterations − 1)
// times h = SHA-512(h ‖ IK). The leading two zero bytes are the hash
// format's version, not the fingerprint version.
func hashSide(iterations int, id, key []byte) [sha512.Size]byte {
	h := sha512.New()
	h.Write([]byte{0, 0})
	h.Write(key)
	h.Write(id)
	h.Write(key)
	var sum [sha512.Size]byte
	h.Sum(sum[:0])
	for i := 1; i < iterations; i++ {
		h.Reset()
		h.Write(sum[:])
		h.Write(key)
		h.Sum(sum[:0])
	}
	return sum
}

// displayHalf encodes bytes 0–29 as six 5-byte big-endian numbers modulo
// 100,000, five digits each.
func displayHalf(h *[sha512.Size]byte) string {
	var out []byte
	for i := 0; i < 30; i += 5 {
		var b [8]byte
		copy(b[3:], h[i:i+5])
		out = fmt.Appendf(out, "%05d", binary.BigEndian.Uint64(b[:])%100_000)
	}
	return string(out)
}

// Displayable returns the 60-digit safety number, the same on both sides.
func (f *Fingerprint) Displayable() string { return f.displayable }

// Scannable returns the scannable fingerprint (what a QR code carries).
func (f *Fingerprint) Scannable() *Scannable { s := f.scannable; return &s }

// Scannable is a CombinedFingerprints message: the version and both sides'
// 32-byte fingerprints, from the point of view of the one who shows it.
type Scannable struct {
	Version Version
	Local   [ContentSize]byte
	Remote  [ContentSize]byte
}

// Bytes serializes the CombinedFingerprints message {version 1,
// localFingerprint 2 {content 1}, remoteFingerprint 3 {content 1}}, fields
// in order as libsignal writes them (a zero version is omitted, proto3).
func (s *Scannable) Bytes() []byte {
	b := make([]byte, 0, 6+2*(2+2+ContentSize))
	if s.Version != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s.Version))
	}
	for i, side := range [][]byte{s.Local[:], s.Remote[:]} {
		b = protowire.AppendTag(b, protowire.Number(2+i), protowire.BytesType)
		b = protowire.AppendVarint(b, 2+ContentSize)
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, side)
	}
	return b
}

// ParseScannable parses a CombinedFingerprints message: both sides must be
// present and 32 bytes. Never panics.
func ParseScannable(b []byte) (*Scannable, error) {
	var pb signalpb.CombinedFingerprints
	if err := proto.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidScannable, err)
	}
	l, r := pb.GetLocalFingerprint().GetContent(), pb.GetRemoteFingerprint().GetContent()
	if len(l) != ContentSize || len(r) != ContentSize {
		return nil, fmt.Errorf("%w: sides of %d and %d bytes, want %d", ErrInvalidScannable, len(l), len(r), ContentSize)
	}
	s := &Scannable{Version: Version(pb.GetVersion())}
	copy(s.Local[:], l)
	copy(s.Remote[:], r)
	return s, nil
}

// Compare checks the other side's scannable bytes against ours, as
// libsignal's ScannableFingerprint::compare: the versions must be equal
// (ErrVersionMismatch otherwise), and their local side must equal our
// remote side and the reverse, compared in constant time. A mismatch is
// (false, nil): the identities differ from what each side believes.
func (s *Scannable) Compare(theirs []byte) (bool, error) {
	t, err := ParseScannable(theirs)
	if err != nil {
		return false, err
	}
	if t.Version != s.Version {
		return false, fmt.Errorf("%w: ours %d, theirs %d", ErrVersionMismatch, s.Version, t.Version)
	}
	same := subtle.ConstantTimeCompare(t.Local[:], s.Remote[:]) & subtle.ConstantTimeCompare(t.Remote[:], s.Local[:])
	return same == 1, nil
}

// StableID converts an ID in its usual string form to the bytes New hashes:
// for VersionE164 the UTF-8 bytes of the E.164 number; for VersionACI the
// 16 bytes of the UUID ("8-4-4-4-12" hex, either case; ErrInvalidKey
// otherwise).
func StableID(version Version, id string) ([]byte, error) {
	switch version {
	case VersionE164:
		return []byte(id), nil
	case VersionACI:
		if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			return nil, fmt.Errorf("%w: ACI %q is not a UUID", ErrInvalidKey, id)
		}
		u, err := hex.DecodeString(id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:36])
		if err != nil {
			return nil, fmt.Errorf("%w: ACI %q is not a UUID", ErrInvalidKey, id)
		}
		return u, nil
	}
	return nil, fmt.Errorf("%w: %d", ErrUnsupportedVersion, version)
}
