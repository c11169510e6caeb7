package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/interlock-e2ee/interlock/media"
)

const mediaUsage = `usage:
  interlock media encrypt --format whatsapp --type KIND [--progress|--quiet] IN OUT
  interlock media encrypt --format signal [--progress|--quiet] IN OUT
  interlock media decrypt --format whatsapp --type KIND --key B64
        [--enc-sha256 B64] [--sha256 B64] [--sidecar B64] [--progress|--quiet] IN OUT
  interlock media decrypt --format signal --key B64 [--digest B64] [--size N]
        [--incremental-mac B64 [--chunk-size N]] [--progress|--quiet] IN OUT

"interlock media encrypt --help" and "interlock media decrypt --help" list
the flags.
` + mediaKindsHelp

const mediaKindsHelp = `
KIND (WhatsApp only, required: it selects the keys, so a wrong one fails as
an invalid MAC): image, video, audio, document, history, app-state,
sticker-pack, link-thumbnail, image-thumbnail, video-thumbnail,
document-thumbnail, payment-background, or one of WhatsApp's upload names
(sticker = image, gif and ptv = video, ptt = audio, …).

Progress is shown on standard error for files over 4 MiB when standard error
is a terminal; --progress shows it always, --quiet never. Standard output
holds only the result.
`

const encryptUsage = `usage: interlock media encrypt --format whatsapp|signal [--type KIND] [--progress|--quiet] IN OUT

Encrypts IN into the blob OUT with a fresh random key and prints one JSON line
with what the message must carry (binary values in base64):
  whatsapp: format, type, media_key, file_sha256, file_enc_sha256,
            file_length, streaming_sidecar (video and audio)
  signal:   format, key, digest, size, incremental_mac, chunk_size
OUT appears only once it is complete.
` + mediaKindsHelp

const decryptUsage = `usage: interlock media decrypt --format whatsapp|signal [--type KIND] --key B64 [checks] [--progress|--quiet] IN OUT

Authenticates the whole blob IN before writing any plaintext, then decrypts
it to OUT. On any failure it exits with status 1, leaves no OUT and says
which checks failed and the likely cause (wrong --type, wrong --key, a
truncated or damaged file). Checks: --enc-sha256, --sha256 and --sidecar
(whatsapp); --digest and --incremental-mac (signal). --size (signal) drops
the zero padding; without it OUT keeps it.
` + mediaKindsHelp

// progressThreshold: inputs larger than this show progress on a terminal.
const progressThreshold = 4 << 20

func runMedia(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("media", mediaUsage)
	if len(args) == 0 {
		return usageFail(fs, stderr, "missing subcommand: encrypt or decrypt")
	}
	switch args[0] {
	case "encrypt":
		return mediaEncrypt(args[1:], stdout, stderr)
	case "decrypt":
		return mediaDecrypt(args[1:], stdout, stderr)
	case "help":
		args = []string{"--help"}
	}
	if status, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return status
	}
	return usageFail(fs, stderr, "unknown subcommand %q: want encrypt or decrypt", args[0])
}

type mediaFlags struct {
	fs                                                      *flag.FlagSet
	format, kind, key, encSHA, digest, sha, sidecar, incMAC string
	size                                                    int64
	chunk                                                   int
	progress, quiet                                         bool
	whatsAppKind                                            media.Kind
}

