package media

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"errors"
	"fmt"
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
	// ErrSourceChanged: decryption's second read of a blob returned other
	// bytes than its first, which it authenticated (a ranged download the
	// server serves differently, a file rewritten meanwhile). It wraps
	// ErrInvalidMAC, so errors.Is matches both. dst then holds the
	// plaintext of the chunks that matched, in order, never a byte of the
	// changed ones (issue #20 item 14).
	ErrSourceChanged = fmt.Errorf("%w: source changed between decryption's two reads", ErrInvalidMAC)
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

// bufSize is the one buffer a stream function allocates when it does not use
// a pipe's ring (small Signal attachments; decryption of a blob that fits
// it); memory use does not depend on the size of the attachment.
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
