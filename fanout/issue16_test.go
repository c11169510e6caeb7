package fanout_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/fanout"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// Issue #16 item 5: SealSenderKeyMessage sealed for every device of a user
// to the identity key of its first device, so under session.PerDevice a
// device with another key could not open the message and the sender was not
// told. Such devices are now refused before sealing (ErrIdentityKeyMismatch);
// under PerAccount the devices share the account's key and all open it.
func TestIssue16Item5_SealSenderKeyMessagePerDeviceKeys(t *testing.T) {
	ctx := context.Background()
	rootKP, _ := prekey.GenerateKeyPair(rand.Reader)
	serverKP, _ := prekey.GenerateKeyPair(rand.Reader)
	server, err := sealedsender.NewServerCertificate(rand.Reader, rootKP.Private, 1, serverKP.Public)
	if err != nil {
		t.Fatal(err)
	}
	for _, scope := range []session.IdentityScope{session.PerAccount, session.PerDevice} {
		t.Run(scope.String(), func(t *testing.T) {
			id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
			store := session.NewMemoryStore(id, 1, session.WithIdentityScope(scope))
			alice := newGroupSender(t, uuidName(0), testDist, store, group.NewMemoryStore(), fanout.NewMemoryDistributionStore())
			var devs []*device
			if scope == session.PerDevice {
				for dev := uint32(1); dev <= 2; dev++ {
					key, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
					devs = append(devs, newDevice(t, uuidName(1), dev, key)) // a key per device
				}
			} else {
				devs = newUser(t, uuidName(1), 2).devices
			}
			var out fanout.Outgoing
			for _, d := range devs {
				// The application vouches for each device (package adv
				// under PerDevice) and fetches its bundle.
				if _, err := store.SaveIdentity(ctx, d.addr, d.id.PublicKey()); err != nil {
					t.Fatal(err)
				}
				if err := alice.sessions.ProcessBundle(ctx, d.addr, d.bundle(t)); err != nil {
					t.Fatal(err)
				}
				out.Devices = append(out.Devices, d.addr)
			}
			out.SenderKeyMessage = []byte("a sender-key message")
			cert, err := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
				UUID: alice.addr.Name, DeviceID: 1, IdentityKey: alice.id.PublicKey(), Expires: time.Now().Add(time.Hour),
			}, server, serverKP.Private)
			if err != nil {
				t.Fatal(err)
			}
			sealed, err := alice.sender.SealSenderKeyMessage(ctx, nil, &out, cert, sealedsender.HintResendable, []byte("g"))
			if scope == session.PerDevice {
				if !errors.Is(err, sealedsender.ErrIdentityKeyMismatch) {
					t.Fatalf("devices with different keys sealed together: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range devs {
				sid, _ := sealedsender.ParseServiceID(d.addr.Name)
				msg, err := sealedsender.SplitForRecipient(sealed, sid, d.addr.DeviceID)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sealedsender.DecryptToContent(d.id, msg); err != nil {
					t.Fatalf("%s: %v", d.addr, err)
				}
			}
		})
	}
}
