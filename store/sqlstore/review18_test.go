package sqlstore_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// reviewNames are names that could break the batch statements' split or
// make them match another name's row: NULs, invalid UTF-8 next to the
// replacement character json.Marshal turns it into, escapes, empty and
// very long names.
var reviewNames = []string{
	"bob", "bob\x00x", "c\x00d", "b\xff", "bob\x00", "\x00", "", "a\xff", "a\uFFFD", "\xff", "\uFFFD",
	"1:bob", "0:bob", ":", `\u0000`, "\u2028", "\u2029", "\x7f", `"`, `\`, "</script>",
	strings.Repeat("n", 70000), strings.Repeat("n", 70000) + "\x00",
}

// TestBatchDifferential: for every address, LoadSessions and
// AreTrustedIdentities answer exactly as the single-row LoadSession and
// IsTrustedIdentity do (same record, same trust), for both identity scopes.
// Rows exist for "bob" and "a\uFFFD" but never for "bob\x00x" or "a\xff":
// a batch lookup that truncates at a NUL or replaces invalid UTF-8 would
// hand one device another's session or pinned key.
func TestBatchDifferential(t *testing.T) {
	for _, scope := range []session.IdentityScope{session.PerAccount, session.PerDevice} {
		t.Run(scope.String(), func(t *testing.T) {
			backends(t, func(t *testing.T, db *sqlstore.DB) { testBatchDifferential(t, db) }, sqlstore.WithIdentityScope(scope))
		})
	}
}

func testBatchDifferential(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	alice, _, rs := fanoutSetup(t, db, 2)
	st := alice.Store.(*sqlstore.Store)
	var recs [2]*session.Record
	for i := range recs {
		r, err := st.LoadSession(ctx, rs[i].Addr)
		if err != nil || r == nil {
			t.Fatal(r, err)
		}
		recs[i] = r
	}
	devices := []uint32{0, 1, 0xFFFFFFFF}
	hasRow := func(n string) bool {
		return n == "bob" || n == "c\x00d" || n == "b\xff" || n == "a\uFFFD" || n == "\uFFFD" || n == "" || n == strings.Repeat("n", 70000) || n == "0:bob" || n == `\u0000`
	}
	var all []session.Address
	for i, n := range reviewNames {
		for j, d := range devices {
			a := session.Address{Name: n, DeviceID: d}
			if hasRow(n) {
				if err := st.StoreSession(ctx, a, recs[(i+j)%2]); err != nil {
					t.Logf("StoreSession(%s): %v", short(a), err)
					continue
				}
			}
			all = append(all, a)
		}
		if hasRow(n) {
			if _, err := st.SaveIdentity(ctx, session.Address{Name: n, DeviceID: 1}, alice.Identity.PublicKey()); err != nil {
				t.Logf("SaveIdentity(%.40q): %v", n, err)
			}
		}
	}
	// One address at a time and all at once.
	batch, batchErr := st.LoadSessions(ctx, all)
	if batchErr != nil {
		t.Logf("LoadSessions(all): %v", batchErr)
	}
	for _, a := range all {
		single, err := st.LoadSession(ctx, a)
		one, oneErr := st.LoadSessions(ctx, []session.Address{a})
		if (err == nil) != (oneErr == nil) {
			t.Errorf("%s: LoadSession error %v, LoadSessions error %v", short(a), err, oneErr)
			continue
		}
		if err != nil {
			continue
		}
		for what, got := range map[string]*session.Record{"LoadSessions(one)": one[a], "LoadSessions(all)": batch[a]} {
			if what == "LoadSessions(all)" && batchErr != nil {
				continue
			}
			if (got == nil) != (single == nil) {
				t.Errorf("%s: %s found %v, LoadSession found %v", short(a), what, got != nil, single != nil)
				continue
			}
			if got != nil && !bytes.Equal(mustMarshal(t, got), mustMarshal(t, single)) {
				t.Errorf("%s: %s returned another row's record", short(a), what)
			}
		}
		for b := range one {
			if b != a {
				t.Errorf("%s: LoadSessions(one) returned a record for %s", short(a), short(b))
			}
		}
	}
	// Every address twice in one call: the same answer.
	if batchErr == nil {
		twice, err := st.LoadSessions(ctx, append(append([]session.Address(nil), all...), all...))
		if err != nil || len(twice) != len(batch) {
			t.Errorf("LoadSessions(all twice): %d records, %v; want %d", len(twice), err, len(batch))
		}
		for a, r := range batch {
			if twice[a] == nil || !bytes.Equal(mustMarshal(t, twice[a]), mustMarshal(t, r)) {
				t.Errorf("%s: LoadSessions(all twice) differs", short(a))
			}
		}
	}
	other := rs[0].Identity.PublicKey()
	keys := map[session.Address]prekey.IdentityKey{}
	for _, a := range all {
		keys[a] = other
	}
	tr, trErr := st.AreTrustedIdentities(ctx, keys, session.Sending)
	if trErr != nil {
		t.Logf("AreTrustedIdentities(all): %v", trErr)
	}
	for _, a := range all {
		single, err := st.IsTrustedIdentity(ctx, a, other, session.Sending)
		one, oneErr := st.AreTrustedIdentities(ctx, map[session.Address]prekey.IdentityKey{a: other}, session.Sending)
		if (err == nil) != (oneErr == nil) {
			t.Errorf("%s: IsTrustedIdentity error %v, AreTrustedIdentities error %v", short(a), err, oneErr)
			continue
		}
		if err != nil {
			continue
		}
		if one[a] != single {
			t.Errorf("%s: AreTrustedIdentities(one) = %v, IsTrustedIdentity = %v", short(a), one[a], single)
		}
		if trErr == nil && tr[a] != single {
			t.Errorf("%s: AreTrustedIdentities(all) = %v, IsTrustedIdentity = %v", short(a), tr[a], single)
		}
	}
}

func mustMarshal(t *testing.T, r *session.Record) []byte {
	t.Helper()
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func short(a session.Address) string {
	if len(a.Name) > 24 {
		return fmt.Sprintf("%q….%d (%d bytes)", a.Name[:8], a.DeviceID, len(a.Name))
	}
	return fmt.Sprintf("%q.%d", a.Name, a.DeviceID)
}

// TestResolveDeviceMismatchOddName: the server's answer to a multi-device
// send names the devices to drop; a name that only differs from a real
// device's by what follows a NUL (or by invalid UTF-8 where the real one
// has U+FFFD) must not archive that real device's session.
func TestResolveDeviceMismatchOddName(t *testing.T) {
	ctx := context.Background()
	db, _ := openSQLite(t)
	alice, ac, rs := fanoutSetup(t, db, 1)
	st := alice.Store.(*sqlstore.Store)
	bob := rs[0].Addr
	rec, err := st.LoadSession(ctx, bob)
	if err != nil || rec == nil {
		t.Fatal(rec, err)
	}
	fffd := session.Address{Name: "a\uFFFD", DeviceID: bob.DeviceID}
	if err := st.StoreSession(ctx, fffd, rec); err != nil {
		t.Fatal(err)
	}
	for _, a := range []session.Address{bob, fffd} {
		odd := session.Address{Name: a.Name + "\x00x", DeviceID: a.DeviceID}
		if a == fffd {
			odd.Name = "a\xff"
		}
		if _, err := ac.ResolveDeviceMismatch(ctx, &session.DeviceMismatchError{Extra: []session.Address{odd}}); err != nil {
			t.Fatal(err)
		}
		r, err := st.LoadSession(ctx, a)
		if err != nil || r == nil || r.ArchivedStates() != rec.ArchivedStates() {
			t.Fatalf("dropping %q archived %s's session: %v", odd.Name, a, err)
		}
	}
}
