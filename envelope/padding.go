package envelope

import (
	crand "crypto/rand"
	"fmt"
	"io"

	"github.com/interlock-e2ee/interlock/session"
)

// SignalPaddingBlock is the block Signal pads Content to (older clients used
// 160; unpadding accepts any length).
const SignalPaddingBlock = 80

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: envelope: "+format, append([]any{session.ErrInvalidMessage}, args...)...)
}

// PadSignal returns content ‖ 0x80 ‖ zeros, 80·⌈(n+2)/80⌉ − 1 bytes for an
// n-byte content, so that the cipher's PKCS#7 padding adds exactly one byte
// (Signal-Android PushTransportDetails; libsignal's PlaintextContent).
func PadSignal(content []byte) []byte {
	n := SignalPaddingBlock*((len(content)+2+SignalPaddingBlock-1)/SignalPaddingBlock) - 1
	out := make([]byte, n)
	copy(out, content)
	out[len(content)] = 0x80
	return out
}

// UnpadSignal strips Signal's padding: it scans back over zero bytes to the
// 0x80 that ends the content. Anything else there is an error wrapping
// session.ErrInvalidMessage.
func UnpadSignal(padded []byte) ([]byte, error) {
	for i := len(padded) - 1; i >= 0; i-- {
		switch padded[i] {
		case 0:
			continue
		case 0x80:
			return padded[:i], nil
		default:
			return nil, invalid("padding byte 0x%02x before the end marker", padded[i])
		}
	}
	return nil, invalid("no padding end marker")
}

// PadWhatsApp appends WhatsApp's padding: N bytes each equal to N, N drawn
// uniformly from 1–15 with rand (whatsmeow's padMessage, `<enc v="2">`). A
// nil rand means crypto/rand.Reader.
func PadWhatsApp(rand io.Reader, payload []byte) ([]byte, error) {
	if rand == nil {
		rand = crand.Reader
	}
	var b [1]byte
	for {
		if _, err := io.ReadFull(rand, b[:]); err != nil {
			return nil, fmt.Errorf("envelope: reading random padding length: %w", err)
		}
		if n := b[0] & 0x0f; n != 0 {
			out := make([]byte, len(payload), len(payload)+int(n))
			copy(out, payload)
			for range n {
				out = append(out, n)
			}
			return out, nil
		}
	}
}

// UnpadWhatsApp strips WhatsApp's padding strictly: the last byte N must be at
// least 1 and the last N bytes must all equal N. Senders write N ≤ 15; larger
// well-formed values are accepted as whatsmeow does.
func UnpadWhatsApp(padded []byte) ([]byte, error) {
	if len(padded) == 0 {
		return nil, invalid("empty padded payload")
	}
	n := int(padded[len(padded)-1])
	if n == 0 || n > len(padded) {
		return nil, invalid("padding length %d for %d bytes", n, len(padded))
	}
	for _, c := range padded[len(padded)-n:] {
		if int(c) != n {
			return nil, invalid("malformed padding")
		}
	}
	return padded[:len(padded)-n], nil
}
