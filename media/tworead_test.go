package media

import (
	"bytes"
	"errors"
	"io"
	"runtime"
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
// twice, and a change between the reads is reported as ErrSourceChanged
// (also ErrInvalidMAC) before the changed chunk is written, whatever the
// checks (issue #20 item 14); a blob that fits the buffer is read once, so
// the change is never seen.
func TestSourceChangedBetweenPasses(t *testing.T) {
	for _, n := range []int{50_000, singleReadMax - 100, singleReadMax + 1, 3<<20 + 5} {
		pt := patterned(n, 7)
		wa, waInfo := sealWhatsApp(t, Video, pt)
		sig, sigInfo := sealSignal(t, pt)
		twoReads := int64(len(wa)-WhatsAppMACLen) > singleReadMax

		// Once the first pass has read the last ciphertext byte, flip a
		// byte it read before.
		waLast, sigLast := int64(len(wa)-WhatsAppMACLen-1), int64(len(sig)-SignalMACLen-1)
		src := &swappingReader{blob: bytes.Clone(wa), trigger: waLast, victim: 100}
		var out bytes.Buffer
		err := DecryptWhatsApp(&out, src, int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, StreamingSidecar: waInfo.StreamingSidecar})
		if twoReads && (!errors.Is(err, ErrSourceChanged) || !errors.Is(err, ErrInvalidMAC) || out.Len() != 0) {
			t.Fatalf("WhatsApp %d bytes: %v, wrote %d bytes", n, err, out.Len())
		}
		if !twoReads && (err != nil || !bytes.Equal(out.Bytes(), pt)) {
			t.Fatalf("WhatsApp %d bytes, one read: %v", n, err)
		}

		// With fileSHA256 to check too: the changed chunk is never
		// decrypted into the output, so that check is not reached.
		src = &swappingReader{blob: bytes.Clone(wa), trigger: waLast, victim: 100}
		out.Reset()
		err = DecryptWhatsApp(&out, src, int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileSHA256: waInfo.FileSHA256})
		if twoReads && (!errors.Is(err, ErrSourceChanged) || out.Len() != 0) {
			t.Fatalf("WhatsApp %d bytes, fileSHA256: %v, wrote %d bytes", n, err, out.Len())
		}
		if !twoReads && (err != nil || !bytes.Equal(out.Bytes(), pt)) {
			t.Fatalf("WhatsApp %d bytes, fileSHA256, one read: %v", n, err)
		}

		twoReads = int64(len(sig)-16-SignalMACLen) > singleReadMax
		src = &swappingReader{blob: bytes.Clone(sig), trigger: sigLast, victim: 100}
		out.Reset()
		err = DecryptSignal(&out, src, int64(len(sig)), sigInfo.Key, sigInfo.Size, &SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: sigInfo.IncrementalMAC})
		if twoReads && (!errors.Is(err, ErrSourceChanged) || out.Len() != 0) {
			t.Fatalf("Signal %d bytes: %v, wrote %d bytes", n, err, out.Len())
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

// TestChecksBeforeOutput: on blobs decrypted from two reads (on two
// goroutines, where the calling one starts decrypting while the second one
// still checks the digests), every failed check is reported in the
// documented order and nothing is written.
func TestChecksBeforeOutput(t *testing.T) {
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 1
		return b
	}
	for _, n := range []int{singleReadMax + 1, pipeMin + 5, 3<<20 + 5} {
		pt := patterned(n, 9)
		wa, waInfo := sealWhatsApp(t, Video, pt)
		sig, sigInfo := sealSignal(t, pt)
		all := WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, StreamingSidecar: waInfo.StreamingSidecar, FileSHA256: waInfo.FileSHA256}
		waCases := []struct {
			name  string
			blob  []byte
			check WhatsAppCheck
			want  error
		}{
			{"digest", wa, WhatsAppCheck{FileEncSHA256: flip(waInfo.FileEncSHA256, 0), FileSHA256: waInfo.FileSHA256}, ErrInvalidDigest},
			{"sidecar", wa, WhatsAppCheck{StreamingSidecar: flip(waInfo.StreamingSidecar, 3)}, ErrInvalidSidecar},
			{"flip-all", flip(wa, n/2), all, ErrInvalidDigest},
			{"flip-sidecar", flip(wa, n/2), WhatsAppCheck{StreamingSidecar: waInfo.StreamingSidecar}, ErrInvalidSidecar},
			{"flip-mac", flip(wa, n/2), WhatsAppCheck{FileSHA256: waInfo.FileSHA256}, ErrInvalidMAC},
			{"flip-tag", flip(wa, len(wa)-1), WhatsAppCheck{}, ErrInvalidMAC},
		}
		for _, c := range waCases {
			var w failWriter
			err := DecryptWhatsApp(&w, bytes.NewReader(c.blob), int64(len(c.blob)), Video, waInfo.MediaKey, &c.check)
			if !errors.Is(err, c.want) || w.wrote {
				t.Errorf("WhatsApp %d %s: err %v (want %v), wrote %v", n, c.name, err, c.want, w.wrote)
			}
		}
		sigCases := []struct {
			name  string
			blob  []byte
			check SignalCheck
			want  error
		}{
			{"digest", sig, SignalCheck{Digest: flip(sigInfo.Digest, 0), IncrementalMAC: sigInfo.IncrementalMAC}, ErrInvalidDigest},
			{"incremental", sig, SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: flip(sigInfo.IncrementalMAC, 40)}, ErrInvalidIncrementalMAC},
			{"flip-all", flip(sig, n/2), SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: sigInfo.IncrementalMAC}, ErrInvalidDigest},
			{"flip-mac", flip(sig, n/2), SignalCheck{}, ErrInvalidMAC},
			{"flip-iv", flip(sig, 0), SignalCheck{}, ErrInvalidMAC},
		}
		for _, c := range sigCases {
			var w failWriter
			err := DecryptSignal(&w, bytes.NewReader(c.blob), int64(len(c.blob)), sigInfo.Key, sigInfo.Size, &c.check)
			if !errors.Is(err, c.want) || w.wrote {
				t.Errorf("Signal %d %s: err %v (want %v), wrote %v", n, c.name, err, c.want, w.wrote)
			}
		}
	}
}

