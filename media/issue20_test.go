package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// secondReadFlipper is a server-controlled ranged download (issue #20
// item 14): the first read at each offset gets the genuine blob, every later
// read at an offset already read gets forged, a copy with a few bits
// flipped. Decryption's first pass thus authenticates the genuine blob and
// its second pass is fed the forgery.
type secondReadFlipper struct {
	mu              sync.Mutex
	genuine, forged []byte
	reads           map[int64]int
	forgedReads     int
}

func newSecondReadFlipper(genuine, forged []byte) *secondReadFlipper {
	return &secondReadFlipper{genuine: genuine, forged: forged, reads: map[int64]int{}}
}

func (s *secondReadFlipper) ReadAt(p []byte, off int64) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src := s.genuine
	if s.reads[off]++; s.reads[off] > 1 {
		src = s.forged
		s.forgedReads++
	}
	if off < 0 || off >= int64(len(src)) {
		return 0, io.EOF
	}
	n := copy(p, src[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// payOrder is the plaintext the forgery targets: flipping bits 0x09 of the
// ciphertext byte 16 bytes before its '0' turns it into "PAY 9100" (CBC:
// a flip in ciphertext block i−1 flips the same bit of plaintext block i).
var payOrder, forgedOrder = []byte("PAY 0100"), []byte("PAY 9100")

// TestIssue20Item14_NoUnverifiedPlaintextWritten: issue #20 item 14. A
// source that returns the genuine blob in decryption's first pass and a
// bit-flipped one in its second must not get a single plaintext byte of the
// forgery written: the call fails with ErrSourceChanged (which is also
// ErrInvalidMAC) and dst holds exactly the plaintext of the 64 KiB chunks
// before the changed one, never "PAY 9100". Both formats, every set of checks, sizes on both sides
// of the in-memory threshold (a blob read once cannot change), the forged
// block at the start, at a chunk boundary, in the middle and at the end,
// with one and two processors.
func TestIssue20Item14_NoUnverifiedPlaintextWritten(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, n := range []int{singleReadMax - 100, singleReadMax + 1, pipeMin + 5, 1<<20 + 5} {
				testSecondPassForgery(t, n)
			}
		})
	}
}

func testSecondPassForgery(t *testing.T, n int) {
	// Plaintext offsets (block-aligned) where "PAY 0100" stands.
	last := (n - len(payOrder)) &^ 15
	for _, at := range []int{32, pipeChunk, pipeChunk + 16, n / 2 &^ 15, last} {
		if at < 16 || at+len(payOrder) > n {
			continue
		}
		pt := patterned(n, 13)
		copy(pt[at:], payOrder)
		// The flipped ciphertext byte, from the start of the ciphertext,
		// and the plaintext written before its chunk.
		flip := at - 16 + 4
		forge := func(blob []byte, ctOff int) []byte {
			f := bytes.Clone(blob)
			f[ctOff+flip] ^= '0' ^ '9'
			return f
		}
		verified := flip / pipeChunk * pipeChunk

		wa, waInfo := sealWhatsApp(t, Video, pt)
		waTwo := len(wa)-WhatsAppMACLen > singleReadMax
		for _, c := range []struct {
			name  string
			check *WhatsAppCheck
		}{
			{"mac-only", nil},
			{"fileSHA256", &WhatsAppCheck{FileSHA256: waInfo.FileSHA256}},
			{"all", &WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, StreamingSidecar: waInfo.StreamingSidecar, FileSHA256: waInfo.FileSHA256}},
		} {
			src := newSecondReadFlipper(wa, forge(wa, 0))
			var out bytes.Buffer
			err := DecryptWhatsApp(&out, src, int64(len(wa)), Video, waInfo.MediaKey, c.check)
			checkForgeryOutcome(t, fmt.Sprintf("WhatsApp %d bytes, %s, forged at %d", n, c.name, at), waTwo, src, err, out.Bytes(), pt, verified)
		}

		sig, sigInfo := sealSignal(t, pt)
		sigTwo := len(sig)-16-SignalMACLen > singleReadMax
		for _, c := range []struct {
			name  string
			check *SignalCheck
		}{
			{"mac-only", nil},
			{"all", &SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: sigInfo.IncrementalMAC, ChunkSize: sigInfo.ChunkSize}},
		} {
			src := newSecondReadFlipper(sig, forge(sig, 16))
			var out bytes.Buffer
			err := DecryptSignal(&out, src, int64(len(sig)), sigInfo.Key, sigInfo.Size, c.check)
			checkForgeryOutcome(t, fmt.Sprintf("Signal %d bytes, %s, forged at %d", n, c.name, at), sigTwo, src, err, out.Bytes(), pt, verified)
		}
	}
}

