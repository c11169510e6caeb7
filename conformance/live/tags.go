package live

import "bytes"

// Spec sections the scenarios trace to.
const (
	specX3DHSend     = "X3DH §3.3"
	specX3DHReceive  = "X3DH §3.4"
	specX3DHAuth     = "X3DH §4.1"
	specX3DHReplay   = "X3DH §4.2"
	specX3DHIdentity = "X3DH §4.8"
	specPQXDHSend    = "PQXDH §3.3"
	specPQXDHReceive = "PQXDH §3.4"
	specDREncrypt    = "Double Ratchet §3.4"
	specDRDecrypt    = "Double Ratchet §3.5"
	specDRDH         = "Double Ratchet §2.3"
	specDROutOfOrder = "Double Ratchet §2.6"
	specDRDeletion   = "Double Ratchet §6.1"
	specDRRecovery   = "Double Ratchet §6.2"
	specDRSkipped    = "Double Ratchet §6.4"
	specSesame       = "Sesame §3"
	specSealed       = "docs/wire-formats.md#sealed-sender"
	specFingerprint  = "docs/wire-formats.md#safety-numbers"
	specSenderKeys   = "docs/wire-formats.md#sender-keys"
	specWire         = "docs/wire-formats.md#signalmessage"
	specPeer         = "docs/peer-protocol.md#what-drivers-check"
	// libsignal ≥ 0.91, rust/protocol/src/protocol.rs, SignalMessage::addresses.
	specAddressBinding = "libsignal protocol.rs: address binding"
)

type tag struct {
	guarantees []string
	spec       []string
}

// scenarioTags says which guarantees each scenario demonstrates. The IDs are
// those of package conformance's report.
var scenarioTags = map[string]tag{
	"setup/one-time+kyber": {[]string{"confidentiality", "pq-key-agreement"}, []string{specPQXDHSend, specPQXDHReceive}},
	"setup/one-time":       {[]string{"confidentiality"}, []string{specX3DHSend, specX3DHReceive}},
	"setup/kyber":          {[]string{"confidentiality", "pq-key-agreement"}, []string{specPQXDHSend, specPQXDHReceive}},
	"setup/signed-only":    {[]string{"confidentiality"}, []string{specX3DHSend, specX3DHReceive}},
	"conversation/long":    {[]string{"confidentiality"}, []string{specDREncrypt, specDRDecrypt}},
	"delivery/reordered":   {[]string{"confidentiality"}, []string{specDROutOfOrder, specDRSkipped}},
	"delivery/dropped":     {[]string{"confidentiality"}, []string{specDROutOfOrder}},
	"delivery/duplicate":   {[]string{"replay-protection", "forward-secrecy"}, []string{specDRDeletion, specDRSkipped}},
	"tamper/signal-message": {[]string{"integrity", "safe-failure"},
		[]string{specDRDecrypt, specWire}},
	"tamper/prekey-message": {[]string{"integrity", "safe-failure"},
		[]string{specX3DHAuth, specPQXDHReceive, specWire}},
	"truncation":              {[]string{"integrity", "safe-failure"}, []string{specDRDecrypt, specWire}},
	"replay/prekey-message":   {[]string{"replay-protection"}, []string{specX3DHReplay}},
	"identity/change":         {[]string{"identity-binding"}, []string{specX3DHIdentity, specSesame}},
	"simultaneous-initiation": {[]string{"confidentiality", "safe-failure"}, []string{specSesame}},
	"simultaneous-initiation/crossing": {[]string{"confidentiality", "safe-failure"},
		[]string{specSesame}},
	"forward-jump/1000":    {[]string{"safe-failure"}, []string{specDRSkipped}},
	"forward-jump/2100":    {[]string{"safe-failure"}, []string{specDRSkipped}},
	"forward-jump/25002":   {[]string{"safe-failure"}, []string{specDRSkipped}},
	"restart":              {[]string{"safe-failure"}, []string{specPeer}},
	"garbage":              {[]string{"integrity", "safe-failure"}, []string{specWire}},
	"group":                {[]string{"integrity", "replay-protection"}, []string{specSenderKeys}},
	"sealed-sender":        {[]string{"sender-anonymity", "integrity"}, []string{specSealed}},
	"fingerprint":          {[]string{"identity-binding"}, []string{specFingerprint}},
	"ratchet/key-rotation": {[]string{"post-compromise-security", "forward-secrecy"}, []string{specDRDH, specDRRecovery}},
	// The malicious-server set (issue #20).
	"malicious/ghost-device":       {[]string{"identity-binding"}, []string{specX3DHIdentity, specSesame}},
	"malicious/relabelled-sender":  {[]string{"identity-binding", "integrity"}, []string{specAddressBinding}},
	"malicious/minted-certificate": {[]string{"sender-anonymity", "identity-binding"}, []string{specSealed}},
	"malicious/stripped-bundle":    {[]string{"pq-key-agreement"}, []string{specPQXDHSend}},
	// The adversarial set (issue #21): classes the report's mutation test
	// found no other scenario reaching.
	"adversarial/forged-bundle":        {[]string{"integrity", "identity-binding"}, []string{specX3DHSend, specPQXDHSend}},
	"adversarial/low-order-bundle":     {[]string{"integrity"}, []string{specX3DHSend, "RFC 7748 §6.1"}},
	"adversarial/last-resort-replay":   {[]string{"replay-protection"}, []string{specX3DHReplay, "libsignal kyber_pre_key_store.rs: mark_kyber_pre_key_used"}},
	"adversarial/forged-amplification": {[]string{"bounded-work"}, []string{specDRSkipped}},
}

func tagged(s []Scenario) []Scenario {
	for i := range s {
		t := scenarioTags[s[i].ID]
		s[i].Guarantees, s[i].Spec = t.guarantees, t.spec
	}
	return s
}

// ratchetKey returns the ratchet_key field of a SignalMessage.
func ratchetKey(msg []byte) ([]byte, bool) {
	if len(msg) < 1+8+1 {
		return nil, false
	}
	return fieldBytes(msg[1:len(msg)-8], 1)
}

// keyRotation observes the Diffie-Hellman ratchet from outside: within a
// sending chain every message carries the same ratchet key, and after each
// reply the next chain carries a key never seen before. This is what
// post-compromise recovery rests on; the secrecy itself cannot be observed
// through the peer protocol.
func keyRotation(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	x.establish(a, b)
	seen := map[string]string{}
	rounds := 0
	for round := 0; round < 4; round++ {
		for _, pair := range [][2]*Client{{a, b}, {b, a}} {
			from, to := pair[0], pair[1]
			m1, m2 := x.encrypt(from, to), x.encrypt(from, to)
			x.expectType(m1, TypeSignal, "an established session")
			k1, ok1 := ratchetKey(m1.Msg.Ciphertext)
			k2, ok2 := ratchetKey(m2.Msg.Ciphertext)
			if !ok1 || !ok2 || len(k1) != 33 {
				x.Failf("%s: SignalMessage without a 33-byte ratchet_key", from.Label)
			}
			if !bytes.Equal(k1, k2) {
				x.Failf("%s changed its ratchet key within one sending chain", from.Label)
			}
			if who, dup := seen[string(k1)]; dup {
				x.Failf("%s reused a ratchet key after a reply (first sent by %s): no DH ratchet step", from.Label, who)
			}
			seen[string(k1)] = from.Tag
			x.deliver(m2)
			x.deliver(m1)
		}
		rounds++
	}
	x.Notef("%d fresh ratchet keys over %d round trips", len(seen), rounds)
}
