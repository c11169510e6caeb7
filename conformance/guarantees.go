package conformance

// Guarantee is one security guarantee the report speaks to.
type Guarantee struct {
	ID   string
	Name string
	// Spec sections the guarantee traces to; Code the packages that
	// implement it.
	Spec []string
	Code []string
	// Observability says what a black-box test through the peer protocol
	// can and cannot show, and what covers the rest.
	Observability string
	// NotImplemented, when set, says why the guarantee is not offered yet.
	NotImplemented string
	// Hardening marks a guarantee beyond what libsignal itself offers
	// (TierHardening): its checks run and are reported like any other, and
	// a failure names the check, but it does not decide the verdict, which
	// speaks to Signal equivalence (TierSignal) — a report whose reference
	// fails it could not tell anyone's implementation from libsignal.
	Hardening bool
}

// Guarantee tiers (GuaranteeResult.Tier).
const (
	// TierSignal guarantees are what libsignal offers: they decide the
	// verdict.
	TierSignal = "signal"
	// TierHardening guarantees go beyond libsignal: reported, counted in
	// Summary.Hardening, never in the verdict.
	TierHardening = "hardening"
)

// Guarantees lists the guarantees in report order.
var Guarantees = []Guarantee{
	{ID: "confidentiality", Name: "Confidentiality",
		Spec:          []string{"X3DH §3.3–3.4", "PQXDH §3.3–3.4", "Double Ratchet §3.4–3.5"},
		Code:          []string{"prekey/agreement.go", "ratchet/", "session/cipher.go", "internal/aescbc"},
		Observability: "live: only the intended peer decrypts, over every delivery pattern; that nobody else can is not observable as such: the corpus checks the key schedule and every message's bytes."},
	{ID: "integrity", Name: "Integrity and authentication",
		Spec:          []string{"Double Ratchet §3.5", "X3DH §4.1", "XEdDSA §3.3", "docs/wire-formats.md#signalmessage"},
		Code:          []string{"session/message.go (verifyMAC)", "internal/curve/xeddsa.go", "group/", "sealedsender/", "media/"},
		Observability: "fully observable: every byte region of every message is tampered with and must be rejected; only the registration_id, which the protocol does not authenticate, may be ignored."},
	{ID: "forward-secrecy", Name: "Forward secrecy",
		Spec:          []string{"Double Ratchet §2.2, §6.1", "X3DH §4.6"},
		Code:          []string{"ratchet/chain.go", "ratchet/state.go"},
		Observability: "not observable through the peer protocol (keys are never exposed): live checks show used message keys are gone and ratchet keys rotate; the corpus checks the one-way chain key derivation message by message."},
	{ID: "post-compromise-security", Name: "Post-compromise security",
		Spec:          []string{"Double Ratchet §2.3, §6.2"},
		Code:          []string{"ratchet/state.go"},
		Observability: "not observable through the peer protocol: live checks show a fresh DH ratchet key on every turn; the corpus reproduces every DH ratchet step's bytes."},
	{ID: "pq-key-agreement", Name: "Post-quantum key agreement (PQXDH)",
		Spec:          []string{"PQXDH §3.3–3.4", "PQXDH §4.7–4.8"},
		Code:          []string{"prekey/agreement.go", "internal/kem"},
		Observability: "observable: sessions from Kyber bundles are message version 4; the corpus checks Kyber-1024 decapsulation and PQXDH's secrets."},
	{ID: "pq-ratchet", Name: "Post-quantum ratchet (SPQR)",
		Spec:          []string{"Double Ratchet rev. 3 §5 (triple ratchet)", "docs/wire-formats.md#spqr"},
		Code:          []string{"session/cipher.go (SPQRPolicy)", "ratchet/"},
		Observability: "corpus: version 4 transcripts carry pq_ratchet and every reply is reproduced byte for byte, libsignal 0.90's recorded SPQR sessions included; live (spqr/observed): whenever either side sends pq_ratchet (SignalMessage field 5), both must send it in every version 4 message, each side's SPQR epoch must advance, and a flipped pq_ratchet byte must be rejected; claimed but not observed fails, not claimed is not run. The secrecy of SPQR's keys is not observable."},
	{ID: "replay-protection", Name: "Replay and duplicate protection",
		Spec:          []string{"Double Ratchet §3.5", "X3DH §4.2"},
		Code:          []string{"ratchet/state.go", "session/cipher.go", "group/cipher.go"},
		Observability: "observable: re-delivered messages, replayed PreKeySignalMessages and duplicate group messages must be rejected (live, and in the corpus for 1:1 transcripts and libsignal's, go.mau.fi's and Interlock's sender-key messages)."},
	{ID: "identity-binding", Name: "Identity binding and key-change detection",
		Spec:          []string{"X3DH §4.8", "docs/wire-formats.md#safety-numbers"},
		Code:          []string{"session/cipher.go (checkAndSaveIdentity)", "fingerprint/"},
		Observability: "observable: a changed identity gives untrusted_identity until trusted; safety numbers agree across implementations and change with the key."},
	{ID: "sender-anonymity", Name: "Sender anonymity (sealed sender)",
		Spec:          []string{"docs/wire-formats.md#sealed-sender", "Sealed Sender (signal.org/blog/sealed-sender)"},
		Code:          []string{"sealedsender/"},
		Observability: "partly observable: the recipient learns the sender only from inside the envelope and certificates are checked (corpus: libsignal's v1 and v2 messages open to the recorded sender and content, the server's v2 split is byte for byte libsignal's; tampered messages, wrong or revoked trust chains, expired certificates, other recipients and excluded devices are refused). That the server cannot learn the sender is a property of the format, not observable as such."},
	{ID: "safe-failure", Name: "Safe failure (no state change on bad input)",
		Spec:          []string{"docs/peer-protocol.md#what-drivers-check", "Double Ratchet §3.5"},
		Code:          []string{"session/cipher.go (decrypt on a copy)", "session/record.go"},
		Observability: "observable: after every rejected message the conversation continues as if it had never arrived."},
	{ID: "bounded-work", Name: "Bounded work on forged messages (hardening beyond libsignal)", Hardening: true,
		Spec:          []string{"docs/peer-protocol.md#adversary-mode", "libsignal session_cipher_legacy.rs: decrypt_message_with_record (v0.101.0) tries every archived state"},
		Code:          []string{"session/cipher.go (candidate states chosen by ratchet key before any derivation)", "ratchet/limits.go"},
		Observability: "live (adversarial/forged-amplification): the tool times the peer's refusal of forged messages on an archived chain 24,900 keys ahead against its answers to honest messages, interleaved, medians compared (fails above 8× and 4 ms); timed from outside, nothing self-reported. libsignal 0.90 and 0.103 fail it (they walk every archived state up to 25,000 keys each): a hardening guarantee, reported but not part of the Signal-equivalence verdict."},
	{ID: "interop-libsignal", Name: "Interop with libsignal",
		Spec: []string{"docs/peer-protocol.md"}, Code: []string{"interop/libsignal", "testdata/vectors/libsignal-*.json"},
		Observability: "observable: libsignal's recorded vectors (pinned by the corpus digest), and live scenarios against a libsignal the tool verified and started itself (--reference libsignal=DIR: package name, version and content digest in the report). A peer's self-description earns nothing."},
	{ID: "interop-whatsapp", Name: "Interop with WhatsApp-flavour peers",
		Spec: []string{"docs/peer-protocol.md#flavours"}, Code: []string{"interop/mau", "testdata/vectors/mau-*.json"},
		Observability: "observable: go.mau.fi/libsignal's recorded vectors (pinned by the corpus digest), and live scenarios against a mau-peer the tool verified (--reference mau=BINARY: Go build information and binary digest in the report). Neither the whatsapp flavour nor a peer's self-description earns anything."},
}

