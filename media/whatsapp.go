package media

import (
	"crypto/aes"
	"crypto/hkdf"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
)

// WhatsApp media sizes.
const (
	MediaKeySize   = 32    // WhatsApp media key
	WhatsAppMACLen = 10    // truncated HMAC-SHA256 at the end of a blob
	SidecarChunk   = 65536 // bytes of the blob covered by one sidecar entry
	SidecarMACLen  = 10    // bytes per sidecar entry
	expandedLength = 112   // IV 16 ‖ cipher key 32 ‖ MAC key 32 ‖ ref key 32
)

// WhatsAppKeys are the keys a media key expands to.
type WhatsAppKeys struct {
	IV        [16]byte
	CipherKey [32]byte
	MACKey    [32]byte
	RefKey    [32]byte // unused by the blob format (media retry requests)
}

// DeriveWhatsAppKeys expands a 32-byte media key with HKDF-SHA256 (no salt,
// info = kind.Info()) into 112 bytes: IV ‖ cipher key ‖ MAC key ‖ ref key.
func DeriveWhatsAppKeys(mediaKey []byte, kind Kind) (*WhatsAppKeys, error) {
	if len(mediaKey) != MediaKeySize {
		return nil, fmt.Errorf("%w: media key is %d bytes, want %d", ErrInvalidKey, len(mediaKey), MediaKeySize)
	}
	if !kind.valid() {
		return nil, fmt.Errorf("%w: unknown media kind %d", ErrInvalidKey, int(kind))
	}
	okm, err := hkdf.Key(sha256.New, mediaKey, nil, kind.Info(), expandedLength)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	k := new(WhatsAppKeys)
	copy(k.IV[:], okm[0:16])
	copy(k.CipherKey[:], okm[16:48])
	copy(k.MACKey[:], okm[48:80])
	copy(k.RefKey[:], okm[80:112])
	clear(okm)
	return k, nil
}

// WhatsAppInfo is what a WhatsApp media message carries about its blob
// (ImageMessage, VideoMessage, … in waE2E).
type WhatsAppInfo struct {
	MediaKey         []byte // 32 bytes
	FileSHA256       []byte // SHA-256 of the plaintext
	FileEncSHA256    []byte // SHA-256 of the whole blob
	FileLength       uint64 // plaintext length
	StreamingSidecar []byte // for Video and Audio only: 10 bytes per 64 KiB of blob
}

// EncryptWhatsApp encrypts src for WhatsApp with a fresh media key read from
// rand: it writes the blob AES-256-CBC(PKCS#7(src)) ‖ HMAC-SHA256(MAC key,
// IV ‖ ciphertext)[:10] to dst (the IV is derived, not sent) and returns the
// message metadata. Memory use does not depend on the size of src. A nil
// rand means crypto/rand.Reader.
func EncryptWhatsApp(rand io.Reader, dst io.Writer, src io.Reader, kind Kind) (*WhatsAppInfo, error) {
	if rand == nil {
		rand = crand.Reader
	}
	key := make([]byte, MediaKeySize)
	if _, err := io.ReadFull(rand, key); err != nil {
		return nil, fmt.Errorf("media: reading random media key: %w", err)
	}
	return EncryptWhatsAppWithKey(dst, src, kind, key)
}

