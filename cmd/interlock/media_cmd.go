package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/interlock-e2ee/interlock/media"
)

const mediaUsage = `usage:
  interlock media encrypt --format whatsapp|signal [--type KIND] IN OUT
  interlock media decrypt --format whatsapp|signal [--type KIND] --key B64
        [--enc-sha256 B64 | --digest B64] [--sha256 B64] [--sidecar B64]
        [--incremental-mac B64 [--chunk-size N]] [--size N] IN OUT

KIND (whatsapp): image, video, audio, document, history, app-state, sticker-pack,
link-thumbnail, image-thumbnail, video-thumbnail, document-thumbnail,
payment-background (or sticker, gif, ptt, ptv, …). encrypt prints one JSON line
with the metadata (binary values in base64). decrypt authenticates the whole
input before writing; on any failure it exits non-zero and leaves no OUT.
`

// progressThreshold: inputs larger than this show progress on a terminal.
const progressThreshold = 8 << 20

func runMedia(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mediaUsage)
		return 2
	}
	var err error
	switch args[0] {
	case "encrypt":
		err = mediaEncrypt(args[1:], stdout, stderr)
	case "decrypt":
		err = mediaDecrypt(args[1:], stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, mediaUsage)
		return 0
	default:
		err = usageError{fmt.Sprintf("unknown media command %q", args[0])}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "interlock media: %v\n%s", err, mediaUsage)
		return 2
	}
	fmt.Fprintln(stderr, "interlock media:", err)
	return 1
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

type mediaFlags struct {
	fs                                                      *flag.FlagSet
	format, kind, key, encSHA, digest, sha, sidecar, incMAC string
	size                                                    int64
	chunk                                                   int
}

func parseMediaFlags(name string, args []string, stderr io.Writer) (*mediaFlags, []string, error) {
	f := &mediaFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.fs.SetOutput(io.Discard)
	f.fs.StringVar(&f.format, "format", "", "whatsapp or signal")
	f.fs.StringVar(&f.kind, "type", "document", "WhatsApp media kind")
	f.fs.StringVar(&f.key, "key", "", "media key (WhatsApp, 32 bytes) or attachment key (Signal, 64 bytes), base64")
	f.fs.StringVar(&f.encSHA, "enc-sha256", "", "WhatsApp fileEncSHA256, base64")
	f.fs.StringVar(&f.digest, "digest", "", "Signal digest, base64")
	f.fs.StringVar(&f.sha, "sha256", "", "WhatsApp fileSHA256, base64")
	f.fs.StringVar(&f.sidecar, "sidecar", "", "WhatsApp streaming sidecar, base64")
	f.fs.StringVar(&f.incMAC, "incremental-mac", "", "Signal incremental MAC, base64")
	f.fs.IntVar(&f.chunk, "chunk-size", 0, "Signal incremental MAC chunk size")
	f.fs.Int64Var(&f.size, "size", -1, "Signal plaintext size")
	if err := f.fs.Parse(args); err != nil {
		return nil, nil, usageError{err.Error()}
	}
	if f.format != "whatsapp" && f.format != "signal" {
		return nil, nil, usageError{"--format must be whatsapp or signal"}
	}
	if f.fs.NArg() != 2 {
		return nil, nil, usageError{"want IN and OUT"}
	}
	return f, f.fs.Args(), nil
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

// atomicOutput writes to a temporary file beside path and renames it into
// place only on commit; abort removes it.
type atomicOutput struct {
	f    *os.File
	path string
}

// openMediaFiles opens IN for reading and a temporary file beside OUT (files
// = IN, OUT), and returns IN's size.
func openMediaFiles(files []string) (*os.File, int64, *atomicOutput, error) {
	in, err := os.Open(files[0])
	if err != nil {
		return nil, 0, nil, err
	}
	st, err := in.Stat()
	if err != nil {
		in.Close()
		return nil, 0, nil, err
	}
	out, err := createAtomic(files[1])
	if err != nil {
		in.Close()
		return nil, 0, nil, err
	}
	return in, st.Size(), out, nil
}

func createAtomic(path string) (*atomicOutput, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &atomicOutput{f: f, path: path}, nil
}

func (o *atomicOutput) commit() error {
	if err := o.f.Sync(); err != nil {
		o.abort()
		return err
	}
	if err := o.f.Close(); err != nil {
		os.Remove(o.f.Name())
		return err
	}
	if err := os.Rename(o.f.Name(), o.path); err != nil {
		os.Remove(o.f.Name())
		return err
	}
	return nil
}

func (o *atomicOutput) abort() {
	o.f.Close()
	os.Remove(o.f.Name())
}

// progress reports bytes written as a percentage of total on a terminal.
type progress struct {
	w           io.Writer
	out         io.Writer
	total, done int64
	shown       int64
	label       string
}

func withProgress(w io.Writer, stderr io.Writer, total int64, label string) (io.Writer, func()) {
	f, ok := stderr.(*os.File)
	if !ok || total <= progressThreshold {
		return w, func() {}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return w, func() {}
	}
	p := &progress{w: w, out: stderr, total: total, shown: -1, label: label}
	return p, func() { fmt.Fprintf(stderr, "\r%s: done      \n", label) }
}

func (p *progress) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if pct := p.done * 100 / p.total; pct != p.shown {
		p.shown = pct
		fmt.Fprintf(p.out, "\r%s: %3d%%", p.label, pct)
	}
	return n, err
}