// parseMediaFlags parses the flags of media encrypt (decrypt false) or
// media decrypt. When ok is false the command returns status.
func parseMediaFlags(decrypt bool, args []string, stdout, stderr io.Writer) (f *mediaFlags, status int, ok bool) {
	f = &mediaFlags{}
	if decrypt {
		f.fs = newFlagSet("media decrypt", decryptUsage)
	} else {
		f.fs = newFlagSet("media encrypt", encryptUsage)
	}
	fs := f.fs
	fs.StringVar(&f.format, "format", "", "blob format: whatsapp or signal (required)")
	fs.StringVar(&f.kind, "type", "", "WhatsApp media `KIND` (required with --format whatsapp)")
	fs.BoolVar(&f.progress, "progress", false, "show progress on standard error even when it is not a terminal, whatever the size")
	fs.BoolVar(&f.quiet, "quiet", false, "never show progress")
	if decrypt {
		fs.StringVar(&f.key, "key", "", "media key (whatsapp, 32 bytes) or attachment key (signal, 64 bytes), base64 (required)")
		fs.StringVar(&f.encSHA, "enc-sha256", "", "whatsapp: fileEncSHA256, base64")
		fs.StringVar(&f.sha, "sha256", "", "whatsapp: fileSHA256, base64")
		fs.StringVar(&f.sidecar, "sidecar", "", "whatsapp: streaming sidecar, base64")
		fs.StringVar(&f.digest, "digest", "", "signal: digest, base64")
		fs.StringVar(&f.incMAC, "incremental-mac", "", "signal: incremental MAC, base64")
		fs.IntVar(&f.chunk, "chunk-size", 0, "signal: incremental MAC chunk size (0: libsignal's choice for the blob's size)")
		fs.Int64Var(&f.size, "size", -1, "signal: plaintext size; -1 keeps the zero padding")
	}
	if status, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return nil, status, false
	}
	if err := f.check(decrypt); err != nil {
		return nil, usageFail(fs, stderr, "%v", err), false
	}
	return f, exitOK, true
}

