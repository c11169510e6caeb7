package bench

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/media"
)

// Attachment throughput: package media's WhatsApp and Signal formats against
// the raw work every such format has to do, AES-256-CBC and one
// HMAC-SHA256 over the same bytes, done in one pass in refChunk pieces (each
// piece encrypted, then MACed while it is in cache). MB/s counts plaintext
// bytes in every row, so the rows compare directly; the target is
// media ≥ 0.8 × raw. Issue #18 item 5 restates the decryption target
// against raw-read-twice (rawDecryptTwice), the least a decryption that
// authenticates before it releases plaintext can do: ≥ 0.9 × of it, and
// encryption ≥ 0.9 × raw.
//
//	cd bench && go test -run '^$' -bench Media -benchtime 20x .
//
// The decrypt rows give media every value a message carries and a receiver
// checks (WhatsApp: fileEncSHA256 and fileSHA256; Signal: digest and
// incremental MAC); the "mac-only" rows check the MAC alone, which is what
// authenticates the blob, to show what the extra hashes cost. The WhatsApp
// rows do three times the hashing of the raw reference (MAC, fileEncSHA256
// over the ciphertext, fileSHA256 over the plaintext) and read the blob
// twice; media uses two goroutines, the reference one. The
// "whatsapp-work" and "whatsapp-floor" rows are not counterparts but bounds
// (whatsappFloor): only the work the WhatsApp format forces on a decryption
// with every check, on one goroutine and split over two, with no I/O and
// no fingerprints. Results and their discussion: README.md, "Media
// throughput".

var mediaSizes = []int{1 << 20, 64 << 20}

// refChunk is the raw reference's piece size: small enough that a piece is
// still in cache when it is MACed, large enough to amortise the calls.
const refChunk = 64 << 10

func mediaSizeName(n int) string { return fmt.Sprintf("%dMiB", n>>20) }

// rawEncrypt is the reference: CBC-encrypt pt piece by piece into a
// piece-sized buffer and MAC each piece right after (encrypt-then-MAC).
func rawEncrypt(block cipher.Block, macKey, iv, pt, buf []byte) []byte {
	mode := cipher.NewCBCEncrypter(block, iv)
	mac := hmac.New(sha256.New, macKey)
	mac.Write(iv)
	for len(pt) > 0 {
		n := min(len(pt), len(buf))
		mode.CryptBlocks(buf[:n], pt[:n])
		mac.Write(buf[:n])
		pt = pt[n:]
	}
	return mac.Sum(nil)
}

// rawDecrypt is the decryption reference: MAC each piece, then decrypt it;
// the tag is compared at the end (so, unlike media, it would have released
// unauthenticated plaintext: this is the floor, not a design).
func rawDecrypt(block cipher.Block, macKey, iv, ct, tag, buf []byte) bool {
	mode := cipher.NewCBCDecrypter(block, iv)
	mac := hmac.New(sha256.New, macKey)
	mac.Write(iv)
	for len(ct) > 0 {
		n := min(len(ct), len(buf))
		mac.Write(ct[:n])
		mode.CryptBlocks(buf[:n], ct[:n])
		ct = ct[n:]
	}
	return hmac.Equal(mac.Sum(nil), tag)
}

// rawDecryptTwice is the decryption reference of issue #18 item 5: what a
// decryption that authenticates the whole blob before releasing any
// plaintext has to do at least. It reads the blob from r twice through one
// piece-sized buffer, on one goroutine: the first pass MACs it and compares
// the tag, the second decrypts it into buf and writes it to w.
func rawDecryptTwice(w io.Writer, block cipher.Block, macKey, iv []byte, r io.ReaderAt, size int64, tag, buf, out []byte) error {
	mac := hmac.New(sha256.New, macKey)
	mac.Write(iv)
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n == 0 && err != nil {
			return err
		}
		mac.Write(buf[:n])
		off += int64(n)
	}
	if !hmac.Equal(mac.Sum(nil), tag) {
		return fmt.Errorf("MAC")
	}
	mode := cipher.NewCBCDecrypter(block, iv)
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n == 0 && err != nil {
			return err
		}
		mode.CryptBlocks(out[:n], buf[:n])
		if _, err := w.Write(out[:n]); err != nil {
			return err
		}
		off += int64(n)
	}
	return nil
}

