//go:build interlock_mutants

package conformance

import "github.com/interlock-e2ee/interlock/internal/mutant"

// MutantCases returns how the report must catch each mutant of
// internal/mutant.All (issue #21 item 1); only the interlock_mutants build
// has it.
func MutantCases() MutantTable {
	return MutantTable{Env: mutant.Env, All: mutant.All, Cases: mutantCases}
}

// mutantCases lists every mutant of internal/mutant.All.
var mutantCases = []MutantCase{
	{Name: mutant.MACUnchecked, Class: "MAC not checked", Guarantee: "integrity", Kill: `^live/tamper/signal-message$`, Live: `^tamper/signal-message$`},
	{Name: mutant.MACWrongBytes, Class: "MAC over the wrong bytes", Guarantee: "integrity", Kill: `^(live/tamper/signal-message|derived/authenticated-bytes|corpus/.*)$`, Live: `^tamper/signal-message$`, Corpus: true},
	{Name: mutant.VersionUnauthentic, Class: "version byte not authenticated", Guarantee: "integrity", Kill: `^(live/tamper/signal-message|derived/authenticated-bytes)$`, Live: `^tamper/signal-message$`},
	{Name: mutant.ReplayWindowMissing, Class: "replay window missing", Guarantee: "replay-protection", Kill: `^live/delivery/duplicate$`, Live: `^delivery/duplicate$`},
	{Name: mutant.SkippedKeysUnbounded, Class: "skipped keys unbounded", Guarantee: "safe-failure", Kill: `^live/forward-jump/25002$`, Live: `^forward-jump/25002$`, Big: true,
		PeerArgs: "--no-spqr"}, // with SPQR, its own max_jump (25,000) refuses the jump first
	{Name: mutant.IdentityNotPinned, Class: "identity not pinned", Guarantee: "identity-binding", Kill: `^live/identity/change$`, Live: `^identity/change$`},
	{Name: mutant.SignedPreKeyUnchecked, Class: "signed-prekey signature not checked", Guarantee: "identity-binding", Kill: `^live/adversarial/forged-bundle$`, Live: `^adversarial/forged-bundle$`},
	{Name: mutant.LowOrderAccepted, Class: "low-order points accepted", Guarantee: "integrity", Kill: `^live/adversarial/low-order-bundle$`, Live: `^adversarial/low-order-bundle$`},
	{Name: mutant.SPQRDowngrade, Class: "SPQR downgrade accepted", Guarantee: "pq-ratchet", Kill: `^live/spqr/downgrade$`, Live: `^spqr/downgrade$`},
	{Name: mutant.SenderKeyUnsigned, Class: "sender-key signature not checked", Guarantee: "integrity", Kill: `^(live/group|corpus/sender-key/negative:.*)$`, Live: `^group$`, Corpus: true},
	{Name: mutant.CertChainUnchecked, Class: "certificate chain not checked", Guarantee: "integrity", Kill: `^(live/sealed-sender|corpus/sealed-sender/negative:.*)$`, Live: `^sealed-sender$`, Corpus: true},
	{Name: mutant.CertExpiryUnchecked, Class: "certificate expiry not checked", Guarantee: "integrity", Kill: `^(live/sealed-sender|corpus/sealed-sender/negative:.*)$`, Live: `^sealed-sender$`, Corpus: true},
	{Name: mutant.StateOnFailure, Class: "state changed on failed decrypt", Guarantee: "safe-failure", Kill: `^live/tamper/signal-message$`, Live: `^tamper/signal-message$`},
	{Name: mutant.KyberLastResortReplay, Class: "last-resort Kyber prekey replay", Guarantee: "replay-protection", Kill: `^(live/adversarial/last-resort-replay|corpus/adversarial/replay:.*)$`, Live: `^adversarial/last-resort-replay$`, Corpus: true},
	{Name: mutant.NonCanonicalBaseKey, Class: "non-canonical version 3 base key", Guarantee: "replay-protection", Kill: `^corpus/adversarial/replay:.*$`, Corpus: true},
	{Name: mutant.IdentityFieldTrusted, Class: "identity field swapped for an existing session", Guarantee: "identity-binding", Kill: `^corpus/adversarial/identity:.*$`, Corpus: true},
	{Name: mutant.AddressUnbound, Class: "address binding not checked", Guarantee: "identity-binding", Kill: `^(live/malicious/relabelled-sender|corpus/adversarial/identity:.*)$`, Live: `^malicious/relabelled-sender$`, Corpus: true},
	{Name: mutant.SealedZeroClock, Class: "sealed sender with a zero clock", Guarantee: "integrity", Kill: `^corpus/adversarial/sealed-sender:.*$`, Corpus: true},
	{Name: mutant.SPQRUnknownVersion, Class: "unknown SPQR version after negotiation", Guarantee: "pq-ratchet", Kill: `^live/spqr/unknown-version$`, Live: `^spqr/unknown-version$`},
	{Name: mutant.ForgedAmplification, Class: "CPU amplification by forged messages", Guarantee: "bounded-work", Kill: `^live/adversarial/forged-amplification$`, Live: `^adversarial/forged-amplification$`},
	{Name: mutant.GhostDevice, Class: "ghost device (per-device TOFU)", Guarantee: "identity-binding", Kill: `^live/malicious/ghost-device$`, Live: `^malicious/ghost-device$`},
	{Name: mutant.MintedCertificate, Class: "certificate key not tied to the identity", Guarantee: "identity-binding", Kill: `^live/malicious/minted-certificate$`, Live: `^malicious/minted-certificate$`,
		PeerArgs: "--flavour whatsapp"}, // in the signal flavour the address binding refuses the relabelled message first
	{Name: mutant.StrippedBundle, Class: "Kyber-stripped bundle accepted", Guarantee: "pq-key-agreement", Kill: `^live/malicious/stripped-bundle$`, Live: `^malicious/stripped-bundle$`,
		PeerArgs: "--flavour whatsapp"}, // in the signal flavour RequirePQXDH refuses every bundle without Kyber
}
