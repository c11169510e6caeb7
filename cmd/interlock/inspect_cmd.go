package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

const inspectUsage = `usage: interlock inspect [--format text|json] [FILE]

Reads hex, base64 or raw bytes from FILE (or standard input, also "-") and
prints every field of what it finds:
  messages      PreKeySignalMessage, SignalMessage, SenderKeyMessage and
                SenderKeyDistributionMessage (libsignal and WhatsApp layouts),
                DecryptionErrorMessage, PlaintextContent (0xC0)
  sealed sender v1 (0x11), v2 (0x22 received, 0x23 sent),
                UnidentifiedSenderMessageContent (decrypted),
                SenderCertificate, ServerCertificate
  framing       Signal Envelope, padded Signal Content, Messenger
                MessageTransport
  keys          33-byte Curve25519, 1569-byte Kyber-1024 or ML-KEM-1024
It only parses: nothing is decrypted or verified.

Input no kind accepts exits with status 1 and lists the closest kinds with
the exact reason each refused it.

--format json prints one JSON object (testdata/inspect.schema.json):
  {"format_version":1, "kind":…, "encoding":"hex|base64|raw", "length":N,
   "fields":[{"name":…, "type":"hex|int|string|bool|json", "value":…}]}
or, for unrecognised input (exit status 1):
  {"format_version":1, "error":…, "encoding":…, "length":N,
   "candidates":[{"kind":…, "error":…}]}
Field names and kinds are stable; new fields and kinds may be added.
`

// maxInspect bounds what inspect reads.
const maxInspect = 64 << 20

// inspectFormatVersion is the "format_version" of inspect's JSON; it
// changes only if a field is renamed or removed.
const inspectFormatVersion = 1

// report is what inspect found: a kind and its fields in order.
type report struct {
	FormatVersion int     `json:"format_version"`
	Kind          string  `json:"kind"`
	Encoding      string  `json:"encoding"`
	Length        int     `json:"length"`
	Fields        []field `json:"fields"`
}

// field is one named value. Type says how Value is written: "hex" (bytes,
// lowercase hex string), "int" (a JSON integer), "string", "bool" or
// "json" (an embedded object, protobuf messages in protojson with the
// .proto field names).
type field struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

func (r *report) add(name string, v any) {
	f := field{Name: name, Value: v}
	switch x := v.(type) {
	case []byte:
		f.Type, f.Value = "hex", hex.EncodeToString(x)
	case int, int64, uint32, uint64, uint8, uint16:
		f.Type = "int"
	case string:
		f.Type = "string"
	case bool:
		f.Type = "bool"
	case json.RawMessage:
		f.Type = "json"
	default:
		f.Type, f.Value = "string", fmt.Sprint(v)
	}
	r.Fields = append(r.Fields, f)
}

// candidate is a kind the input resembles and why that kind refused it.
type candidate struct {
	Kind  string `json:"kind"`
	Error string `json:"error"`
}

// unrecognisedError is inspect's error for input no kind accepts.
type unrecognisedError struct {
	FormatVersion int         `json:"format_version"`
	Message       string      `json:"error"`
	Encoding      string      `json:"encoding"`
	Length        int         `json:"length"`
	Candidates    []candidate `json:"candidates"`
}

func (e *unrecognisedError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if len(e.Candidates) > 0 {
		b.WriteString("; the closest kinds refused it:")
		for _, c := range e.Candidates {
			fmt.Fprintf(&b, "\n  %s: %s", c.Kind, c.Error)
		}
	}
	return b.String()
}