// EncryptWhatsAppWithKey is EncryptWhatsApp with a given media key. The
// format is deterministic: the same key and plaintext give the same blob, so
// a media key must never be reused for different files.
func EncryptWhatsAppWithKey(dst io.Writer, src io.Reader, kind Kind, mediaKey []byte) (*WhatsAppInfo, error) {
	keys, err := DeriveWhatsAppKeys(mediaKey, kind)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(keys.CipherKey[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	mac := hmac.New(sha256.New, keys.MACKey[:])
	mac.Write(keys.IV[:])
	plainHash, blobHash := sha256.New(), sha256.New()
	var side *sidecar
	writers := []io.Writer{dst, blobHash}
	if kind.HasSidecar() {
		side = newSidecar(keys.MACKey[:], keys.IV[:])
		writers = append(writers, side)
	}
	blob := io.MultiWriter(writers...)
	ct := io.MultiWriter(blob, mac)

	// The calling goroutine reads and encrypts each chunk; once a first
	// full chunk is read, a second one MACs, hashes and writes its
	// ciphertext; the plaintext hash runs on whichever balances them
	// (plainHasher).
	ph := newPlainHasher(plainHash)
	p := newPipe(2*pipeChunk, nil, true, func(b []byte) error {
		_, err := ct.Write(ph.there(b))
		return err
	})
	defer p.release()
	defer p.stop()
	n, err := encryptCBCPipe(p, src, block, keys.IV[:], ph)
	if err == nil || err == errPipeFailed {
		err = p.finish()
	}
	if err != nil {
		return nil, err
	}
	tag := mac.Sum(nil)[:WhatsAppMACLen]
	if _, err := blob.Write(tag); err != nil {
		return nil, err
	}
	info := &WhatsAppInfo{
		MediaKey:      append([]byte(nil), mediaKey...),
		FileSHA256:    plainHash.Sum(nil),
		FileEncSHA256: blobHash.Sum(nil),
		FileLength:    uint64(n),
	}
	if side != nil {
		info.StreamingSidecar = side.finish()
	}
	return info, nil
}

// WhatsAppCheck holds the values a WhatsApp message states about its blob;
// each one that is not nil is checked by DecryptWhatsApp.
type WhatsAppCheck struct {
	FileEncSHA256    []byte // checked before any output
	StreamingSidecar []byte // checked before any output
	FileSHA256       []byte // checked after the output was written (see DecryptToFile)
}

// DecryptWhatsApp authenticates and decrypts a WhatsApp media blob of size
// bytes. The first pass reads the whole blob and checks its length, the
// fileEncSHA256 and sidecar when given, the MAC and the padding (errors in
// that order), before writing anything to dst; the second pass decrypts.
// Each 64 KiB chunk of a second read (a blob above 128 KiB) is checked to
// be the one the first pass authenticated before its plaintext is written:
// if src changed, the error is ErrSourceChanged (also ErrInvalidMAC) and
// dst holds the plaintext of the chunks before the first changed one, and
// nothing else. Only FileSHA256 is checked after writing: on
// ErrInvalidPlaintextHash the output, authenticated by the MAC but not the
// file the message describes, is in dst; discard it (DecryptToFile does).
func DecryptWhatsApp(dst io.Writer, src io.ReaderAt, size int64, kind Kind, mediaKey []byte, check *WhatsAppCheck) error {
	keys, err := DeriveWhatsAppKeys(mediaKey, kind)
	if err != nil {
		return err
	}
	if src == nil || dst == nil {
		return fmt.Errorf("media: nil reader or writer")
	}
	ctLen := size - WhatsAppMACLen
	if size < aes.BlockSize+WhatsAppMACLen || ctLen%aes.BlockSize != 0 {
		return fmt.Errorf("%w: %d-byte WhatsApp blob", ErrTruncated, size)
	}
	if check == nil {
		check = &WhatsAppCheck{}
	}
	block, err := aes.NewCipher(keys.CipherKey[:])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}

	// The tag first: the digest and sidecar checks end with it.
	var tag [WhatsAppMACLen]byte
	if err := readFullAt(src, tag[:], ctLen); err != nil {
		return err
	}
	mac := hmac.New(sha256.New, keys.MACKey[:])
	mac.Write(keys.IV[:])
	var blobHash hash.Hash
	if check.FileEncSHA256 != nil {
		blobHash = sha256.New()
	}
	var side *sidecar
	if check.StreamingSidecar != nil {
		side = newSidecar(keys.MACKey[:], keys.IV[:])
		side.out = make([]byte, 0, (size+SidecarChunk-1)/SidecarChunk*SidecarMACLen)
	}
	var lb lastBlocks
	copy(lb.last[:], keys.IV[:])
	ps := &passes{
		scan: func(chunk []byte) {
			mac.Write(chunk)
			lb.see(chunk)
		},
		check: func() (int64, error) {
			if !hmac.Equal(mac.Sum(nil)[:WhatsAppMACLen], tag[:]) {
				return 0, ErrInvalidMAC
			}
			pad, err := lastBlockPadding(block, lb.prev[:], lb.last[:])
			return ctLen - int64(pad), err
		},
	}
	if blobHash != nil || side != nil {
		ps.side = func(chunk []byte) {
			if blobHash != nil {
				blobHash.Write(chunk)
			}
			if side != nil {
				side.Write(chunk)
			}
		}
		ps.gate = func() error {
			if blobHash != nil {
				blobHash.Write(tag[:])
				if !hmac.Equal(blobHash.Sum(nil), check.FileEncSHA256) {
					return fmt.Errorf("%w: fileEncSHA256 mismatch", ErrInvalidDigest)
				}
			}
			if side != nil {
				side.Write(tag[:])
				if !hmac.Equal(side.finish(), check.StreamingSidecar) {
					return ErrInvalidSidecar
				}
			}
			return nil
		}
	}
	plainHash := sha256.New()
	if check.FileSHA256 != nil {
		ps.plain = func(p []byte) { plainHash.Write(p) }
	}
	if err := decryptTwoPass(dst, src, 0, ctLen, block, keys.IV[:], ps); err != nil {
		return err
	}
	if check.FileSHA256 != nil && !hmac.Equal(plainHash.Sum(nil), check.FileSHA256) {
		return ErrInvalidPlaintextHash
	}
	return nil
}

// lastBlocks tracks the last two ciphertext blocks as whole-block chunks
// stream past; before the first chunk, last holds the IV.
type lastBlocks struct{ prev, last [aes.BlockSize]byte }

func (b *lastBlocks) see(chunk []byte) {
	if len(chunk) >= 2*aes.BlockSize {
		copy(b.prev[:], chunk[len(chunk)-2*aes.BlockSize:])
	} else {
		b.prev = b.last
	}
	copy(b.last[:], chunk[len(chunk)-aes.BlockSize:])
}

// sidecar computes WhatsApp's streaming sidecar over the blob (ciphertext ‖
// MAC): entry n = HMAC-SHA256(MAC key, the 16 bytes before chunk n ‖ chunk
// n)[:10] for each 64 KiB chunk n of the blob, the IV standing before chunk
// 0. This is WhatsApp Web's calculateStreamingSidecar over IV ‖ blob with
// windows [n·64 KiB, (n+1)·64 KiB + 16).
type sidecar struct {
	h       hash.Hash
	filled  int
	tail    [aes.BlockSize]byte
	scratch [32]byte
	out     []byte
}

func newSidecar(macKey, iv []byte) *sidecar {
	s := &sidecar{h: hmac.New(sha256.New, macKey)}
	s.h.Write(iv)
	return s
}

func (s *sidecar) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		m := min(len(p), SidecarChunk-s.filled)
		part := p[:m]
		s.h.Write(part)
		if m >= len(s.tail) {
			copy(s.tail[:], part[m-len(s.tail):])
		} else {
			copy(s.tail[:], s.tail[m:])
			copy(s.tail[len(s.tail)-m:], part)
		}
		s.filled += m
		p = p[m:]
		if s.filled == SidecarChunk {
			s.out = append(s.out, s.h.Sum(s.scratch[:0])[:SidecarMACLen]...)
			s.h.Reset()
			s.h.Write(s.tail[:])
			s.filled = 0
		}
	}
	return n, nil
}

func (s *sidecar) finish() []byte {
	if s.filled > 0 {
		s.out = append(s.out, s.h.Sum(s.scratch[:0])[:SidecarMACLen]...)
		s.filled = 0
	}
	return s.out
}
