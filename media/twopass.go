package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"sync/atomic"
)

// Decryption reads the ciphertext twice: pass 1 authenticates the whole
// blob, pass 2 decrypts it and writes the plaintext, so nothing is written
// before the blob is known to be good and memory use does not depend on its
// size.
//
// A region that fits one bufSize buffer is read once and decrypted from
// memory. A larger one is read again from src; to notice a src that changed
// between the two reads, both passes fold a GMAC of every chunk (AES-128-GCM
// with no plaintext and the chunk as additional data, nonce = chunk index)
// into a SHA-256, under a key drawn from crypto/rand for this call only, and
// the two digests are compared at the end. The key and the tags never leave
// the call, so whoever rewrites src cannot aim for a collision; GHASH costs a
// small fraction of the HMAC-SHA256. A caller that checks the plaintext
// against a SHA-256 from the message (WhatsApp's fileSHA256) needs no fold: a
// changed source changes the plaintext, and that check fails instead (after
// writing, as the fold's would).
//
// A larger region runs both passes through one pipe on two goroutines
// (measured on 2 cores, WhatsApp with every check: 130 KiB 18 %, 192 KiB
// 20 %, 250 KiB 27 % faster than both passes on one goroutine).
// The calling goroutine reads each chunk and runs the MAC over it (pass 1),
// or decrypts it (pass 2); the second one runs the digests (pass 1), then
// writes the plaintext, decrypting the second half of each chunk itself
// when nothing else keeps it busy (CBC decryption of a block needs only that
// block and the one before it). The calling goroutine starts pass 2 as soon
// as its own checks pass, while the second one still finishes pass 1; the
// second one writes nothing before its own checks pass too.

// singleReadMax is the largest ciphertext read only once: one buffer.
// Holding more in memory (measured up to 2 MiB) was no faster than reading
// it twice, because of the allocation, and would make memory use grow with
// the attachment.
const singleReadMax = bufSize

// passes is what a format does with the ciphertext in each pass.
type passes struct {
	// scan sees each ciphertext chunk in pass 1, on the calling goroutine:
	// the MAC and the last blocks.
	scan func(ct []byte)
	// side, if not nil, sees each chunk in pass 1 after scan, on the second
	// goroutine when there is one: digests and sidecars.
	side func(ct []byte)
	// gate, if not nil, runs after side has seen the last chunk, where side
	// ran, and checks what it computed. Its error wins over check's.
	gate func() error
	// check runs after scan has seen the last chunk, on the calling
	// goroutine: MAC and padding. It returns how many plaintext bytes to
	// write.
	check func() (int64, error)
	// plain, if not nil, sees the plaintext before it is written (a
	// plaintext hash); the chunks are then not folded.
	plain func(pt []byte)
}

// decryptTwoPass authenticates the ciphertext region [off, off+n) of src
// (n a positive multiple of the block size) as ps says, then decrypts it
// with AES-CBC under block from iv and writes the first bytes of the
// plaintext to dst, as many as ps.check returned.
func decryptTwoPass(dst io.Writer, src io.ReaderAt, off, n int64, block cipher.Block, iv []byte, ps *passes) error {
	if n <= singleReadMax {
		return decryptInMemory(dst, src, off, n, block, iv, ps)
	}
	var f *folder
	if ps.plain == nil {
		var err error
		if f, err = newFolder(); err != nil {
			return err
		}
	}
	return decryptPiped(dst, src, off, n, block, iv, ps, f)
}

// decryptInMemory reads the region once.
func decryptInMemory(dst io.Writer, src io.ReaderAt, off, n int64, block cipher.Block, iv []byte, ps *passes) error {
	buf := make([]byte, n)
	defer clear(buf)
	if err := readFullAt(src, buf, off); err != nil {
		return err
	}
	ps.scan(buf)
	if ps.side != nil {
		ps.side(buf)
	}
	if ps.gate != nil {
		if err := ps.gate(); err != nil {
			return err
		}
	}
	w, err := ps.check()
	if err != nil {
		return err
	}
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(buf, buf)
	return writeOut(dst, buf[:w], ps.plain)
}

// writeOut shows pt to plain (if not nil) and writes it to dst.
func writeOut(dst io.Writer, pt []byte, plain func([]byte)) error {
	if len(pt) == 0 {
		return nil
	}
	if plain != nil {
		plain(pt)
	}
	_, err := dst.Write(pt)
	return err
}

// ivSetter is implemented by the CBC BlockMode crypto/cipher returns for
// AES: its IV can be set again.
type ivSetter interface {
	cipher.BlockMode
	SetIV([]byte)
}