func runInspect(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("inspect", inspectUsage)
	format := fs.String("format", "text", "output `format`: text or json")
	if status, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return status
	}
	if *format != "text" && *format != "json" {
		return usageFail(fs, stderr, "--format %q: want text or json", *format)
	}
	if fs.NArg() > 1 {
		return usageFail(fs, stderr, "unexpected argument %q: inspect reads one FILE", fs.Arg(1))
	}
	in := stdin
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return fail(fs, stderr, err)
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, maxInspect+1))
	if err != nil {
		return fail(fs, stderr, err)
	}
	if len(data) > maxInspect {
		return fail(fs, stderr, errors.New("input larger than 64 MiB"))
	}
	r, err := inspect(data)
	if err != nil {
		var ue *unrecognisedError
		if *format == "json" && errors.As(err, &ue) {
			json.NewEncoder(stdout).Encode(ue)
		}
		return fail(fs, stderr, err)
	}
	if *format == "json" {
		if err := json.NewEncoder(stdout).Encode(r); err != nil {
			return fail(fs, stderr, err)
		}
		return exitOK
	}
	fmt.Fprintf(stdout, "%s (%d bytes, %s)\n", r.Kind, r.Length, r.Encoding)
	for _, f := range r.Fields {
		if raw, ok := f.Value.(json.RawMessage); ok {
			var buf bytes.Buffer
			json.Indent(&buf, raw, "  ", "  ")
			fmt.Fprintf(stdout, "  %s: %s\n", f.Name, buf.String())
			continue
		}
		fmt.Fprintf(stdout, "  %s: %v\n", f.Name, f.Value)
	}
	return exitOK
}

// decodeInput undoes hex or base64 text; anything else is taken as raw bytes.
func decodeInput(data []byte) ([]byte, string) {
	text := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, string(data))
	if text != "" && len(text)%2 == 0 {
		if b, err := hex.DecodeString(text); err == nil {
			return b, "hex"
		}
	}
	if text != "" {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(text); err == nil && len(b) > 0 {
				return b, "base64"
			}
		}
	}
	return data, "raw"
}

// inspectKind is one format inspect recognises. parse fills r (its Kind
// and fields) or says why b is not one; like says whether b looks like one
// (its marker, version byte or first protobuf tag), which makes the kind a
// candidate to report when nothing parses.
type inspectKind struct {
	name  string
	like  func(b []byte) bool
	parse func(r *report, b []byte) error
}

// inspectKinds are tried in order; the first that parses wins. The
// protobuf kinds come after the ones with a marker byte, most specific
// first: a DecryptionErrorMessage or a certificate, whose parsers refuse
// fields they do not know, before an Envelope, a Content and a
// MessageTransport.
var inspectKinds = []inspectKind{
	{"Curve25519 public key", func(b []byte) bool { return b[0] == 0x05 && len(b) < 64 }, inspectCurveKey},
	{"Kyber-1024 / ML-KEM-1024 public key", func(b []byte) bool { return (b[0] == 0x08 || b[0] == 0x0A) && len(b) > 1024 }, inspectKEMKey},
	{"PreKeySignalMessage", likeSessionMessage, inspectPreKeyMessage},
	{"SignalMessage", likeSessionMessage, inspectSignalMessage},
	{"SenderKeyMessage", likeSenderKey, inspectSenderKeyMessage},
	{"SenderKeyDistributionMessage", likeSenderKey, inspectSenderKeyDistribution},
	{"sealed sender v1", func(b []byte) bool { return b[0] == 0x11 }, inspectSealedV1},
	{"sealed sender v2", func(b []byte) bool { return b[0] == 0x22 || b[0] == 0x23 }, inspectSealedV2},
	{"PlaintextContent", func(b []byte) bool { return b[0] == envelope.PlaintextContentMarker }, inspectPlaintextContent},
	{"DecryptionErrorMessage", likePB(map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.VarintType, 3: protowire.VarintType}), inspectDecryptionError},
	{"SenderCertificate", likePB(map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType}), inspectSenderCertificate},
	{"ServerCertificate", likePB(map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType}), inspectServerCertificate},
	{"UnidentifiedSenderMessageContent", likePB(map[protowire.Number]protowire.Type{1: protowire.VarintType, 2: protowire.BytesType, 3: protowire.BytesType}), inspectSealedContent},
	{"Signal Envelope", likeProto(&signalpb.Envelope{}), inspectEnvelope},
	{"Signal Content (padded)", likeProto(&signalpb.Content{}), inspectContent},
	{"MessageTransport", likePB(map[protowire.Number]protowire.Type{1: protowire.BytesType, 2: protowire.BytesType}), inspectTransport},
}

