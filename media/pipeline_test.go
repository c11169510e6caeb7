package media

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"testing"
	"time"
)

// pipeSizes straddle the two-goroutine threshold and the ring's wrap-around.
var pipeSizes = []int{pipeMin - 17, pipeMin - 16, pipeMin, pipeMin + 1, pipeMin + 3*pipeChunk + 17, 2*pipeMin + 5, 3<<20 + 5}

// oddReader returns at most 1000 bytes a call, so that fills span reads.
type oddReader struct{ r io.Reader }

func (o oddReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), 1000)]) }

func refCBC(key, iv, pt []byte) []byte {
	pad := 16 - len(pt)%16
	buf := append(bytes.Clone(pt), bytes.Repeat([]byte{byte(pad)}, pad)...)
	block, _ := aes.NewCipher(key)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf
}

func refHMAC(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// TestPipelineMatchesDefinition: around and above pipeMin, both formats'
// output and metadata equal the formats' definitions computed in memory,
// and decrypt back.
func TestPipelineMatchesDefinition(t *testing.T) {
	for _, n := range pipeSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pt := patterned(n, 5)
			mediaKey := bytes.Repeat([]byte{7}, MediaKeySize)
			var blob bytes.Buffer
			info, err := EncryptWhatsAppWithKey(&blob, oddReader{bytes.NewReader(pt)}, Video, mediaKey)
			if err != nil {
				t.Fatal(err)
			}
			keys, _ := DeriveWhatsAppKeys(mediaKey, Video)
			ct := refCBC(keys.CipherKey[:], keys.IV[:], pt)
			want := append(ct, refHMAC(keys.MACKey[:], keys.IV[:], ct)[:WhatsAppMACLen]...)
			if !bytes.Equal(blob.Bytes(), want) {
				t.Fatal("WhatsApp blob differs from its definition")
			}
			ivBlob := append(bytes.Clone(keys.IV[:]), want...)
			var side []byte
			for off := 0; off < len(want); off += SidecarChunk {
				side = append(side, refHMAC(keys.MACKey[:], ivBlob[off:min(off+SidecarChunk+16, len(ivBlob))])[:SidecarMACLen]...)
			}
			if !bytes.Equal(info.FileSHA256, sum(pt)) || !bytes.Equal(info.FileEncSHA256, sum(want)) || info.FileLength != uint64(n) || !bytes.Equal(info.StreamingSidecar, side) {
				t.Fatal("WhatsApp metadata differs")
			}
			var out bytes.Buffer
			check := &WhatsAppCheck{FileEncSHA256: info.FileEncSHA256, FileSHA256: info.FileSHA256, StreamingSidecar: info.StreamingSidecar}
			if err := DecryptWhatsApp(&out, bytes.NewReader(want), int64(len(want)), Video, mediaKey, check); err != nil || !bytes.Equal(out.Bytes(), pt) {
				t.Fatalf("WhatsApp decrypt: %v", err)
			}
			out.Reset()
			if err := DecryptWhatsApp(&out, bytes.NewReader(want), int64(len(want)), Video, mediaKey, nil); err != nil || !bytes.Equal(out.Bytes(), pt) {
				t.Fatalf("WhatsApp decrypt, MAC only: %v", err)
			}

			key, iv := bytes.Repeat([]byte{3}, SignalKeySize), bytes.Repeat([]byte{4}, 16)
			blob.Reset()
			sinfo, err := EncryptSignalWithKey(&blob, oddReader{bytes.NewReader(pt)}, int64(n), key, iv)
			if err != nil {
				t.Fatal(err)
			}
			padded := append(bytes.Clone(pt), make([]byte, PaddedSize(int64(n))-int64(n))...)
			sct := refCBC(key[:32], iv, padded)
			swant := append(append(bytes.Clone(iv), sct...), refHMAC(key[32:], iv, sct)...)
			if !bytes.Equal(blob.Bytes(), swant) {
				t.Fatal("Signal blob differs from its definition")
			}
			chunk := ChunkSize(int64(len(swant)))
			var inc []byte
			for off := chunk; off <= len(swant); off += chunk {
				inc = append(inc, refHMAC(key[32:], swant[:off])...)
			}
			inc = append(inc, refHMAC(key[32:], swant)...)
			if !bytes.Equal(sinfo.Digest, sum(swant)) || !bytes.Equal(sinfo.IncrementalMAC, inc) || sinfo.ChunkSize != chunk {
				t.Fatal("Signal metadata differs")
			}
			out.Reset()
			scheck := &SignalCheck{Digest: sinfo.Digest, IncrementalMAC: sinfo.IncrementalMAC}
			if err := DecryptSignal(&out, bytes.NewReader(swant), int64(len(swant)), key, int64(n), scheck); err != nil || !bytes.Equal(out.Bytes(), pt) {
				t.Fatalf("Signal decrypt: %v", err)
			}
		})
	}
}

