package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

const inspectUsage = `usage: interlock inspect [--format text|json] [FILE]

Reads hex, base64 or raw bytes from FILE (or stdin) and prints every field of
what it finds: SignalMessage, PreKeySignalMessage, SenderKeyMessage,
SenderKeyDistributionMessage, sealed sender v1 (0x11) and v2 (0x22, 0x23),
PlaintextContent (0xC0), a Signal Envelope or padded Content, a Messenger
MessageTransport, a 33-byte Curve25519 key or a 1569-byte Kyber-1024 key.
`

// maxInspect bounds what inspect reads.
const maxInspect = 64 << 20

// report is what inspect found: a kind and its fields in order.
type report struct {
	Kind     string  `json:"kind"`
	Encoding string  `json:"encoding"`
	Length   int     `json:"length"`
	Fields   []field `json:"fields"`
}

type field struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

func (r *report) add(name string, v any) {
	if b, ok := v.([]byte); ok {
		v = hex.EncodeToString(b)
	}
	r.Fields = append(r.Fields, field{name, v})
}

func runInspect(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.String("format", "text", "text or json")
	if err := fs.Parse(args); err != nil || fs.NArg() > 1 || (*format != "text" && *format != "json") {
		fmt.Fprint(stderr, inspectUsage)
		return 2
	}
	in := stdin
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			fmt.Fprintln(stderr, "interlock inspect:", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(io.LimitReader(in, maxInspect+1))
	if err != nil {
		fmt.Fprintln(stderr, "interlock inspect:", err)
		return 1
	}
	if len(data) > maxInspect {
		fmt.Fprintln(stderr, "interlock inspect: input larger than 64 MiB")
		return 1
	}
	r, err := inspect(data)
	if err != nil {
		fmt.Fprintln(stderr, "interlock inspect:", err)
		return 1
	}
	if *format == "json" {
		json.NewEncoder(stdout).Encode(r)
		return 0
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
	return 0
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

// inspect tries each format in turn; the first that parses completely wins.
func inspect(data []byte) (*report, error) {
	b, enc := decodeInput(data)
	if len(b) == 0 {
		return nil, errors.New("empty input")
	}
	r := &report{Encoding: enc, Length: len(b)}
	for _, try := range []func(*report, []byte) bool{
		inspectKey, inspectPreKeyMessage, inspectSignalMessage, inspectSenderKeyMessage,
		inspectSenderKeyDistribution, inspectSealedV1, inspectSealedV2, inspectPlaintextContent,
		inspectEnvelope, inspectContent, inspectTransport,
	} {
		r.Fields = nil
		if try(r, b) {
			return r, nil
		}
	}
	return nil, fmt.Errorf("unrecognised %d bytes (%s) starting %x", len(b), enc, b[:min(len(b), 8)])
}

func inspectKey(r *report, b []byte) bool {
	switch {
	case len(b) == 33 && b[0] == 0x05:
		r.Kind = "Curve25519 public key"
		r.add("type", "0x05 (DJB)")
		r.add("u", b[1:])
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
		return false
	}
	return true
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

func inspectPreKeyMessage(r *report, b []byte) bool {
	m, err := session.ParsePreKeySignalMessage(b)
	if err != nil {
		return false
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
	return true
}

func inspectSignalMessage(r *report, b []byte) bool {
	m, err := session.ParseSignalMessage(b)
	if err != nil {
		return false
	}
	r.Kind = "SignalMessage"
	addSignalMessage(r, "", m)
	return true
}

// pbFields parses b as one flat protobuf message: each field number once,
// only varint and length-delimited values.
func pbFields(b []byte) (map[protowire.Number]any, bool) {
	out := map[protowire.Number]any{}
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, false
		}
		b = b[l:]
		switch typ {
		case protowire.VarintType:
			v, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return nil, false
			}
			out[n], b = v, b[l:]
		case protowire.BytesType:
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil, false
			}
			out[n], b = v, b[l:]
		default:
			return nil, false
		}
	}
	return out, true
}

// shape checks that f has exactly the wanted fields among the allowed ones
// with the right types: 'v' varint, 'b' bytes, or a digit string for a
// fixed byte length.
func shape(f map[protowire.Number]any, required string, spec map[protowire.Number]string) bool {
	for n, v := range f {
		want, ok := spec[n]
		if !ok {
			return false
		}
		switch want {
		case "v":
			if _, ok := v.(uint64); !ok {
				return false
			}
		case "b":
			if _, ok := v.([]byte); !ok {
				return false
			}
		default:
			bv, ok := v.([]byte)
			if !ok || fmt.Sprint(len(bv)) != want {
				return false
			}
		}
	}
	for _, c := range required {
		if _, ok := f[protowire.Number(c-'0')]; !ok {
			return false
		}
	}
	return true
}

func inspectSenderKeyMessage(r *report, b []byte) bool {
	if len(b) < 1+64 || b[0]>>4 != 3 {
		return false
	}
	f, ok := pbFields(b[1 : len(b)-64])
	if !ok {
		return false
	}
	sig := b[len(b)-64:]
	switch {
	case shape(f, "124", map[protowire.Number]string{1: "16", 2: "v", 3: "v", 4: "b"}):
		r.Kind = "SenderKeyMessage (libsignal)"
		r.add("version", int(b[0]>>4))
		r.add("distribution_id", f[1])
		r.add("chain_id", f[2])
		r.add("iteration", valueOr(f[3], uint64(0)))
		r.add("ciphertext_length", len(f[4].([]byte)))
	case shape(f, "3", map[protowire.Number]string{1: "v", 2: "v", 3: "b"}):
		r.Kind = "SenderKeyMessage (WhatsApp layout)"
		r.add("version", int(b[0]>>4))
		r.add("key_id", valueOr(f[1], uint64(0)))
		r.add("iteration", valueOr(f[2], uint64(0)))
		r.add("ciphertext_length", len(f[3].([]byte)))
	default:
		return false
	}
	r.add("signature", sig)
	return true
}

func valueOr(v, def any) any {
	if v == nil {
		return def
	}
	return v
}

func inspectSenderKeyDistribution(r *report, b []byte) bool {
	if len(b) < 2 || b[0]>>4 != 3 {
		return false
	}
	f, ok := pbFields(b[1:])
	if !ok {
		return false
	}
	switch {
	case shape(f, "1245", map[protowire.Number]string{1: "16", 2: "v", 3: "v", 4: "32", 5: "33"}):
		r.Kind = "SenderKeyDistributionMessage (libsignal)"
		r.add("version", int(b[0]>>4))
		r.add("distribution_id", f[1])
		r.add("chain_id", f[2])
		r.add("iteration", valueOr(f[3], uint64(0)))
		r.add("chain_key", f[4])
		r.add("signing_key", f[5])
	case shape(f, "34", map[protowire.Number]string{1: "v", 2: "v", 3: "32", 4: "33"}):
		r.Kind = "SenderKeyDistributionMessage (WhatsApp layout)"
		r.add("version", int(b[0]>>4))
		r.add("key_id", valueOr(f[1], uint64(0)))
		r.add("iteration", valueOr(f[2], uint64(0)))
		r.add("chain_key", f[3])
		r.add("signing_key", f[4])
	default:
		return false
	}
	return true
}

func inspectSealedV1(r *report, b []byte) bool {
	if len(b) < 2 || b[0] != 0x11 {
		return false
	}
	f, ok := pbFields(b[1:])
	if !ok || !shape(f, "123", map[protowire.Number]string{1: "33", 2: "b", 3: "b"}) {
		return false
	}
	r.Kind = "sealed sender v1 (UnidentifiedSenderMessage)"
	r.add("version", "0x11")
	r.add("ephemeral_public", f[1])
	r.add("encrypted_static", f[2])
	r.add("encrypted_message_length", len(f[3].([]byte)))
	return true
}

func inspectSealedV2(r *report, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch b[0] {
	case 0x22:
		if len(b) < 1+32+16+32+16 {
			return false
		}
		r.Kind = "sealed sender v2 (received)"
		r.add("version", "0x22")
		r.add("c", b[1:33])
		r.add("at", b[33:49])
		r.add("ephemeral_public", b[49:81])
		r.add("body_length", len(b)-81)
		return true
	case 0x23:
		return inspectSealedV2Sent(r, b)
	}
	return false
}

func inspectSealedV2Sent(r *report, b []byte) bool {
	r.Kind = "sealed sender v2 (sent, multi-recipient)"
	r.add("version", "0x23")
	rest := b[1:]
	count, l := protowire.ConsumeVarint(rest)
	if l < 0 || count > uint64(len(rest)) {
		return false
	}
	rest = rest[l:]
	r.add("recipients", count)
	for i := range count {
		if len(rest) < 17 {
			return false
		}
		id, err := envelope.ServiceIDString(rest[:17])
		if err != nil {
			return false
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
				return false
			}
			dev, v := rest[0], binary.BigEndian.Uint16(rest[1:3])
			rest = rest[3:]
			r.add(fmt.Sprintf("%sdevice[%d]", prefix, d), fmt.Sprintf("%d (registration id %d)", dev, v&0x3fff))
			if v&0x8000 == 0 {
				break
			}
		}
		if len(rest) < 48 {
			return false
		}
		r.add(prefix+"c", rest[:32])
		r.add(prefix+"at", rest[32:48])
		rest = rest[48:]
	}
	if len(rest) < 32+16 {
		return false
	}
	r.add("ephemeral_public", rest[:32])
	r.add("body_length", len(rest)-32)
	return true
}

