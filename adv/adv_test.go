package adv_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/interlock-e2ee/interlock/adv"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

func identity(t testing.TB) prekey.IdentityKeyPair {
	t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func raw(k prekey.IdentityKey) []byte { u := k.PublicKey().Raw(); return u[:] }

func sign(t testing.TB, k prekey.IdentityKeyPair, parts ...[]byte) []byte {
	t.Helper()
	sig, err := k.Sign(rand.Reader, slices.Concat(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func details(rawID, keyIndex uint32, deviceType uint64) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(rawID))
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(time.Now().Unix()))
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(keyIndex))
	if deviceType != 0 {
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, deviceType)
	}
	return b
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// signedIdentity is what an account's primary device produces for a
// companion (account signature) and the companion completes (device
// signature); the account key is left out, as on the wire.
func signedIdentity(t testing.TB, account, device prekey.IdentityKeyPair, d []byte, hosted bool) []byte {
	pa, pd := []byte{6, 0}, []byte{6, 1}
	if hosted {
		pa, pd = []byte{6, 5}, []byte{6, 6}
	}
	acc, dev := raw(account.PublicKey()), raw(device.PublicKey())
	var b []byte
	b = appendBytes(b, 1, d)
	b = appendBytes(b, 3, sign(t, account, pa, d, dev))
	b = appendBytes(b, 4, sign(t, device, pd, d, dev, acc))
	return b
}

func keyIndexList(t testing.TB, account prekey.IdentityKeyPair, rawID uint32, valid ...uint32) []byte {
	var d, packed []byte
	d = protowire.AppendTag(d, 1, protowire.VarintType)
	d = protowire.AppendVarint(d, uint64(rawID))
	for _, v := range valid {
		packed = protowire.AppendVarint(packed, uint64(v))
	}
	d = appendBytes(d, 4, packed)
	var b []byte
	b = appendBytes(b, 1, d)
	b = appendBytes(b, 2, sign(t, account, []byte{6, 2}, d))
	return b
}

func TestVerifyDeviceIdentity(t *testing.T) {
	account, device, other := identity(t), identity(t), identity(t)
	for _, hosted := range []bool{false, true} {
		typ := uint64(0)
		if hosted {
			typ = 1
		}
		s := signedIdentity(t, account, device, details(7, 3, typ), hosted)
		d, err := adv.VerifyDeviceIdentity(s, account.PublicKey(), device.PublicKey())
		if err != nil {
			t.Fatalf("hosted=%v: %v", hosted, err)
		}
		if d.RawID != 7 || d.KeyIndex != 3 {
			t.Fatalf("details %+v", d)
		}
		if _, err := adv.VerifyDeviceIdentity(s, other.PublicKey(), device.PublicKey()); !errors.Is(err, adv.ErrBadSignature) {
			t.Errorf("another account key: %v", err)
		}
		if _, err := adv.VerifyDeviceIdentity(s, account.PublicKey(), other.PublicKey()); !errors.Is(err, adv.ErrBadSignature) {
			t.Errorf("another device key: %v", err)
		}
	}
	// The E2EE prefix does not verify as hosted and the other way round.
	s := signedIdentity(t, account, device, details(7, 3, 1), false)
	if _, err := adv.VerifyDeviceIdentity(s, account.PublicKey(), device.PublicKey()); !errors.Is(err, adv.ErrBadSignature) {
		t.Errorf("hosted device signed with the E2EE prefix: %v", err)
	}
	// A message naming a server's account key is refused, even self-consistent.
	server := identity(t)
	d := details(7, 3, 0)
	forged := signedIdentity(t, server, device, d, false)
	forged = appendBytes(forged, 2, raw(server.PublicKey()))
	if _, err := adv.VerifyDeviceIdentity(forged, account.PublicKey(), device.PublicKey()); !errors.Is(err, adv.ErrBadSignature) {
		t.Errorf("a server's own account key: %v", err)
	}
	// Flipped signature bits.
	for i := range s {
		b := bytes.Clone(s)
		b[i] ^= 0x01
		if _, err := adv.VerifyDeviceIdentity(b, account.PublicKey(), device.PublicKey()); err == nil && !bytes.Equal(b, s) {
			// a flip in a varint tag may still parse; it must not verify
			t.Fatalf("flipped byte %d verifies", i)
		}
	}
}

func TestVerifyKeyIndexList(t *testing.T) {
	account, other := identity(t), identity(t)
	s := keyIndexList(t, account, 7, 0, 3, 5)
	l, err := adv.VerifyKeyIndexList(s, account.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if l.RawID != 7 || !l.Contains(3) || l.Contains(4) {
		t.Fatalf("list %+v", l)
	}
	if _, err := adv.VerifyKeyIndexList(s, other.PublicKey()); !errors.Is(err, adv.ErrBadSignature) {
		t.Fatalf("another account: %v", err)
	}
}

// TestIssue20Item10_WhatsAppVouching: issue #20 item 10, whatsapp flavour.
// A companion device of a known account is refused as unverified until its
// ADV signed identity verifies against the pinned account key; a bad
// signature or a device missing from the signed device list is refused and
// trusts nothing.
func TestIssue20Item10_WhatsAppVouching(t *testing.T) {
	ctx := context.Background()
	me := identity(t)
	st := session.NewMemoryStore(me, 1, session.WithIdentityScope(session.PerDevice))
	cipher := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))

	account := identity(t) // Bob's primary device
	primary := session.Address{Name: "bob", DeviceID: 0}
	if _, err := st.SaveIdentity(ctx, primary, account.PublicKey()); err != nil {
		t.Fatal(err)
	}
	companionKey := identity(t)
	companion := session.Address{Name: "bob", DeviceID: 12}
	bundle := func() *prekey.Bundle {
		spk, err := prekey.GenerateSignedPreKey(rand.Reader, companionKey, 1, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return &prekey.Bundle{RegistrationID: 9, DeviceID: 12, IdentityKey: companionKey.PublicKey(),
			SignedPreKeyID: 1, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature}
	}
	err := cipher.ProcessBundle(ctx, companion, bundle())
	if !errors.Is(err, session.ErrUnverifiedDevice) {
		t.Fatalf("unvouched companion: %v, want ErrUnverifiedDevice", err)
	}

	// A server-made identity: signed by its own "account" key.
	server := identity(t)
	bad := signedIdentity(t, server, companionKey, details(7, 3, 0), false)
	if _, _, err := adv.Vouch(ctx, st, companion, companionKey.PublicKey(), bad, nil); !errors.Is(err, adv.ErrBadSignature) {
		t.Fatalf("Vouch of a bad signature: %v", err)
	}
	good := signedIdentity(t, account, companionKey, details(7, 3, 0), false)
	list, err := adv.VerifyKeyIndexList(keyIndexList(t, account, 7, 0, 5), account.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := adv.Vouch(ctx, st, companion, companionKey.PublicKey(), good, list); !errors.Is(err, adv.ErrNotListed) {
		t.Fatalf("Vouch of a device not in the list: %v", err)
	}
	if ok, _ := st.IsTrustedIdentity(ctx, companion, companionKey.PublicKey(), session.Sending); ok {
		t.Fatal("a refused vouch trusted the device")
	}
	list, err = adv.VerifyKeyIndexList(keyIndexList(t, account, 7, 0, 3), account.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := adv.Vouch(ctx, st, companion, companionKey.PublicKey(), good, list); err != nil {
		t.Fatalf("Vouch: %v", err)
	}
	if err := cipher.ProcessBundle(ctx, companion, bundle()); err != nil {
		t.Fatalf("vouched companion: %v", err)
	}
}
