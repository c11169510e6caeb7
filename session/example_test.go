package session_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// Alice starts a PQXDH session from Bob's bundle and they exchange messages.
func Example() {
	ctx := context.Background()
	newStore := func() (*session.MemoryStore, prekey.IdentityKeyPair) {
		id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		reg, _ := prekey.GenerateRegistrationID(rand.Reader)
		return session.NewMemoryStore(id, reg), id
	}
	aliceStore, _ := newStore()
	bobStore, bobID := newStore()
	alice, bob := session.NewCipher(aliceStore), session.NewCipher(bobStore)
	aliceAddr := session.Address{Name: "alice", DeviceID: 1}
	bobAddr := session.Address{Name: "bob", DeviceID: 1}

	// Bob's prekeys: kept privately in his store, published as a bundle.
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bobID, 1, time.Now())
	kyber, _ := prekey.GenerateKyberPreKey(rand.Reader, bobID, 1, true, time.Now())
	bobStore.StoreSignedPreKey(ctx, &spk)
	bobStore.StoreKyberPreKey(ctx, &kyber)
	bundle := prekey.NewBundle(1, 1, bobID.PublicKey(), &spk, nil, &kyber)

	if err := alice.ProcessBundle(ctx, bobAddr, bundle); err != nil {
		panic(err)
	}
	typ, ct, _ := alice.Encrypt(ctx, bobAddr, []byte("hello"))
	pt, _ := bob.Decrypt(ctx, aliceAddr, typ, ct)
	fmt.Println(typ == session.TypePreKey, string(pt))

	typ, ct, _ = bob.Encrypt(ctx, aliceAddr, []byte("hi"))
	pt, _ = alice.Decrypt(ctx, bobAddr, typ, ct)
	fmt.Println(typ == session.TypeSignal, string(pt))

	_, err := alice.Decrypt(ctx, bobAddr, typ, ct)
	fmt.Println(errors.Is(err, session.ErrDuplicateMessage))
	// Output:
	// true hello
	// true hi
	// true
}
