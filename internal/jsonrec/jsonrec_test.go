package jsonrec_test

import (
	"fmt"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/jsonrec"
)

// A protobuf record whose first field's length byte is '{' (0x7B) after the
// 0x0A tag is not JSON: the detection once trimmed 0x0A as white space.
func TestProtobufStartingWithNewline(t *testing.T) {
	b := append([]byte{0x0A, '{'}, make([]byte, 123)...)
	if jsonrec.Is(b) {
		t.Fatal("protobuf record read as JSON")
	}
	for _, s := range []string{`{"senderKeyStates":[]}`, "\n {}", "{"} {
		if !jsonrec.Is([]byte(s)) {
			t.Fatalf("%q not recognised", s)
		}
	}
	for _, b := range [][]byte{nil, {}, []byte(" "), []byte("\n{"), {0x08, 0x01}} {
		if jsonrec.Is(b) {
			t.Fatalf("%q read as JSON", b)
		}
	}
}

func ExampleIs() {
	fmt.Println(jsonrec.Is([]byte(`{"ID":1}`)), jsonrec.Is([]byte{0x08, 0x01}))
	// Output: true false
}
