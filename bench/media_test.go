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
// twice; media uses two goroutines, the reference one. Results and their
// discussion: README.md, "Media throughput".

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
