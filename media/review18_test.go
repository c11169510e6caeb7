package media

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"
)

// reviewRace is set under the race detector (review18_race_test.go).
var reviewRace bool

// secondReadReader serves blob, except that each byte in change reads as
// changed (xor 0x5A) from its second read on, as a file rewritten between
// decryption's passes would.
type secondReadReader struct {
	blob   []byte
	mu     sync.Mutex
	change map[int64]int // position → reads so far
}

func (s *secondReadReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(s.blob)) {
		return 0, io.EOF
	}
	n := copy(p, s.blob[off:])
	s.mu.Lock()
	for pos, reads := range s.change {
		if pos >= off && pos < off+int64(n) {
			if reads > 0 {
				p[pos-off] ^= 0x5A
			}
			s.change[pos] = reads + 1
		}
	}
	s.mu.Unlock()
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// prefixWriter fails the test as soon as what was written stops being a
// prefix of want.
type prefixWriter struct {
	want []byte
	n    int
	bad  bool
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > len(w.want) || !bytes.Equal(p, w.want[w.n:w.n+len(p)]) {
		w.bad = true
	}
	w.n += len(p)
	return len(p), nil
}

// TestReviewSourceChangedPass2 (issue #20 item 14 against the pass-2
// claims): a source whose bytes change between the passes — in every
// chunk, in one byte of one chunk, only in the last partial chunk, only in
// the first, across a chunk boundary, at the last byte of a chunk (the
// next chunk's CBC IV), across a 4 KiB unit boundary, at the first chunk
// whose fingerprint is appended rather than placed (chunk 1024) — never
// gets a byte of plaintext from changed ciphertext to dst, and the call
// fails with ErrSourceChanged; with GOMAXPROCS 1 and 2, both formats, and
// each set of checks.
func TestReviewSourceChangedPass2(t *testing.T) {
	sizes := []int{singleReadMax + 1, pipeMin + 5, 1 << 20, 3<<20 + 100, headChunks*pipeChunk + pipeChunk + 100}
	if testing.Short() || reviewRace {
		sizes = sizes[:4] // 64 MiB under the race detector: minutes
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, size := range sizes {
		pt := patterned(size, 3)
		wa, waInfo := sealWhatsApp(t, Video, pt)
		sig, sigInfo := sealSignal(t, pt)
		type format struct {
			name    string
			blob    []byte
			off, n  int64
			decrypt func(dst io.Writer, src io.ReaderAt) error
		}
		formats := []format{
			{"WhatsApp", wa, 0, int64(len(wa) - WhatsAppMACLen), func(dst io.Writer, src io.ReaderAt) error {
				return DecryptWhatsApp(dst, src, int64(len(wa)), Video, waInfo.MediaKey, nil)
			}},
			{"WhatsApp-digests", wa, 0, int64(len(wa) - WhatsAppMACLen), func(dst io.Writer, src io.ReaderAt) error {
				return DecryptWhatsApp(dst, src, int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, StreamingSidecar: waInfo.StreamingSidecar})
			}},
			{"WhatsApp-fileSHA256", wa, 0, int64(len(wa) - WhatsAppMACLen), func(dst io.Writer, src io.ReaderAt) error {
				return DecryptWhatsApp(dst, src, int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileSHA256: waInfo.FileSHA256})
			}},
			{"Signal", sig, 16, int64(len(sig) - 16 - SignalMACLen), func(dst io.Writer, src io.ReaderAt) error {
				return DecryptSignal(dst, src, int64(len(sig)), sigInfo.Key, sigInfo.Size, nil)
			}},
			{"Signal-digests", sig, 16, int64(len(sig) - 16 - SignalMACLen), func(dst io.Writer, src io.ReaderAt) error {
				return DecryptSignal(dst, src, int64(len(sig)), sigInfo.Key, sigInfo.Size, &SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: sigInfo.IncrementalMAC})
			}},
		}
		for _, f := range formats {
			n, pc := f.n, int64(pipeChunk)
			chunks := (n + pc - 1) / pc
			mid := chunks / 2 * pc // a chunk boundary
			patterns := map[string][]int64{
				"first":           {0},
				"mid-one":         {mid + pc/2},
				"last-partial":    {n - 1},
				"last-two-blocks": {n - 17},
				"straddle":        {mid - 1, mid},
				"next-iv":         {mid - 1},
				"unit-straddle":   {mid + cbcUnit - 1, mid + cbcUnit},
				"last-unit":       {mid + pc - cbcUnit + 1},
				"before-last":     {(chunks-1)*pc - 1},
			}
			var every []int64
			for c := range chunks {
				every = append(every, min(c*pc+pc/3, n-1))
			}
			patterns["every-chunk"] = every
			if chunks > headChunks {
				patterns["first-tail"] = []int64{headChunks*pc + 5}
				patterns["last-head"] = []int64{headChunks*pc - 1}
			}
			for name, pos := range patterns {
				for _, procs := range []int{1, 2} {
					runtime.GOMAXPROCS(procs)
					change := map[int64]int{}
					first := n
					for _, p := range pos {
						if p < 0 || p >= n {
							continue
						}
						change[f.off+p] = 0
						first = min(first, p)
					}
					src := &secondReadReader{blob: f.blob, change: change}
					w := &prefixWriter{want: pt}
					err := f.decrypt(w, src)
					// A change at ciphertext byte p garbles plaintext
					// block p/16 and flips bits in the next: nothing from
					// the changed chunk's start on may be written.
					limit := first / pc * pc
					if w.bad || int64(w.n) > limit || !errors.Is(err, ErrSourceChanged) {
						t.Errorf("%d bytes %s %s GOMAXPROCS %d: %v; wrote %d bytes (limit %d), wrong bytes %v",
							size, f.name, name, procs, err, w.n, limit, w.bad)
					}
				}
			}
		}
	}
}

