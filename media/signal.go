package media

import (
	"crypto/aes"
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"math"
)

// Signal attachment sizes.
const (
	SignalKeySize = 64 // AES-256 key ‖ HMAC-SHA256 key
	SignalMACLen  = 32 // untruncated HMAC-SHA256 at the end of a blob
	// MinPaddedSize is the smallest padded plaintext Signal uploads.
	MinPaddedSize = 541
	// Incremental MAC chunk sizes (libsignal incremental_mac.rs).
	MinChunkSize = 64 << 10
	MaxChunkSize = 2 << 20
	// targetChunks is TARGET_TOTAL_DIGEST_SIZE (8 KiB) / 32.
	targetChunks = 256
)

// PaddedSize is the length Signal pads an attachment of size bytes to with
// zeros before encrypting it: max(541, ⌊1.05^⌈ln size / ln 1.05⌉⌋), computed
// in float64 as Signal-Android's PaddingInputStream.getPaddedSize and
// Signal-Desktop do (never less than size).
func PaddedSize(size int64) int64 {
	if size <= 0 {
		return MinPaddedSize
	}
	p := int64(math.Floor(math.Pow(1.05, math.Ceil(math.Log(float64(size))/math.Log(1.05)))))
	return max(MinPaddedSize, p, size)
}

// SignalBlobSize is the length of the blob for a size-byte attachment:
// IV 16 ‖ AES-256-CBC(PKCS#7(padded)) ‖ HMAC 32.
func SignalBlobSize(size int64) int64 {
	p := PaddedSize(size)
	return aes.BlockSize + (p/aes.BlockSize+1)*aes.BlockSize + SignalMACLen
}

// ChunkSize is libsignal's calculate_chunk_size for HMAC-SHA256 over a blob
// of blobSize bytes (ChunkSizeChoice.inferChunkSize): 64 KiB below 16 MiB,
// ⌈blobSize/256⌉ below 512 MiB, 2 MiB above.
func ChunkSize(blobSize int64) int {
	switch {
	case blobSize < targetChunks*MinChunkSize:
		return MinChunkSize
	case blobSize < targetChunks*MaxChunkSize:
		return int((blobSize + targetChunks - 1) / targetChunks)
	}
	return MaxChunkSize
}

// SignalInfo is what a Signal AttachmentPointer carries about its blob.
type SignalInfo struct {
	Key            []byte // 64 bytes: AES key ‖ HMAC key
	Digest         []byte // SHA-256 of the blob
	Size           int64  // plaintext size (AttachmentPointer.size)
	BlobSize       int64
	IncrementalMAC []byte // AttachmentPointer.incrementalMac
	ChunkSize      int    // AttachmentPointer.chunkSize
}

// EncryptSignal encrypts a size-byte attachment read from src with a fresh
// key and IV from rand. It writes the blob IV ‖ AES-256-CBC(PKCS#7(src ‖
// zeros to PaddedSize)) ‖ HMAC-SHA256(HMAC key, IV ‖ ciphertext) to dst and
// returns the pointer metadata: the digest and the incremental MAC over the
// blob. src must yield exactly size bytes (else ErrInvalidSize). Memory use
// does not depend on size. A nil rand means crypto/rand.Reader.
func EncryptSignal(rand io.Reader, dst io.Writer, src io.Reader, size int64) (*SignalInfo, error) {
	if rand == nil {
		rand = crand.Reader
	}
	var keyIV [SignalKeySize + aes.BlockSize]byte
	if _, err := io.ReadFull(rand, keyIV[:]); err != nil {
		return nil, fmt.Errorf("media: reading random key: %w", err)
	}
	defer clear(keyIV[:])
	return EncryptSignalWithKey(dst, src, size, keyIV[:SignalKeySize], keyIV[SignalKeySize:])
}

