package live

import (
	"crypto/rand"
	"encoding/json"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
)

// The adversarial set (issue #21 item 2): defect classes that the mutation
// test of the report (conformance/mutants_test.go, internal/mutant) showed
// no other scenario reaches. The driver plays the server, which hands out
// bundles and replays what it relays.

var adversarialScenarios = []Scenario{
	{ID: "adversarial/forged-bundle", Doc: "bundles with a broken signed-prekey or Kyber-prekey signature are refused", Run: forgedBundle},
	{ID: "adversarial/low-order-bundle", Doc: "a bundle whose (validly signed) signed prekey is a low-order point is refused", Run: lowOrderBundle},
	{ID: "adversarial/last-resort-replay", Doc: "a first message on a last-resort Kyber prekey, replayed once its session has left the record", Run: lastResortReplay},
	{ID: "adversarial/forged-amplification", Doc: "a forged message on an archived chain, 24,900 keys ahead, costs about what an honest message costs (median times)", Run: forgedAmplification},
}

// forgedBundle: the server hands B a bundle of A with one bit of a
// signature or key flipped; B must refuse it (X3DH §3.3: "Alice verifies
// the prekey signature and aborts the protocol if verification fails";
// PQXDH §3.3 for the Kyber prekey's), and the genuine bundle still works.
// B is the side under test, so that an expected failure names it.
func forgedBundle(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	kyber := x.kyberDefault()
	bu, err := a.Bundle(true, kyber)
	x.must(err, "%s bundle", a.Label)
	flip := func(field string, mutate func(f *BundleFields)) {
		f := bu.BundleFields
		mutate(&f)
		if err := b.ProcessBundle(a.Addr, rawBundle(x, f)); err == nil {
			x.Failf("%s accepted a bundle of %s with %s flipped", b.Label, a.Tag, field)
		} else if KindOf(err) == "" {
			x.Failf("%s on a bundle with %s flipped: %v", b.Label, field, err)
		}
	}
	flip("a bit of the signed-prekey signature", func(f *BundleFields) {
		f.SignedPreKeySignature = flipped(f.SignedPreKeySignature, 10)
	})
	flip("a bit of the signed prekey", func(f *BundleFields) { f.SignedPreKey = flipped(f.SignedPreKey, 7) })
	if kyber && len(bu.KyberPreKeySignature) > 0 {
		flip("a bit of the Kyber-prekey signature", func(f *BundleFields) {
			f.KyberPreKeySignature = flipped(f.KyberPreKeySignature, 20)
		})
	}
	x.must(b.ProcessBundle(a.Addr, bu), "%s process_bundle of the genuine bundle", b.Label)
	s := x.exchange(b, a)
	x.expectType(s, TypePreKey, "first message of a new session")
	x.exchange(a, b)
}

// lowOrderBundle: a bundle of a new account whose signed prekey is a point
// of order 8, validly signed by the account's identity: every agreement
// with it is all zero (RFC 7748 §6.1: "implementations MAY check whether
// the output is all zero and abort"), so the session key would depend on
// the other agreements alone. B must refuse the bundle, or at the latest
// refuse to encrypt with it.
func lowOrderBundle(x *X) {
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	x.must(err, "identity")
	// The canonical u-coordinate of a point of order 8 (RFC 7748's list,
	// as libsodium's blocklist has it).
	low := []byte{0x05,
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
		0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00}
	sig, err := id.Sign(rand.Reader, low)
	x.must(err, "sign")
	one := int64(1)
	f := BundleFields{RegistrationID: 1 + x.rng.Intn(16000), Device: 1, IdentityKey: id.PublicKey().Bytes(),
		SignedPreKeyID: &one, SignedPreKey: low, SignedPreKeySignature: sig}
	if x.kyberDefault() {
		kpk, err := prekey.GenerateKyberPreKey(rand.Reader, id, 1, false, time.Now())
		x.must(err, "Kyber prekey")
		f.KyberPreKeyID, f.KyberPreKey, f.KyberPreKeySignature = &one, kpk.KeyPair.Public.Bytes(), kpk.Signature
	}
	ghost := Address{newUUID(), 1}
	err = b.ProcessBundle(ghost, rawBundle(x, f))
	switch {
	case err != nil && KindOf(err) == "":
		x.Failf("%s on a low-order signed prekey: %v", b.Label, err)
	case err != nil:
		x.Notef("bundle refused with %s", KindOf(err))
	default:
		if _, err := b.Encrypt(ghost, []byte("low order")); err == nil {
			x.Failf("%s accepted a bundle whose signed prekey is a low-order point, and encrypted with it", b.Label)
		}
		x.Notef("bundle accepted, encryption refused")
	}
	x.establish(b, a)
}

// lastResortReplay (issue #20 item 2): B publishes a bundle on a
// last-resort Kyber prekey and no one-time prekey; A's first message is
// delivered, then A starts MaxArchivedStates+1 newer sessions so that the
// first one leaves B's record (libsignal keeps 40 archived states), and
// the server replays the first message. B must refuse it: libsignal
// remembers the (Kyber prekey, signed prekey, base key) of every message
// on a last-resort key (kyber_pre_key_store.rs: mark_kyber_pre_key_used).
// Needs `bundle` with "last_resort": true, echoed in the response.
func lastResortReplay(x *X) {
	if !x.kyberDefault() {
		x.NotApplicablef("no Kyber prekeys in the %s flavour", x.Flavour())
	}
	a := x.Start(RoleA, "A", ClientOptions{})
	b := x.Start(RoleB, "B", ClientOptions{})
	var r struct {
		Bundle     json.RawMessage `json:"bundle"`
		LastResort bool            `json:"last_resort"`
	}
	err := b.Call("bundle", map[string]any{"one_time": false, "kyber": true, "last_resort": true}, &r)
	x.must(err, "%s bundle(last_resort)", b.Label)
	if !r.LastResort {
		x.NotApplicablef("%s does not offer a last-resort Kyber prekey (bundle with last_resort: true)", b.Impl)
	}
	bu := &Bundle{Raw: r.Bundle}
	if err := json.Unmarshal(r.Bundle, &bu.BundleFields); err != nil {
		x.Failf("%s: malformed bundle: %v", b.Label, err)
	}
	x.must(a.ProcessBundle(b.Addr, bu), "%s process_bundle", a.Label)
	first := x.exchange(a, b)
	x.expectType(first, TypePreKey, "first message on a last-resort Kyber prekey")
	for i := 0; i < 41; i++ {
		x.processBundle(a, b, true, true)
		x.exchange(a, b)
	}
	x.exchange(b, a)
	pt, err := b.Decrypt(a.Addr, first.Msg)
	if err == nil {
		x.Failf("%s decrypted a replayed first message on a last-resort Kyber prekey (%d bytes)", b.Label, len(pt))
	}
	if KindOf(err) == "" {
		x.Failf("%s on a replayed first message: %v", b.Label, err)
	}
	x.Notef("replay refused with %s", KindOf(err))
	x.exchange(a, b)
	x.exchange(b, a)
}

// rawBundle encodes fields as the bundle object the peer protocol carries,
// without the optional keys it lacks.
func rawBundle(x *X, f BundleFields) *Bundle {
	raw, err := json.Marshal(f)
	x.must(err, "encode bundle")
	var m map[string]any
	x.must(json.Unmarshal(raw, &m), "decode bundle")
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	raw, err = json.Marshal(m)
	x.must(err, "encode bundle")
	return &Bundle{Raw: raw, BundleFields: f}
}

func flipped(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	if len(c) > 0 {
		c[i%len(c)] ^= 0x01
	}
	return c
}
