package conformance_test

import (
	"fmt"
	"path/filepath"

	"github.com/interlock-e2ee/interlock/conformance"
)

// Run the vector corpus against Interlock and count the failures. Another
// implementation passes its own conformance.Implementation instead of
// conformance.Interlock{}.
func Example() {
	dir := filepath.Join("..", "testdata", "vectors")
	results, err := conformance.RunCorpus(conformance.Interlock{}, dir, nil)
	if err != nil {
		panic(err)
	}
	passed, failed := 0, 0
	for _, r := range results {
		passed += r.Passed
		failed += r.Failed
		for _, f := range r.Failures {
			fmt.Println(r.Check, r.File, f)
		}
	}
	fmt.Println("vectors passed:", passed > 0)
	fmt.Println("failures:", failed)
	// Output:
	// vectors passed: true
	// failures: 0
}
