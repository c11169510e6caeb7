package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// testPreKeyLifecycle checks session.PreKeyManager (issue #16 item 4):
// counts, uploaded marks, persisted next IDs, replenishing and rotation.
// Stores that do not implement it skip.
func testPreKeyLifecycle(t *testing.T, open Opener) {
	ctx := context.Background()
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	st, ok := open(t, id, 7).(session.ManagedStore)
	if !ok {
		t.Skip("the store is not a session.PreKeyManager")
	}
	now := time.UnixMilli(1_700_000_000_000)
	if c, err := st.PreKeyCounts(ctx); err != nil || c != (session.PreKeyCounts{}) {
		t.Fatalf("empty store: %+v, %v", c, err)
	}
	// A last-resort Kyber prekey does not count as a one-time one.
	lr, err := session.RotateLastResortKyberPreKey(ctx, rand.Reader, st, now, time.Hour)
	if err != nil || !lr.LastResort || lr.ID != 1 {
		t.Fatalf("last-resort Kyber prekey: %+v, %v", lr, err)
	}

	fresh, err := session.ReplenishPreKeys(ctx, rand.Reader, st, now, 3, 5)
	if err != nil || len(fresh.PreKeys) != 5 || len(fresh.KyberPreKeys) != 5 {
		t.Fatalf("ReplenishPreKeys: %+v, %v", fresh, err)
	}
	if fresh.PreKeys[0].ID != 1 || fresh.PreKeys[4].ID != 5 || fresh.KyberPreKeys[0].ID != 2 || fresh.KyberPreKeys[4].ID != 6 {
		t.Fatalf("IDs %d..%d, Kyber %d..%d", fresh.PreKeys[0].ID, fresh.PreKeys[4].ID, fresh.KyberPreKeys[0].ID, fresh.KyberPreKeys[4].ID)
	}
	for _, k := range fresh.KyberPreKeys {
		if k.LastResort || !id.PublicKey().VerifySignature(k.KeyPair.Public.Bytes(), k.Signature) {
			t.Fatalf("Kyber prekey %d: last resort or bad signature", k.ID)
		}
	}
	want := session.PreKeyCounts{OneTime: 5, Kyber: 5, OneTimeNotUploaded: 5, KyberNotUploaded: 5}
	if c, err := st.PreKeyCounts(ctx); err != nil || c != want {
		t.Fatalf("counts %+v, %v; want %+v", c, err, want)
	}
	if err := st.MarkPreKeysUploaded(ctx, []uint32{1, 2, 3, 99}, []uint32{1, 2}); err != nil {
		t.Fatal(err)
	}
	pk, kk, err := st.NotUploadedPreKeyIDs(ctx)
	if err != nil || !slices.Equal(pk, []uint32{4, 5}) || !slices.Equal(kk, []uint32{3, 4, 5, 6}) {
		t.Fatalf("not uploaded: %v %v, %v", pk, kk, err)
	}
	// Consumed keys leave the counts; their IDs are not handed out again.
	if err := st.RemovePreKey(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkKyberPreKeyUsed(ctx, 6, 1, fresh.PreKeys[0].KeyPair.Public); err != nil {
		t.Fatal(err)
	}
	want = session.PreKeyCounts{OneTime: 4, Kyber: 4, OneTimeNotUploaded: 1, KyberNotUploaded: 3}
	if c, err := st.PreKeyCounts(ctx); err != nil || c != want {
		t.Fatalf("counts after use %+v, %v; want %+v", c, err, want)
	}
	// Nothing to do above the low mark.
	if more, err := session.ReplenishPreKeys(ctx, rand.Reader, st, now, 4, 10); err != nil || len(more.PreKeys)+len(more.KyberPreKeys) != 0 {
		t.Fatalf("replenished above the low mark: %+v, %v", more, err)
	}
	more, err := session.ReplenishPreKeys(ctx, rand.Reader, st, now, 5, 6)
	if err != nil || len(more.PreKeys) != 2 || more.PreKeys[0].ID != 6 || len(more.KyberPreKeys) != 2 || more.KyberPreKeys[0].ID != 7 {
		t.Fatalf("replenish: %+v, %v", more, err)
	}
	// Storing a key again under an uploaded ID clears its mark.
	again, _ := prekey.GeneratePreKeys(rand.Reader, 1, 1)
	if err := st.StorePreKey(ctx, &again[0]); err != nil {
		t.Fatal(err)
	}
	if pk, _, _ := st.NotUploadedPreKeyIDs(ctx); !slices.Contains(pk, 1) {
		t.Fatalf("a replaced uploaded key is still marked: %v", pk)
	}
	// The wrap at 2^24 carries through the stored last IDs.
	last, err := st.LastPreKeyIDs(ctx)
	if err != nil || last.PreKey != 7 || last.KyberPreKey != 8 {
		t.Fatalf("last IDs %+v, %v", last, err)
	}
	last.SignedPreKey = prekey.MaxPreKeyID
	if err := st.SetLastPreKeyIDs(ctx, last); err != nil {
		t.Fatal(err)
	}

	// Signed prekey rotation keeps the newest previous key and any younger
	// than keep.
	var signed []uint32
	for i, at := range []time.Time{now.Add(-72 * time.Hour), now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), now} {
		spk, err := session.RotateSignedPreKey(ctx, rand.Reader, st, at, 36*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if want := uint32(i + 1); spk.ID != want { // wrapped from MaxPreKeyID
			t.Fatalf("signed prekey ID %d, want %d", spk.ID, want)
		}
		if !id.PublicKey().VerifySignature(spk.KeyPair.Public.Bytes(), spk.Signature) {
			t.Fatal("rotated signed prekey does not verify")
		}
		signed = append(signed, spk.ID)
	}
	ids, err := st.SignedPreKeyIDs(ctx)
	if err != nil || !slices.Equal(ids, []uint32{3, 4}) {
		t.Fatalf("signed prekeys after rotation: %v, %v (made %v)", ids, err, signed)
	}
	if _, err := st.LoadSignedPreKey(ctx, 1); !errors.Is(err, session.ErrInvalidPreKey) {
		t.Fatalf("removed signed prekey: %v", err)
	}
	// Last-resort Kyber rotation leaves one-time Kyber prekeys alone.
	lr2, err := session.RotateLastResortKyberPreKey(ctx, rand.Reader, st, now.Add(48*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	lr3, err := session.RotateLastResortKyberPreKey(ctx, rand.Reader, st, now.Add(96*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	kids, _ := st.KyberPreKeyIDs(ctx)
	if slices.Contains(kids, lr.ID) || !slices.Contains(kids, lr2.ID) || !slices.Contains(kids, lr3.ID) || !slices.Contains(kids, 2) {
		t.Fatalf("Kyber prekeys after rotation: %v (last resort %d, %d, %d)", kids, lr.ID, lr2.ID, lr3.ID)
	}
}

// testSessionManagement checks session.SessionLister and the Cipher's
// ContainsSession, SubDeviceSessions, DeleteAllSessions and
// ArchiveCurrentSession (issue #16 item 4).
func testSessionManagement(t *testing.T, open Opener) {
	ctx := context.Background()
	alice := newAccount(t, open, "alice")
	cipher := session.NewCipher(alice.Store)
	if _, ok := alice.Store.(session.SessionLister); !ok {
		t.Skip("the store is not a session.SessionLister")
	}
	bobs := []*Account{newAccount(t, open, "bob"), newAccount(t, open, "bob"), newAccount(t, open, "bob")}
	for i, b := range bobs {
		b.Addr.DeviceID = uint32(i * 2) // 0, 2, 4
		b.Identity = bobs[0].Identity   // one account key (session.PerAccount)
		if ok, err := cipher.ContainsSession(ctx, b.Addr); err != nil || ok {
			t.Fatalf("before: %v, %v", ok, err)
		}
	}
	carol := newAccount(t, open, "carol")
	for _, b := range append(bobs, carol) {
		if err := cipher.ProcessBundle(ctx, b.Addr, b.Bundle(t, true, true)); err != nil {
			t.Fatal(err)
		}
	}
	devs, err := cipher.SubDeviceSessions(ctx, "bob")
	if err != nil || !slices.Equal(devs, []uint32{0, 2, 4}) {
		t.Fatalf("SubDeviceSessions: %v, %v", devs, err)
	}
	// Archiving: no current session, but the record (and device) remain.
	if err := cipher.ArchiveCurrentSession(ctx, bobs[1].Addr); err != nil {
		t.Fatal(err)
	}
	if ok, err := cipher.ContainsSession(ctx, bobs[1].Addr); err != nil || ok {
		t.Fatalf("archived session still current: %v, %v", ok, err)
	}
	if _, _, err := cipher.Encrypt(ctx, bobs[1].Addr, []byte("x")); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("Encrypt after archiving: %v", err)
	}
	if err := cipher.ArchiveCurrentSession(ctx, bobs[1].Addr); err != nil {
		t.Fatalf("archiving twice: %v", err)
	}
	if ok, _ := cipher.ContainsSession(ctx, bobs[0].Addr); !ok {
		t.Fatal("other device lost its session")
	}
	if err := cipher.DeleteAllSessions(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if devs, err := cipher.SubDeviceSessions(ctx, "bob"); err != nil || len(devs) != 0 {
		t.Fatalf("after DeleteAllSessions: %v, %v", devs, err)
	}
	if ok, _ := cipher.ContainsSession(ctx, carol.Addr); !ok {
		t.Fatal("DeleteAllSessions removed another user's session")
	}
}