func checkForgeryOutcome(t *testing.T, name string, twoReads bool, src *secondReadFlipper, err error, out, pt []byte, verified int) {
	t.Helper()
	if bytes.Contains(out, forgedOrder) {
		t.Errorf("%s: the forged %q was written (err %v)", name, forgedOrder, err)
	}
	if !bytes.HasPrefix(pt, out) {
		t.Errorf("%s: wrote %d bytes that are not a prefix of the genuine plaintext (err %v)", name, len(out), err)
	}
	if !twoReads {
		// Read once: the forgery is never served.
		if err != nil || !bytes.Equal(out, pt) || src.forgedReads != 0 {
			t.Errorf("%s, one read: err %v, %d bytes, %d forged reads", name, err, len(out), src.forgedReads)
		}
		return
	}
	if src.forgedReads == 0 {
		t.Fatalf("%s: the second pass never read the source again", name)
	}
	if !errors.Is(err, ErrSourceChanged) || !errors.Is(err, ErrInvalidMAC) {
		t.Errorf("%s: err %v, want ErrSourceChanged (and ErrInvalidMAC)", name, err)
	}
	if len(out) != verified {
		t.Errorf("%s: wrote %d bytes, want the %d before the changed chunk", name, len(out), verified)
	}
}

// TestIssue20Item14_DecryptToFile: DecryptToFile keeps the output only when
// decryption succeeds (issue #20 item 14): a source that changes between
// the reads, or a failed fileSHA256, leaves the previous file untouched and
// no temporary file; success replaces it.
func TestIssue20Item14_DecryptToFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "photo.jpg")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := pipeMin + 5
	pt := patterned(n, 17)
	wa, info := sealWhatsApp(t, Video, pt)
	forged := bytes.Clone(wa)
	forged[3*pipeChunk] ^= 1
	badHash := bytes.Clone(info.FileSHA256)
	badHash[0] ^= 1
	for name, decrypt := range map[string]func(io.Writer) error{
		"source changed": func(dst io.Writer) error {
			return DecryptWhatsApp(dst, newSecondReadFlipper(wa, forged), int64(len(wa)), Video, info.MediaKey, nil)
		},
		"fileSHA256": func(dst io.Writer) error {
			return DecryptWhatsApp(dst, bytes.NewReader(wa), int64(len(wa)), Video, info.MediaKey, &WhatsAppCheck{FileSHA256: badHash})
		},
	} {
		if err := DecryptToFile(path, decrypt); err == nil {
			t.Fatalf("%s: no error", name)
		}
		if got, _ := os.ReadFile(path); string(got) != "old" {
			t.Fatalf("%s: the file was replaced", name)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Fatalf("%s: %d files left in the directory", name, len(ents))
		}
	}
	err := DecryptToFile(path, func(dst io.Writer) error {
		return DecryptWhatsApp(dst, bytes.NewReader(wa), int64(len(wa)), Video, info.MediaKey, &WhatsAppCheck{FileSHA256: info.FileSHA256})
	})
	if got, _ := os.ReadFile(path); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("success: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("success: %d files left in the directory", len(ents))
	}
}
