package adv_test

import (
	"testing"

	"github.com/interlock-e2ee/interlock/adv"
)

// FuzzParse: the ADV parsers never panic and bound what they accept.
func FuzzParse(f *testing.F) {
	account, device := identity(f), identity(f)
	f.Add(signedIdentity(f, account, device, details(1, 2, 0), false))
	f.Add(keyIndexList(f, account, 1, 0, 1, 2))
	f.Add(details(1, 2, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := adv.ParseSignedDeviceIdentity(b); err == nil {
			adv.ParseDeviceIdentity(m.Details)
			adv.VerifyDeviceIdentity(b, account.PublicKey(), device.PublicKey())
		}
		if m, err := adv.ParseSignedKeyIndexList(b); err == nil {
			if l, err := adv.ParseKeyIndexList(m.Details); err == nil && len(l.ValidIndexes) > len(b) {
				t.Fatalf("%d indexes from %d bytes", len(l.ValidIndexes), len(b))
			}
		}
		adv.ParseDeviceIdentity(b)
		adv.ParseKeyIndexList(b)
	})
}
