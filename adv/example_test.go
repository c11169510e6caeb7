package adv_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/interlock-e2ee/interlock/adv"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// Bob links a companion device to his WhatsApp account: his primary device
// (device 0, the account key) signs the companion's identity, and the
// companion countersigns. Alice, who pins identities per device, vouches for
// the companion with that signed identity before she talks to it.
func Example() {
	ctx := context.Background()
	account, _ := prekey.GenerateIdentityKeyPair(rand.Reader)   // Bob's device 0
	companion, _ := prekey.GenerateIdentityKeyPair(rand.Reader) // Bob's device 3
	acc, dev := account.PublicKey().Raw(), companion.PublicKey().Raw()

	// ADVDeviceIdentity {raw_id 1, key_index 3} and its signatures, as
	// WhatsApp's clients make them (what a pairing produces).
	details := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 42)
	details = protowire.AppendVarint(protowire.AppendTag(details, 3, protowire.VarintType), 1)
	accountSig, _ := account.Sign(rand.Reader, slices.Concat([]byte{6, 0}, details, dev[:]))
	deviceSig, _ := companion.Sign(rand.Reader, slices.Concat([]byte{6, 1}, details, dev[:], acc[:]))
	var signed []byte
	for i, f := range [][]byte{details, nil, accountSig, deviceSig} {
		if f != nil {
			signed = protowire.AppendBytes(protowire.AppendTag(signed, protowire.Number(i+1), protowire.BytesType), f)
		}
	}

	// Alice: Bob's account key is pinned (device 0), the companion is not.
	aliceID, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	store := session.NewMemoryStore(aliceID, 1, session.WithIdentityScope(session.PerDevice))
	store.SaveIdentity(ctx, session.Address{Name: "bob", DeviceID: 0}, account.PublicKey())
	bob3 := session.Address{Name: "bob", DeviceID: 3}
	before, _ := store.IsTrustedIdentity(ctx, bob3, companion.PublicKey(), session.Sending)

	d, _, err := adv.Vouch(ctx, store, bob3, companion.PublicKey(), signed, nil)
	after, _ := store.IsTrustedIdentity(ctx, bob3, companion.PublicKey(), session.Sending)
	fmt.Println(before, err, d.KeyIndex, after)
	// Output: false <nil> 1 true
}
