package media

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestSideStreamOrder: pass 1's side stream (the digests), which the
// calling goroutine runs until the second one is up (decryptPiped's up and
// helped) and the second one after, sees every chunk of the region
// exactly once and in order, and its digest equals a one-shot SHA-256 of
// the region; with GOMAXPROCS 1 and 2, sizes drawn at random, and random
// delays in the calling goroutine's MAC (scan) and in the side stream, so
// that the stream changes hands both ways. The test fails unless both
// goroutines ran side chunks. Under -race it also proves that the
// hand-over orders the hash state's reads and writes.
func TestSideStreamOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var key [32]byte
	iv := make([]byte, aes.BlockSize)
	rand.Read(key[:])
	rand.Read(iv)
	block, _ := aes.NewCipher(key[:])
	var byCaller, byOther int
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for run := range 12 {
			var r [8]byte
			rand.Read(r[:])
			v := binary.LittleEndian.Uint64(r[:])
			// singleReadMax+16 … ~1.6 MiB, a multiple of the block size.
			n := int64(singleReadMax+aes.BlockSize) + int64(v%(24*pipeChunk))&^(aes.BlockSize-1)
			region := make([]byte, n)
			rand.Read(region)
			var calls, pos int64
			var caller atomic.Int64 // the goroutine running scan
			h := sha256.New()
			var orderErr error
			delay := func(bits uint64) {
				if bits%4 == 0 {
					time.Sleep(time.Duration(bits%300) * time.Microsecond)
				}
			}
			ps := &passes{
				scan: func(ct []byte) {
					caller.Store(goid())
					rand.Read(r[:])
					delay(binary.LittleEndian.Uint64(r[:]))
				},
				side: func(ct []byte) {
					if goid() == caller.Load() {
						byCaller++
					} else {
						byOther++
					}
					if orderErr == nil && (pos+int64(len(ct)) > n || !bytes.Equal(ct, region[pos:pos+int64(len(ct))])) {
						orderErr = fmt.Errorf("side call %d at %d: not the region's next %d bytes", calls, pos, len(ct))
					}
					calls++
					pos += int64(len(ct))
					h.Write(ct)
					var q [8]byte
					rand.Read(q[:])
					delay(binary.LittleEndian.Uint64(q[:]))
				},
				gate: func() error {
					want := sha256.Sum256(region)
					switch {
					case orderErr != nil:
						return orderErr
					case pos != n:
						return fmt.Errorf("side saw %d bytes of %d", pos, n)
					case !bytes.Equal(h.Sum(nil), want[:]):
						return errors.New("side digest differs from one-shot SHA-256")
					}
					return nil
				},
				check: func() (int64, error) { return n, nil },
			}
			f, err := newFingerprints(n)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := decryptPiped(&out, bytes.NewReader(region), 0, n, block, iv, ps, f); err != nil {
				t.Fatalf("GOMAXPROCS %d run %d, %d bytes: %v", procs, run, n, err)
			}
			want := make([]byte, n)
			cipher.NewCBCDecrypter(block, iv).CryptBlocks(want, region)
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("GOMAXPROCS %d run %d, %d bytes: wrong plaintext", procs, run, n)
			}
			if want := (n + pipeChunk - 1) / pipeChunk; calls != want {
				t.Fatalf("GOMAXPROCS %d run %d: %d side calls, want %d", procs, run, calls, want)
			}
		}
	}
	t.Logf("side chunks run by the calling goroutine: %d, by the second: %d", byCaller, byOther)
	if byCaller == 0 || byOther == 0 {
		t.Errorf("the side stream never changed hands (calling goroutine %d chunks, second %d)", byCaller, byOther)
	}
}

// goid is the running goroutine's id, from its stack header (tests only).
func goid() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	var id int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}