var errTest = errors.New("test I/O error")

// limitWriter fails, or panics, once more than n bytes were written.
type limitWriter struct {
	n     int
	panic bool
}

func (w *limitWriter) Write(p []byte) (int, error) {
	w.n -= len(p)
	if w.n < 0 {
		if w.panic {
			panic(errTest)
		}
		return 0, errTest
	}
	return len(p), nil
}

// errReader fails after n bytes.
type errReader struct {
	r io.Reader
	n int
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errTest
	}
	m, err := e.r.Read(p[:min(len(p), e.n)])
	e.n -= m
	return m, err
}

// errReaderAt fails at offsets from off on.
type errReaderAt struct {
	r   io.ReaderAt
	off int64
}

func (e errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > e.off {
		return 0, errTest
	}
	return e.r.ReadAt(p, off)
}

// TestPipelineNoLeak: every error and panic, in the producer's I/O or the
// consumer's, reaches the caller, and no goroutine outlives the call.
func TestPipelineNoLeak(t *testing.T) {
	const n = 3<<20 + 5
	pt := patterned(n, 1)
	wa, waInfo := sealWhatsApp(t, Video, pt)
	sig, sigInfo := sealSignal(t, pt)
	waCheck := &WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, FileSHA256: waInfo.FileSHA256, StreamingSidecar: waInfo.StreamingSidecar}
	sigCheck := &SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: sigInfo.IncrementalMAC}
	bad := bytes.Clone(sig)
	bad[len(bad)/2] ^= 1

	ops := map[string]func(panicky bool) error{
		"wa-encrypt-dst": func(p bool) error {
			_, err := EncryptWhatsApp(bytes.NewReader(waInfo.MediaKey), &limitWriter{n: n / 2, panic: p}, bytes.NewReader(pt), Video)
			return err
		},
		"wa-encrypt-src": func(bool) error {
			_, err := EncryptWhatsApp(bytes.NewReader(waInfo.MediaKey), io.Discard, &errReader{bytes.NewReader(pt), n / 2}, Video)
			return err
		},
		"sig-encrypt-dst": func(p bool) error {
			_, err := EncryptSignal(bytes.NewReader(make([]byte, 80)), &limitWriter{n: n / 2, panic: p}, bytes.NewReader(pt), n)
			return err
		},
		"sig-encrypt-src": func(bool) error {
			_, err := EncryptSignal(bytes.NewReader(make([]byte, 80)), io.Discard, &errReader{bytes.NewReader(pt), n / 2}, n)
			return err
		},
		"wa-decrypt-dst": func(p bool) error {
			return DecryptWhatsApp(&limitWriter{n: n / 2, panic: p}, bytes.NewReader(wa), int64(len(wa)), Video, waInfo.MediaKey, waCheck)
		},
		"wa-decrypt-src": func(bool) error {
			return DecryptWhatsApp(io.Discard, errReaderAt{bytes.NewReader(wa), n / 2}, int64(len(wa)), Video, waInfo.MediaKey, waCheck)
		},
		"sig-decrypt-dst": func(p bool) error {
			return DecryptSignal(&limitWriter{n: n / 2, panic: p}, bytes.NewReader(sig), int64(len(sig)), sigInfo.Key, n, sigCheck)
		},
		"sig-decrypt-src": func(bool) error {
			return DecryptSignal(io.Discard, errReaderAt{bytes.NewReader(sig), n / 2}, int64(len(sig)), sigInfo.Key, n, sigCheck)
		},
		"sig-decrypt-tampered": func(bool) error {
			var w failWriter
			err := DecryptSignal(&w, bytes.NewReader(bad), int64(len(bad)), sigInfo.Key, n, nil)
			if w.wrote {
				t.Error("tampered blob: plaintext written")
			}
			if errors.Is(err, ErrInvalidMAC) {
				return errTest
			}
			return err
		},
	}
	before := runtime.NumGoroutine()
	for name, op := range ops {
		for _, panicky := range []bool{false, true} {
			var recovered any
			err := func() (err error) {
				defer func() { recovered = recover() }()
				return op(panicky)
			}()
			if panicky && viaWriter(name) {
				if recovered != errTest {
					t.Errorf("%s: recovered %v (err %v), want the writer's panic", name, recovered, err)
				}
			} else if recovered != nil || !errors.Is(err, errTest) {
				t.Errorf("%s: err %v, panic %v", name, err, recovered)
			}
		}
	}
	// Successful calls too.
	if err := DecryptWhatsApp(io.Discard, bytes.NewReader(wa), int64(len(wa)), Video, waInfo.MediaKey, waCheck); err != nil {
		t.Fatal(err)
	}
	if err := DecryptSignal(io.Discard, bytes.NewReader(sig), int64(len(sig)), sigInfo.Key, n, nil); err != nil {
		t.Fatal(err)
	}
	// A goroutine that closed done may take a moment to disappear.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// viaWriter reports whether the op named fails through a writer, which can