// TestReviewPass2CancelAndWriteErrors: a context cancelled, or a dst that
// fails, while pass 2 writes: the call returns (no deadlock), with the
// error, and leaves no goroutine behind; with GOMAXPROCS 1 and 2.
func TestReviewPass2CancelAndWriteErrors(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	const size = 3<<20 + 100
	pt := patterned(size, 5)
	wa, waInfo := sealWhatsApp(t, Video, pt)
	sig, sigInfo := sealSignal(t, pt)
	before := runtime.NumGoroutine()
	errStop := errors.New("stop")
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for _, at := range []int{1, pipeChunk - 1, pipeChunk, 5*pipeChunk + 7, size - 1} {
			for _, mode := range []string{"cancel", "write-error"} {
				for _, format := range []string{"WhatsApp", "Signal"} {
					ctx, cancel := context.WithCancel(context.Background())
					w := &triggerWriter{at: at, fire: func() error {
						if mode == "cancel" {
							cancel()
							return nil
						}
						return errStop
					}}
					done := make(chan error, 1)
					go func() {
						if format == "WhatsApp" {
							done <- DecryptWhatsAppContext(ctx, w, bytes.NewReader(wa), int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileSHA256: waInfo.FileSHA256}, nil)
						} else {
							done <- DecryptSignalContext(ctx, w, bytes.NewReader(sig), int64(len(sig)), sigInfo.Key, sigInfo.Size, nil, nil)
						}
					}()
					var err error
					select {
					case err = <-done:
					case <-time.After(time.Minute):
						buf := make([]byte, 1<<20)
						t.Fatalf("%s %s at %d: no return\n%s", format, mode, at, buf[:runtime.Stack(buf, true)])
					}
					cancel()
					want := errStop
					if mode == "cancel" {
						want = context.Canceled
					}
					if mode == "cancel" && err == nil && w.n == size {
						continue // cancelled at the last write: everything written
					}
					if !errors.Is(err, want) {
						t.Errorf("%s %s at %d GOMAXPROCS %d: %v", format, mode, at, procs, err)
					}
				}
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines left (%d before)\n%s", g, before, buf[:runtime.Stack(buf, true)])
	}
}

// triggerWriter calls fire once at bytes have been written, and from then
// on returns its error.
type triggerWriter struct {
	at, n int
	fire  func() error
	err   error
	fired bool
}

func (w *triggerWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if !w.fired && w.n+len(p) >= w.at {
		w.fired = true
		if w.err = w.fire(); w.err != nil {
			return 0, w.err
		}
	}
	w.n += len(p)
	return len(p), nil
}
