package media

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Large attachments are processed on two goroutines: the calling one reads
// and runs AES-CBC (and, where the format allows, one hash) on chunk i while
// a second one runs the other hashes and the output of chunk i−1. The chunks
// live in a ring of pipeSlots fixed buffers of pipeChunk bytes, so memory use
// still does not depend on the size of the attachment.
const (
	pipeChunk = 64 << 10
	pipeSlots = 4
	// pipeMin is the smallest Signal attachment whose encryption is handed
	// to a second goroutine; below it the start-up and hand-over cost more
	// than they save.
	pipeMin = pipeSlots * pipeChunk
	// pipeSpin is how long a side that finds nothing to do polls before it
	// parks. Parking costs more than it seems: the runtime readies the
	// woken goroutine on the waker's own processor, and on a small
	// (virtual) machine the idle one often wakes too late to take it, so
	// the two stages end up taking turns on one core. Measured on 2 cores,
	// two SHA-256 stages over 64 MiB took 71 ms when parking at once, 42 ms
	// with this poll (one stage alone: 44 ms). A stage waits less than one
	// chunk's work (~40 µs) when both sides keep up; the bound caps the
	// cost of polling while a slow reader or writer holds the other side.
	pipeSpin = 100 * time.Microsecond
)

// ringSize is the largest ring a call uses: pipeSlots slots of a
// ciphertext chunk and its plaintext (decryption's second pass).
const ringSize = pipeSlots * 2 * pipeChunk

// ringPool recycles rings between calls: a large attachment then costs no
// allocation, and the garbage collector does not run every few calls. A
// ring goes back cleared of whatever it held.
var ringPool = sync.Pool{New: func() any { return new([ringSize]byte) }}

// errPipeFailed is returned by get and send once the consumer has failed;
// finish returns the consumer's own error (or re-raises its panic).
var errPipeFailed = errors.New("media: pipeline consumer failed")

// pipe hands filled buffers, in order, from the calling goroutine (the
// producer) to a second goroutine that runs consume on each and returns the
// buffer to the ring. Only plain channels: full carries chunks to the
// consumer, free carries buffers back, failed is closed when consume fails
// or panics (the consumer then drains full without consuming), and done is
// closed when the consumer goroutine has exited. The producer must call stop
// (deferred) or finish on every path; both close full and wait for done, so
// no goroutine outlives the call.
//
// Decryption runs both its passes through one pipe: a goroutine started
// from a busy processor waits for an idle one to wake up and take it
// (measured on a 2-core virtual machine: 70 µs to well over 600 µs), so a
// second start would cost as much as a pass over a megabyte gains.
//
// A lazy pipe starts its goroutine only when a full buffer is sent; if the
// input ends before that, finish consumes the pending chunk on the calling
// goroutine. Measured (WhatsApp encryption, 2 cores): inputs of 64–128 KiB
// take up to 15 % longer than on one goroutine, 200–300 KiB 16–22 % less,
// 1 MiB 3 % less than when the goroutine started with the ring full.
type pipe struct {
	consume func([]byte) error
	size    int
	backing []byte          // pipeSlots·size bytes for the buffers
	slab    *[ringSize]byte // backing's ring, when taken from ringPool
	bufs    [][]byte        // every buffer handed out so far (≤ pipeSlots)
	pending [][]byte        // lazy, not started: chunks waiting for the consumer

	free, full   chan []byte
	failed, done chan struct{}
	started      bool
	closed       bool
	waited       bool  // the last get had to wait for the consumer
	err          error // set by the consumer before closing failed
	panicked     bool
	panicVal     any
}

// newPipe makes a pipe of pipeSlots buffers of size bytes, taken from
// backing (pipeSlots·size bytes) if it is not nil, else from a ring of
// ringPool on the first get (release gives it back). An eager pipe starts
// its goroutine at once.
func newPipe(size int, backing []byte, lazy bool, consume func([]byte) error) *pipe {
	p := &pipe{
		consume: consume, size: size, backing: backing,
		free:   make(chan []byte, pipeSlots),
		full:   make(chan []byte, pipeSlots),
		failed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	if !lazy {
		p.start()
	}
	return p
}

func (p *pipe) start() {
	p.started = true
	go p.run()
	for _, b := range p.pending {
		p.full <- b // never blocks: at most pipeSlots buffers exist
	}
	p.pending = nil
}

func (p *pipe) run() {
	defer close(p.done)
	for {
		b, ok := poll(p.full, nil)
		if !ok {
			return
		}
		if p.err == nil {
			if err := p.safeConsume(b); err != nil {
				p.err = err
				close(p.failed)
			}
		}
		p.free <- b[:cap(b)] // never blocks: free holds pipeSlots
	}
}

func (p *pipe) safeConsume(b []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.panicked, p.panicVal = true, r
			err = fmt.Errorf("media: panic in pipeline: %v", r)
		}
	}()
	return p.consume(b)
}

