package baileysrec_test

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/store/importer/internal/baileysrec"
)

// A sender-key record as Baileys stores it: its JSON text, in a BufferJSON
// Buffer. Anything unreadable is an error naming the field.
func ExampleParseSenderKey() {
	_, err := baileysrec.ParseSenderKey([]byte(`[{"senderKeyId":7,"senderChainKey":{"iteration":0,"seed":{"type":"Buffer","data":[1,2,3]}}}]`))
	fmt.Println(err)
	// Output:
	// group: invalid record: Baileys sender key: [0].senderChainKey.seed: 3 bytes
}
