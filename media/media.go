package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// Sentinel errors; check them with errors.Is. Every error a Decrypt function
// returns for bad input wraps exactly one of them; I/O errors of dst and src
// are returned as they are.
var (
	// ErrInvalidKey: a key of the wrong length or an unknown Kind.
	ErrInvalidKey = errors.New("media: invalid key")
	// ErrInvalidMAC: the blob's HMAC-SHA256 does not verify.
	ErrInvalidMAC = errors.New("media: invalid MAC")
	// ErrInvalidDigest: SHA-256 of the blob differs from the expected one
	// (Signal's AttachmentPointer.digest, WhatsApp's fileEncSHA256).
	ErrInvalidDigest = errors.New("media: invalid digest")
	// ErrInvalidIncrementalMAC: a Signal incremental MAC does not verify, or
	// its length does not fit the blob and chunk size.
	ErrInvalidIncrementalMAC = errors.New("media: invalid incremental MAC")
	// ErrInvalidSidecar: a WhatsApp streaming sidecar does not verify.
	ErrInvalidSidecar = errors.New("media: invalid streaming sidecar")
	// ErrInvalidPadding: the PKCS#7 padding of the last block is malformed.
	ErrInvalidPadding = errors.New("media: invalid padding")
	// ErrInvalidPlaintextHash: SHA-256 of the decrypted file differs from
	// WhatsApp's fileSHA256. Reported after the plaintext was written.
	ErrInvalidPlaintextHash = errors.New("media: invalid plaintext hash")
	// ErrTruncated: the blob is shorter than its format allows, not a whole
	// number of blocks, or src returned fewer bytes than size.
	ErrTruncated = errors.New("media: truncated or malformed blob")
	// ErrInvalidSize: a declared size does not fit the data (the plaintext
	// size of a Signal attachment larger than its padded plaintext, or a
	// source shorter or longer than the size given to EncryptSignal).
	ErrInvalidSize = errors.New("media: invalid size")
)

// bufSize is the one buffer a stream function allocates below pipeMin
// (above it, the pipe's ring); memory use does not depend on the size of the
// attachment.
const bufSize = 128 << 10

// Kind names a WhatsApp media type: it selects the HKDF info string from which
// the media key expands. The zero Kind is invalid.
type Kind int

// The kinds of whatsmeow's MediaType (Image … LinkThumbnail) and the
// thumbnail and payment kinds of Baileys' MEDIA_HKDF_KEY_MAPPING. Stickers
// use Image, GIFs and round videos Video, voice notes Audio.
const (
	Image Kind = iota + 1
	Video
	Audio
	Document
	History
	AppState
	StickerPack
	LinkThumbnail
	ImageThumbnail
	VideoThumbnail
	DocumentThumbnail
	PaymentBackground
)

var kinds = [...]struct{ name, info string }{
	Image:             {"image", "WhatsApp Image Keys"},
	Video:             {"video", "WhatsApp Video Keys"},
	Audio:             {"audio", "WhatsApp Audio Keys"},
	Document:          {"document", "WhatsApp Document Keys"},
	History:           {"history", "WhatsApp History Keys"},
	AppState:          {"app-state", "WhatsApp App State Keys"},
	StickerPack:       {"sticker-pack", "WhatsApp Sticker Pack Keys"},
	LinkThumbnail:     {"link-thumbnail", "WhatsApp Link Thumbnail Keys"},
	ImageThumbnail:    {"image-thumbnail", "WhatsApp Image Thumbnail Keys"},
	VideoThumbnail:    {"video-thumbnail", "WhatsApp Video Thumbnail Keys"},
	DocumentThumbnail: {"document-thumbnail", "WhatsApp Document Thumbnail Keys"},
	PaymentBackground: {"payment-background", "WhatsApp Payment Background Keys"},
}

// aliases are the names WhatsApp's own upload paths use for kinds above.
var aliases = map[string]Kind{
	"sticker": Image, "gif": Video, "ptv": Video, "ptt": Audio,
	"md-msg-hist": History, "md-app-state": AppState, "thumbnail-link": LinkThumbnail,
	"thumbnail-image": ImageThumbnail, "thumbnail-video": VideoThumbnail,
	"thumbnail-document": DocumentThumbnail, "payment-bg-image": PaymentBackground,
}

// Kinds returns every valid Kind in order.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kinds)-1)
	for k := Image; int(k) < len(kinds); k++ {
		out = append(out, k)
	}
	return out
}