func mediaEncrypt(args []string, stdout, stderr io.Writer) error {
	f, files, err := parseMediaFlags("media encrypt", args, stderr)
	if err != nil {
		return err
	}
	in, size, out, err := openMediaFiles(files)
	if err != nil {
		return err
	}
	defer in.Close()
	dst, done := withProgress(out.f, stderr, size, "encrypting")
	var line any
	switch f.format {
	case "whatsapp":
		kind, err := media.ParseKind(f.kind)
		if err != nil {
			out.abort()
			return usageError{err.Error()}
		}
		info, err := media.EncryptWhatsApp(dst, in, kind, rand.Reader)
		if err != nil {
			out.abort()
			return err
		}
		l := map[string]any{"media_key": b64(info.MediaKey), "file_sha256": b64(info.FileSHA256),
			"file_enc_sha256": b64(info.FileEncSHA256), "file_length": info.FileLength}
		if info.StreamingSidecar != nil {
			l["streaming_sidecar"] = b64(info.StreamingSidecar)
		}
		line = l
	case "signal":
		info, err := media.EncryptSignal(dst, in, size, rand.Reader)
		if err != nil {
			out.abort()
			return err
		}
		line = map[string]any{"key": b64(info.Key), "digest": b64(info.Digest), "size": info.Size,
			"incremental_mac": b64(info.IncrementalMAC), "chunk_size": info.ChunkSize}
	}
	done()
	if err := out.commit(); err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(line)
}

func mediaDecrypt(args []string, stderr io.Writer) error {
	f, files, err := parseMediaFlags("media decrypt", args, stderr)
	if err != nil {
		return err
	}
	key, err := unb64("key", f.key)
	if err != nil {
		return err
	}
	if key == nil {
		return usageError{"--key is required"}
	}
	in, err := os.Open(files[0])
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	// OUT appears, whole, only if every check passed (the source may also
	// change between decryption's two reads: media.ErrSourceChanged).
	return media.DecryptToFile(files[1], func(out io.Writer) error {
		dst, done := withProgress(out, stderr, size, "decrypting")
		var err error
		switch f.format {
		case "whatsapp":
			err = decryptWhatsApp(f, dst, in, size, key)
		case "signal":
			err = decryptSignal(f, dst, in, size, key)
		}
		if err == nil {
			done()
		}
		return err
	})
}

func decryptWhatsApp(f *mediaFlags, dst io.Writer, in io.ReaderAt, size int64, key []byte) error {
	if f.digest != "" || f.incMAC != "" {
		return usageError{"--digest and --incremental-mac are for --format signal"}
	}
	kind, err := media.ParseKind(f.kind)
	if err != nil {
		return usageError{err.Error()}
	}
	var c media.WhatsAppCheck
	if c.FileEncSHA256, err = unb64("enc-sha256", f.encSHA); err != nil {
		return err
	}
	if c.FileSHA256, err = unb64("sha256", f.sha); err != nil {
		return err
	}
	if c.StreamingSidecar, err = unb64("sidecar", f.sidecar); err != nil {
		return err
	}
	return media.DecryptWhatsApp(dst, in, size, kind, key, &c)
}

func decryptSignal(f *mediaFlags, dst io.Writer, in io.ReaderAt, size int64, key []byte) error {
	if f.encSHA != "" || f.sha != "" || f.sidecar != "" {
		return usageError{"--enc-sha256, --sha256 and --sidecar are for --format whatsapp"}
	}
	c := media.SignalCheck{ChunkSize: f.chunk}
	var err error
	if c.Digest, err = unb64("digest", f.digest); err != nil {
		return err
	}
	if c.IncrementalMAC, err = unb64("incremental-mac", f.incMAC); err != nil {
		return err
	}
	return media.DecryptSignal(dst, in, size, key, f.size, &c)
}
