package fingerprint_test

import (
	"encoding/base64"
	"fmt"

	"github.com/interlock-e2ee/interlock/fingerprint"
	"github.com/interlock-e2ee/interlock/prekey"
)

// Alice and Bob compute the same safety number from their ACIs and identity
// keys; Bob scans Alice's QR code and compares.
func Example() {
	// Identity keys as received (33 bytes, 0x05 ‖ key), parsed once.
	aliceRaw, _ := base64.StdEncoding.DecodeString("BU8oWNiEQ35Qt05zYi/HTLCVyREa9pAmJ87obP3NtOxh")
	bobRaw, _ := base64.StdEncoding.DecodeString("BV7u0qL9rz7kjjJeWXqDNhwTlfcIqG8HzDx062Rz9IZU")
	aliceKey, err := prekey.NewIdentityKey(aliceRaw)
	if err != nil {
		panic(err)
	}
	bobKey, err := prekey.NewIdentityKey(bobRaw)
	if err != nil {
		panic(err)
	}
	aliceACI, _ := fingerprint.StableID(fingerprint.VersionACI, "f5f48723-41bf-458d-a070-b87039a511dd")
	bobACI, _ := fingerprint.StableID(fingerprint.VersionACI, "0d6b4ff5-8bf2-43d5-9bb8-5be7b4dc2a1e")

	alice, err := fingerprint.New(fingerprint.VersionACI, aliceACI, aliceKey, bobACI, bobKey)
	if err != nil {
		panic(err)
	}
	bob, err := fingerprint.New(fingerprint.VersionACI, bobACI, bobKey, aliceACI, aliceKey)
	if err != nil {
		panic(err)
	}
	fmt.Println(alice.Displayable() == bob.Displayable(), len(alice.Displayable()))
	ok, err := bob.Scannable().Compare(alice.Scannable().Bytes())
	fmt.Println(ok, err)
	// Output:
	// true 60
	// true <nil>
}
