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
	"sync"
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

// TestDecryptSplit checks pass 2's sharing of each chunk's CBC
// decryption between the goroutines (issue #18 item 5, cbcShare): for
// chunk lengths around the unit boundaries and every pattern of front and
// back claims, each unit is claimed once, and the chunk decrypted in units
// as decryptPiped does (the first unit's IV the block before the chunk, the
// others' the block before them) is the chunk decrypted whole; and with the
// two sides on two goroutines at once, as in decryptPiped.
func TestDecryptSplit(t *testing.T) {
	block, _ := aes.NewCipher(bytes.Repeat([]byte{9}, 32))
	iv := bytes.Repeat([]byte{1}, aes.BlockSize)
	ct := patterned(pipeChunk, 3)
	whole := make([]byte, pipeChunk)
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(whole, ct)
	got := make([]byte, pipeChunk)
	front := cipher.NewCBCDecrypter(block, iv).(ivSetter)
	back := cipher.NewCBCDecrypter(block, iv).(ivSetter)
	var s cbcShare
	for _, k := range []int{aes.BlockSize, cbcUnit - aes.BlockSize, cbcUnit, cbcUnit + aes.BlockSize, 3*cbcUnit + 48, pipeChunk - aes.BlockSize, pipeChunk} {
		units := (k + cbcUnit - 1) / cbcUnit
		for pattern := range 64 {
			clear(got)
			s.reset(k, iv, 0)
			claimed := make([]bool, units)
			for i := 0; ; i++ {
				fromBack := pattern>>(i%6)&1 == 1
				u, ok := s.take(fromBack)
				if !ok {
					break
				}
				if claimed[u] {
					t.Fatalf("k %d: unit %d claimed twice", k, u)
				}
				claimed[u] = true
				if fromBack {
					s.decrypt(back, ct[:k], got[:k], u)
				} else {
					s.decrypt(front, ct[:k], got[:k], u)
				}
			}
			if int(s.done.Load()) != units || s.units != uint32(units) {
				t.Fatalf("k %d: %d of %d units done", k, s.done.Load(), units)
			}
			if !bytes.Equal(got[:k], whole[:k]) {
				t.Fatalf("k %d, pattern %b: the units differ from the whole", k, pattern)
			}
		}
	}
	for range 100 {
		clear(got)
		s.reset(pipeChunk, iv, 0)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.fromBack(back, ct, got)
		}()
		s.fromFront(front, ct, got)
		wg.Wait()
		if !bytes.Equal(got, whole) {
			t.Fatal("two goroutines: the units differ from the whole")
		}
	}

	// The fingerprint check: taken by one goroutine, whichever comes
	// first; the verdict is the same from either, and a chunk other than
	// the one recorded (or an index beyond them) is ErrSourceChanged.
	f, err := newFingerprints(2 * pipeChunk)
	if err != nil {
		t.Fatal(err)
	}
	other := patterned(pipeChunk, 4)
	f.record(0, ct)
	f.record(1, other)
	for _, c := range []struct {
		index uint64
		chunk []byte
		match bool
	}{{0, ct, true}, {1, other, true}, {0, other, false}, {1, ct, false}, {2, ct, false}} {
		for range 50 {
			s.reset(pipeChunk, iv, c.index)
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := f.verifier()
				s.verify(f, &v, c.chunk)
			}()
			v := f.verifier()
			s.verify(f, &v, c.chunk)
			wg.Wait()
			if err := s.verdict(); (err == nil) != c.match || (err != nil && !errors.Is(err, ErrSourceChanged)) {
				t.Fatalf("chunk %d: verdict %v, want match %v", c.index, err, c.match)
			}
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

// TestFingerprintsHeadAndTail: decryption's chunk fingerprints (issue #20
// item 14) past the fixed places of the first headChunks chunks are
// appended and found again; a tag recorded by index with a verifier (the
// calling goroutine's claim) is the one record gives; each chunk matches
// only its own index.
func TestFingerprintsHeadAndTail(t *testing.T) {
	const chunks = headChunks + 5
	f, err := newFingerprints(chunks * pipeChunk)
	if err != nil {
		t.Fatal(err)
	}
	chunk := func(i int) []byte { return []byte(fmt.Sprintf("chunk %08d......", i)) }
	v := f.verifier()
	for i := range chunks {
		if i%3 == 1 && f.byIndex(uint64(i)) {
			f.recordWith(&v, uint64(i), chunk(i))
		} else {
			f.record(uint64(i), chunk(i))
		}
	}
	if f.byIndex(headChunks) || !f.byIndex(headChunks-1) || len(f.tail) != 5*tagSize {
		t.Fatalf("head %d bytes, tail %d bytes", len(f.head), len(f.tail))
	}
	g := f.verifier()
	for i := range chunks {
		if !f.matches(&g, uint64(i), chunk(i)) {
			t.Fatalf("chunk %d does not match its own fingerprint", i)
		}
		if f.matches(&g, uint64(i), chunk(i+1)) || f.matches(&g, uint64(i+1), chunk(i)) {
			t.Fatalf("chunk %d matches another index", i)
		}
	}
	if f.matches(&g, chunks, chunk(chunks)) {
		t.Fatal("an index never recorded matches")
	}
	// recordWith and record give the same tag.
	a, b := f.verifier(), f.verifier()
	f.recordWith(&a, 7, chunk(99))
	if !f.matches(&b, 7, chunk(99)) {
		t.Fatal("recordWith's tag differs from matches'")
	}
}