// maxCandidates bounds the kinds an unrecognised input lists.
const maxCandidates = 4

// inspect tries each kind in turn; the first that parses completely wins.
// Otherwise the error is an *unrecognisedError with the kinds the input
// looks like and the exact error each parser returned.
func inspect(data []byte) (*report, error) {
	b, enc := decodeInput(data)
	if len(b) == 0 {
		return nil, &unrecognisedError{FormatVersion: inspectFormatVersion, Message: "empty input", Encoding: enc, Candidates: []candidate{}}
	}
	r := &report{FormatVersion: inspectFormatVersion, Encoding: enc, Length: len(b)}
	var cands []candidate
	for _, k := range inspectKinds {
		r.Fields, r.Kind = nil, ""
		err := k.parse(r, b)
		if err == nil {
			return r, nil
		}
		if k.like(b) && len(cands) < maxCandidates {
			cands = append(cands, candidate{k.name, err.Error()})
		}
	}
	msg := fmt.Sprintf("unrecognised %d bytes (%s) starting %x", len(b), enc, b[:min(len(b), 8)])
	if len(cands) == 0 {
		msg += fmt.Sprintf(": no kind starts with 0x%02x (0x05 key, 0x3N/0x4N message, 0x11/0x22/0x23 sealed sender, 0xC0 plaintext content, or a protobuf message)", b[0])
		cands = []candidate{}
	}
	return nil, &unrecognisedError{FormatVersion: inspectFormatVersion, Message: msg, Encoding: enc, Length: len(b), Candidates: cands}
}

// likeSessionMessage: libsignal's version byte, (message version << 4) |
// current version, for versions 3 and 4.
func likeSessionMessage(b []byte) bool { v := b[0] >> 4; return v == 3 || v == 4 }

// likeSenderKey: sender-key messages are version 3.
func likeSenderKey(b []byte) bool { return b[0]>>4 == 3 }

// likePB returns a like function for a protobuf message: b's first tag is
// one of fields, with its wire type.
func likePB(fields map[protowire.Number]protowire.Type) func([]byte) bool {
	return func(b []byte) bool {
		n, typ, l := protowire.ConsumeTag(b)
		want, ok := fields[n]
		return l > 0 && ok && want == typ
	}
}

// likeProto is likePB for the fields m's descriptor declares.
func likeProto(m proto.Message) func([]byte) bool {
	fields := map[protowire.Number]protowire.Type{}
	fds := m.ProtoReflect().Descriptor().Fields()
	for i := range fds.Len() {
		fd := fds.Get(i)
		typ := protowire.BytesType
		switch fd.Kind() {
		case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Int64Kind,
			protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind:
			typ = protowire.VarintType
		case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
			typ = protowire.Fixed32Type
		case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
			typ = protowire.Fixed64Type
		}
		fields[fd.Number()] = typ
	}
	return likePB(fields)
}

func inspectCurveKey(r *report, b []byte) error {
	if len(b) != 33 || b[0] != 0x05 {
		return fmt.Errorf("a Curve25519 public key is 33 bytes, 0x05 then u; got %d bytes starting 0x%02x", len(b), b[0])
	}
	r.Kind = "Curve25519 public key"
	r.add("type", "0x05 (DJB)")
	r.add("u", b[1:])
	return nil
}

func inspectKEMKey(r *report, b []byte) error {
	switch {
	case len(b) == 1569 && b[0] == 0x08:
		r.Kind = "Kyber-1024 public key"
		r.add("type", "0x08 (Kyber1024)")
		r.add("key_prefix", b[1:33])
		r.add("key_length", len(b)-1)
	case len(b) == 1569 && b[0] == 0x0A:
		r.Kind = "ML-KEM-1024 public key"
		r.add("type", "0x0A (ML-KEM-1024)")
		r.add("key_length", len(b)-1)
	default:
		return fmt.Errorf("a Kyber-1024 or ML-KEM-1024 public key is 1569 bytes, 0x08 or 0x0A then the key; got %d bytes starting 0x%02x", len(b), b[0])
	}
	return nil
}