func (f *mediaFlags) check(decrypt bool) error {
	var err error
	switch f.format {
	case "whatsapp":
		if f.kind == "" {
			return errors.New("--type is required with --format whatsapp (it selects the keys; see KIND below)")
		}
		if f.whatsAppKind, err = media.ParseKind(f.kind); err != nil {
			return fmt.Errorf("--type %q: not a WhatsApp media kind (see KIND below)", f.kind)
		}
		if f.digest != "" || f.incMAC != "" || f.chunk != 0 || f.size != -1 && decrypt {
			return errors.New("--digest, --incremental-mac, --chunk-size and --size are for --format signal")
		}
	case "signal":
		if f.kind != "" {
			return errors.New("--type is for --format whatsapp (a Signal attachment has no media type)")
		}
		if f.encSHA != "" || f.sha != "" || f.sidecar != "" {
			return errors.New("--enc-sha256, --sha256 and --sidecar are for --format whatsapp")
		}
	case "":
		return errors.New("--format is required: whatsapp or signal")
	default:
		return fmt.Errorf("--format %q: want whatsapp or signal", f.format)
	}
	if f.progress && f.quiet {
		return errors.New("--progress and --quiet exclude each other")
	}
	if decrypt && f.key == "" {
		return errors.New("--key is required")
	}
	switch f.fs.NArg() {
	case 0:
		return errors.New("missing IN and OUT")
	case 1:
		return errors.New("missing OUT")
	case 2:
	default:
		return fmt.Errorf("unexpected argument %q after IN and OUT", f.fs.Arg(2))
	}
	return nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(name, s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, usageError{fmt.Sprintf("--%s is not base64", name)}
}

// progress draws a bar on stderr: label, bar, percentage and bytes, redrawn
// in place ("\r") when the percentage changes. It is safe for concurrent
// use; nothing is written to stdout.
type progress struct {
	mu          sync.Mutex
	out         io.Writer
	label       string
	total, done int64
	shown       int64
	start       time.Time
}

// newProgress returns a progress for total bytes, or nil when none is to be
// shown: --quiet, or neither --progress nor a terminal stderr with more than
// progressThreshold bytes.
func newProgress(f *mediaFlags, stderr io.Writer, total int64, label string) *progress {
	if f.quiet || total <= 0 || !f.progress && (total <= progressThreshold || !isTerminal(stderr)) {
		return nil
	}
	return &progress{out: stderr, label: label, total: total, shown: -1, start: time.Now()}
}

// report is a media.Options.Progress: done of total bytes read so far, as
// the media package counts them (decryption reads a large blob twice).
func (p *progress) report(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if total > 0 {
		p.total = total
	}
	p.done = min(done, p.total)
	if pct := p.done * 100 / p.total; pct != p.shown {
		p.shown = pct
		const width = 30
		bar := strings.Repeat("=", int(pct*width/100)) + strings.Repeat(" ", width-int(pct*width/100))
		fmt.Fprintf(p.out, "\r%s [%s] %3d%% %s/%s", p.label, bar, pct, mib(p.done), mib(p.total))
	}
}

// options returns the media options that drive the bar (none for a nil
// progress); size is the input's length.
func (p *progress) options(size int64) *media.Options {
	if p == nil {
		return &media.Options{Size: size}
	}
	return &media.Options{Size: size, Progress: p.report}
}

// end finishes the bar's line.
func (p *progress) end(ok bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ok {
		fmt.Fprintf(p.out, "\r%s: done, %s in %s\x1b[K\n", p.label, mib(p.total), time.Since(p.start).Round(time.Millisecond))
	} else {
		fmt.Fprintf(p.out, "\r%s: failed\x1b[K\n", p.label)
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func mediaEncrypt(args []string, stdout, stderr io.Writer) int {
	f, status, ok := parseMediaFlags(false, args, stdout, stderr)
	if !ok {
		return status
	}
	line, err := f.encrypt(stderr)
	if err != nil {
		return finish(f.fs, stderr, err)
	}
	if err := json.NewEncoder(stdout).Encode(line); err != nil {
		return fail(f.fs, stderr, err)
	}
	return exitOK
}

// encrypt encrypts IN into OUT (written to a temporary file beside it and
// renamed into place when complete) and returns the JSON line to print.
func (f *mediaFlags) encrypt(stderr io.Writer) (line map[string]any, err error) {
	in, err := os.Open(f.fs.Arg(0))
	if err != nil {
		return nil, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	p := newProgress(f, stderr, size, "encrypting")
	defer func() { p.end(err == nil) }()
	// DecryptToFile's contract (temporary file, sync, rename only on
	// success) is what encryption's output needs too.
	err = media.DecryptToFile(f.fs.Arg(1), func(out io.Writer) error {
		switch f.format {
		case "whatsapp":
			info, err := media.EncryptWhatsAppContext(context.Background(), rand.Reader, out, in, f.whatsAppKind, p.options(size))
			if err != nil {
				return err
			}
			line = map[string]any{"format": "whatsapp", "type": f.whatsAppKind.String(),
				"media_key": b64(info.MediaKey), "file_sha256": b64(info.FileSHA256),
				"file_enc_sha256": b64(info.FileEncSHA256), "file_length": info.FileLength}
			if info.StreamingSidecar != nil {
				line["streaming_sidecar"] = b64(info.StreamingSidecar)
			}
		case "signal":
			info, err := media.EncryptSignalContext(context.Background(), rand.Reader, out, in, size, p.options(size))
			if err != nil {
				return err
			}
			line = map[string]any{"format": "signal", "key": b64(info.Key), "digest": b64(info.Digest), "size": info.Size,
				"incremental_mac": b64(info.IncrementalMAC), "chunk_size": info.ChunkSize}
		}
		return nil
	})
	return line, err
}

func mediaDecrypt(args []string, stdout, stderr io.Writer) int {
	f, status, ok := parseMediaFlags(true, args, stdout, stderr)
	if !ok {
		return status
	}
	err := f.decrypt(stderr)
	if err == nil {
		return exitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		return usageFail(f.fs, stderr, "%s", ue.msg)
	}
	fail(f.fs, stderr, err)
	if d := f.diagnose(err); d != "" {
		fmt.Fprint(stderr, d)
	}
	return exitFail
}

func (f *mediaFlags) decrypt(stderr io.Writer) (err error) {
	key, err := unb64("key", f.key)
	if err != nil {
		return err
	}
	var wc media.WhatsAppCheck
	var sc media.SignalCheck
	if f.format == "whatsapp" {
		if wc.FileEncSHA256, err = unb64("enc-sha256", f.encSHA); err != nil {
			return err
		}
		if wc.FileSHA256, err = unb64("sha256", f.sha); err != nil {
			return err
		}
		if wc.StreamingSidecar, err = unb64("sidecar", f.sidecar); err != nil {
			return err
		}
	} else {
		sc.ChunkSize = f.chunk
		if sc.Digest, err = unb64("digest", f.digest); err != nil {
			return err
		}
		if sc.IncrementalMAC, err = unb64("incremental-mac", f.incMAC); err != nil {
			return err
		}
	}
	in, err := os.Open(f.fs.Arg(0))
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	// Decryption reads a large blob twice (authenticate, then decrypt):
	// the media package's progress counts both reads.
	p := newProgress(f, stderr, size, "decrypting")
	defer func() { p.end(err == nil) }()
	// OUT appears, whole, only if every check passed (the source may also
	// change between decryption's two reads: media.ErrSourceChanged).
	return media.DecryptToFile(f.fs.Arg(1), func(out io.Writer) error {
		ctx := context.Background()
		if f.format == "whatsapp" {
			return media.DecryptWhatsAppContext(ctx, out, in, size, f.whatsAppKind, key, &wc, p.options(size))
		}
		return media.DecryptSignalContext(ctx, out, in, size, key, f.size, &sc, p.options(size))
	})
}

// diagnose explains a failed decryption: it recomputes, in one more read of
// IN, the checks that tell the likely causes apart (the blob's SHA-256
// against --enc-sha256 or --digest, its MAC under --key, and for WhatsApp
// under every other media type) and returns a report to print after the
// error, or "" when there is nothing to add. Issue #17 item 4.
func (f *mediaFlags) diagnose(decErr error) string {
	switch {
	case errors.Is(decErr, media.ErrSourceChanged):
		return "likely cause: IN changed while it was read (a download still in progress?); retry once it is complete\n"
	case errors.Is(decErr, media.ErrInvalidKey):
		if f.format == "whatsapp" {
			return "likely cause: --key must be the message's 32-byte mediaKey, base64\n"
		}
		return "likely cause: --key must be the AttachmentPointer's 64-byte key, base64\n"
	case !errors.Is(decErr, media.ErrInvalidMAC) && !errors.Is(decErr, media.ErrInvalidDigest) &&
		!errors.Is(decErr, media.ErrInvalidSidecar) && !errors.Is(decErr, media.ErrInvalidIncrementalMAC) &&
		!errors.Is(decErr, media.ErrInvalidPlaintextHash) && !errors.Is(decErr, media.ErrTruncated) &&
		!errors.Is(decErr, media.ErrInvalidPadding) && !errors.Is(decErr, media.ErrInvalidSize):
		return ""
	}
	key, _ := unb64("key", f.key)
	in, err := os.Open(f.fs.Arg(0))
	if err != nil {
		return ""
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return ""
	}
	d := &diagnosis{size: st.Size()}
	if f.format == "whatsapp" {
		d.whatsApp(in, f, key, decErr)
	} else {
		d.signal(in, f, key, decErr)
	}
	return d.String()
}

// diagnosis is the list of checks and the likely cause.
type diagnosis struct {
	size   int64
	checks [][2]string
	cause  string
}

func (d *diagnosis) add(name, result string) { d.checks = append(d.checks, [2]string{name, result}) }

func (d *diagnosis) String() string {
	var b strings.Builder
	b.WriteString("checks:\n")
	for _, c := range d.checks {
		fmt.Fprintf(&b, "  %-28s %s\n", c[0], c[1])
	}
	fmt.Fprintf(&b, "likely cause: %s\n", d.cause)
	return b.String()
}

func (d *diagnosis) whatsApp(in io.ReaderAt, f *mediaFlags, key []byte, decErr error) {
	ctLen := d.size - media.WhatsAppMACLen
	if d.size < 16+media.WhatsAppMACLen || ctLen%16 != 0 {
		d.add("blob length", fmt.Sprintf("FAILED: %d bytes is not 16-byte blocks and a 10-byte MAC", d.size))
		d.cause = "IN is truncated (an incomplete download?) or not a WhatsApp media blob"
		return
	}
	d.add("blob length", fmt.Sprintf("ok (%d bytes)", d.size))
	kinds := media.Kinds()
	var macKeys [][]byte
	var ivs [][]byte
	for _, k := range kinds {
		keys, err := media.DeriveWhatsAppKeys(key, k)
		if err != nil {
			return
		}
		macKeys = append(macKeys, keys.MACKey[:])
		ivs = append(ivs, keys.IV[:])
	}
	// WhatsApp's MAC is HMAC-SHA256(MAC key, IV ‖ ciphertext)[:10]; the IV
	// comes from the key, so each kind's HMAC starts with its own IV.
	tag := make([]byte, media.WhatsAppMACLen)
	if _, err := in.ReadAt(tag, ctLen); err != nil {
		return
	}
	hs, digest, err := macsWithPrefix(in, d.size, 0, ctLen, macKeys, ivs)
	if err != nil {
		return
	}
	d.checkDigest("fileEncSHA256 (--enc-sha256)", f.encSHA, digest)
	mine, other := false, ""
	for i, k := range kinds {
		if hmac.Equal(hs[i][:media.WhatsAppMACLen], tag) {
			if k == f.whatsAppKind {
				mine = true
			} else if other == "" {
				other = k.String()
			}
		}
	}
	if mine {
		d.add(fmt.Sprintf("MAC (--type %s)", f.whatsAppKind), "ok")
	} else {
		d.add(fmt.Sprintf("MAC (--type %s)", f.whatsAppKind), "FAILED")
		if other != "" {
			d.add("MAC (other types)", "verifies with --type "+other)
		} else {
			d.add("MAC (other types)", "FAILED for every type")
		}
	}
	switch {
	case mine && errors.Is(decErr, media.ErrInvalidDigest):
		d.cause = "--enc-sha256 is not this blob's: the blob's MAC verifies under --key"
	case mine && errors.Is(decErr, media.ErrInvalidSidecar):
		d.add("streaming sidecar", "FAILED")
		d.cause = "--sidecar is not this blob's: the blob's MAC verifies under --key"
	case mine && errors.Is(decErr, media.ErrInvalidPlaintextHash):
		d.add("fileSHA256 (--sha256)", "FAILED")
		d.cause = "the blob is authentic under --key, but its plaintext is not the file --sha256 describes (wrong --sha256?)"
	case mine:
		d.cause = "the blob's MAC verifies but it does not decrypt to valid padding: a sender bug, or a blob encrypted by another tool"
	case other != "":
		d.cause = "wrong --type: the blob's MAC verifies with --type " + other
	default:
		d.cause = d.keyOrFile("--enc-sha256", f.encSHA, digest)
	}
}

// macsWithPrefix is macs with a per-key prefix written first (WhatsApp's IV).
func macsWithPrefix(r io.ReaderAt, size, from, to int64, keys, prefixes [][]byte) ([][]byte, []byte, error) {
	hs := make([]hashWriter, len(keys))
	for i, k := range keys {
		h := hmac.New(sha256.New, k)
		h.Write(prefixes[i])
		hs[i] = h
	}
	return streamSums(r, size, from, to, hs)
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

// streamSums feeds [from, to) of r to each h and all of r to a SHA-256, in
// one bounded-memory read.
func streamSums(r io.ReaderAt, size, from, to int64, hs []hashWriter) ([][]byte, []byte, error) {
	whole := sha256.New()
	buf := make([]byte, 128<<10)
	for off := int64(0); off < size; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n == 0 {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, nil, err
		}
		chunk := buf[:n]
		whole.Write(chunk)
		if lo, hi := max(from-off, 0), min(to-off, int64(n)); lo < hi {
			for _, h := range hs {
				h.Write(chunk[lo:hi])
			}
		}
		off += int64(n)
	}
	sums := make([][]byte, len(hs))
	for i, h := range hs {
		sums[i] = h.Sum(nil)
	}
	return sums, whole.Sum(nil), nil
}

// checkDigest records the blob's SHA-256 against the expected value given
// in flag (base64, "" when not given).
func (d *diagnosis) checkDigest(name, given string, digest []byte) {
	want, err := unb64("", given)
	switch {
	case given == "":
		d.add(name, "not given")
	case err == nil && hmac.Equal(want, digest):
		d.add(name, "ok: IN is the blob the message describes")
	default:
		d.add(name, "FAILED: IN is not the blob the message describes")
	}
}

// keyOrFile is the likely cause when the MAC fails under --key: the digest
// tells a wrong key (intact blob) from a damaged file.
func (d *diagnosis) keyOrFile(flagName, given string, digest []byte) string {
	want, err := unb64("", given)
	switch {
	case given == "":
		return "wrong --key, or a truncated or damaged IN (pass " + flagName + " to tell them apart)"
	case err == nil && hmac.Equal(want, digest):
		return "wrong --key: IN is intact (its SHA-256 matches " + flagName + ") but the MAC fails under this key"
	}
	return "IN is truncated, damaged or another file (its SHA-256 differs from " + flagName + "): download it again"
}

func (d *diagnosis) signal(in io.ReaderAt, f *mediaFlags, key []byte, decErr error) {
	ctLen := d.size - 16 - media.SignalMACLen
	if ctLen < 16 || ctLen%16 != 0 {
		d.add("blob length", fmt.Sprintf("FAILED: %d bytes is not an IV, 16-byte blocks and a 32-byte MAC", d.size))
		d.cause = "IN is truncated (an incomplete download?) or not a Signal attachment blob"
		return
	}
	d.add("blob length", fmt.Sprintf("ok (%d bytes)", d.size))
	if len(key) != media.SignalKeySize {
		return
	}
	tag := make([]byte, media.SignalMACLen)
	if _, err := in.ReadAt(tag, d.size-media.SignalMACLen); err != nil {
		return
	}
	// Signal's MAC is HMAC-SHA256(key[32:], IV ‖ ciphertext).
	sums, digest, err := streamSums(in, d.size, 0, d.size-media.SignalMACLen, []hashWriter{hmac.New(sha256.New, key[32:])})
	if err != nil {
		return
	}
	d.checkDigest("digest (--digest)", f.digest, digest)
	mine := hmac.Equal(sums[0], tag)
	if mine {
		d.add("MAC (--key)", "ok")
	} else {
		d.add("MAC (--key)", "FAILED")
	}
	switch {
	case mine && errors.Is(decErr, media.ErrInvalidDigest):
		d.cause = "--digest is not this blob's: the blob's MAC verifies under --key"
	case mine && errors.Is(decErr, media.ErrInvalidIncrementalMAC):
		d.add("incremental MAC", "FAILED")
		d.cause = "--incremental-mac or --chunk-size is not this blob's: the blob's MAC verifies under --key"
	case mine && errors.Is(decErr, media.ErrInvalidSize):
		d.cause = "--size is larger than the attachment's plaintext"
	case mine:
		d.cause = "the blob's MAC verifies but it does not decrypt to valid padding: a sender bug, or a blob encrypted by another tool"
	default:
		d.cause = d.keyOrFile("--digest", f.digest, digest)
	}
}
