package wycheproof_test

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/wycheproof"
)

// An acceptable case is settled by the first decision whose flag it carries.
func ExampleReport_Want() {
	decisions := []wycheproof.Decision{
		{Flag: "ZeroSharedSecret", Valid: false, Why: "an all-zero X25519 output is refused"},
	}
	var r wycheproof.Report
	want, err := r.Want(wycheproof.Test{TcID: "32", Result: "acceptable", Flags: []string{"ZeroSharedSecret"}}, decisions)
	fmt.Println(want, err)
	_, err = r.Want(wycheproof.Test{TcID: "33", Result: "acceptable", Flags: []string{"Twist"}}, decisions)
	fmt.Println(err)
	// Output:
	// false <nil>
	// tcId 33: acceptable case with flags [Twist] has no decision
}