func addSignalMessage(r *report, prefix string, m *session.SignalMessage) {
	r.add(prefix+"version", m.Version)
	r.add(prefix+"ratchet_key", m.RatchetKey.Bytes())
	r.add(prefix+"counter", m.Counter)
	r.add(prefix+"previous_counter", m.PreviousCounter)
	r.add(prefix+"ciphertext_length", len(m.Ciphertext))
	if len(m.PQRatchet) > 0 {
		r.add(prefix+"pq_ratchet_length", len(m.PQRatchet))
	}
	if len(m.Addresses) > 0 {
		r.add(prefix+"addresses", m.Addresses)
	}
	raw := m.Bytes()
	r.add(prefix+"mac", raw[len(raw)-session.MACSize:])
}

func inspectPreKeyMessage(r *report, b []byte) error {
	m, err := session.ParsePreKeySignalMessage(b)
	if err != nil {
		return err
	}
	r.Kind = "PreKeySignalMessage"
	r.add("version", m.Version)
	r.add("registration_id", m.RegistrationID)
	if m.HasPreKeyID {
		r.add("pre_key_id", m.PreKeyID)
	}
	r.add("signed_pre_key_id", m.SignedPreKeyID)
	if m.KyberCiphertext != nil {
		r.add("kyber_pre_key_id", m.KyberPreKeyID)
		r.add("kyber_ciphertext_length", len(m.KyberCiphertext))
	}
	r.add("base_key", m.BaseKey.Bytes())
	r.add("identity_key", m.IdentityKey.Bytes())
	addSignalMessage(r, "message.", m.Message)
	return nil
}

func inspectSignalMessage(r *report, b []byte) error {
	m, err := session.ParseSignalMessage(b)
	if err != nil {
		return err
	}
	r.Kind = "SignalMessage"
	addSignalMessage(r, "", m)
	return nil
}

// pbFields parses b as one flat protobuf message: each field number once,
// only varint and length-delimited values.
func pbFields(b []byte) (map[protowire.Number]any, error) {
	out := map[protowire.Number]any{}
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, fmt.Errorf("bad protobuf tag: %v", protowire.ParseError(l))
		}
		b = b[l:]
		switch typ {
		case protowire.VarintType:
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return nil, fmt.Errorf("field %d: %v", n, protowire.ParseError(l))
			}
			out[n], b = v, b[l:]
		case protowire.BytesType:
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil, fmt.Errorf("field %d: %v", n, protowire.ParseError(l))
			}
			out[n], b = v, b[l:]
		default:
			return nil, fmt.Errorf("field %d has wire type %d", n, typ)
		}
	}
	return out, nil
}

// shape checks that f has the required fields (a string of field numbers
// 1–9) among the allowed ones, with the right types: 'v' varint, 'b'
// bytes, or a decimal byte length.
func shape(f map[protowire.Number]any, required string, spec map[protowire.Number]string) error {
	for n, v := range f {
		want, ok := spec[n]
		if !ok {
			return fmt.Errorf("unexpected field %d", n)
		}
		switch want {
		case "v":
			if _, ok := v.(uint64); !ok {
				return fmt.Errorf("field %d is not a varint", n)
			}
		case "b":
			if _, ok := v.([]byte); !ok {
				return fmt.Errorf("field %d is not bytes", n)
			}
		default:
			bv, ok := v.([]byte)
			if !ok || fmt.Sprint(len(bv)) != want {
				return fmt.Errorf("field %d is not %s bytes", n, want)
			}
		}
	}
	for _, c := range required {
		if _, ok := f[protowire.Number(c-'0')]; !ok {
			return fmt.Errorf("missing field %c", c)
		}
	}
	return nil
}

