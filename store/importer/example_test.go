package importer_test

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer"
)

// Whatsmeow names a remote device "user:device"; the importer maps it to a
// session.Address. Options.Address replaces the mapping (to move sessions
// from phone numbers to LIDs, say).
func ExampleWhatsmeowAddress() {
	a, err := importer.WhatsmeowAddress("15550000001:3")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Name, a.DeviceID)

	opts := importer.Options{Address: func(id string) (session.Address, error) {
		a, err := importer.WhatsmeowAddress(id)
		a.Name += "@s.whatsapp.net"
		return a, err
	}}
	b, _ := opts.Address("15550000001:3")
	fmt.Println(b)
	// Output:
	// 15550000001 3
	// 15550000001@s.whatsapp.net.3
}

// Baileys names a remote device "user.device" (a LID's user part ends in
// "_1"); the importer maps it to a session.Address the same way.
func ExampleBaileysAddress() {
	a, err := importer.BaileysAddress("987654321012345_1.3")
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Name, a.DeviceID)
	// Output:
	// 987654321012345_1 3
}