// panic.
func viaWriter(name string) bool { return bytes.HasSuffix([]byte(name), []byte("-dst")) }

// TestDecryptSplit checks where pass 2 splits each chunk's CBC decryption
// between the goroutines (issue #18 item 5): on a block boundary, both parts
// non-empty when the chunk has two blocks or more, the calling goroutine's
// part about keep/shareUnit of the chunk, the share balancing the timings
// within [1, shareUnit]; and, for every share, that a
// chunk decrypted in two parts as decryptPiped does (the second part's IV
// the block before it) is the chunk decrypted whole.
func TestDecryptSplit(t *testing.T) {
	if shareKeep <= 0 || shareKeep > shareUnit || shareKeepPlain <= 0 || shareKeepPlain > shareUnit {
		t.Fatalf("shares %d and %d of %d", shareKeep, shareKeepPlain, shareUnit)
	}
	if keepShare(false) != shareKeep || keepShare(true) != shareKeepPlain {
		t.Fatal("keepShare")
	}
	us := time.Microsecond
	for _, c := range []struct {
		a, o, c time.Duration
		want    int
	}{
		{30 * us, 9 * us, us, 20},  // quiet machine, no plaintext hash: 0.63
		{30 * us, 50 * us, us, 32}, // quiet machine, plaintext hash: all
		{70 * us, 9 * us, us, 18},  // AES slowed by load: 0.56
		{70 * us, 50 * us, us, 27}, // and with the plaintext hash: 0.85
		{100 * us, 0, 50 * us, 8},  // a slow reader
		{us, 0, 50 * us, 1},        // at least one part
		{us, time.Second, 0, 32},   // at most all
		{64 * us, 0, 0, shareUnit / 2},
	} {
		if got := balancedShare(c.a, c.o, c.c); got != c.want {
			t.Errorf("balancedShare(%v, %v, %v) = %d, want %d", c.a, c.o, c.c, got, c.want)
		}
	}
	for _, c := range []struct{ m, t, want time.Duration }{
		{0, 50 * us, 50 * us}, {0, 0, 1}, {64 * us, 32 * us, 32 * us},
		{64 * us, 65 * us, 65 * us}, {64 * us, time.Second, 66 * us},
	} {
		if got := least(c.m, c.t); got != c.want {
			t.Errorf("least(%v, %v) = %v, want %v", c.m, c.t, got, c.want)
		}
	}
	if split(pipeChunk, shareUnit, true) != pipeChunk {
		t.Fatal("a share of shareUnit parts is the whole chunk")
	}
	var slab [ringSize]byte
	for i := range pipeSlots {
		if slotOf(&slab, slab[2*i*pipeChunk:(2*i+2)*pipeChunk]) != i {
			t.Fatalf("slotOf slot %d", i)
		}
	}
	block, _ := aes.NewCipher(bytes.Repeat([]byte{9}, 32))
	iv := bytes.Repeat([]byte{1}, aes.BlockSize)
	ct := patterned(pipeChunk, 3)
	whole := make([]byte, pipeChunk)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(whole, ct)
	got := make([]byte, pipeChunk)
	for keep := 1; keep < shareUnit; keep++ {
		for k := aes.BlockSize; k <= pipeChunk; k += aes.BlockSize {
			m := split(k, keep, true)
			if m%aes.BlockSize != 0 || m <= 0 || m > k || (m == k && k >= shareUnit*aes.BlockSize) {
				t.Fatalf("split(%d, %d) = %d", k, keep, m)
			}
			if m < k && (m > k*keep/shareUnit || m < k*keep/shareUnit-aes.BlockSize) {
				t.Fatalf("split(%d, %d) = %d, not %d/%d of the chunk", k, keep, m, keep, shareUnit)
			}
			if split(k, keep, false) != k {
				t.Fatalf("split(%d, %d) without halve", k, keep)
			}
		}
		m := split(pipeChunk, keep, true)
		here := cipher.NewCBCDecrypter(block, iv).(ivSetter)
		there := cipher.NewCBCDecrypter(block, iv).(ivSetter)
		clear(got)
		here.CryptBlocks(got[:m], ct[:m])
		there.SetIV(ct[m-aes.BlockSize : m])
		there.CryptBlocks(got[m:], ct[m:])
		if !bytes.Equal(got, whole) {
			t.Fatalf("keep %d: the two parts differ from the whole", keep)
		}
	}
}

