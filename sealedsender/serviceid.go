package sealedsender

import (
	"encoding/hex"
	"strings"
)

// ServiceIDKind tells an ACI from a PNI.
type ServiceIDKind byte

// Service ID kinds, as the first byte of the fixed-width binary form.
const (
	ACI ServiceIDKind = 0x00 // account identity
	PNI ServiceIDKind = 0x01 // phone number identity
)

// ServiceIDSize is the length of a service ID's fixed-width binary form:
// kind ‖ UUID.
const ServiceIDSize = 17

// ServiceID names an account in sealed sender v2: an ACI or a PNI UUID. The
// zero value is the ACI 00000000-0000-0000-0000-000000000000.
type ServiceID struct {
	kind ServiceIDKind
	uuid [16]byte
}

// NewServiceID returns the service ID of the given kind and UUID.
func NewServiceID(kind ServiceIDKind, uuid [16]byte) ServiceID {
	return ServiceID{kind: kind, uuid: uuid}
}

// ParseServiceID parses libsignal's string form: a hyphenated UUID for an
// ACI (the name of its session.Address), "PNI:" and a UUID for a PNI. Hex
// digits may be of either case.
func ParseServiceID(s string) (ServiceID, error) {
	kind := ACI
	if rest, ok := strings.CutPrefix(s, "PNI:"); ok {
		kind, s = PNI, rest
	}
	u, ok := parseUUID(s)
	if !ok {
		return ServiceID{}, wrap(ErrInvalidArgument, "service ID %q", s)
	}
	return ServiceID{kind: kind, uuid: u}, nil
}

// ParseServiceIDBytes parses the 17-byte fixed-width form.
func ParseServiceIDBytes(b []byte) (ServiceID, error) {
	if len(b) != ServiceIDSize || (b[0] != byte(ACI) && b[0] != byte(PNI)) {
		return ServiceID{}, wrap(ErrInvalidArgument, "fixed-width service ID %x", b)
	}
	var s ServiceID
	s.kind = ServiceIDKind(b[0])
	copy(s.uuid[:], b[1:])
	return s, nil
}

// Kind returns ACI or PNI.
func (s ServiceID) Kind() ServiceIDKind { return s.kind }

// UUID returns the 16 UUID bytes.
func (s ServiceID) UUID() [16]byte { return s.uuid }

// Bytes returns the 17-byte fixed-width form: kind ‖ UUID.
func (s ServiceID) Bytes() []byte {
	out := make([]byte, ServiceIDSize)
	out[0] = byte(s.kind)
	copy(out[1:], s.uuid[:])
	return out
}

// String returns the lowercase string form ("PNI:" prefix for a PNI).
func (s ServiceID) String() string {
	if s.kind == PNI {
		return "PNI:" + formatUUID(&s.uuid)
	}
	return formatUUID(&s.uuid)
}

// parseUUID reads the hyphenated 8-4-4-4-12 form.
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, false
	}
	return u, true
}
