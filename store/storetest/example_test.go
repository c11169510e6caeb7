package storetest_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

// A store author runs the whole suite from a test function in the store's
// own package, with an Opener that returns a new, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, openMemory)
//	}
//
// Here the store is session.MemoryStore (memory_test.go runs exactly that).
// The example checks what the suite first expects of an Opener: a new store
// reports the identity and registration ID it was opened with and holds no
// sessions.
func ExampleRun() {
	var open storetest.Opener = openMemory
	_ = func(t *testing.T) { storetest.Run(t, open) } // what `go test` would call

	ctx := context.Background()
	id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	st := open(nil, id, 1234)
	got, _ := st.IdentityKeyPair(ctx)
	reg, _ := st.LocalRegistrationID(ctx)
	rec, _ := st.LoadSession(ctx, session.Address{Name: "bob", DeviceID: 1})
	fmt.Println("identity kept:", got.PublicKey().Equal(id.PublicKey()))
	fmt.Println("registration ID:", reg)
	fmt.Println("empty:", rec == nil)
	// Output:
	// identity kept: true
	// registration ID: 1234
	// empty: true
}

// openMemory is an Opener for session.MemoryStore, which has no backing
// database, so every store it opens is independent.
func openMemory(_ *testing.T, id prekey.IdentityKeyPair, reg uint32) session.Store {
	return session.NewMemoryStore(id, reg)
}

// The suite's building blocks take a testing.TB, so a store's own tests can
// reuse them: NewAccount opens a store for a fresh identity and Converse
// runs a PQXDH conversation between two accounts (out-of-order delivery, a
// replay, a tampered message), checking what the stores hold on the way.
// Inside a test, pass its t; this example passes a testing.TB that prints
// failures.
func ExampleConverse() {
	ok := runWithTB(func(t testing.TB) {
		open := func(id prekey.IdentityKeyPair, reg uint32) session.Store {
			return session.NewMemoryStore(id, reg)
		}
		alice := storetest.NewAccount(t, "alice", open)
		bob := storetest.NewAccount(t, "bob", open)
		storetest.Converse(t, alice, bob, session.RequirePQXDH, true)
	})
	fmt.Println("conversation passed:", ok)
	// Output:
	// conversation passed: true
}

// printTB is a testing.TB for the example: it prints failures, and a fatal
// one stops the goroutine as *testing.T does. storetest's helpers call only
// the methods defined here; the embedded interface is never used.
type printTB struct {
	testing.TB
	failed bool
}

func (p *printTB) Helper() {}
func (p *printTB) Error(args ...any) {
	p.failed = true
	fmt.Println(args...)
}
func (p *printTB) Errorf(format string, args ...any) {
	p.failed = true
	fmt.Printf(format+"\n", args...)
}
func (p *printTB) Fatal(args ...any)                 { p.Error(args...); runtime.Goexit() }
func (p *printTB) Fatalf(format string, args ...any) { p.Errorf(format, args...); runtime.Goexit() }

// runWithTB runs f on its own goroutine, so that Fatal can end it, and
// reports whether nothing failed.
func runWithTB(f func(testing.TB)) bool {
	tb := &printTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return !tb.failed
}