// TestPlainHasherHandOff encrypts through the pipe with the plaintext hash
// handed to the consumer from every possible chunk (issue #18 item 5: the
// calling goroutine decides from timings, so the test forces each outcome),
// and checks the ciphertext and the hash against their definitions.
func TestPlainHasherHandOff(t *testing.T) {
	key, iv := bytes.Repeat([]byte{5}, 32), bytes.Repeat([]byte{6}, aes.BlockSize)
	block, _ := aes.NewCipher(key)
	for _, n := range []int{0, 1, pipeChunk - 1, pipeChunk, pipeChunk + 1, 3*pipeChunk - 16, 5*pipeChunk + 17, 6 * pipeChunk} {
		pt := patterned(n, 8)
		want := refCBC(key, iv, pt)
		for _, from := range []int64{0, 1, 2, 3, 5, math.MaxInt64} {
			ph := newPlainHasher(sha256.New())
			if from != math.MaxInt64 {
				ph.decided = true
				ph.from.Store(from)
			}
			var got bytes.Buffer
			p := newPipe(2*pipeChunk, nil, true, func(b []byte) error {
				_, err := got.Write(ph.there(b))
				return err
			})
			m, err := encryptCBCPipe(p, oddReader{bytes.NewReader(pt)}, block, iv, ph)
			if err == nil {
				err = p.finish()
			}
			p.release()
			if err != nil || m != int64(n) {
				t.Fatalf("%d bytes, from %d: %d, %v", n, from, m, err)
			}
			if !bytes.Equal(got.Bytes(), want) || !bytes.Equal(ph.h.Sum(nil), sum(pt)) {
				t.Fatalf("%d bytes, hash from chunk %d on the consumer: ciphertext or plaintext hash differs", n, from)
			}
		}
	}
}
