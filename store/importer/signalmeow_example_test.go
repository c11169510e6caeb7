package importer_test

import (
	"fmt"
	"strings"

	"github.com/interlock-e2ee/interlock/store/importer"
)

// signalmeow names a remote device by its service ID (an ACI UUID, or "PNI:"
// and a PNI) and device ID; by default the service ID, in canonical form, is
// the Interlock address name. Options.ServiceName replaces the mapping (to
// name contacts by the application's own user IDs, say); device IDs are
// kept.
func ExampleSignalmeowName() {
	for _, id := range []string{"5C0A1D2E-3F40-4A5B-8C6D-7E8F90A1B2C3", "pni:6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4", "+15550000001"} {
		name, err := importer.SignalmeowName(id)
		fmt.Printf("%q %v\n", name, err)
	}
	opts := importer.Options{ServiceName: func(id string) (string, error) {
		name, err := importer.SignalmeowName(id)
		return "signal:" + strings.TrimPrefix(name, "PNI:"), err
	}}
	n, _ := opts.ServiceName("PNI:6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4")
	fmt.Println(n)
	// Output:
	// "5c0a1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3" <nil>
	// "PNI:6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4" <nil>
	// "" importer: invalid service ID: "+15550000001"
	// signal:6d1b2e3f-4051-4b6c-9d7e-8f90a1b2c3d4
}