// inspectSenderKeyMessage parses with package group, in either layout.
func inspectSenderKeyMessage(r *report, b []byte) error {
	m, err := group.ParseAnySenderKeyMessage(b)
	if err != nil {
		return err
	}
	if m.Layout == group.LayoutSignal {
		r.Kind = "SenderKeyMessage (libsignal)"
		r.add("version", int(b[0]>>4))
		r.add("distribution_id", m.DistributionID)
		r.add("chain_id", m.ChainID)
	} else {
		r.Kind = "SenderKeyMessage (WhatsApp layout)"
		r.add("version", int(b[0]>>4))
		r.add("key_id", m.ChainID)
	}
	r.add("iteration", m.Iteration)
	r.add("ciphertext_length", len(m.Ciphertext))
	r.add("signature", b[len(b)-group.SignatureSize:])
	return nil
}

// inspectSenderKeyDistribution parses with package group, in either layout.
func inspectSenderKeyDistribution(r *report, b []byte) error {
	m, err := group.ParseAnySenderKeyDistributionMessage(b)
	if err != nil {
		return err
	}
	if m.Layout == group.LayoutSignal {
		r.Kind = "SenderKeyDistributionMessage (libsignal)"
		r.add("version", int(b[0]>>4))
		r.add("distribution_id", m.DistributionID)
		r.add("chain_id", m.ChainID)
	} else {
		r.Kind = "SenderKeyDistributionMessage (WhatsApp layout)"
		r.add("version", int(b[0]>>4))
		r.add("key_id", m.ChainID)
	}
	r.add("iteration", m.Iteration)
	r.add("chain_key", m.ChainKey)
	r.add("signing_key", m.SigningKey.Bytes())
	return nil
}

func inspectSealedV1(r *report, b []byte) error {
	if len(b) < 2 || b[0] != 0x11 {
		return errors.New("sealed sender v1 starts with 0x11 and a protobuf body")
	}
	f, err := pbFields(b[1:])
	if err == nil {
		err = shape(f, "123", map[protowire.Number]string{1: "33", 2: "b", 3: "b"})
	}
	if err != nil {
		return fmt.Errorf("UnidentifiedSenderMessage: %w", err)
	}
	r.Kind = "sealed sender v1 (UnidentifiedSenderMessage)"
	r.add("version", "0x11")
	r.add("ephemeral_public", f[1])
	r.add("encrypted_static", f[2])
	r.add("encrypted_message_length", len(f[3].([]byte)))
	return nil
}

func inspectSealedV2(r *report, b []byte) error {
	switch b[0] {
	case 0x22:
		if len(b) < 1+32+16+32+16 {
			return fmt.Errorf("received sealed sender v2: %d bytes, want at least %d (C, AT, ephemeral key, body)", len(b), 1+32+16+32+16)
		}
		r.Kind = "sealed sender v2 (received)"
		r.add("version", "0x22")
		r.add("c", b[1:33])
		r.add("at", b[33:49])
		r.add("ephemeral_public", b[49:81])
		r.add("body_length", len(b)-81)
		return nil
	case 0x23:
		return inspectSealedV2Sent(r, b)
	}
	return errors.New("sealed sender v2 starts with 0x22 (received) or 0x23 (sent)")
}

