package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestMediaCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "photo.jpg")
	pt := make([]byte, 70000)
	rand.Read(pt)
	if err := os.WriteFile(in, pt, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"whatsapp", "signal"} {
		t.Run(format, func(t *testing.T) {
			enc := filepath.Join(dir, format+".enc")
			encArgs := []string{"media", "encrypt", "--format", format, in, enc}
			if format == "whatsapp" {
				encArgs = append(encArgs, "--type", "video")
			}
			code, stdout, stderr := runCmd(t, encArgs...)
			if code != 0 {
				t.Fatalf("encrypt: %d %s", code, stderr)
			}
			var meta map[string]any
			if err := json.Unmarshal([]byte(stdout), &meta); err != nil || strings.Count(stdout, "\n") != 1 {
				t.Fatalf("output %q: %v", stdout, err)
			}
			var args []string
			switch format {
			case "whatsapp":
				for _, k := range []string{"media_key", "file_sha256", "file_enc_sha256", "file_length", "streaming_sidecar"} {
					if meta[k] == nil {
						t.Fatalf("missing %s", k)
					}
				}
				args = []string{"--type", "video", "--key", meta["media_key"].(string), "--enc-sha256", meta["file_enc_sha256"].(string),
					"--sha256", meta["file_sha256"].(string), "--sidecar", meta["streaming_sidecar"].(string)}
			case "signal":
				for _, k := range []string{"key", "digest", "size", "incremental_mac", "chunk_size"} {
					if meta[k] == nil {
						t.Fatalf("missing %s", k)
					}
				}
				args = []string{"--key", meta["key"].(string), "--digest", meta["digest"].(string), "--size", "70000",
					"--incremental-mac", meta["incremental_mac"].(string), "--chunk-size", "65536"}
			}
			out := filepath.Join(dir, format+".out")
			dec := append(append([]string{"media", "decrypt", "--format", format}, args...), enc, out)
			if code, _, stderr := runCmd(t, dec...); code != 0 {
				t.Fatalf("decrypt: %d %s", code, stderr)
			}
			if got, _ := os.ReadFile(out); !bytes.Equal(got, pt) {
				t.Fatal("decrypted file differs")
			}
			os.Remove(out)

			// Any authentication failure: non-zero exit, no OUT, no temp file.
			blob, _ := os.ReadFile(enc)
			for _, i := range []int{0, len(blob) / 2, len(blob) - 1} {
				bad := bytes.Clone(blob)
				bad[i] ^= 1
				os.WriteFile(enc, bad, 0o600)
				if code, _, stderr := runCmd(t, dec...); code != 1 || !strings.Contains(stderr, "media:") {
					t.Fatalf("tampered byte %d: exit %d %q", i, code, stderr)
				}
				assertNoOutput(t, dir, out)
			}
			os.WriteFile(enc, blob[:len(blob)-1], 0o600)
			if code, _, _ := runCmd(t, dec...); code != 1 {
				t.Fatal("truncated blob accepted")
			}
			assertNoOutput(t, dir, out)
		})
	}
	if code, _, _ := runCmd(t, "media", "decrypt", "--format", "signal", in, filepath.Join(dir, "x")); code != 2 {
		t.Fatal("missing --key not a usage error")
	}
	if code, _, _ := runCmd(t, "media", "encrypt", "--format", "telegram", in, filepath.Join(dir, "x")); code != 2 {
		t.Fatal("bad format not a usage error")
	}
	if code, _, _ := runCmd(t, "media", "decrypt", "--format", "whatsapp", "--type", "image", "--key", "AAAA", in, filepath.Join(dir, "x")); code != 1 {
		t.Fatal("short key accepted")
	}
	assertNoOutput(t, dir, filepath.Join(dir, "x"))
}

func assertNoOutput(t *testing.T, dir, out string) {
	t.Helper()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("%s exists after a failure", out)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}

// TestIssue17Item4_ProgressChoice: progress only for a terminal and a large
// file, unless --progress or --quiet decides; never for a pipe or a buffer
// by default.
func TestIssue17Item4_ProgressChoice(t *testing.T) {
	var buf bytes.Buffer
	big := int64(progressThreshold + 1)
	for _, c := range []struct {
		progress, quiet bool
		size            int64
		want            bool
	}{
		{false, false, big, false}, // not a terminal
		{true, false, 1, true},
		{true, false, big, true},
		{false, true, big, false},
	} {
		got := newProgress(&mediaFlags{progress: c.progress, quiet: c.quiet}, &buf, c.size, "x") != nil
		if got != c.want {
			t.Errorf("progress %v quiet %v size %d: %v, want %v", c.progress, c.quiet, c.size, got, c.want)
		}
	}
	if isTerminal(&buf) {
		t.Error("a buffer is a terminal")
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Errorf("%s is a terminal", os.DevNull)
	}
}
