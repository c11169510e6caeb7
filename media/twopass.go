package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Decryption reads the ciphertext twice: pass 1 authenticates the whole
// blob, pass 2 decrypts it and writes the plaintext, so nothing is written
// before the blob is known to be good and memory use does not depend on its
// size (but for 16 bytes per 64 KiB chunk, below).
//
// A region that fits one bufSize buffer is read once and decrypted from
// memory. A larger one is read again from src, and src may return other
// bytes the second time (a ranged download from the server, a file another
// process rewrites): issue #20 item 14. So pass 1 records a fingerprint of
// every chunk it authenticated — a GMAC tag: AES-128-GCM with no plaintext
// and the chunk as additional data, nonce = chunk index, under a key drawn
// from crypto/rand for this call only — and pass 2 recomputes each chunk's
// tag and compares it (hmac.Equal) before any plaintext of that chunk is
// written; a mismatch stops the call with ErrSourceChanged. Every plaintext
// byte written thus comes from ciphertext pass 1 authenticated (and from
// the ciphertext block before it, authenticated the same way). The key and
// the tags never leave the call, so whoever rewrites src cannot aim for a
// collision (GHASH is ℓ/2¹²⁸-almost-XOR-universal: ≤ 2⁻¹¹⁶ per chunk of
// ℓ = 4096 blocks), and GHASH costs a small fraction of the HMAC-SHA256.
// The formats' own per-chunk values are not used for this: the incremental
// MAC and the sidecar are HMAC-SHA256, several times GHASH's cost, absent
// unless the message carries them, and under a key the sender knows.
// The tags take 16 bytes per pipeChunk of ciphertext actually read (1/4096
// of the blob: 256 KiB per GiB), grown as pass 1 reads, so a declared size
// src does not back costs nothing.
//
// A larger region runs both passes through one pipe on two goroutines
// (measured on 2 cores, WhatsApp with every check: 130 KiB 18 %, 192 KiB
// 20 %, 250 KiB 27 % faster than both passes on one goroutine).
// The calling goroutine reads each chunk and runs the MAC over it (pass 1),
// or decrypts it (pass 2); the second one runs the digests and records the
// fingerprints (pass 1), then checks each chunk's fingerprint, decrypts the
// end of the chunk (the calling goroutine decrypts the rest: CBC decryption
// of a block needs only that block and the one before it; the shares
// balance the two, see shareUnit), hashes the plaintext if asked and writes
// it. The calling goroutine starts pass 2 as soon as its own
// checks pass, while the second one still finishes pass 1; the second one
// writes nothing before its own checks pass too, and chunks are written in
// order, so a chunk is written only after it and every chunk before it
// matched.

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
	// plaintext hash); the second goroutine then does not decrypt.
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
	f, err := newFingerprints(n)
	if err != nil {
		return err
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
func decryptPiped(dst io.Writer, src io.ReaderAt, off, n int64, block cipher.Block, iv []byte, ps *passes, f *fingerprints) error {
	mode := cipher.NewCBCDecrypter(block, iv)
	here, canSplit := mode.(ivSetter)
	var there ivSetter
	// Split each chunk's decryption between the goroutines, the calling
	// one keeping the share that balances them by the timings so far (see
	// shareUnit); cut holds, for each slot sent, where the split is.
	halve := canSplit
	keep := keepShare(ps.plain != nil)
	if halve {
		there = cipher.NewCBCDecrypter(block, iv).(ivSetter)
	}
	var cut [pipeSlots]int
	var minA, minC time.Duration // the calling goroutine's, per whole chunk
	var other atomic.Int64       // the second one's least time per chunk but its CBC part (ns)
	var minO time.Duration       // the second goroutine's

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
				f.record(b)
				if ps.side != nil {
					ps.side(b)
				}
			}
			if seen += int64(len(b)); seen == n && ps.gate != nil {
				return ps.gate()
			}
			return nil
		}
		t0 := time.Now()
		k := len(b) - pipeChunk
		ct, pt := b[:k], b[pipeChunk:]
		// Before any of this chunk's plaintext is written: is it the
		// chunk pass 1 authenticated? (The block before it, which CBC
		// uses too, was checked with the chunk before.)
		if err := f.verify(ct); err != nil {
			return err
		}
		var tc time.Duration
		if m := cut[slotOf(slab, b)]; m < k {
			t1 := time.Now()
			there.SetIV(ct[m-aes.BlockSize : m])
			there.CryptBlocks(pt[m:], ct[m:])
			tc = time.Since(t1)
		}
		out := pt[:min(int64(k), w)]
		w -= int64(len(out))
		err := writeOut(dst, out, ps.plain)
		if halve && k == pipeChunk {
			minO = least(minO, time.Since(t0)-tc)
			other.Store(int64(minO))
		}
		return err
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
			f.record(ct)
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
		t0 := time.Now()
		k := int(min(int64(pipeChunk), n-done))
		ct, pt := buf[:k], buf[pipeChunk:pipeChunk+k]
		if err := readFullAt(src, ct, off+done); err != nil {
			return err
		}
		t1 := time.Now()
		if o := other.Load(); halve && o > 0 && minA > 0 {
			keep = balancedShare(minA, time.Duration(o), minC)
		}
		m := split(k, keep, halve)
		cut[slotOf(slab, buf)] = m
		if halve {
			// The second goroutine decrypted the previous chunk's end.
			here.SetIV(prev[:])
		}
		mode.CryptBlocks(pt[:m], ct[:m])
		if k == pipeChunk {
			a := time.Since(t1) * time.Duration(k) / time.Duration(m)
			minA = least(minA, a)
			minC = least(minC, t1.Sub(t0))
		}
		copy(prev[:], ct[k-aes.BlockSize:])
		if err := p.send(buf[:pipeChunk+k]); err != nil {
			return p.finish()
		}
		done += int64(k)
	}
	return p.finish()
}

