package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"google.golang.org/protobuf/encoding/protowire"
)

// TestRedteamForgedPreKeyMessageTakesNoWriteLock: issue #20 item 5, red
// team. The fix of item 5 moved a SignalMessage's trial decryption out of
// the write transaction, but a forged PreKeySignalMessage that names the
// base key of a stored state (visible to the server in the sender's first
// message) is still tried inside Transact: with a counter of 24,999 it
// derives 25,000 chain keys with SQLite's only write lock held, and while
// another account writes, it waits for that lock.
func TestRedteamForgedPreKeyMessageTakesNoWriteLock(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []sqlstore.Option
	}{{"plain", nil}, {"cache", []sqlstore.Option{sqlstore.WithSessionCache(64)}}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, _ := openSQLite(t, tc.opts...)
			alice := newAccount(t, db, randomName("alice-"), "alice")
			bob := newAccount(t, db, randomName("bob-"), "bob")
			ac, bc := session.NewCipher(alice.Store), session.NewCipher(bob.Store)
			if err := ac.ProcessBundle(ctx, bob.Addr, bob.Bundle(t, true, true)); err != nil {
				t.Fatal(err)
			}
			typ1, m1, err := ac.Encrypt(ctx, bob.Addr, []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			typ2, m2, err := ac.Encrypt(ctx, bob.Addr, []byte("y"))
			if err != nil || typ1 != session.TypePreKey || typ2 != session.TypePreKey {
				t.Fatal(typ1, typ2, err)
			}
			if _, err := bc.Decrypt(ctx, alice.Addr, typ1, m1); err != nil {
				t.Fatal(err)
			}
			forged := preKeyWithCounter(t, m2, 24_999)
			release := holdWriteLock(t, db)
			tctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			t0 := time.Now()
			_, err = bc.Decrypt(tctx, alice.Addr, session.TypePreKey, forged)
			release()
			if !errors.Is(err, session.ErrInvalidMessage) {
				t.Fatalf("forged PreKeySignalMessage while another account writes: %v after %v", err, time.Since(t0))
			}
			if pt, err := bc.Decrypt(ctx, alice.Addr, typ2, m2); err != nil || string(pt) != "y" {
				t.Fatalf("honest message: %q, %v", pt, err)
			}
		})
	}
}

// preKeyWithCounter returns the PreKeySignalMessage msg with its inner
// SignalMessage's counter replaced (withCounter): its MAC no longer matches.
func preKeyWithCounter(t testing.TB, msg []byte, counter uint32) []byte {
	t.Helper()
	out := []byte{msg[0]}
	for body := msg[1:]; len(body) > 0; {
		num, typ, n := protowire.ConsumeTag(body)
		m := protowire.ConsumeFieldValue(num, typ, body[n:])
		if n < 0 || m < 0 {
			t.Fatal("bad message")
		}
		if num == 4 && typ == protowire.BytesType {
			inner, _ := protowire.ConsumeBytes(body[n:])
			out = protowire.AppendTag(out, 4, protowire.BytesType)
			out = protowire.AppendBytes(out, withCounter(t, inner, counter))
		} else {
			out = append(out, body[:n+m]...)
		}
		body = body[n+m:]
	}
	return out
}
