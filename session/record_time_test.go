package session

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/proto"
)

// recordTimeVectors is testdata/vectors/libsignal-record-timestamps.json
// (interop/libsignal/gen-timestamp-vectors.js).
type recordTimeVectors struct {
	Vectors []struct {
		ID     string `json:"id"`
		Kind   string `json:"kind"`
		Remote struct {
			Name   string `json:"name"`
			Device uint32 `json:"device"`
		} `json:"remote"`
		CreatedMS        int64  `json:"created_ms"`
		PendingTimestamp int64  `json:"pending_timestamp"`
		TimestampMS      int64  `json:"timestamp_ms"`
		Record           []byte `json:"record"`
		Encrypt          []struct {
			Comment string `json:"comment"`
			NowMS   int64  `json:"now_ms"`
			Expect  string `json:"expect"`
		} `json:"encrypt"`
	} `json:"vectors"`
}

// TestIssue20Item16_LibsignalRecordTimestamps (issue #20 item 16): the
// unanswered-session timestamp of a record written by libsignal 0.90 and
// 0.103 is read as the instant libsignal meant (whole seconds), and Encrypt
// gives libsignal's own verdict at every probed instant: valid within 30
// days of the stored second, no session after. The prekey records'
// timestamps (milliseconds in libsignal) are read as the same instants.
// Before the fix the seconds were read as milliseconds (1970) and every
// libsignal record of an unanswered session failed Encrypt as expired.
func TestIssue20Item16_LibsignalRecordTimestamps(t *testing.T) {
	var f recordTimeVectors
	vectortest.Load(t, "libsignal-record-timestamps.json", &f)
	kinds := map[string]int{}
	for _, v := range f.Vectors {
		kinds[v.Kind]++
		t.Run(v.ID, func(t *testing.T) {
			switch v.Kind {
			case "signed-prekey":
				r, err := prekey.UnmarshalSignedPreKeyRecord(v.Record)
				if err != nil {
					t.Fatal(err)
				}
				if want := time.UnixMilli(v.TimestampMS); !r.Timestamp.Equal(want) {
					t.Fatalf("timestamp %v, want %v", r.Timestamp, want)
				}
			case "kyber-prekey":
				r, err := prekey.UnmarshalKyberPreKeyRecord(v.Record)
				if err != nil {
					t.Fatal(err)
				}
				if want := time.UnixMilli(v.TimestampMS); !r.Timestamp.Equal(want) {
					t.Fatalf("timestamp %v, want %v", r.Timestamp, want)
				}
			case "unanswered-session":
				rec, err := UnmarshalRecord(v.Record)
				if err != nil {
					t.Fatal(err)
				}
				cur := rec.Current()
				if cur == nil || cur.pending == nil {
					t.Fatal("no unanswered current state")
				}
				if want := time.Unix(v.PendingTimestamp, 0); !cur.pending.timestamp.Equal(want) {
					t.Fatalf("pending since %v, want %v", cur.pending.timestamp, want)
				}
				if v.PendingTimestamp != v.CreatedMS/1000 {
					t.Fatalf("vector: pending_timestamp %d is not created_ms %d in seconds", v.PendingTimestamp, v.CreatedMS)
				}
				// Writing the record back keeps libsignal's value.
				b, err := rec.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if got := storedPendingTimestamp(t, b); got != uint64(v.PendingTimestamp) {
					t.Fatalf("re-serialized pending timestamp %d, want %d", got, v.PendingTimestamp)
				}
				if len(v.Encrypt) == 0 {
					t.Fatal("vector has no encrypt probes")
				}
				for _, p := range v.Encrypt {
					got := encryptAt(t, v.Record, Address{Name: v.Remote.Name, DeviceID: v.Remote.Device}, time.UnixMilli(p.NowMS))
					if got != p.Expect {
						t.Errorf("%s (%v): Encrypt %s, libsignal %s", p.Comment, time.UnixMilli(p.NowMS).UTC(), got, p.Expect)
					}
				}
			default:
				t.Fatalf("unknown kind %q", v.Kind)
			}
		})
	}
	if kinds["unanswered-session"] < 2 || kinds["signed-prekey"] < 2 || kinds["kyber-prekey"] < 2 {
		t.Fatalf("vector kinds %v: want each of 0.90 and 0.103", kinds)
	}
}

// encryptAt stores a fresh copy of record for addr and encrypts with the
// clock at now: "valid" or "no_session".
func encryptAt(t *testing.T, record []byte, addr Address, now time.Time) string {
	t.Helper()
	rec, err := UnmarshalRecord(record)
	if err != nil {
		t.Fatal(err)
	}
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st := NewMemoryStore(id, 1)
	ctx := context.Background()
	if err := st.StoreSession(ctx, addr, rec); err != nil {
		t.Fatal(err)
	}
	typ, _, err := NewCipher(st, WithClock(func() time.Time { return now })).Encrypt(ctx, addr, []byte("probe"))
	switch {
	case err == nil && typ == TypePreKey:
		return "valid"
	case err == nil:
		t.Fatalf("an unanswered session encrypted message type %d", typ)
	case errors.Is(err, ErrNoSession):
		return "no_session"
	default:
		t.Fatal(err)
	}
	return ""
}