// Pass 2's CBC decryption of each chunk is split between the goroutines in
// shareUnit parts: the calling goroutine decrypts the first keep parts
// (whole blocks) and the second one the rest (a block needs only itself and
// the block before it). The calling goroutine reads and decrypts its part;
// the second one checks the fingerprint, decrypts the rest and, when
// fileSHA256 is checked, hashes the plaintext. Which share balances the two
// depends on the machine: the calling goroutine's part x balances them at
// x·A + C = (1−x)·A + G (+ S) (A: CBC decryption of a chunk, C: reading it,
// G: its fingerprint, S: SHA-256), and A varies most: per 64 KiB chunk,
// S ≈ 36–41 µs, G ≈ 9 µs and C ≈ 1.5 µs, but A ≈ 30 µs on a quiet 2-core
// machine (x ≈ 0.6, or 1 with the plaintext hash) and 61 or 114 µs on the
// same virtual machine under load, the level switching with the host's
// load from one minute to the next (x ≈ 0.55, or 0.75–0.85 with the hash):
// bench/README.md, issue #18 item 5. So the share starts
// from keepShare and, once both goroutines have timed a whole chunk, is
// recomputed before every chunk from their recent least times (a preempted
// chunk only takes longer; see least): balancedShare. The timings cover
// whatever the second goroutine's writes cost too.
const shareUnit = 32

// keepShare is the calling goroutine's initial share, in shareUnit parts,
// of each chunk's CBC decryption in pass 2.
func keepShare(plainHash bool) int {
	if plainHash {
		return shareKeepPlain
	}
	return shareKeep
}

const (
	shareKeep      = 18
	shareKeepPlain = 28
)

// balancedShare is the calling goroutine's share, in shareUnit parts
// within [1, shareUnit], that balances the two goroutines when decrypting a
// chunk takes a, reading it c, and the second goroutine's other work on it
// o: x·a + c = (1−x)·a + o.
func balancedShare(a, o, c time.Duration) int {
	x := (int64(shareUnit)*int64(a+o-c) + int64(a)) / (2 * int64(a)) // rounded
	return int(min(max(x, 1), shareUnit))
}

