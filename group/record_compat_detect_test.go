package group

import "testing"

// A protobuf record whose first field's length byte is '{' (0x7B) after the
// 0x0A tag is not JSON: the detection once trimmed 0x0A as white space.
func TestIsJSONRecordProtobufStartingWithNewline(t *testing.T) {
	b := append([]byte{0x0A, '{'}, make([]byte, 123)...)
	if isJSONRecord(b) {
		t.Fatal("protobuf record read as JSON")
	}
	if !isJSONRecord([]byte(`{"senderKeyStates":[]}`)) || !isJSONRecord([]byte("\n {}")) {
		t.Fatal("JSON record not recognised")
	}
}