// get returns a buffer of size bytes for the producer to fill.
func (p *pipe) get() ([]byte, error) {
	p.waited = false
	select {
	case b := <-p.free:
		return b, nil
	default:
	}
	if i := len(p.bufs); i < pipeSlots {
		if p.backing == nil {
			p.slab = ringPool.Get().(*[ringSize]byte)
			p.backing = p.slab[:pipeSlots*p.size]
		}
		b := p.backing[i*p.size : (i+1)*p.size : (i+1)*p.size]
		p.bufs = append(p.bufs, b)
		return b, nil
	}
	if !p.started {
		// Cannot happen: a lazy pipe starts with its first full buffer,
		// and only the last buffer sent can be partial.
		return nil, errPipeFailed
	}
	p.waited = true
	if b, ok := poll(p.free, p.failed); ok {
		return b, nil
	}
	return nil, errPipeFailed
}

// poll receives from c, polling it (and failed, if not nil) and yielding
// the processor between polls for up to pipeSpin before it blocks. It
// returns ok false if c is closed or failed is.
func poll(c <-chan []byte, failed <-chan struct{}) (b []byte, ok bool) {
	var start time.Time
	for i := 0; ; i++ {
		select {
		case b, ok = <-c:
			return b, ok
		case <-failed:
			return nil, false
		default:
		}
		if i == 0 {
			start = time.Now()
		} else if time.Since(start) > pipeSpin {
			break
		}
		runtime.Gosched()
	}
	select {
	case b, ok = <-c:
		return b, ok
	case <-failed:
		return nil, false
	}
}

// send hands a filled buffer (a prefix of one from get) to the consumer.
func (p *pipe) send(b []byte) error {
	if !p.started {
		p.pending = append(p.pending, b)
		// Start with the first full chunk: by the time the ring is full
		// the second goroutine has had time to get a processor (see the
		// type's doc); a partial chunk is the last one, and finish then
		// consumes the pending chunks on this goroutine.
		if len(b) == p.size {
			p.start()
		}
		return nil
	}
	select {
	case <-p.failed:
		return errPipeFailed
	default:
	}
	p.full <- b // never blocks: at most pipeSlots buffers exist
	return nil
}

// stop ends the consumer without re-raising its panic: for deferred
// clean-up on the producer's own error and panic paths. It is idempotent.
func (p *pipe) stop() {
	if p.started && !p.closed {
		p.closed = true
		close(p.full)
		<-p.done
	}
}

// finish waits for every chunk sent to be consumed and returns the
// consumer's error; a panic in consume is raised again here, on the
// producer's goroutine.
func (p *pipe) finish() error {
	if !p.started {
		for len(p.pending) > 0 {
			b := p.pending[0]
			p.pending = p.pending[1:]
			if err := p.consume(b); err != nil {
				return err
			}
		}
		return nil
	}
	p.stop()
	if p.panicked {
		panic(p.panicVal)
	}
	return p.err
}

// release zeroes every buffer handed out and returns a pooled ring to
// ringPool; call it after stop or finish.
func (p *pipe) release() {
	for _, b := range p.bufs {
		clear(b[:cap(b)])
	}
	p.bufs = nil
	if p.slab != nil {
		ringPool.Put(p.slab)
		p.slab, p.backing = nil, nil
	}
}

