package group_test

import (
	"context"
	"fmt"

	"github.com/interlock-e2ee/interlock/group"
)

// Alice creates her sender key for a group and sends the distribution
// message to Bob (in a real application: inside a 1:1 session message);
// then one signed group message reaches every member who processed it.
func Example() {
	ctx := context.Background()
	alice := group.NewCipher(group.NewMemoryStore()) // LayoutSignal
	bob := group.NewCipher(group.NewMemoryStore())

	me := group.SenderKeyName{Sender: "alice-aci", DeviceID: 1, DistributionID: "d1b1c3a0-5e0f-4a8e-9d2b-6a7c8e9f0a1b"}
	skdm, err := alice.CreateDistributionMessage(ctx, me)
	if err != nil {
		panic(err)
	}

	// Bob receives skdm.Bytes() over his session with Alice.
	received, err := group.ParseSenderKeyDistributionMessage(skdm.Bytes(), group.LayoutSignal)
	if err != nil {
		panic(err)
	}
	from := group.SenderKeyName{Sender: "alice-aci", DeviceID: 1} // the distribution comes from the message
	if err := bob.ProcessDistributionMessage(ctx, from, received); err != nil {
		panic(err)
	}

	ct, err := alice.Encrypt(ctx, me, []byte("hello, group"))
	if err != nil {
		panic(err)
	}
	pt, err := bob.Decrypt(ctx, from, ct)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", pt)
	// Output: hello, group
}
