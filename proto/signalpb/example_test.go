package signalpb_test

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"google.golang.org/protobuf/proto"
)

func Example() {
	b, _ := proto.Marshal(&signalpb.SignalMessage{Counter: proto.Uint32(1), PreviousCounter: proto.Uint32(0)})
	fmt.Printf("%x\n", b)
	// Output: 10011800
}