func inspectSealedV2Sent(r *report, b []byte) error {
	r.Kind = "sealed sender v2 (sent, multi-recipient)"
	r.add("version", "0x23")
	rest := b[1:]
	count, l := protowire.ConsumeVarint(rest)
	if l < 0 || count > uint64(len(rest)) {
		return errors.New("sent sealed sender v2: bad recipient count")
	}
	rest = rest[l:]
	r.add("recipients", count)
	for i := range count {
		if len(rest) < 17 {
			return fmt.Errorf("sent sealed sender v2: recipient %d: truncated service ID", i)
		}
		id, err := envelope.ServiceIDString(rest[:17])
		if err != nil {
			return fmt.Errorf("sent sealed sender v2: recipient %d: %w", i, err)
		}
		rest = rest[17:]
		prefix := fmt.Sprintf("recipient[%d].", i)
		r.add(prefix+"service_id", id)
		if len(rest) >= 1 && rest[0] == 0 {
			r.add(prefix+"excluded", true)
			rest = rest[1:]
			continue
		}
		for d := 0; ; d++ {
			if len(rest) < 3 {
				return fmt.Errorf("sent sealed sender v2: recipient %d: truncated device list", i)
			}
			dev, v := rest[0], binary.BigEndian.Uint16(rest[1:3])
			rest = rest[3:]
			r.add(fmt.Sprintf("%sdevice[%d]", prefix, d), fmt.Sprintf("%d (registration id %d)", dev, v&0x3fff))
			if v&0x8000 == 0 {
				break
			}
		}
		if len(rest) < 48 {
			return fmt.Errorf("sent sealed sender v2: recipient %d: truncated C and AT", i)
		}
		r.add(prefix+"c", rest[:32])
		r.add(prefix+"at", rest[32:48])
		rest = rest[48:]
	}
	if len(rest) < 32+16 {
		return errors.New("sent sealed sender v2: truncated ephemeral key or body")
	}
	r.add("ephemeral_public", rest[:32])
	r.add("body_length", len(rest)-32)
	return nil
}

