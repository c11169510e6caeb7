package mutant

// Env is the environment variable that names the active mutant (read only
// by a build with -tags interlock_mutants).
const Env = "INTERLOCK_MUTANT"

// The mutants, one per defect class. The names are the values of
// INTERLOCK_MUTANT; conformance/mutants_test.go says which report check
// must fail for each.
const (
	// Classic defect classes.
	MACUnchecked          = "mac-unchecked"           // any MAC of the right length accepted
	MACWrongBytes         = "mac-wrong-bytes"         // MAC computed (sent and checked) without the version byte
	VersionUnauthentic    = "version-unauthenticated" // MAC checked over the version byte the session expects, not the received one
	ReplayWindowMissing   = "replay-window-missing"   // a skipped message key is kept after use
	SkippedKeysUnbounded  = "skipped-keys-unbounded"  // no forward-jump limit
	IdentityNotPinned     = "identity-not-pinned"     // every identity key trusted
	SignedPreKeyUnchecked = "signed-prekey-unchecked" // a bundle's signed-prekey signature not verified
	LowOrderAccepted      = "low-order-accepted"      // low-order (all-zero agreement) points accepted
	SPQRDowngrade         = "spqr-downgrade"          // a negotiated SPQR session accepts a message without pq_ratchet
	SenderKeyUnsigned     = "sender-key-unsigned"     // a SenderKeyMessage's signature not verified
	CertChainUnchecked    = "cert-chain-unchecked"    // a sender certificate's server certificate not verified against the trust root
	CertExpiryUnchecked   = "cert-expiry-unchecked"   // a sender certificate's expiry not checked
	StateOnFailure        = "state-on-failure"        // a receiving chain advanced before the MAC is checked

	// Issue #20's classes.
	KyberLastResortReplay = "kyber-last-resort-replay"  // item 2: a last-resort Kyber prekey's base key not remembered
	NonCanonicalBaseKey   = "noncanonical-base-key"     // item 3: a non-canonical version 3 base key accepted
	IdentityFieldTrusted  = "identity-field-trusted"    // item 1: the identity field of a PreKeySignalMessage trusted for an existing session
	AddressUnbound        = "address-binding-unchecked" // item 11: the address binding not checked
	SealedZeroClock       = "sealed-zero-clock"         // item 7: a zero validation time skips the expiry check
	SPQRUnknownVersion    = "spqr-unknown-version"      // item 6: an unknown pq_ratchet version accepted after negotiation
	ForgedAmplification   = "forged-amplification"      // item 5: archived states tried with full forward jumps
	GhostDevice           = "ghost-device"              // item 10: identities pinned per device (TOFU for a new device)
	MintedCertificate     = "minted-certificate"        // item 12: the certificate's key not tied to the pinned identity
	StrippedBundle        = "stripped-bundle"           // item 13: a Kyber-stripped bundle accepted for a version 4 device
)

// All lists every mutant, in the order the harness runs them.
var All = []string{
	MACUnchecked, MACWrongBytes, VersionUnauthentic, ReplayWindowMissing, SkippedKeysUnbounded,
	IdentityNotPinned, SignedPreKeyUnchecked, LowOrderAccepted, SPQRDowngrade, SenderKeyUnsigned,
	CertChainUnchecked, CertExpiryUnchecked, StateOnFailure,
	KyberLastResortReplay, NonCanonicalBaseKey, IdentityFieldTrusted, AddressUnbound, SealedZeroClock,
	SPQRUnknownVersion, ForgedAmplification, GhostDevice, MintedCertificate, StrippedBundle,
}
