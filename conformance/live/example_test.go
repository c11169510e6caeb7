package live_test

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// Two peers' capabilities responses decide the flavour a run uses: signal if
// both offer it, else whatsapp if both offer it, else none (the pairing is
// skipped). A peer that sends no "flavours" field offers signal only.
func Example() {
	interlock := live.Capabilities{
		Implementation: "interlock", Flavours: []string{"signal", "whatsapp"}, FlavoursDeclared: true,
	}
	whatsappOnly := live.Capabilities{
		Implementation: "whatsapp-flavour peer", Flavours: []string{"whatsapp"}, FlavoursDeclared: true,
	}
	undeclared := live.Capabilities{Implementation: "older peer"}

	fmt.Printf("%q\n", live.Negotiate(interlock, interlock))
	fmt.Printf("%q\n", live.Negotiate(interlock, whatsappOnly))
	fmt.Printf("%q\n", live.Negotiate(interlock, undeclared))
	fmt.Printf("%q\n", live.Negotiate(whatsappOnly, undeclared))
	// Output:
	// "signal"
	// "whatsapp"
	// "signal"
	// ""
}

// The set-up scenarios (Core) run first and also in ExpectRefusal mode;
// every scenario names the guarantees it demonstrates and the specification
// sections it traces to.
func ExampleAll() {
	traced := true
	for _, s := range live.All() {
		traced = traced && len(s.Guarantees) > 0 && len(s.Spec) > 0
		if s.Core {
			fmt.Println(s.ID)
		}
	}
	fmt.Println("every scenario traced to a spec:", traced)
	// Output:
	// setup/one-time+kyber
	// setup/one-time
	// setup/kyber
	// setup/signed-only
	// every scenario traced to a spec: true
}
