package conformance

import (
	"bytes"

	"google.golang.org/protobuf/encoding/protowire"
)

// signalFields returns fields 1 (ratchet key), 2 (counter) and 4 (body) of
// a SignalMessage (version ‖ protobuf ‖ 8-byte MAC).
func signalFields(m []byte) (key []byte, counter uint64, body []byte, ok bool) {
	if len(m) < 1+8 {
		return nil, 0, nil, false
	}
	b := m[1 : len(m)-8]
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, 0, nil, false
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, 0, nil, false
			}
			if num == 2 {
				counter = v
			}
			b = b[n:]
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, 0, nil, false
			}
			switch num {
			case 1:
				key = v
			case 4:
				body = v
			}
			b = b[n:]
		default:
			return nil, 0, nil, false
		}
	}
	return key, counter, body, true
}

func sameSignalMessage(a, b []byte) bool {
	ka, ca, ba, ok1 := signalFields(a)
	kb, cb, bb, ok2 := signalFields(b)
	return ok1 && ok2 && bytes.Equal(ka, kb) && ca == cb && bytes.Equal(ba, bb)
}
