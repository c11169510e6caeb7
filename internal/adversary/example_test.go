package adversary_test

import (
	"context"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/adversary"
)

// The conformance peer's adversary mode asks for a SignalMessage with a
// pq_ratchet of SPQR version 2.
func Example() {
	ctx := adversary.WithPQRatchet(context.Background(), adversary.PQRatchet{Version: 2})
	p, ok := adversary.PQRatchetOf(ctx)
	fmt.Println(ok, p.Bytes())
	_, ok = adversary.PQRatchetOf(context.Background())
	fmt.Println(ok)
	// Output:
	// true [2]
	// false
}