func (k Kind) valid() bool { return k >= Image && int(k) < len(kinds) }

// String returns the kind's short name ("image", "app-state", …).
func (k Kind) String() string {
	if !k.valid() {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kinds[k].name
}

// Info returns the HKDF info string, e.g. "WhatsApp Image Keys".
func (k Kind) Info() string {
	if !k.valid() {
		return ""
	}
	return kinds[k].info
}

// HasSidecar reports whether WhatsApp attaches a streaming sidecar to this
// kind (audio and video, as WhatsApp Web's media upload does).
func (k Kind) HasSidecar() bool { return k == Video || k == Audio }

// ParseKind accepts a name returned by String, or one of WhatsApp's upload
// type names (sticker, gif, ptt, ptv, md-msg-hist, md-app-state,
// thumbnail-link, …), case-insensitively.
func ParseKind(s string) (Kind, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, k := range Kinds() {
		if kinds[k].name == s {
			return k, nil
		}
	}
	if k, ok := aliases[s]; ok {
		return k, nil
	}
	return 0, fmt.Errorf("%w: unknown media kind %q", ErrInvalidKey, s)
}

// readFullAt reads len(p) bytes at off; a short read is ErrTruncated.
func readFullAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: short read at offset %d", ErrTruncated, off+int64(n))
	}
	return err
}