func protoJSON(m proto.Message) json.RawMessage {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return json.RawMessage(`null`)
	}
	return b
}

func inspectPlaintextContent(r *report, b []byte) bool {
	if b[0] != envelope.PlaintextContentMarker {
		return false
	}
	c, err := parseContentPB(b[1:])
	if err != nil {
		return false
	}
	r.Kind = "PlaintextContent"
	r.add("marker", "0xC0")
	addContent(r, c)
	return true
}

func addContent(r *report, c *signalpb.Content) {
	r.add("content", protoJSON(c))
	if dem := c.GetDecryptionErrorMessage(); dem != nil {
		var m signalpb.DecryptionErrorMessage
		if proto.Unmarshal(dem, &m) == nil {
			r.add("decryption_error_message", protoJSON(&m))
		}
	}
}

// known reports whether every field of b is declared in m's descriptor.
func known(m proto.Message) bool {
	return len(m.ProtoReflect().GetUnknown()) == 0
}

func inspectEnvelope(r *report, b []byte) bool {
	var e signalpb.Envelope
	if proto.Unmarshal(b, &e) != nil || !known(&e) || e.Type == nil || (e.Content == nil && e.ClientTimestamp == nil) {
		return false
	}
	r.Kind = "Signal Envelope"
	r.add("envelope", protoJSON(&e))
	if typ, err := envelope.CiphertextType(envelope.EnvelopeType(e.GetType())); err == nil && e.Content != nil {
		sub := &report{}
		switch typ {
		case session.TypePreKey:
			if inspectPreKeyMessage(sub, e.Content) {
				r.Fields = append(r.Fields, prefixed("content.", sub.Fields)...)
			}
		case session.TypeSignal:
			if inspectSignalMessage(sub, e.Content) {
				r.Fields = append(r.Fields, prefixed("content.", sub.Fields)...)
			}
		case session.TypePlaintext:
			if inspectPlaintextContent(sub, e.Content) {
				r.Fields = append(r.Fields, prefixed("content.", sub.Fields)...)
			}
		}
	}
	return true
}

func prefixed(p string, fs []field) []field {
	out := make([]field, len(fs))
	for i, f := range fs {
		out[i] = field{p + f.Name, f.Value}
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
		return nil, err
	}
	return c, nil
}

func inspectContent(r *report, b []byte) bool {
	c, err := parseContentPB(b)
	if err != nil || !known(c) || (c.Content == nil && c.SenderKeyDistributionMessage == nil) {
		return false
	}
	r.Kind = "Signal Content (padded)"
	addContent(r, c)
	return true
}

func inspectTransport(r *report, b []byte) bool {
	f, ok := pbFields(b)
	if !ok || !shape(f, "", map[protowire.Number]string{1: "b", 2: "b"}) || len(f) == 0 {
		return false
	}
	t, err := envelope.ParseMessageTransport(b)
	if err != nil {
		return false
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
	return true
}