// least is a running least time after m when a chunk took t: t if it is
// less than m raised by 1/32 (or m is 0, none yet), else m raised by 1/32,
// so that a lasting change of speed (the AES cost here moved between 61
// and 114 µs a chunk with the host's load) is followed within a few dozen
// chunks while one preempted chunk moves it little. It is at least 1 ns.
func least(m, t time.Duration) time.Duration {
	if m == 0 {
		return max(t, 1)
	}
	return max(min(t, m+m/32), 1)
}

// slotOf is the index in slab of the slot that b starts.
func slotOf(slab *[ringSize]byte, b []byte) int {
	for i := range pipeSlots {
		if &b[0] == &slab[2*i*pipeChunk] {
			return i
		}
	}
	panic("media: buffer outside the ring")
}

// split is where the calling goroutine's part of a k-byte chunk ends: keep
// parts of shareUnit, in whole blocks, with halve (all of it if keep is
// shareUnit).
func split(k, keep int, halve bool) int {
	if m := k * keep / shareUnit &^ (aes.BlockSize - 1); halve && m > 0 && keep < shareUnit {
		return m
	}
	return k
}

// fingerprints holds a GMAC tag of every chunk pass 1 read, under a key of
// its own, to check pass 2's chunks against (see the top of this file).
// Each pass's chunks are seen in order, by one goroutine at a time.
type fingerprints struct {
	gmac   cipher.AEAD
	tags   []byte // tagSize bytes per chunk of pass 1
	next   uint64 // pass 2's next chunk
	nonce  [2][12]byte
	tag    [tagSize]byte // pass 2's scratch, so that verify does not allocate
	failed bool
}

const tagSize = 16

// newFingerprints draws the key for a region of n bytes.
func newFingerprints(n int64) (*fingerprints, error) {
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("media: reading a random key: %w", err)
	}
	block, err := aes.NewCipher(key[:])
	clear(key[:])
	if err != nil {
		return nil, err
	}
	f := new(fingerprints)
	if f.gmac, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	// Room for the first 64 MiB; beyond, the list grows as pass 1 reads,
	// so that a size src does not back allocates nothing.
	f.tags = make([]byte, 0, tagSize*min((n+pipeChunk-1)/pipeChunk, 1024))
	return f, nil
}

// record appends the tag of pass 1's next chunk.
func (f *fingerprints) record(chunk []byte) {
	i := uint64(len(f.tags) / tagSize)
	binary.BigEndian.PutUint64(f.nonce[0][4:], i)
	// Seal appends into a new slice of exactly the size it needs when dst
	// is full, and append grows large slices by a quarter: double instead,
	// so that all the lists allocated add up to at most twice the last.
	if cap(f.tags)-len(f.tags) < tagSize {
		f.tags = append(make([]byte, 0, 2*cap(f.tags)+tagSize), f.tags...)
	}
	f.tags = f.gmac.Seal(f.tags, f.nonce[0][:], nil, chunk)
}

// verify checks pass 2's next chunk against the tag of pass 1's chunk at
// the same index; it returns ErrSourceChanged on a mismatch, and again on
// every later call.
func (f *fingerprints) verify(chunk []byte) error {
	i := f.next
	f.next++
	if f.failed || i >= uint64(len(f.tags)/tagSize) {
		f.failed = true
		return fmt.Errorf("%w (chunk %d)", ErrSourceChanged, i)
	}
	binary.BigEndian.PutUint64(f.nonce[1][4:], i)
	got := f.gmac.Seal(f.tag[:0], f.nonce[1][:], nil, chunk)
	if !hmac.Equal(got, f.tags[i*tagSize:(i+1)*tagSize]) {
		f.failed = true
		return fmt.Errorf("%w (chunk %d)", ErrSourceChanged, i)
	}
	return nil
}