// corpusTags says which guarantees each corpus check demonstrates, and the
// spec sections it traces to.
var corpusTags = map[string]struct {
	guarantees []string
	spec       []string
}{
	"corpus/xeddsa":      {[]string{"integrity", "identity-binding"}, []string{"XEdDSA §3.3"}},
	"corpus/kem":         {[]string{"pq-key-agreement"}, []string{"PQXDH §2.2"}},
	"corpus/agreement":   {[]string{"confidentiality", "pq-key-agreement"}, []string{"X3DH §3.3–3.4", "PQXDH §3.3–3.4"}},
	"corpus/ratchet":     {[]string{"confidentiality", "forward-secrecy", "post-compromise-security"}, []string{"Double Ratchet §3.3–3.5"}},
	"corpus/negative":    {[]string{"integrity", "replay-protection", "safe-failure"}, []string{"Double Ratchet §3.5", "X3DH §4.2"}},
	"corpus/fingerprint": {[]string{"identity-binding"}, []string{"docs/wire-formats.md#safety-numbers"}},
	"corpus/sender-key": {[]string{"confidentiality", "integrity"},
		[]string{"WhatsApp Security Whitepaper: Group Messages", "docs/wire-formats.md#sender-keys"}},
	"corpus/sender-key/negative": {[]string{"integrity", "replay-protection", "safe-failure"},
		[]string{"docs/wire-formats.md#sender-keys (SenderKeyMessage signature)", "libsignal group_cipher: group_decrypt"}},
	"corpus/sealed-sender": {[]string{"sender-anonymity", "confidentiality"},
		[]string{"docs/wire-formats.md#sealed-sender", "Sealed Sender (signal.org/blog/sealed-sender)"}},
	"corpus/sealed-sender/negative": {[]string{"sender-anonymity", "integrity"},
		[]string{"docs/wire-formats.md#sealed-sender (certificate validation, MAC, v2 authentication tag)"}},
	"corpus/media": {[]string{"confidentiality", "integrity"},
		[]string{"media/doc.go: Signal attachments (libsignal incremental_mac.rs)", "media/doc.go: WhatsApp media"}},
	"corpus/media/negative": {[]string{"integrity", "safe-failure"},
		[]string{"media/doc.go: Security considerations (MAC, digest and padding checked before output)"}},
	"corpus/padding":          {[]string{"confidentiality"}, []string{"docs/wire-formats.md#envelopes-and-padding"}},
	"corpus/padding/negative": {[]string{"safe-failure"}, []string{"docs/wire-formats.md#envelopes-and-padding"}},
	// Issue #20 (interlock-adversarial.json): a malicious server's
	// relabelled, re-encoded and recombined messages.
	"corpus/adversarial/replay": {[]string{"replay-protection", "safe-failure"},
		[]string{"X3DH §4.2", "PQXDH §4.2", "libsignal kyber_pre_key_store: mark_kyber_pre_key_used", "issue #20 items 2, 3"}},
	"corpus/adversarial/identity": {[]string{"identity-binding", "safe-failure"},
		[]string{"X3DH §3.3, §4.8", "libsignal protocol.rs: SignalMessage addresses (≥ 0.91)", "issue #20 items 1, 11"}},
	"corpus/adversarial/integrity": {[]string{"integrity", "safe-failure"},
		[]string{"Double Ratchet §3.5", "RFC 7748 §5 (canonical u)", "libsignal protocol.rs: PlaintextContent", "issue #20 items 3, 4"}},
	"corpus/adversarial/sealed-sender": {[]string{"sender-anonymity", "integrity"},
		[]string{"docs/wire-formats.md#certificates", "issue #20 item 7"}},
}
