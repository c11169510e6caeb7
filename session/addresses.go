package session

import (
	"crypto/subtle"

	"github.com/interlock-e2ee/interlock/internal/mutant"
)

// Address binding (libsignal ≥ 0.91, protocol.rs SignalMessage::addresses):
// the inner SignalMessage of a PreKeySignalMessage carries, in field 6 and
// under its MAC, the sender's and the recipient's address:
//
//	sender service ID (17 bytes, fixed width) ‖ sender device (1 byte) ‖
//	recipient service ID (17 bytes) ‖ recipient device (1 byte)
//
// A service ID's fixed-width form is its kind (0x00 ACI, 0x01 PNI) and the
// 16 UUID bytes; its string form, the name of an Address, is a hyphenated
// UUID for an ACI and "PNI:" and a hyphenated UUID for a PNI. Names of
// another form (WhatsApp JIDs, say) and devices above 255 have no binding.

// AddressBindingSize is the length of the address binding field.
const AddressBindingSize = 2 * (17 + 1)

// appendAddressBinding appends the binding of sender to recipient and
// reports whether both addresses have one.
func appendAddressBinding(dst []byte, sender, recipient Address) ([]byte, bool) {
	s, ok1 := serviceIDFixedWidth(sender.Name)
	r, ok2 := serviceIDFixedWidth(recipient.Name)
	if !ok1 || !ok2 || sender.DeviceID > 0xff || recipient.DeviceID > 0xff {
		return dst, false
	}
	dst = append(dst, s[:]...)
	dst = append(dst, byte(sender.DeviceID))
	dst = append(dst, r[:]...)
	return append(dst, byte(recipient.DeviceID)), true
}

// checkAddressBinding checks a received message's address binding, as
// libsignal's verify_mac_with_addresses does: a message without one is
// accepted (older senders, libsignal ≤ 0.90, version 3 peers); one with a
// binding must name from as its sender and, when the Cipher knows its own
// address, us as its recipient. Where libsignal skips the whole check without
// a local address, Interlock still checks the sender half. The binding is
// covered by the message's MAC, which is checked afterwards: comparing it
// first only refuses sooner.
func (c *Cipher) checkAddressBinding(from Address, binding []byte) error {
	if binding == nil || mutant.On(mutant.AddressUnbound) {
		return nil
	}
	if len(binding) != AddressBindingSize {
		return invalid("address binding of %d bytes", len(binding))
	}
	var want [AddressBindingSize]byte
	if c.local != nil {
		if _, ok := appendAddressBinding(want[:0], from, *c.local); !ok {
			return invalid("message carries an address binding and %s or %s has none", from, *c.local)
		}
		if subtle.ConstantTimeCompare(want[:], binding) != 1 {
			return invalid("address binding does not name %s to %s", from, *c.local)
		}
		return nil
	}
	s, ok := serviceIDFixedWidth(from.Name)
	if !ok || from.DeviceID > 0xff {
		return invalid("message carries an address binding and %s has none", from)
	}
	copy(want[:], s[:])
	want[17] = byte(from.DeviceID)
	if subtle.ConstantTimeCompare(want[:18], binding[:18]) != 1 {
		return invalid("address binding does not name %s as the sender", from)
	}
	return nil
}

// serviceIDFixedWidth parses libsignal's service ID string form (a
// hyphenated UUID, hex digits of either case, optionally prefixed "PNI:")
// into its fixed-width binary form.
func serviceIDFixedWidth(name string) (out [17]byte, ok bool) {
	if len(name) == 4+36 && name[:4] == "PNI:" {
		out[0], name = 0x01, name[4:]
	}
	if len(name) != 36 {
		return out, false
	}
	j := 1
	for i := 0; i < 36; {
		switch i {
		case 8, 13, 18, 23:
			if name[i] != '-' {
				return out, false
			}
			i++
			continue
		}
		hi, ok1 := unhex(name[i])
		lo, ok2 := unhex(name[i+1])
		if !ok1 || !ok2 {
			return out, false
		}
		out[j] = hi<<4 | lo
		j++
		i += 2
	}
	return out, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
