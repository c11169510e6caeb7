package media

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// swappingReader serves blob; once the byte at trigger has been read, it
// flips a bit at victim, as if another writer touched the file between
// decryption's two reads.
type swappingReader struct {
	blob            []byte
	trigger, victim int64
	done            bool
}

func (s *swappingReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(s.blob)) {
		return 0, io.EOF
	}
	n := copy(p, s.blob[off:])
	if !s.done && off <= s.trigger && s.trigger < off+int64(n) {
		s.blob[s.victim] ^= 1
		s.done = true
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestSourceChangedBetweenPasses: a blob larger than the buffer is read
// twice, and a change between the reads is reported as ErrInvalidMAC; a blob
// that fits the buffer is read once, so the change is never seen.
func TestSourceChangedBetweenPasses(t *testing.T) {
	for _, n := range []int{50_000, singleReadMax - 100, singleReadMax + 1, 3<<20 + 5} {
		pt := patterned(n, 7)
		wa, waInfo := sealWhatsApp(t, Video, pt)
		sig, sigInfo := sealSignal(t, pt)
		twoReads := int64(len(wa)-WhatsAppMACLen) > singleReadMax

		// The tag is read right after the first pass; flip the last
		// ciphertext block's neighbour then.
		src := &swappingReader{blob: bytes.Clone(wa), trigger: int64(len(wa) - 1), victim: 100}
		var out bytes.Buffer
		err := DecryptWhatsApp(&out, src, int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, StreamingSidecar: waInfo.StreamingSidecar})
		if twoReads && !errors.Is(err, ErrInvalidMAC) {
			t.Fatalf("WhatsApp %d bytes: %v", n, err)
		}
		if !twoReads && (err != nil || !bytes.Equal(out.Bytes(), pt)) {
			t.Fatalf("WhatsApp %d bytes, one read: %v", n, err)
		}

		twoReads = int64(len(sig)-16-SignalMACLen) > singleReadMax
		src = &swappingReader{blob: bytes.Clone(sig), trigger: int64(len(sig) - 1), victim: 100}
		out.Reset()
		err = DecryptSignal(&out, src, int64(len(sig)), sigInfo.Key, sigInfo.Size, &SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: sigInfo.IncrementalMAC})
		if twoReads && !errors.Is(err, ErrInvalidMAC) {
			t.Fatalf("Signal %d bytes: %v", n, err)
		}
		if !twoReads && (err != nil || !bytes.Equal(out.Bytes(), pt)) {
			t.Fatalf("Signal %d bytes, one read: %v", n, err)
		}

		// Untouched, both decrypt.
		out.Reset()
		if err := DecryptSignal(&out, bytes.NewReader(sig), int64(len(sig)), sigInfo.Key, -1, nil); err != nil || !bytes.Equal(out.Bytes()[:n], pt) || int64(out.Len()) != PaddedSize(int64(n)) {
			t.Fatalf("Signal %d bytes, size -1: %v (%d bytes)", n, err, out.Len())
		}
	}
}
