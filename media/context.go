package media

import (
	"context"
	"crypto/aes"
	crand "crypto/rand"
	"io"
	"sync"
)

// Options configure the …Context variants of the media functions (issue #16
// item 8). The zero value, like a nil *Options, sets nothing.
type Options struct {
	// Progress, when not nil, is called after every read from the source
	// with the bytes read so far and the total the call will read: the
	// plaintext size for encryption (-1 for EncryptWhatsAppContext, which
	// does not know the length of its stream, unless Size is set), and for
	// decryption the blob's size once more when it is read twice
	// (authentication, then decryption, for blobs over 1 MiB). Calls come
	// one at a time, from the calling goroutine; Progress must return
	// promptly and must not call back into the media function.
	Progress func(done, total int64)
	// Size is the length of EncryptWhatsAppContext's src when the caller
	// knows it (for Progress's total); 0 means unknown.
	Size int64
}

// EncryptWhatsAppContext is EncryptWhatsApp under ctx, with opts. When ctx
// is done the call stops at the next 64 KiB chunk and returns ctx.Err()
// (errors.Is matches context.Canceled or context.DeadlineExceeded); the
// second goroutine has exited by then, and dst holds a prefix of the blob,
// to be discarded. A nil rand means crypto/rand.Reader.
func EncryptWhatsAppContext(ctx context.Context, rand io.Reader, dst io.Writer, src io.Reader, kind Kind, opts *Options) (*WhatsAppInfo, error) {
	if rand == nil {
		rand = crand.Reader
	}
	total := int64(-1)
	if opts != nil && opts.Size > 0 {
		total = opts.Size
	}
	c := newCtxIO(ctx, opts, total)
	return EncryptWhatsApp(rand, c.writer(dst), c.reader(src), kind)
}

// EncryptSignalContext is EncryptSignal under ctx, with opts; on
// cancellation as EncryptWhatsAppContext. A nil rand means crypto/rand.Reader.
func EncryptSignalContext(ctx context.Context, rand io.Reader, dst io.Writer, src io.Reader, size int64, opts *Options) (*SignalInfo, error) {
	if rand == nil {
		rand = crand.Reader
	}
	c := newCtxIO(ctx, opts, size)
	return EncryptSignal(rand, c.writer(dst), c.reader(src), size)
}

// DecryptWhatsAppContext is DecryptWhatsApp under ctx, with opts. When ctx
// is done the call stops at the next 64 KiB chunk and returns ctx.Err(),
// its second goroutine exited. Cancelled while authenticating (the first
// pass), it has written nothing; cancelled while decrypting, dst holds a
// prefix of the authenticated plaintext and nothing else — never bytes the
// MAC has not covered — and, like any error, it is to be discarded
// (DecryptToFile does).
func DecryptWhatsAppContext(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, kind Kind, mediaKey []byte, check *WhatsAppCheck, opts *Options) error {
	c := newCtxIO(ctx, opts, decryptReads(size-WhatsAppMACLen, WhatsAppMACLen))
	return DecryptWhatsApp(c.writer(dst), c.readerAt(src), size, kind, mediaKey, check)
}

// DecryptSignalContext is DecryptSignal under ctx, with opts; on
// cancellation as DecryptWhatsAppContext.
func DecryptSignalContext(ctx context.Context, dst io.Writer, src io.ReaderAt, blobSize int64, key []byte, size int64, check *SignalCheck, opts *Options) error {
	c := newCtxIO(ctx, opts, decryptReads(blobSize-aes.BlockSize-SignalMACLen, aes.BlockSize+SignalMACLen))
	return DecryptSignal(c.writer(dst), c.readerAt(src), blobSize, key, size, check)
}

// decryptReads is how many bytes decryption reads from a blob of ctLen
// bytes of ciphertext and fixed other bytes (IV, MAC): the ciphertext twice
// when it does not fit one buffer (decryptTwoPass).
func decryptReads(ctLen int64, fixed int64) int64 {
	if ctLen <= 0 {
		return -1 // refused before reading
	}
	if ctLen > singleReadMax {
		return fixed + 2*ctLen
	}
	return fixed + ctLen
}

// ctxIO checks ctx before every read and write of a call and reports the
// bytes read to Progress.
type ctxIO struct {
	ctx      context.Context
	progress func(done, total int64)
	total    int64
	mu       sync.Mutex // serialises Progress (reads come from one goroutine; be safe)
	done     int64
}

func newCtxIO(ctx context.Context, opts *Options, total int64) *ctxIO {
	c := &ctxIO{ctx: ctx, total: total}
	if opts != nil {
		c.progress = opts.Progress
	}
	return c
}

func (c *ctxIO) read(n int) {
	if c.progress == nil || n <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done += int64(n)
	c.progress(c.done, c.total)
}

type ctxReader struct {
	c *ctxIO
	r io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.Read(p)
	r.c.read(n)
	return n, err
}

type ctxReaderAt struct {
	c *ctxIO
	r io.ReaderAt
}

func (r ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := r.c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := r.r.ReadAt(p, off)
	r.c.read(n)
	return n, err
}

// ctxWriter stops writing once ctx is done: the pipeline's second goroutine
// writes, so a slow destination does not hold a cancelled call.
type ctxWriter struct {
	c *ctxIO
	w io.Writer
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.c.ctx.Err(); err != nil {
		return 0, err
	}
	return w.w.Write(p)
}

func (c *ctxIO) reader(r io.Reader) io.Reader {
	if r == nil {
		return nil
	}
	return ctxReader{c, r}
}

func (c *ctxIO) readerAt(r io.ReaderAt) io.ReaderAt {
	if r == nil {
		return nil
	}
	return ctxReaderAt{c, r}
}

func (c *ctxIO) writer(w io.Writer) io.Writer {
	if w == nil {
		return nil
	}
	return ctxWriter{c, w}
}