// EncryptSignalWithKey is EncryptSignal with a given key and IV.
func EncryptSignalWithKey(dst io.Writer, src io.Reader, size int64, key, iv []byte) (*SignalInfo, error) {
	if len(key) != SignalKeySize {
		return nil, fmt.Errorf("%w: key is %d bytes, want %d", ErrInvalidKey, len(key), SignalKeySize)
	}
	if len(iv) != aes.BlockSize {
		return nil, fmt.Errorf("%w: IV is %d bytes, want %d", ErrInvalidKey, len(iv), aes.BlockSize)
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrInvalidSize)
	}
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	blobSize := SignalBlobSize(size)
	chunk := ChunkSize(blobSize)
	// One HMAC serves both the blob's MAC and the incremental MAC: same key,
	// and the MAC's input IV ‖ ciphertext is a prefix of the incremental
	// MAC's IV ‖ ciphertext ‖ MAC.
	blobHash := sha256.New()
	inc := newIncrementalMAC(key[32:], chunk)
	blob := io.MultiWriter(dst, blobHash, inc)
	if _, err := blob.Write(iv); err != nil {
		return nil, err
	}

	counted := &countingReader{r: io.LimitReader(src, size)}
	plain := io.MultiReader(counted, io.LimitReader(zeros{}, PaddedSize(size)-size))
	if size < pipeMin {
		buf := make([]byte, bufSize)
		_, err = encryptCBC(blob, plain, block, iv, buf, nil)
		clear(buf)
	} else {
		// The calling goroutine encrypts; a second one MACs, hashes and
		// writes the ciphertext.
		p := newPipe(pipeChunk, nil, false, func(b []byte) error {
			_, err := blob.Write(b)
			return err
		})
		defer p.release()
		defer p.stop()
		_, err = encryptCBCPipe(p, plain, block, iv, nil)
		if err == nil || err == errPipeFailed {
			err = p.finish()
		}
	}
	if err != nil {
		return nil, err
	}
	if counted.n != size {
		return nil, fmt.Errorf("%w: source had %d bytes, want %d", ErrInvalidSize, counted.n, size)
	}
	var extra [1]byte
	if n, _ := io.ReadFull(src, extra[:]); n != 0 {
		return nil, fmt.Errorf("%w: source longer than %d bytes", ErrInvalidSize, size)
	}
	if _, err := blob.Write(inc.sum()); err != nil {
		return nil, err
	}
	return &SignalInfo{
		Key:            append([]byte(nil), key...),
		Digest:         blobHash.Sum(nil),
		Size:           size,
		BlobSize:       blobSize,
		IncrementalMAC: inc.finish(),
		ChunkSize:      chunk,
	}, nil
}

// SignalCheck holds what an AttachmentPointer states about its blob; each
// field that is set is checked by DecryptSignal before any output.
type SignalCheck struct {
	Digest         []byte // SHA-256 of the blob
	IncrementalMAC []byte
	ChunkSize      int // 0: ChunkSize(blob size)
}