func protoJSON(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

// inspectPlaintextContent parses with envelope.ParsePlaintextContent, which
// applies libsignal's and Signal's rules: 0xC0, a Content holding only a
// DecryptionErrorMessage, 0x80 and zeros.
func inspectPlaintextContent(r *report, b []byte) error {
	m, err := envelope.ParsePlaintextContent(b)
	if err != nil {
		return err
	}
	r.Kind = "PlaintextContent"
	r.add("marker", "0xC0")
	addDecryptionError(r, "decryption_error_message.", m)
	return nil
}

func addDecryptionError(r *report, prefix string, m *session.DecryptionErrorMessage) {
	if !m.RatchetKey.IsZero() {
		r.add(prefix+"ratchet_key", m.RatchetKey.Bytes())
	}
	r.add(prefix+"timestamp", m.Timestamp)
	r.add(prefix+"timestamp_utc", time.UnixMilli(int64(min(m.Timestamp, 1<<62))).UTC().Format(time.RFC3339Nano))
	r.add(prefix+"device_id", m.DeviceID)
}

// inspectDecryptionError parses a bare DecryptionErrorMessage (what a
// PlaintextContent carries): session.ParseDecryptionErrorMessage, and no
// field but ratchet_key (1), timestamp (2) and device_id (3).
func inspectDecryptionError(r *report, b []byte) error {
	f, err := pbFields(b)
	if err == nil {
		err = shape(f, "2", map[protowire.Number]string{1: "33", 2: "v", 3: "v"})
	}
	if err != nil {
		return fmt.Errorf("DecryptionErrorMessage: %w", err)
	}
	m, err := session.ParseDecryptionErrorMessage(b)
	if err != nil {
		return err
	}
	r.Kind = "DecryptionErrorMessage"
	addDecryptionError(r, "", m)
	return nil
}

// noUnknown refuses a protobuf message with fields its schema does not
// declare (or a declared field with the wrong wire type).
func noUnknown(what string, m proto.Message) error {
	if u := m.ProtoReflect().GetUnknown(); len(u) > 0 {
		n, _, _ := protowire.ConsumeTag(u)
		return fmt.Errorf("%s: field %d is not in the schema (or has the wrong wire type)", what, n)
	}
	return nil
}

// checkCertificateShape checks the outer {certificate, signature} message
// strictly (sealedsender's parsers accept unknown fields, as libsignal
// does) and its inner certificate against inner.
func checkCertificateShape(what string, b []byte, inner proto.Message) error {
	var outer signalpb.SenderCertificate // same shape as ServerCertificate
	if err := proto.Unmarshal(b, &outer); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := noUnknown(what, &outer); err != nil {
		return err
	}
	if len(outer.Signature) != 64 {
		return fmt.Errorf("%s: signature of %d bytes, want 64 (XEdDSA)", what, len(outer.Signature))
	}
	if err := proto.Unmarshal(outer.Certificate, inner); err != nil {
		return fmt.Errorf("%s: certificate: %w", what, err)
	}
	return noUnknown(what+" certificate", inner)
}

func inspectServerCertificate(r *report, b []byte) error {
	c, err := sealedsender.ParseServerCertificate(b)
	if err != nil {
		return err
	}
	if err := checkCertificateShape("server certificate", b, &signalpb.ServerCertificate_Certificate{}); err != nil {
		return err
	}
	r.Kind = "ServerCertificate"
	addServerCertificate(r, "", c)
	return nil
}

func addServerCertificate(r *report, prefix string, c *sealedsender.ServerCertificate) {
	r.add(prefix+"id", c.ID())
	if c.ID() == sealedsender.RevokedServerCertificateID {
		r.add(prefix+"revoked", true)
	}
	r.add(prefix+"key", c.Key().Bytes())
	var pb signalpb.ServerCertificate
	if proto.Unmarshal(c.Bytes(), &pb) == nil {
		r.add(prefix+"signature", pb.Signature)
	}
	r.add(prefix+"signature_checked", false)
}

func inspectSenderCertificate(r *report, b []byte) error {
	c, err := sealedsender.ParseSenderCertificate(b)
	if err != nil {
		return err
	}
	if err := checkCertificateShape("sender certificate", b, &signalpb.SenderCertificate_Certificate{}); err != nil {
		return err
	}
	r.Kind = "SenderCertificate"
	addSenderCertificate(r, "", c)
	return nil
}

func addSenderCertificate(r *report, prefix string, c *sealedsender.SenderCertificate) {
	s := c.Sender()
	r.add(prefix+"sender_uuid", s.UUID)
	if s.E164 != "" {
		r.add(prefix+"sender_e164", s.E164)
	}
	r.add(prefix+"sender_device", s.DeviceID)
	r.add(prefix+"expires", c.ExpiresMillis())
	r.add(prefix+"expires_utc", s.Expires.UTC().Format(time.RFC3339Nano))
	r.add(prefix+"identity_key", s.IdentityKey.Bytes())
	if signer := c.Signer(); signer != nil {
		addServerCertificate(r, prefix+"signer.", signer)
	} else {
		r.add(prefix+"signer_id", c.SignerID())
	}
	var pb signalpb.SenderCertificate
	if proto.Unmarshal(c.Bytes(), &pb) == nil {
		r.add(prefix+"signature", pb.Signature)
	}
	r.add(prefix+"signature_checked", false)
}

// inspectSealedContent: the plaintext of a sealed-sender message, libsignal's
// UnidentifiedSenderMessageContent (sealedsender.ParseContent).
func inspectSealedContent(r *report, b []byte) error {
	c, err := sealedsender.ParseContent(b)
	if err != nil {
		return err
	}
	var pb signalpb.UnidentifiedSenderMessage_Message
	if err := proto.Unmarshal(b, &pb); err != nil {
		return err
	}
	if err := noUnknown("sealed sender content", &pb); err != nil {
		return err
	}
	r.Kind = "UnidentifiedSenderMessageContent (sealed sender, decrypted)"
	r.add("type", c.Type())
	r.add("content_hint", uint32(c.ContentHint()))
	if g := c.GroupID(); g != nil {
		r.add("group_id", g)
	}
	addSenderCertificate(r, "sender_certificate.", c.SenderCertificate())
	contents := c.Contents()
	r.add("contents_length", len(contents))
	sub := &report{}
	var ok bool
	switch c.Type() {
	case session.TypePreKey:
		ok = inspectPreKeyMessage(sub, contents) == nil
	case session.TypeSignal:
		ok = inspectSignalMessage(sub, contents) == nil
	case session.TypeSenderKey:
		ok = inspectSenderKeyMessage(sub, contents) == nil
	case session.TypePlaintext:
		ok = inspectPlaintextContent(sub, contents) == nil
	}
	if ok {
		r.Fields = append(r.Fields, prefixed("contents.", sub.Fields)...)
	}
	return nil
}

func inspectEnvelope(r *report, b []byte) error {
	var e signalpb.Envelope
	if err := proto.Unmarshal(b, &e); err != nil {
		return fmt.Errorf("envelope: %w", err)
	}
	if err := noUnknown("envelope", &e); err != nil {
		return err
	}
	if e.Type == nil || (e.Content == nil && e.ClientTimestamp == nil) {
		return errors.New("envelope: no type, or neither content nor timestamp")
	}
	r.Kind = "Signal Envelope"
	r.add("envelope", protoJSON(&e))
	if typ, err := envelope.CiphertextType(envelope.EnvelopeType(e.GetType())); err == nil && e.Content != nil {
		sub := &report{}
		var err error
		switch typ {
		case session.TypePreKey:
			err = inspectPreKeyMessage(sub, e.Content)
		case session.TypeSignal:
			err = inspectSignalMessage(sub, e.Content)
		case session.TypePlaintext:
			err = inspectPlaintextContent(sub, e.Content)
		}
		if err == nil {
			r.Fields = append(r.Fields, prefixed("content.", sub.Fields)...)
		} else {
			r.add("content.error", err.Error())
		}
	}
	return nil
}

func prefixed(p string, fs []field) []field {
	out := make([]field, len(fs))
	for i, f := range fs {
		out[i] = field{p + f.Name, f.Type, f.Value}
	}
	return out
}

// parseContentPB unpads and parses a Content with the generated type, which
// prints every field the schema declares (envelope.ParseContent keeps only
// the ones Interlock models).
func parseContentPB(padded []byte) (*signalpb.Content, error) {
	b, err := envelope.UnpadSignal(padded)
	if err != nil {
		return nil, err
	}
	c := new(signalpb.Content)
	if err := proto.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	return c, nil
}

func inspectContent(r *report, b []byte) error {
	c, err := parseContentPB(b)
	if err != nil {
		return err
	}
	if err := noUnknown("content", c); err != nil {
		return err
	}
	if c.Content == nil && c.SenderKeyDistributionMessage == nil {
		return errors.New("content: empty")
	}
	r.Kind = "Signal Content (padded)"
	r.add("content", protoJSON(c))
	if dem := c.GetDecryptionErrorMessage(); dem != nil {
		if m, err := session.ParseDecryptionErrorMessage(dem); err == nil {
			addDecryptionError(r, "decryption_error_message.", m)
		}
	}
	if skdm := c.GetSenderKeyDistributionMessage(); skdm != nil {
		sub := &report{}
		if inspectSenderKeyDistribution(sub, skdm) == nil {
			r.Fields = append(r.Fields, prefixed("sender_key_distribution_message.", sub.Fields)...)
		}
	}
	return nil
}

func inspectTransport(r *report, b []byte) error {
	f, err := pbFields(b)
	if err == nil {
		err = shape(f, "", map[protowire.Number]string{1: "b", 2: "b"})
	}
	if err == nil && len(f) == 0 {
		err = errors.New("empty")
	}
	if err != nil {
		return fmt.Errorf("MessageTransport: %w", err)
	}
	t, err := envelope.ParseMessageTransport(b)
	if err != nil {
		return err
	}
	r.Kind = "MessageTransport (Messenger/Instagram)"
	r.add("application_payload", t.ApplicationPayload)
	r.add("payload_version", t.PayloadVersion)
	r.add("future_proof", t.FutureProof)
	r.add("padding", t.Padding)
	if t.DSMDestination != "" || t.DSMPhash != "" {
		r.add("dsm.destination_jid", t.DSMDestination)
		r.add("dsm.phash", t.DSMPhash)
	}
	if t.SKDM != nil || t.SKDMGroupID != "" {
		r.add("skdm.group_id", t.SKDMGroupID)
		r.add("skdm.axolotl_sender_key_distribution_message", t.SKDM)
	}
	for _, x := range []struct {
		name string
		v    []byte
	}{{"device_list_metadata", t.DeviceListMetadata}, {"icdc", t.ICDC}, {"backup_directive", t.BackupDirective}} {
		if x.v != nil {
			r.add(x.name, x.v)
		}
	}
	return nil
}