// encryptCBC reads src to EOF and writes AES-CBC(PKCS#7(src)) to w through
// buf (len(buf) a multiple of the block size, at least two blocks).
// onPlain, if not nil, sees every plaintext byte. It returns the plaintext
// length.
func encryptCBC(w io.Writer, src io.Reader, block cipher.Block, iv []byte, buf []byte, onPlain func([]byte)) (int64, error) {
	const bs = aes.BlockSize
	mode := cipher.NewCBCEncrypter(block, iv)
	var total int64
	pending := 0
	for {
		m, rerr := src.Read(buf[pending:])
		if m > 0 {
			if onPlain != nil {
				onPlain(buf[pending : pending+m])
			}
			total += int64(m)
			pending += m
			if full := pending - pending%bs; full > 0 && (pending == len(buf) || rerr != nil) {
				mode.CryptBlocks(buf[:full], buf[:full])
				if _, err := w.Write(buf[:full]); err != nil {
					return total, err
				}
				pending = copy(buf, buf[full:pending])
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return total, rerr
		}
	}
	// Flush whole blocks still pending, then the padded last block.
	if full := pending - pending%bs; full > 0 {
		mode.CryptBlocks(buf[:full], buf[:full])
		if _, err := w.Write(buf[:full]); err != nil {
			return total, err
		}
		pending = copy(buf, buf[full:pending])
	}
	pad := bs - pending
	for i := pending; i < bs; i++ {
		buf[i] = byte(pad)
	}
	mode.CryptBlocks(buf[:bs], buf[:bs])
	if _, err := w.Write(buf[:bs]); err != nil {
		return total, err
	}
	return total, nil
}

// lastBlockPadding decrypts the last ciphertext block (prev is the block
// before it, or the IV) and returns the PKCS#7 pad length, checking it in
// constant time.
func lastBlockPadding(block cipher.Block, prev, last []byte) (int, error) {
	var pt [aes.BlockSize]byte
	block.Decrypt(pt[:], last)
	subtle.XORBytes(pt[:], pt[:], prev)
	pad := pt[aes.BlockSize-1]
	good := subtle.ConstantTimeLessOrEq(1, int(pad)) & subtle.ConstantTimeLessOrEq(int(pad), aes.BlockSize)
	for i := range aes.BlockSize {
		isPad := subtle.ConstantTimeLessOrEq(i+1, int(pad))
		eq := subtle.ConstantTimeByteEq(pt[aes.BlockSize-1-i], pad)
		good &= subtle.ConstantTimeSelect(isPad, eq, 1)
	}
	clear(pt[:])
	if good != 1 {
		return 0, ErrInvalidPadding
	}
	return int(pad), nil
}

// ctReader reads the ciphertext region [off, off+n) of a blob twice: once to
// authenticate it (scan), once to decrypt it (replay). A region that fits
// the one bufSize buffer is read once and replayed from memory. A larger one
// is read again from src chunk by chunk; to notice a src that changed between
// the two reads, scan and replay both fold a GMAC of every chunk (AES-128-GCM
// with no plaintext and the chunk as additional data, nonce = chunk index)
// into a SHA-256, under a key drawn from crypto/rand for this call only, and
// replay compares the two digests at the end. The key and the tags never
// leave the call, so whoever rewrites src cannot aim for a collision; GHASH
// costs a small fraction of re-running the HMAC-SHA256.
type ctReader struct {
	src   io.ReaderAt
	off   int64
	n     int64
	buf   []byte
	whole bool   // buf holds the whole region after scan
	ring  []byte // regions of pipeMin bytes or more: a pipe's buffers

	gmac       cipher.AEAD
	scanned    [sha256.Size]byte
	nonce, tag [16]byte // scratch, kept here so that fold does not allocate
}

// singleReadMax is the largest ciphertext read only once: one buffer.
// Holding more in memory (measured up to 2 MiB) was no faster than reading
// it twice, because of the allocation, and would make memory use grow with
// the attachment.
const singleReadMax = bufSize

// newCTReader reads [off, off+n) of src; with pipelined, a region of
// pipeMin bytes or more is processed on two goroutines (worth it only when
// the caller checks a digest or plaintext hash besides the MAC).
func newCTReader(src io.ReaderAt, off, n int64, pipelined bool) (*ctReader, error) {
	r := &ctReader{src: src, off: off, n: n}
	if n <= singleReadMax {
		r.buf, r.whole = make([]byte, n), true
		return r, nil
	}
	if pipelined && n >= pipeMin {
		r.ring = make([]byte, pipeSlots*2*pipeChunk)
	} else {
		r.buf = make([]byte, bufSize)
	}
	var key [16]byte
	if _, err := rand.Read(key[:]); err != nil {
		return nil, fmt.Errorf("media: reading a random key: %w", err)
	}
	block, err := aes.NewCipher(key[:])
	clear(key[:])
	if err != nil {
		return nil, err
	}
	if r.gmac, err = cipher.NewGCM(block); err != nil {
		return nil, err
	}
	return r, nil
}

// fold adds the GMAC of chunk i to h.
func (r *ctReader) fold(h hash.Hash, i uint64, chunk []byte) {
	binary.BigEndian.PutUint64(r.nonce[4:12], i)
	h.Write(r.gmac.Seal(r.tag[:0], r.nonce[:12], nil, chunk))
}

// scan reads the region once and hands it to fn, then to side if not nil,
// in order, in chunks of whole blocks. fn and side must not write to the
// chunk: on a large region, side runs on a second goroutine, on chunk i−1
// while fn runs on chunk i (with side nil, the GMAC fold moves there).
func (r *ctReader) scan(fn, side func([]byte)) error {
	if r.whole {
		if err := readFullAt(r.src, r.buf, r.off); err != nil {
			return err
		}
		fn(r.buf)
		if side != nil {
			side(r.buf)
		}
		return nil
	}
	h := sha256.New()
	if r.ring != nil {
		return r.scanPipe(h, fn, side)
	}
	for i, done := uint64(0), int64(0); done < r.n; i++ {
		chunk := r.buf[:min(int64(len(r.buf)), r.n-done)]
		if err := readFullAt(r.src, chunk, r.off+done); err != nil {
			return err
		}
		r.fold(h, i, chunk)
		fn(chunk)
		if side != nil {
			side(chunk)
		}
		done += int64(len(chunk))
	}
	h.Sum(r.scanned[:0])
	return nil
}

// scanPipe is scan for a large region: this goroutine reads chunk i and
// runs fn on it while a second one runs side on chunk i−1.
func (r *ctReader) scanPipe(h hash.Hash, fn, side func([]byte)) error {
	// The GMAC fold goes with the lighter side: the second goroutine's
	// when side is nil, else this one's.
	foldHere := side != nil
	var next uint64 // the chunk index
	p := newPipe(pipeChunk, r.ring, false, func(b []byte) error {
		if foldHere {
			side(b)
			return nil
		}
		r.fold(h, next, b)
		next++
		return nil
	})
	defer p.stop()
	for done := int64(0); done < r.n; {
		buf, err := p.get()
		if err != nil {
			return p.finish()
		}
		chunk := buf[:min(int64(len(buf)), r.n-done)]
		if err := readFullAt(r.src, chunk, r.off+done); err != nil {
			return err
		}
		if foldHere {
			r.fold(h, next, chunk)
			next++
		}
		fn(chunk)
		if err := p.send(chunk); err != nil {
			return p.finish()
		}
		done += int64(len(chunk))
	}
	if err := p.finish(); err != nil {
		return err
	}
	h.Sum(r.scanned[:0])
	return nil
}

// replay hands the region to fn again, from memory or read anew from src;
// fn may overwrite the chunk. If src changed since scan, replay returns an
// error wrapping ErrInvalidMAC after the last chunk.
func (r *ctReader) replay(fn func([]byte) error) error {
	if r.whole {
		return fn(r.buf)
	}
	h := sha256.New()
	for i, done := uint64(0), int64(0); done < r.n; i++ {
		chunk := r.buf[:min(int64(len(r.buf)), r.n-done)]
		if err := readFullAt(r.src, chunk, r.off+done); err != nil {
			return err
		}
		r.fold(h, i, chunk)
		if err := fn(chunk); err != nil {
			return err
		}
		done += int64(len(chunk))
	}
	var sum [sha256.Size]byte
	if subtle.ConstantTimeCompare(h.Sum(sum[:0]), r.scanned[:]) != 1 {
		return fmt.Errorf("%w: source changed between passes", ErrInvalidMAC)
	}
	return nil
}

// replayPipe is replay for a large region. Each ring slot holds a
// ciphertext chunk and, pipeChunk bytes on, its plaintext: this goroutine
// reads chunk i and runs decrypt(pt, ct) while a second one folds the
// ciphertext of chunk i−1 and runs out on its plaintext (then clears it).
// With foldHere, the fold stays on this goroutine (for an out that is
// already the slower stage).
func (r *ctReader) replayPipe(foldHere bool, decrypt func(pt, ct []byte), out func([]byte) error) error {
	h := sha256.New()
	var next uint64 // the chunk index
	p := newPipe(2*pipeChunk, r.ring, false, func(b []byte) error {
		k := len(b) - pipeChunk
		ct, pt := b[:k], b[pipeChunk:]
		if !foldHere {
			r.fold(h, next, ct)
			next++
		}
		err := out(pt)
		clear(pt)
		return err
	})
	defer p.stop()
	for done := int64(0); done < r.n; {
		buf, err := p.get()
		if err != nil {
			return p.finish()
		}
		k := min(int64(pipeChunk), r.n-done)
		ct := buf[:k]
		if err := readFullAt(r.src, ct, r.off+done); err != nil {
			return err
		}
		if foldHere {
			r.fold(h, next, ct)
			next++
		}
		decrypt(buf[pipeChunk:pipeChunk+k], ct)
		if err := p.send(buf[:pipeChunk+k]); err != nil {
			return p.finish()
		}
		done += k
	}
	if err := p.finish(); err != nil {
		return err
	}
	var sum [sha256.Size]byte
	if subtle.ConstantTimeCompare(h.Sum(sum[:0]), r.scanned[:]) != 1 {
		return fmt.Errorf("%w: source changed between passes", ErrInvalidMAC)
	}
	return nil
}

// close clears the buffers (they held plaintext).
func (r *ctReader) close() {
	clear(r.buf)
	clear(r.ring)
}

// writePlaintext replays r's ciphertext (authenticated, padding checked),
// decrypts it and writes its first n bytes to dst; onPlain, if not nil, sees
// the bytes written.
func writePlaintext(dst io.Writer, r *ctReader, block cipher.Block, iv []byte, n int64, onPlain func([]byte)) error {
	mode := cipher.NewCBCDecrypter(block, iv)
	if r.ring != nil {
		return r.replayPipe(onPlain != nil, func(pt, ct []byte) { mode.CryptBlocks(pt, ct) }, func(chunk []byte) error {
			w := min(int64(len(chunk)), n)
			n -= w
			var err error
			if w > 0 {
				if onPlain != nil {
					onPlain(chunk[:w])
				}
				_, err = dst.Write(chunk[:w])
			}
			return err
		})
	}
	return r.replay(func(chunk []byte) error {
		mode.CryptBlocks(chunk, chunk)
		w := min(int64(len(chunk)), n)
		n -= w
		var err error
		if w > 0 {
			if onPlain != nil {
				onPlain(chunk[:w])
			}
			_, err = dst.Write(chunk[:w])
		}
		clear(chunk)
		return err
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
