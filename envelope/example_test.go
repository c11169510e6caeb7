package envelope_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/proto"
)

// Alice sends Bob a Signal DataMessage inside an Envelope; Bob opens it.
func Example() {
	ctx := context.Background()
	aliceID, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	bobID, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	aliceStore, bobStore := session.NewMemoryStore(aliceID, 1), session.NewMemoryStore(bobID, 2)
	alice, bob := session.NewCipher(aliceStore), session.NewCipher(bobStore)
	aliceAddr := session.Address{Name: "9d0652a3-dcc3-4d11-975f-74d61598733f", DeviceID: 1}
	bobAddr := session.Address{Name: "0f3f2c0c-6e4b-4e2a-9b7a-0c5f2b2d7e11", DeviceID: 1}

	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bobID, 1, time.Now())
	kyber, _ := prekey.GenerateKyberPreKey(rand.Reader, bobID, 1, true, time.Now())
	bobStore.StoreSignedPreKey(ctx, &spk)
	bobStore.StoreKyberPreKey(ctx, &kyber)
	alice.ProcessBundle(ctx, bobAddr, &prekey.Bundle{
		RegistrationID: 2, DeviceID: 1, IdentityKey: bobID.PublicKey(),
		SignedPreKeyID: spk.ID, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		KyberPreKeyID: kyber.ID, KyberPreKey: kyber.KeyPair.Public, KyberPreKeySignature: kyber.Signature,
	})

	content := &signalpb.Content{Content: &signalpb.Content_DataMessage{DataMessage: &signalpb.DataMessage{
		Body: proto.String("hello"), Timestamp: proto.Uint64(1700000000000),
	}}}
	env, err := envelope.Seal(ctx, alice, aliceAddr, bobAddr, content, 1700000000000)
	if err != nil {
		panic(err)
	}
	e, _ := envelope.ParseEnvelope(env)
	fmt.Println(e.GetType())

	from, got, err := envelope.Open(ctx, bob, env)
	fmt.Println(err, from == aliceAddr, got.GetDataMessage().GetBody())
	// Output:
	// PREKEY_MESSAGE
	// <nil> true hello
}
