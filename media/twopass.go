package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
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
// or reads it and sends it on (pass 2); the second one runs the digests and
// records the fingerprints (pass 1), then hashes the plaintext if asked and
// writes each chunk. Pass 2's other work on a chunk — its fingerprint check
// and its CBC decryption, in 4 KiB units (a block needs only itself and
// the block before it) — goes to whichever goroutine has time: see
// cbcShare. The calling goroutine starts pass 2 as soon as its own checks
// pass, while the second one still finishes pass 1; the second one writes
// nothing before its own checks pass too, nor a chunk before its
// fingerprint matched and every unit of it is decrypted, and chunks are
// written in order, so a chunk is written only after it and every chunk
// before it matched.

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
	if canSplit {
		there = cipher.NewCBCDecrypter(block, iv).(ivSetter)
	}
	// Pass 2's CBC decryption of each slot, shared between the goroutines
	// (see cbcShare).
	var shares [pipeSlots]cbcShare

	// Until the second goroutine runs (up), the calling one also does that
	// goroutine's pass 1 work, on the first helped bytes: a goroutine
	// started from a busy processor can wait long for an idle one to take
	// it (see pipe). (Helping at the start of pass 2 too, while the second
	// goroutine finishes pass 1, was measured slower: it delays the chunks
	// that goroutine is about to need.)
	var up atomic.Bool
	var helped atomic.Int64
	// Each goroutine's means to record (the calling one's claims in pass
	// 1) and check (pass 2) fingerprints; the second one's shares pass
	// 1's AEAD, which only it uses by then.
	vHere, vThere := f.verifier(), verifier{gmac: f.gmac}
	var recorded atomic.Bool

	slab := ringPool.Get().(*[ringSize]byte)
	var w int64 // plaintext bytes to write: set before pass 2's first chunk is sent
	var seen int64
	p := newPipe(2*pipeChunk, slab[:], false, func(b []byte) error {
		up.Store(true)
		if seen < n { // pass 1
			if seen >= helped.Load() {
				if ps.side != nil {
					ps.side(b)
				}
				// The chunk's fingerprint, unless the calling goroutine
				// took it (then wait for it: a few microseconds).
				if s := &shares[slotOf(slab, b)]; s.check.CompareAndSwap(checkFree, checkTaken) {
					f.record(s.index, b)
				} else {
					s.settled()
				}
			}
			if seen += int64(len(b)); seen == n {
				// Every fingerprint is recorded: the calling goroutine
				// may check pass 2's chunks too.
				recorded.Store(true)
				if ps.gate != nil {
					return ps.gate()
				}
			}
			return nil
		}
		k := len(b) - pipeChunk
		ct, pt := b[:k], b[pipeChunk:]
		s := &shares[slotOf(slab, b)]
		// Before any of this chunk's plaintext is written: is it the
		// chunk pass 1 authenticated? (The block before it, which CBC
		// uses too, was checked with the chunk before.) Unless the
		// calling goroutine took that check; then decrypt the units it
		// has not taken, from the end, and wait for its units and its
		// verdict.
		s.verify(f, &vThere, ct)
		s.fromBack(there, ct, pt)
		if err := s.verdict(); err != nil {
			return err
		}
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
		index := uint64(done / pipeChunk)
		help := !up.Load()
		if help {
			f.record(index, ct)
			if ps.side != nil {
				ps.side(ct)
			}
			helped.Add(int64(len(ct)))
		}
		s := &shares[slotOf(slab, buf)]
		s.reset(0, nil, index)
		if err := p.send(ct); err != nil {
			return p.finish()
		}
		// The second goroutine is behind (S + G a chunk against H + C
		// here): take this chunk's fingerprint if it is in the part
		// recorded by index (and the second one has not taken it).
		if !help && len(p.full) >= 2 && f.byIndex(index) && s.check.CompareAndSwap(checkFree, checkTaken) {
			f.recordWith(&vHere, index, ct)
			s.check.Store(checkMatched)
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
		s := &shares[slotOf(slab, buf)]
		if canSplit {
			s.reset(k, prev[:], uint64(done/pipeChunk))
		} else {
			mode.CryptBlocks(pt, ct)
			s.reset(0, nil, uint64(done/pipeChunk))
		}
		copy(prev[:], ct[k-aes.BlockSize:])
		if err := p.send(buf[:pipeChunk+k]); err != nil {
			return p.finish()
		}
		if recorded.Load() {
			s.verify(f, &vHere, ct)
		}
		s.fromFront(here, ct, pt)
		done += int64(k)
	}
	return p.finish()
}

// Pass 2's work on each chunk is shared between the goroutines: its CBC
// decryption in cbcUnit parts (a block needs only itself and the block
// before it), and its fingerprint check. The calling goroutine reads the
// chunk, sends it, checks its fingerprint if the second goroutine has not
// started to (and has recorded every fingerprint of pass 1), and decrypts
// units from the front until none is left; the second goroutine checks the
// fingerprint if the calling one has not, decrypts units from the end
// until none is left, waits until every unit is decrypted and the
// fingerprint checked, and only if it matched hashes the plaintext (if
// asked) and writes it. So whichever goroutine has time does more — the
// second one, behind with pass 1's digests or busy with the plaintext hash,
// takes few units or none and leaves the check to the calling one, which
// decrypts most of the chunk; a calling goroutine slowed by a slow reader
// leaves more to the second — with no timing and no share to tune, and the
// two finish a chunk within one unit of each other (issue #18 item 5:
// bench/README.md). Decrypting a chunk before its check is harmless: its
// plaintext stays in the slot, and is written only after the check.
const cbcUnit = 4 << 10

// cbcShare is one pass-2 slot's shared work: its CBC decryption in units
// claimed from both ends, and its fingerprint check, claimed by one
// goroutine. The calling goroutine resets it before it sends the slot;
// everything else in it is atomic.
type cbcShare struct {
	claim atomic.Uint64 // the front's next unit << 32 | the back's end
	done  atomic.Uint32 // units decrypted
	check atomic.Uint32 // the fingerprint check: checkFree, checkTaken, checkMatched or checkMismatched
	units uint32
	index uint64              // the chunk's index in the region
	iv    [aes.BlockSize]byte // the ciphertext block before the chunk
}

const (
	checkFree = iota
	checkTaken
	checkMatched
	checkMismatched
)

// reset prepares s for chunk index of k bytes (0: no decryption to share)
// whose preceding ciphertext block is iv.
func (s *cbcShare) reset(k int, iv []byte, index uint64) {
	s.units = uint32((k + cbcUnit - 1) / cbcUnit)
	s.index = index
	s.claim.Store(uint64(s.units))
	s.done.Store(0)
	s.check.Store(checkFree)
	copy(s.iv[:], iv)
}

// verify checks the chunk's fingerprint with v, unless the other goroutine
// has taken the check.
func (s *cbcShare) verify(f *fingerprints, v *verifier, ct []byte) {
	if !s.check.CompareAndSwap(checkFree, checkTaken) {
		return
	}
	if f.matches(v, s.index, ct) {
		s.check.Store(checkMatched)
	} else {
		s.check.Store(checkMismatched)
	}
}

// verdict waits for the chunk's fingerprint check (taken, so a few
// microseconds of work at most) and returns ErrSourceChanged on a
// mismatch.
func (s *cbcShare) verdict() error {
	if s.settled() == checkMismatched {
		return fmt.Errorf("%w (chunk %d)", ErrSourceChanged, s.index)
	}
	return nil
}

// settled waits for the chunk's fingerprint check, or in pass 1 its
// recording (checkMatched once done), and returns its outcome.
func (s *cbcShare) settled() uint32 {
	var b backoff
	for {
		if c := s.check.Load(); c >= checkMatched {
			return c
		}
		b.wait()
	}
}

// take claims the next unit from the front (or from the back): ok false
// when every unit is claimed.
func (s *cbcShare) take(back bool) (u int, ok bool) {
	for {
		v := s.claim.Load()
		lo, hi := v>>32, v&(1<<32-1)
		if lo >= hi {
			return 0, false
		}
		if back {
			if s.claim.CompareAndSwap(v, v-1) {
				return int(hi - 1), true
			}
		} else if s.claim.CompareAndSwap(v, v+1<<32) {
			return int(lo), true
		}
	}
}

// decrypt decrypts unit u of ct into pt with mode.
func (s *cbcShare) decrypt(mode ivSetter, ct, pt []byte, u int) {
	lo, hi := u*cbcUnit, min((u+1)*cbcUnit, len(ct))
	if u == 0 {
		mode.SetIV(s.iv[:])
	} else {
		mode.SetIV(ct[lo-aes.BlockSize : lo])
	}
	mode.CryptBlocks(pt[lo:hi], ct[lo:hi])
	s.done.Add(1)
}

// fromFront is the calling goroutine's part: units from the front until
// none is left.
func (s *cbcShare) fromFront(mode ivSetter, ct, pt []byte) {
	for {
		u, ok := s.take(false)
		if !ok {
			return
		}
		s.decrypt(mode, ct, pt, u)
	}
}

// fromBack is the second goroutine's part: units from the end until none
// is left; then it waits for the calling goroutine's last unit (a few
// microseconds of work), so that the slot goes back to the ring, and the
// plaintext is read, only when nothing writes to it any more.
func (s *cbcShare) fromBack(mode ivSetter, ct, pt []byte) {
	for {
		u, ok := s.take(true)
		if !ok {
			break
		}
		s.decrypt(mode, ct, pt, u)
	}
	var b backoff
	for s.done.Load() < s.units {
		b.wait()
	}
}

// backoff is a wait for the other goroutine to finish a unit or a
// fingerprint: a few microseconds of work, so wait polls, yielding the
// processor, for up to waitSpin, and sleeps waitSleep between polls after
// that. The sleep matters on a machine shared with other processes: if the
// operating system took the other goroutine's thread off its core, a
// poller that never sleeps would keep the core that thread needs (on the
// shared 2-core machine under other processes' load, 1 MiB decryptions ran
// at 0.39–0.46 × raw-read-twice without the sleep, against 0.64–0.80 for
// the build before: bench/README.md).
type backoff struct {
	start time.Time
	polls int
}

const (
	waitSpin  = 20 * time.Microsecond
	waitSleep = 50 * time.Microsecond
)

func (b *backoff) wait() {
	if b.polls == 0 {
		b.start = time.Now()
	}
	b.polls++
	if b.polls < 8 || time.Since(b.start) < waitSpin {
		runtime.Gosched()
		return
	}
	time.Sleep(waitSleep)
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

// fingerprints holds a GMAC tag of every chunk pass 1 read, under a key of
// its own, to check pass 2's chunks against (see the top of this file).
// The tags of the first chunks (up to 64 MiB) sit at fixed places, and
// either goroutine records one of them (each chunk's fingerprint is
// claimed by one, see decryptPiped); later ones are appended in order, by
// one goroutine at a time. Pass 2 checks chunks on either goroutine, each
// with its own verifier, once pass 1 has recorded them all.
type fingerprints struct {
	gmac  cipher.AEAD // pass 1's, then the second goroutine's in pass 2
	gmac2 cipher.AEAD // the calling goroutine's (verifier)
	head  []byte      // tagSize bytes for each of the first chunks, by index
	tail  []byte      // tagSize bytes per later chunk of pass 1, appended
	nonce [12]byte
}

// verifier is one goroutine's means to record or check chunks, so that
// neither allocates nor shares a scratch.
type verifier struct {
	gmac  cipher.AEAD
	nonce [12]byte
	tag   [tagSize]byte
}

const (
	tagSize = 16
	// headChunks is how many chunks' tags have fixed places: 64 MiB.
	headChunks = 1024
)

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
	if f.gmac2, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	// Room for the first 64 MiB; beyond, the list grows as pass 1 reads,
	// so that a size src does not back allocates nothing.
	f.head = make([]byte, tagSize*min((n+pipeChunk-1)/pipeChunk, headChunks))
	return f, nil
}

// verifier returns the calling goroutine's verifier under f's key.
func (f *fingerprints) verifier() verifier { return verifier{gmac: f.gmac2} }

// byIndex reports whether chunk i's tag has a fixed place.
func (f *fingerprints) byIndex(i uint64) bool { return i < uint64(len(f.head)/tagSize) }

// record records the tag of pass 1's chunk i: chunks past the fixed places
// must come in order.
func (f *fingerprints) record(i uint64, chunk []byte) {
	binary.BigEndian.PutUint64(f.nonce[4:], i)
	if f.byIndex(i) {
		f.gmac.Seal(f.head[i*tagSize:i*tagSize:(i+1)*tagSize], f.nonce[:], nil, chunk)
		return
	}
	// Seal appends into a new slice of exactly the size it needs when dst
	// is full, and append grows large slices by a quarter: double instead,
	// so that all the lists allocated add up to at most twice the last.
	if cap(f.tail)-len(f.tail) < tagSize {
		f.tail = append(make([]byte, 0, 2*cap(f.tail)+tagSize), f.tail...)
	}
	f.tail = f.gmac.Seal(f.tail, f.nonce[:], nil, chunk)
}

// recordWith records the tag of pass 1's chunk i, which has a fixed place,
// with v.
func (f *fingerprints) recordWith(v *verifier, i uint64, chunk []byte) {
	binary.BigEndian.PutUint64(v.nonce[4:], i)
	v.gmac.Seal(f.head[i*tagSize:i*tagSize:(i+1)*tagSize], v.nonce[:], nil, chunk)
}

// matches reports whether pass 2's chunk i has the tag of pass 1's chunk
// at the same index.
func (f *fingerprints) matches(v *verifier, i uint64, chunk []byte) bool {
	want := f.head
	j := i
	if !f.byIndex(i) {
		want, j = f.tail, i-uint64(len(f.head)/tagSize)
	}
	if j >= uint64(len(want)/tagSize) {
		return false
	}
	binary.BigEndian.PutUint64(v.nonce[4:], i)
	got := v.gmac.Seal(v.tag[:0], v.nonce[:], nil, chunk)
	return hmac.Equal(got, want[j*tagSize:(j+1)*tagSize])
}
