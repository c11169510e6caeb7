package media

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// Issue #16 item 8: the media functions take a context and report progress.
// Progress ends at its total and only grows.
func TestIssue16Item8_Progress(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{100, 3<<20 + 5} {
		pt := patterned(n, 2)
		var last, total int64
		calls := 0
		opts := &Options{Size: int64(n), Progress: func(d, tot int64) {
			if d < last {
				t.Errorf("progress went back from %d to %d", last, d)
			}
			last, total = d, tot
			calls++
		}}
		var blob bytes.Buffer
		info, err := EncryptWhatsAppContext(ctx, nil, &blob, bytes.NewReader(pt), Image, opts)
		if err != nil {
			t.Fatal(err)
		}
		if last != int64(n) || total != int64(n) || calls == 0 {
			t.Fatalf("encrypt %d bytes: progress ended at %d/%d", n, last, total)
		}
		last, calls = 0, 0
		var out bytes.Buffer
		err = DecryptWhatsAppContext(ctx, &out, bytes.NewReader(blob.Bytes()), int64(blob.Len()), Image, info.MediaKey, &WhatsAppCheck{FileEncSHA256: info.FileEncSHA256, FileSHA256: info.FileSHA256}, opts)
		if err != nil || !bytes.Equal(out.Bytes(), pt) {
			t.Fatalf("decrypt: %v", err)
		}
		if last != total || total < int64(blob.Len()) {
			t.Fatalf("decrypt %d bytes: progress ended at %d/%d", blob.Len(), last, total)
		}

		last, calls = 0, 0
		var sblob bytes.Buffer
		sinfo, err := EncryptSignalContext(ctx, nil, &sblob, bytes.NewReader(pt), int64(n), opts)
		if err != nil || last != int64(n) || total != int64(n) {
			t.Fatalf("Signal encrypt: %v, progress %d/%d", err, last, total)
		}
		last = 0
		out.Reset()
		err = DecryptSignalContext(ctx, &out, bytes.NewReader(sblob.Bytes()), int64(sblob.Len()), sinfo.Key, int64(n), &SignalCheck{Digest: sinfo.Digest}, opts)
		if err != nil || !bytes.Equal(out.Bytes(), pt) || last != total || total < int64(sblob.Len()) {
			t.Fatalf("Signal decrypt: %v, progress %d/%d", err, last, total)
		}
	}
}

// Issue #16 item 8: cancelling stops the call with ctx's error, leaves no
// goroutine behind, and writes no plaintext the MAC has not covered: none
// when cancelled during authentication, a prefix of the plaintext when
// cancelled during decryption.
func TestIssue16Item8_Cancel(t *testing.T) {
	const n = 4<<20 + 3
	pt := patterned(n, 3)
	wa, waInfo := sealWhatsApp(t, Video, pt)
	sig, sigInfo := sealSignal(t, pt)
	before := runtime.NumGoroutine()

	// cancelAt returns a context and Options that cancel it once at bytes
	// have been read.
	cancelAt := func(at int64) (context.Context, *Options) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		return ctx, &Options{Progress: func(d, _ int64) {
			if d >= at {
				cancel()
			}
		}}
	}
	for _, tc := range []struct {
		name   string
		at     int64
		decr   func(ctx context.Context, dst io.Writer, o *Options) error
		prefix bool // output allowed: a prefix of pt
	}{
		{"wa-decrypt-pass1", n / 2, func(ctx context.Context, dst io.Writer, o *Options) error {
			return DecryptWhatsAppContext(ctx, dst, bytes.NewReader(wa), int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, FileSHA256: waInfo.FileSHA256}, o)
		}, false},
		{"wa-decrypt-pass2", int64(len(wa)) + n/3, func(ctx context.Context, dst io.Writer, o *Options) error {
			return DecryptWhatsAppContext(ctx, dst, bytes.NewReader(wa), int64(len(wa)), Video, waInfo.MediaKey, &WhatsAppCheck{FileEncSHA256: waInfo.FileEncSHA256, FileSHA256: waInfo.FileSHA256}, o)
		}, true},
		{"sig-decrypt-pass1", n / 2, func(ctx context.Context, dst io.Writer, o *Options) error {
			return DecryptSignalContext(ctx, dst, bytes.NewReader(sig), int64(len(sig)), sigInfo.Key, n, nil, o)
		}, false},
		{"sig-decrypt-pass2", int64(len(sig)) + n/3, func(ctx context.Context, dst io.Writer, o *Options) error {
			return DecryptSignalContext(ctx, dst, bytes.NewReader(sig), int64(len(sig)), sigInfo.Key, n, nil, o)
		}, true},
		{"wa-encrypt", n / 2, func(ctx context.Context, dst io.Writer, o *Options) error {
			_, err := EncryptWhatsAppContext(ctx, nil, io.Discard, bytes.NewReader(pt), Video, o)
			return err
		}, false},
		{"sig-encrypt", n / 2, func(ctx context.Context, dst io.Writer, o *Options) error {
			_, err := EncryptSignalContext(ctx, nil, io.Discard, bytes.NewReader(pt), n, o)
			return err
		}, false},
	} {
		ctx, o := cancelAt(tc.at)
		var out bytes.Buffer
		start := time.Now()
		err := tc.decr(ctx, &out, o)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", tc.name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v to stop", tc.name, d)
		}
		if !tc.prefix && out.Len() != 0 {
			t.Errorf("%s: %d bytes written before authentication finished", tc.name, out.Len())
		}
		if tc.prefix && (out.Len() >= n || !bytes.Equal(out.Bytes(), pt[:out.Len()])) {
			t.Errorf("%s: %d bytes written, not a strict prefix of the plaintext", tc.name, out.Len())
		}
		// Already cancelled: nothing at all happens.
		var none bytes.Buffer
		if err := tc.decr(ctx, &none, nil); !errors.Is(err, context.Canceled) || none.Len() != 0 {
			t.Errorf("%s, cancelled before the call: %v, %d bytes", tc.name, err, none.Len())
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after", before, after)
	}
}
