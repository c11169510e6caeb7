package sqlstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
)

// Two accounts in one SQLite file talk; the file is closed and reopened and
// the conversation goes on.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sqlstore-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "interlock.db")

	db, err := sqlite.Open(ctx, path) // store/sqlstore/sqlite links the SQLite engine
	if err != nil {
		panic(err)
	}
	newAccount := func(name string) (*sqlstore.Store, prekey.IdentityKeyPair) {
		id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		reg, _ := prekey.GenerateRegistrationID(rand.Reader)
		s, err := db.CreateAccount(ctx, name, id, reg)
		if err != nil {
			panic(err)
		}
		return s, id
	}
	aliceStore, _ := newAccount("alice")
	bobStore, bobID := newAccount("bob")
	aliceAddr := session.Address{Name: "alice", DeviceID: 1}
	bobAddr := session.Address{Name: "bob", DeviceID: 1}

	// Bob's prekeys go into his account; the bundle goes to the server.
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bobID, 1, time.Now())
	kyber, _ := prekey.GenerateKyberPreKey(rand.Reader, bobID, 1, true, time.Now())
	bobStore.StoreSignedPreKey(ctx, &spk)
	bobStore.StoreKyberPreKey(ctx, &kyber)
	bundle := prekey.NewBundle(1, 1, bobID.PublicKey(), &spk, nil, &kyber)

	alice := session.NewCipher(aliceStore)
	if err := alice.ProcessBundle(ctx, bobAddr, bundle); err != nil {
		panic(err)
	}
	typ, ct, _ := alice.Encrypt(ctx, bobAddr, []byte("hello"))
	pt, _ := session.NewCipher(bobStore).Decrypt(ctx, aliceAddr, typ, ct)
	fmt.Println(string(pt))
	db.Close()

	// A restart: everything comes back from the file.
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	bobStore, err = db.Account(ctx, "bob")
	if err != nil {
		panic(err)
	}
	typ, ct, _ = session.NewCipher(bobStore).Encrypt(ctx, aliceAddr, []byte("hi, after a restart"))
	aliceStore, _ = db.Account(ctx, "alice")
	pt, _ = session.NewCipher(aliceStore).Decrypt(ctx, bobAddr, typ, ct)
	fmt.Println(string(pt))

	_, err = db.Account(ctx, "carol")
	fmt.Println(err)
	// Output:
	// hello
	// hi, after a restart
	// sqlstore: no such account: "carol"
}
