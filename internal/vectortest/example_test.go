package vectortest_test

import (
	"fmt"
	"path/filepath"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

// Tests call Load(t, name, &v); Find shows where the files are.
func ExampleFind() {
	p, err := vectortest.Find("libsignal-xeddsa.json")
	fmt.Println(filepath.Base(filepath.Dir(filepath.Dir(p))), filepath.Base(filepath.Dir(p)), filepath.Base(p), err)
	// Output: testdata vectors libsignal-xeddsa.json <nil>
}
