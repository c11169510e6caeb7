package sealedsender_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// The service certifies Alice; Alice seals a message to Bob over their
// session; Bob learns the sender only from the validated certificate.
func Example() {
	ctx := context.Background()

	// The service: a trust root (shipped in every client) and a signing key.
	root, _ := prekey.GenerateKeyPair(rand.Reader)
	serverKey, _ := prekey.GenerateKeyPair(rand.Reader)
	serverCert, _ := sealedsender.NewServerCertificate(rand.Reader, root.Private, 1, serverKey.Public)

	// Alice and Bob, each with a store and a cipher; Alice has Bob's bundle.
	newDevice := func() (*session.MemoryStore, *session.Cipher, prekey.IdentityKeyPair) {
		id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		st := session.NewMemoryStore(id, 1)
		return st, session.NewCipher(st), id
	}
	aliceStore, alice, aliceID := newDevice()
	bobStore, bob, bobID := newDevice()
	aliceAddr := session.Address{Name: "9d0652a3-dcc3-4d11-975f-74d61598733f", DeviceID: 1}
	bobAddr := session.Address{Name: "796abedb-ca4e-4f18-8803-1fab5b92a5ad", DeviceID: 1}
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bobID, 1, time.Now())
	kyber, _ := prekey.GenerateKyberPreKey(rand.Reader, bobID, 1, true, time.Now())
	bobStore.StoreSignedPreKey(ctx, &spk)
	bobStore.StoreKyberPreKey(ctx, &kyber)
	alice.ProcessBundle(ctx, bobAddr, prekey.NewBundle(1, 1, bobID.PublicKey(), &spk, nil, &kyber))

	// The service issues Alice a day-long sender certificate.
	cert, _ := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
		UUID: aliceAddr.Name, DeviceID: aliceAddr.DeviceID, IdentityKey: aliceID.PublicKey(),
		Expires: time.Now().Add(24 * time.Hour),
	}, serverCert, serverKey.Private)

	sealed, err := sealedsender.EncryptMessage(ctx, rand.Reader, alice, aliceStore, bobAddr, cert, []byte("hello, unseen"))
	if err != nil {
		panic(err)
	}
	res, err := sealedsender.DecryptMessage(ctx, bob, bobStore, sealed, sealedsender.DecryptOptions{
		TrustRoot: root.Public, Now: time.Now(), Local: bobAddr,
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("0x%02x %s from %s, inner type %d\n", sealed[0], res.Plaintext, res.Sender, res.Type)
	// Output:
	// 0x11 hello, unseen from 9d0652a3-dcc3-4d11-975f-74d61598733f.1, inner type 3
}