// whatsappFloor does only the work the WhatsApp format forces on any
// decryption that checks every value a message carries (issue #18 item 5):
// the MAC (HMAC-SHA256 over IV ‖ ciphertext), fileEncSHA256 (SHA-256 over
// the blob), fileSHA256 (SHA-256 over the plaintext) and the AES-256-CBC
// decryption, over a blob already in memory, into out (no io.ReaderAt, no
// second read, no fingerprints, no order between the passes: the plaintext
// is decrypted and hashed before the MAC is checked, which no real
// decryption may release). With two false it does it on one goroutine (the
// "whatsapp-work" row: the work; no split over two cores can take less
// than half of it); with two, on two goroutines as evenly as the three
// serial hash streams allow (the "whatsapp-floor" row): the calling one runs
// the MAC and decrypts, the second runs both SHA-256 streams and decrypts
// whatever the calling one has not yet reached of the chunk it is about to
// hash, in floorUnit pieces claimed from one atomic counter.
func whatsappFloor(keys *media.WhatsAppKeys, blob []byte, info *media.WhatsAppInfo, out []byte, two bool) error {
	ctLen := len(blob) - media.WhatsAppMACLen
	ct, tag := blob[:ctLen], blob[ctLen:]
	block, err := aes.NewCipher(keys.CipherKey[:])
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, keys.MACKey[:])
	mac.Write(keys.IV[:])
	enc, plain := sha256.New(), sha256.New()
	units := (ctLen + floorUnit - 1) / floorUnit
	chunks := (ctLen + refChunk - 1) / refChunk
	chunkOf := func(i int) (int, int) { return i * refChunk, min((i+1)*refChunk, ctLen) }
	// The plaintext length, once the last block is decrypted.
	ptLen := func() (int, error) {
		pad := int(out[ctLen-1])
		if pad == 0 || pad > aes.BlockSize {
			return 0, fmt.Errorf("padding")
		}
		return ctLen - pad, nil
	}
	hashPlain := func(i int) error {
		lo, hi := chunkOf(i)
		if i == chunks-1 {
			var err error
			if hi, err = ptLen(); err != nil {
				return err
			}
		}
		plain.Write(out[lo:hi])
		return nil
	}
	check := func() error {
		enc.Write(tag)
		if !hmac.Equal(mac.Sum(nil)[:media.WhatsAppMACLen], tag) || !hmac.Equal(enc.Sum(nil), info.FileEncSHA256) || !hmac.Equal(plain.Sum(nil), info.FileSHA256) {
			return fmt.Errorf("check")
		}
		return nil
	}
	if !two {
		mode := cipher.NewCBCDecrypter(block, keys.IV[:])
		for i := range chunks {
			lo, hi := chunkOf(i)
			mac.Write(ct[lo:hi])
			enc.Write(ct[lo:hi])
			mode.CryptBlocks(out[lo:hi], ct[lo:hi])
			if err := hashPlain(i); err != nil {
				return err
			}
		}
		return check()
	}

	var next atomic.Int64 // the next unit to decrypt
	done := make([]atomic.Int32, chunks)
	claim := func(mode ivMode) bool {
		u := int(next.Add(1) - 1)
		if u >= units {
			return false
		}
		lo, hi := u*floorUnit, min((u+1)*floorUnit, ctLen)
		if lo == 0 {
			mode.SetIV(keys.IV[:])
		} else {
			mode.SetIV(ct[lo-aes.BlockSize : lo])
		}
		mode.CryptBlocks(out[lo:hi], ct[lo:hi])
		done[lo/refChunk].Add(1)
		return true
	}
	errc := make(chan error, 1)
	go func() {
		mode := cipher.NewCBCDecrypter(block, keys.IV[:]).(ivMode)
		for i := range chunks {
			lo, hi := chunkOf(i)
			enc.Write(ct[lo:hi])
			end := int64((hi + floorUnit - 1) / floorUnit)
			for next.Load() < end && claim(mode) {
			}
			for int(done[i].Load()) < (hi-lo+floorUnit-1)/floorUnit {
				runtime.Gosched()
			}
			if err := hashPlain(i); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	mode := cipher.NewCBCDecrypter(block, keys.IV[:]).(ivMode)
	for i := range chunks {
		lo, hi := chunkOf(i)
		mac.Write(ct[lo:hi])
		for range refChunk / floorUnit {
			if !claim(mode) {
				break
			}
		}
	}
	for claim(mode) {
	}
	if err := <-errc; err != nil {
		return err
	}
	return check()
}

// ivMode is the CBC BlockMode crypto/cipher returns for AES, whose IV can
// be set again.
type ivMode interface {
	cipher.BlockMode
	SetIV([]byte)
}

// floorUnit is the piece of CBC decryption whatsappFloor's goroutines
// claim.
const floorUnit = 4 << 10

func BenchmarkMediaEncrypt(b *testing.B) {
	for _, n := range mediaSizes {
		pt := make([]byte, n)
		rand.Read(pt)
		b.Run("raw/"+mediaSizeName(n), func(b *testing.B) {
			key := make([]byte, 64)
			rand.Read(key)
			block, _ := aes.NewCipher(key[:32])
			iv, buf := make([]byte, 16), make([]byte, refChunk)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for loopCPU(b) {
				rawEncrypt(block, key[32:], iv, pt, buf)
			}
		})
		b.Run("whatsapp/"+mediaSizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for loopCPU(b) {
				if _, err := media.EncryptWhatsApp(rand.Reader, io.Discard, bytes.NewReader(pt), media.Image); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("signal/"+mediaSizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for loopCPU(b) {
				if _, err := media.EncryptSignal(rand.Reader, io.Discard, bytes.NewReader(pt), int64(n)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMediaDecrypt(b *testing.B) {
	for _, n := range mediaSizes {
		pt := make([]byte, n)
		rand.Read(pt)
		b.Run("raw/"+mediaSizeName(n), func(b *testing.B) {
			key := make([]byte, 64)
			rand.Read(key)
			block, _ := aes.NewCipher(key[:32])
			iv, buf := make([]byte, 16), make([]byte, refChunk)
			ct := make([]byte, n)
			cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
			mac := hmac.New(sha256.New, key[32:])
			mac.Write(iv)
			mac.Write(ct)
			tag := mac.Sum(nil)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for loopCPU(b) {
				if !rawDecrypt(block, key[32:], iv, ct, tag, buf) {
					b.Fatal("MAC")
				}
			}
		})

		b.Run("raw-read-twice/"+mediaSizeName(n), func(b *testing.B) {
			key := make([]byte, 64)
			rand.Read(key)
			block, _ := aes.NewCipher(key[:32])
			iv, buf, out := make([]byte, 16), make([]byte, refChunk), make([]byte, refChunk)
			ct := make([]byte, n)
			cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
			mac := hmac.New(sha256.New, key[32:])
			mac.Write(iv)
			mac.Write(ct)
			tag := mac.Sum(nil)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for loopCPU(b) {
				if err := rawDecryptTwice(io.Discard, block, key[32:], iv, bytes.NewReader(ct), int64(n), tag, buf, out); err != nil {
					b.Fatal(err)
				}
			}
		})

		var wa bytes.Buffer
		waInfo, err := media.EncryptWhatsApp(rand.Reader, &wa, bytes.NewReader(pt), media.Image)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			check *media.WhatsAppCheck
		}{
			{"whatsapp", &media.WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, FileSHA256: waInfo.FileSHA256}},
			{"whatsapp-mac-only", nil},
		} {
			b.Run(c.name+"/"+mediaSizeName(n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for loopCPU(b) {
					if err := media.DecryptWhatsApp(io.Discard, bytes.NewReader(wa.Bytes()), int64(wa.Len()), media.Image, waInfo.MediaKey, c.check); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		waKeys, err := media.DeriveWhatsAppKeys(waInfo.MediaKey, media.Image)
		if err != nil {
			b.Fatal(err)
		}
		floorOut := make([]byte, wa.Len())
		for _, c := range []struct {
			name string
			two  bool
		}{{"whatsapp-work", false}, {"whatsapp-floor", true}} {
			b.Run(c.name+"/"+mediaSizeName(n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for loopCPU(b) {
					if err := whatsappFloor(waKeys, wa.Bytes(), waInfo, floorOut, c.two); err != nil {
						b.Fatal(err)
					}
				}
			})
		}

		var sig bytes.Buffer
		sigInfo, err := media.EncryptSignal(rand.Reader, &sig, bytes.NewReader(pt), int64(n))
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name  string
			check *media.SignalCheck
		}{
			{"signal", &media.SignalCheck{Digest: sigInfo.Digest, IncrementalMAC: sigInfo.IncrementalMAC, ChunkSize: sigInfo.ChunkSize}},
			{"signal-mac-only", nil},
		} {
			b.Run(c.name+"/"+mediaSizeName(n), func(b *testing.B) {
				b.SetBytes(int64(n))
				b.ReportAllocs()
				for loopCPU(b) {
					if err := media.DecryptSignal(io.Discard, bytes.NewReader(sig.Bytes()), int64(sig.Len()), sigInfo.Key, sigInfo.Size, c.check); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// loopCPU is b.Loop that also reports the process's CPU time per operation
// (cpu-ns/op) when the loop ends: on a shared machine the wall time depends
// on everyone else's load, the CPU time much less. Media rows use two
// goroutines and the raw rows one, so their CPU time is their total work,
// not their throughput.
func loopCPU(b *testing.B) bool {
	st, ok := cpuStart[b]
	if !ok {
		st = processCPU()
		cpuStart[b] = st
	}
	if b.Loop() {
		return true
	}
	delete(cpuStart, b)
	if b.N > 0 {
		b.ReportMetric(float64(processCPU()-st)/float64(b.N), "cpu-ns/op")
	}
	return false
}

// cpuStart holds each running benchmark's CPU time at its first loopCPU
// (benchmarks run one at a time).
var cpuStart = map[*testing.B]time.Duration{}