// DecryptSignal authenticates and decrypts a Signal attachment blob of
// blobSize bytes with its 64-byte key, and writes the first size bytes of
// the padded plaintext to dst (size < 0: all of it, padding included). The
// first pass reads the whole blob and checks its length, digest and
// incremental MAC when given, the MAC, the padding and size, before writing
// anything; the second pass decrypts (from memory if the ciphertext fits the
// buffer, else read again from src). Each 64 KiB chunk of a second read is
// checked to be the one the first pass authenticated before its plaintext
// is written: if src changed, the error is ErrSourceChanged (also
// ErrInvalidMAC) and dst holds the plaintext of the chunks before the first
// changed one, and nothing else (DecryptToFile discards it). The zero bytes
// Signal pads with are not checked: they are covered by the MAC and dropped.
func DecryptSignal(dst io.Writer, src io.ReaderAt, blobSize int64, key []byte, size int64, check *SignalCheck) error {
	if len(key) != SignalKeySize {
		return fmt.Errorf("%w: key is %d bytes, want %d", ErrInvalidKey, len(key), SignalKeySize)
	}
	if src == nil || dst == nil {
		return fmt.Errorf("media: nil reader or writer")
	}
	ctLen := blobSize - aes.BlockSize - SignalMACLen
	if ctLen < aes.BlockSize || ctLen%aes.BlockSize != 0 {
		return fmt.Errorf("%w: %d-byte Signal blob", ErrTruncated, blobSize)
	}
	if size > ctLen-1 {
		return fmt.Errorf("%w: size %d exceeds the blob's plaintext", ErrInvalidSize, size)
	}
	if check == nil {
		check = &SignalCheck{}
	}
	block, err := aes.NewCipher(key[:32])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	// As in EncryptSignal, one HMAC computes the MAC and, when one is to be
	// checked, the incremental MAC (chunk 0: no intermediate values).
	incChunk := 0
	if check.IncrementalMAC != nil {
		incChunk = check.ChunkSize
		if incChunk == 0 {
			incChunk = ChunkSize(blobSize)
		}
		if incChunk <= 0 || int64(len(check.IncrementalMAC)) != sha256.Size*(blobSize/int64(incChunk)+1) {
			return fmt.Errorf("%w: %d bytes for a %d-byte blob in %d-byte chunks", ErrInvalidIncrementalMAC, len(check.IncrementalMAC), blobSize, incChunk)
		}
	}

	var iv [aes.BlockSize]byte
	if err := readFullAt(src, iv[:], 0); err != nil {
		return err
	}
	var tag [SignalMACLen]byte
	if err := readFullAt(src, tag[:], aes.BlockSize+ctLen); err != nil {
		return err
	}
	mac := newIncrementalMAC(key[32:], incChunk)
	mac.Write(iv[:])
	var lb lastBlocks
	copy(lb.last[:], iv[:])
	ps := &passes{
		scan: func(chunk []byte) {
			mac.Write(chunk)
			lb.see(chunk)
		},
		check: func() (int64, error) {
			want := mac.sum()
			if check.IncrementalMAC != nil {
				mac.Write(tag[:])
				if !hmac.Equal(mac.finish(), check.IncrementalMAC) {
					return 0, ErrInvalidIncrementalMAC
				}
			}
			if !hmac.Equal(want, tag[:]) {
				return 0, ErrInvalidMAC
			}
			pad, err := lastBlockPadding(block, lb.prev[:], lb.last[:])
			if err != nil {
				return 0, err
			}
			if size > ctLen-int64(pad) {
				return 0, fmt.Errorf("%w: size %d exceeds the padded plaintext (%d bytes)", ErrInvalidSize, size, ctLen-int64(pad))
			}
			if size < 0 {
				return ctLen - int64(pad), nil
			}
			return size, nil
		},
	}
	if check.Digest != nil {
		blobHash := sha256.New()
		blobHash.Write(iv[:])
		ps.side = func(chunk []byte) { blobHash.Write(chunk) }
		ps.gate = func() error {
			blobHash.Write(tag[:])
			if !hmac.Equal(blobHash.Sum(nil), check.Digest) {
				return ErrInvalidDigest
			}
			return nil
		}
	}
	return decryptTwoPass(dst, src, aes.BlockSize, ctLen, block, iv[:], ps)
}

// incrementalMAC is libsignal's Incremental<Hmac<Sha256>>: one running HMAC
// over the blob, never reset; after every full chunk the HMAC of everything so
// far is appended, and finish appends the HMAC of the whole blob (so a blob
// that ends on a chunk boundary repeats its last value). With chunk 0 it is a
// plain HMAC. sum returns the HMAC of what was written so far.
type incrementalMAC struct {
	h       hash.Hash
	chunk   int
	filled  int
	scratch [32]byte
	out     []byte
}

func newIncrementalMAC(key []byte, chunk int) *incrementalMAC {
	return &incrementalMAC{h: hmac.New(sha256.New, key), chunk: chunk}
}

func (m *incrementalMAC) Write(p []byte) (int, error) {
	n := len(p)
	if m.chunk <= 0 {
		m.h.Write(p)
		return n, nil
	}
	for len(p) > 0 {
		k := min(len(p), m.chunk-m.filled)
		m.h.Write(p[:k])
		m.filled += k
		p = p[k:]
		if m.filled == m.chunk {
			m.out = append(m.out, m.h.Sum(m.scratch[:0])...)
			m.filled = 0
		}
	}
	return n, nil
}

func (m *incrementalMAC) finish() []byte { return m.h.Sum(m.out) }

func (m *incrementalMAC) sum() []byte { return m.h.Sum(nil) }

// zeros is an endless source of zero bytes (Signal's padding).
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
