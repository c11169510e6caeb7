package jsonrec

import (
	"bytes"
	"encoding/json"
)

// Is reports whether b is a JSON object: a protobuf record never starts
// with '{' (0x7B: field 15, wire type 3, a group no record has).
func Is(b []byte) bool {
	if len(b) > 0 && b[0] == '{' {
		return true
	}
	// Leading white space is JSON's too, but 0x09, 0x0A, 0x0D and 0x20 also
	// start protobuf fields (0x0A is field 1, bytes: most records): such a
	// record is JSON only if the whole of it is.
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}