// decryptPiped runs both passes through one pipe whose slots hold a
// ciphertext chunk and, pipeChunk bytes on, its plaintext.
func decryptPiped(dst io.Writer, src io.ReaderAt, off, n int64, block cipher.Block, iv []byte, ps *passes, f *folder) error {
	mode := cipher.NewCBCDecrypter(block, iv)
	here, canSplit := mode.(ivSetter)
	var there ivSetter
	// Split each chunk's decryption between the goroutines unless the
	// second one hashes the plaintext (then it has enough to do).
	halve := ps.plain == nil && canSplit
	if halve {
		there = cipher.NewCBCDecrypter(block, iv).(ivSetter)
	}

	// Until the second goroutine runs (up), the calling one also does that
	// goroutine's pass 1 work, on the first helped bytes: a goroutine
	// started from a busy processor can wait long for an idle one to take
	// it (see pipe). (Helping at the start of pass 2 too, while the second
	// goroutine finishes pass 1, was measured slower: it delays the chunks
	// that goroutine is about to need.)
	var up atomic.Bool
	var helped atomic.Int64

	slab := ringPool.Get().(*[ringSize]byte)
	var w int64 // plaintext bytes to write: set before pass 2's first chunk is sent
	var seen int64
	p := newPipe(2*pipeChunk, slab[:], false, func(b []byte) error {
		up.Store(true)
		if seen < n { // pass 1
			if seen >= helped.Load() {
				f.fold(0, b)
				if ps.side != nil {
					ps.side(b)
				}
			}
			if seen += int64(len(b)); seen == n && ps.gate != nil {
				return ps.gate()
			}
			return nil
		}
		k := len(b) - pipeChunk
		ct, pt := b[:k], b[pipeChunk:]
		if m := split(k, halve); m < k {
			there.SetIV(ct[m-aes.BlockSize : m])
			there.CryptBlocks(pt[m:], ct[m:])
		}
		f.fold(1, ct)
		out := pt[:min(int64(k), w)]
		w -= int64(len(out))
		return writeOut(dst, out, ps.plain)
	})
	defer func() {
		p.stop()
		// The plaintext halves; the rest only ever held ciphertext.
		for i := range pipeSlots {
			clear(slab[(2*i+1)*pipeChunk : (2*i+2)*pipeChunk])
		}
		ringPool.Put(slab)
	}()

	// Pass 1.
	for done := int64(0); done < n; {
		buf, err := p.get()
		if err != nil {
			return p.finish()
		}
		ct := buf[:min(int64(pipeChunk), n-done)]
		if err := readFullAt(src, ct, off+done); err != nil {
			return err
		}
		ps.scan(ct)
		if !up.Load() {
			f.fold(0, ct)
			if ps.side != nil {
				ps.side(ct)
			}
			helped.Add(int64(len(ct)))
		}
		if err := p.send(ct); err != nil {
			return p.finish()
		}
		done += int64(len(ct))
	}
	var err error
	if w, err = ps.check(); err != nil {
		// The second goroutine's checks come first.
		if gerr := p.finish(); gerr != nil {
			return gerr
		}
		return err
	}

	// Pass 2.
	var prev [aes.BlockSize]byte // the ciphertext block before the chunk
	copy(prev[:], iv)
	for done := int64(0); done < n; {
		buf, err := p.get()
		if err != nil {
			return p.finish()
		}
		k := int(min(int64(pipeChunk), n-done))
		ct, pt := buf[:k], buf[pipeChunk:pipeChunk+k]
		if err := readFullAt(src, ct, off+done); err != nil {
			return err
		}
		m := split(k, halve)
		if halve {
			// The second goroutine decrypted the previous chunk's end.
			here.SetIV(prev[:])
		}
		mode.CryptBlocks(pt[:m], ct[:m])
		copy(prev[:], ct[k-aes.BlockSize:])
		if err := p.send(buf[:pipeChunk+k]); err != nil {
			return p.finish()
		}
		done += int64(k)
	}
	if err := p.finish(); err != nil {
		return err
	}
	return f.compare()
}

// split is where the calling goroutine's part of a k-byte chunk ends: half
// of it, in whole blocks, with halve.
func split(k int, halve bool) int {
	if m := k / 2 &^ (aes.BlockSize - 1); halve && m > 0 {
		return m
	}
	return k
}

// folder folds a GMAC of every chunk of each pass into that pass's SHA-256;
// a nil *folder does nothing. Each pass's chunks are folded on one
// goroutine, in order.
type folder struct {
	gmac    cipher.AEAD
	h       [2]hash.Hash
	next    [2]uint64
	nonce   [2][12]byte
	tag     [2][16]byte // scratch, so that fold does not allocate
	scratch [2][sha256.Size]byte
}

func newFolder() (*folder, error) {
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("media: reading a random key: %w", err)
	}
	block, err := aes.NewCipher(key[:])
	clear(key[:])
	if err != nil {
		return nil, err
	}
	f := &folder{h: [2]hash.Hash{sha256.New(), sha256.New()}}
	if f.gmac, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return f, nil
}

// fold adds the GMAC of the next chunk of pass (0 or 1).
func (f *folder) fold(pass int, chunk []byte) {
	if f == nil {
		return
	}
	binary.BigEndian.PutUint64(f.nonce[pass][4:], f.next[pass])
	f.next[pass]++
	f.h[pass].Write(f.gmac.Seal(f.tag[pass][:0], f.nonce[pass][:], nil, chunk))
}

// compare reports whether both passes read the same chunks.
func (f *folder) compare() error {
	if f == nil {
		return nil
	}
	if subtle.ConstantTimeCompare(f.h[0].Sum(f.scratch[0][:0]), f.h[1].Sum(f.scratch[1][:0])) != 1 {
		return fmt.Errorf("%w: source changed between passes", ErrInvalidMAC)
	}
	return nil
}