// encryptCBCPipe is encryptCBC through p: it fills each buffer from src,
// encrypts it and sends it to p's consumer; the last buffer carries the
// PKCS#7 padding. It returns the plaintext length; the caller calls
// p.finish.
//
// With ph nil, each buffer is encrypted in place. With ph, p's buffers are
// 2·pipeChunk bytes: the plaintext chunk is read into the first half and
// encrypted into the second, and ph.h hashes the plaintext (padding left
// out), on the calling goroutine for the first chunks and, if that
// balances the two goroutines better, on the consumer from some chunk on
// (see plainHasher).
func encryptCBCPipe(p *pipe, src io.Reader, block cipher.Block, iv []byte, ph *plainHasher) (int64, error) {
	mode := cipher.NewCBCEncrypter(block, iv)
	var total int64
	for i := int64(0); ; i++ {
		buf, err := p.get()
		if err != nil {
			return total, err
		}
		in, out := buf, buf
		if ph != nil {
			in, out = buf[:pipeChunk], buf[pipeChunk:]
		}
		n, rerr := io.ReadFull(src, in)
		total += int64(n)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			return total, rerr
		}
		end := n
		if rerr != nil {
			// End of input: n < len(in), a multiple of the block size,
			// so the padding fits.
			pad := aes.BlockSize - n%aes.BlockSize
			end = n + pad
			for j := n; j < end; j++ {
				in[j] = byte(pad)
			}
		}
		if ph == nil {
			mode.CryptBlocks(out[:end], in[:end])
		} else {
			ph.here(mode, in[:end], out[:end], n, i)
			if rerr != nil {
				ph.total.Store(total)
			}
		}
		if err := p.send(sent(buf, ph != nil, end)); err != nil || rerr != nil {
			return total, err
		}
	}
}

// sent is the part of an encryption buffer to send when its ciphertext is
// k bytes long.
func sent(buf []byte, outOfPlace bool, k int) []byte {
	if outOfPlace {
		return buf[:pipeChunk+k]
	}
	return buf[:k]
}

// plainHasher hashes the plaintext that encryptCBCPipe reads. The calling
// goroutine encrypts (CBC encryption is serial) and the consumer MACs and
// hashes the ciphertext; the plaintext hash goes where it balances them.
// With E the time to encrypt a chunk and S to hash it (a MAC costs S too),
// the calling goroutine's E + S against the consumer's 2S, or E against
// 3S: the hash moves to the consumer iff E > 2S. That depends on the
// machine — per 64 KiB, S ≈ 36–41 µs, E ≈ 56 µs on a quiet 2-core machine
// and 100–170 µs on the same machine under load, whose other processes
// share its AES units (issue #18 item 5) — so the calling goroutine times
// both on its first probeChunks full chunks and decides once: from the
// next chunk on the consumer hashes (the chunks before were hashed before
// they were sent, so the hash stays in order), or it never does.
type plainHasher struct {
	h     hash.Hash
	total atomic.Int64 // the plaintext length, −1 until the last chunk is sent
	from  atomic.Int64 // the first chunk the consumer hashes
	// The calling goroutine's:
	decided    bool
	probed     int
	minE, minS time.Duration
	// The consumer's:
	chunk, seen int64
}

// probeChunks is how many chunks plainHasher times before it decides.
const probeChunks = 3

func newPlainHasher(h hash.Hash) *plainHasher {
	ph := &plainHasher{h: h}
	ph.total.Store(-1)
	ph.from.Store(math.MaxInt64)
	return ph
}

// here encrypts chunk i, in (n bytes of plaintext, then the padding) into
// out, on the calling goroutine, hashing its plaintext first until the
// consumer does.
func (ph *plainHasher) here(mode cipher.BlockMode, in, out []byte, n int, i int64) {
	if ph.decided && i >= ph.from.Load() {
		mode.CryptBlocks(out, in)
		return
	}
	if ph.decided || n != pipeChunk {
		ph.h.Write(in[:n])
		mode.CryptBlocks(out, in)
		return
	}
	t0 := time.Now()
	ph.h.Write(in[:n])
	t1 := time.Now()
	mode.CryptBlocks(out, in)
	s, e := t1.Sub(t0), time.Since(t1)
	if ph.probed == 0 || s < ph.minS {
		ph.minS = s
	}
	if ph.probed == 0 || e < ph.minE {
		ph.minE = e
	}
	if ph.probed++; ph.probed == probeChunks {
		ph.decided = true
		if ph.minE > 2*ph.minS {
			ph.from.Store(i + 1)
		}
	}
}

// there is the consumer's part of a buffer sent by encryptCBCPipe with ph:
// it hashes the plaintext if it is the consumer's to hash and returns the
// ciphertext.
func (ph *plainHasher) there(b []byte) []byte {
	k := len(b) - pipeChunk
	pt, ct := b[:k], b[pipeChunk:]
	if t := ph.total.Load(); t >= 0 {
		pt = pt[:min(int64(k), t-ph.seen)]
	}
	ph.seen += int64(len(pt))
	if ph.chunk >= ph.from.Load() {
		ph.h.Write(pt)
	}
	ph.chunk++
	return ct
}