// TestPipedOneProcessor: with one processor the second goroutine runs only
// when the first waits, so the first does its work on the first chunks
// (the hand-over path); output and checks are the same.
func TestPipedOneProcessor(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 3<<20 + 5
	pt := patterned(n, 11)
	wa, waInfo := sealWhatsApp(t, Video, pt)
	sig, sigInfo := sealSignal(t, pt)
	var out bytes.Buffer
	check := &WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, StreamingSidecar: waInfo.StreamingSidecar, FileSHA256: waInfo.FileSHA256}
	if err := DecryptWhatsApp(&out, bytes.NewReader(wa), int64(len(wa)), Video, waInfo.MediaKey, check); err != nil || !bytes.Equal(out.Bytes(), pt) {
		t.Fatalf("WhatsApp: %v", err)
	}
	out.Reset()
	if err := DecryptSignal(&out, bytes.NewReader(sig), int64(len(sig)), sigInfo.Key, n, &SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: sigInfo.IncrementalMAC}); err != nil || !bytes.Equal(out.Bytes(), pt) {
		t.Fatalf("Signal: %v", err)
	}
	bad := bytes.Clone(waInfo.FileEncSHA256)
	bad[0] ^= 1
	var w failWriter
	if err := DecryptWhatsApp(&w, bytes.NewReader(wa), int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileEncSHA256: bad}); !errors.Is(err, ErrInvalidDigest) || w.wrote {
		t.Fatalf("bad digest: %v, wrote %v", err, w.wrote)
	}
}