// storedPendingTimestamp returns PendingPreKey.timestamp of a serialized
// record's current state.
func storedPendingTimestamp(t *testing.T, b []byte) uint64 {
	t.Helper()
	var pb signalpb.RecordStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	pp := pb.GetCurrentSession().GetPendingPreKey()
	if pp == nil {
		t.Fatal("no pending prekey in the record")
	}
	return pp.GetTimestamp()
}

// TestIssue20Item16_PendingTimestampUnits (issue #20 item 16): Interlock
// writes the unanswered-session timestamp in seconds, as libsignal does (so
// libsignal enforces the 30-day limit on an Interlock record), and reads a
// record written by an earlier Interlock (milliseconds) as the same instant.
func TestIssue20Item16_PendingTimestampUnits(t *testing.T) {
	created := time.Date(2025, 3, 14, 15, 9, 26, 535_000_000, time.UTC)
	alice, bob := unansweredPair(t, created)
	b, err := alice.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := storedPendingTimestamp(t, b), uint64(created.Unix()); got != want {
		t.Fatalf("stored pending timestamp %d, want %d (seconds)", got, want)
	}
	// A record written by Interlock before the fix: the same field in
	// milliseconds.
	var pb signalpb.RecordStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	pb.CurrentSession.PendingPreKey.Timestamp = uint64(created.UnixMilli())
	legacy, err := proto.Marshal(&pb)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := UnmarshalRecord(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Current().pending.timestamp; !got.Equal(created.Truncate(time.Millisecond)) {
		t.Fatalf("legacy milliseconds read as %v, want %v", got, created)
	}
	// Written back, it is in seconds.
	if b, err = rec.Marshal(); err != nil {
		t.Fatal(err)
	}
	if got, want := storedPendingTimestamp(t, b), uint64(created.Unix()); got != want {
		t.Fatalf("legacy record re-serialized with %d, want %d", got, want)
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{created.Add(29 * 24 * time.Hour), "valid"},
		{created.Truncate(time.Second).Add(MaxUnacknowledgedSessionAge), "valid"},
		{created.Truncate(time.Second).Add(MaxUnacknowledgedSessionAge + time.Second), "no_session"},
	} {
		for name, rb := range map[string][]byte{"seconds": b, "legacy milliseconds": legacy} {
			if got := encryptAt(t, rb, bob, c.at); got != c.want {
				t.Errorf("%s record at %v: %s, want %s", name, c.at, got, c.want)
			}
		}
	}
}

// TestIssue20Item16_PendingTimestampBoundary: the reading rule for the
// pending timestamp — seconds below legacyMillisThreshold (year 5138),
// milliseconds from it — and values that do not fit an int64 do not panic.
func TestIssue20Item16_PendingTimestampBoundary(t *testing.T) {
	for _, c := range []struct {
		v    uint64
		want time.Time
	}{
		{0, time.Unix(0, 0)},
		{1741964966, time.Unix(1741964966, 0)},
		{legacyMillisThreshold - 1, time.Unix(legacyMillisThreshold-1, 0)},
		{legacyMillisThreshold, time.UnixMilli(legacyMillisThreshold)},
		{1741964966535, time.UnixMilli(1741964966535)},
		{1<<64 - 1, time.Unix(int64((1<<64-1)/1000), int64((1<<64-1)%1000)*1e6)},
	} {
		if got := pendingTimeFromStored(c.v); !got.Equal(c.want) {
			t.Errorf("pendingTimeFromStored(%d) = %v, want %v", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		t    time.Time
		want uint64
	}{
		{time.Unix(1741964966, 999_999_999), 1741964966},
		{time.Unix(-5, 0), 0},
		{time.Time{}, 0},
	} {
		if got := pendingTimeToStored(c.t); got != c.want {
			t.Errorf("pendingTimeToStored(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}

// unansweredPair returns Alice's record of a session she started with Bob
// at created (never answered), and Bob's address.
func unansweredPair(t *testing.T, created time.Time) (*Record, Address) {
	t.Helper()
	ctx := context.Background()
	aliceID, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bobID, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, bobID, 1, created)
	if err != nil {
		t.Fatal(err)
	}
	kpk, err := prekey.GenerateKyberPreKey(rand.Reader, bobID, 2, false, created)
	if err != nil {
		t.Fatal(err)
	}
	b := &prekey.Bundle{
		RegistrationID: 2, DeviceID: 1, IdentityKey: bobID.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		KyberPreKeyID: kpk.ID, KyberPreKey: kpk.KeyPair.Public, KyberPreKeySignature: kpk.Signature,
	}
	bob := Address{Name: "bob", DeviceID: 1}
	st := NewMemoryStore(aliceID, 1)
	if err := NewCipher(st, WithClock(func() time.Time { return created })).ProcessBundle(ctx, bob, b); err != nil {
		t.Fatal(err)
	}
	rec, err := st.LoadSession(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	return rec, bob
}
