package conformance

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/interlock-e2ee/interlock/conformance/live"
)

// Kinds of reference implementations.
const (
	RefLibsignal = "libsignal" // @signalapp/libsignal-client behind interop/libsignal/peer.js
	RefMau       = "mau"       // go.mau.fi/libsignal behind interop/mau's mau-peer
)

// Reference is a reference implementation the tool verified on disk and
// starts itself: the only source of live interop credit (issue #21 item 3).
// A peer's self-description is never trusted.
type Reference struct {
	Kind    string `json:"kind"`    // RefLibsignal or RefMau
	Package string `json:"package"` // as read from disk
	Version string `json:"version"` // as read from disk
	Path    string `json:"path"`    // the package directory or binary digested
	// Digest is "sha256:" and the SHA-256 of the reference's bytes; DigestOf
	// says how to recompute it.
	Digest   string `json:"digest"`
	DigestOf string `json:"digest_of"`
	// Wrapper and WrapperDigest identify the peer wrapper around a library
	// (peer.js and its sibling files), "" for a self-contained binary.
	Wrapper       string    `json:"wrapper,omitempty"`
	WrapperDigest string    `json:"wrapper_digest,omitempty"`
	Command       string    `json:"command"`
	Spec          live.Spec `json:"-"`
}

// ParseReference reads a --reference value, KIND[@VERSION]=PATH, and
// verifies the installation: libsignal[@0.90|@0.103]=DIR (the
// interop/libsignal directory; default version 0.103) or mau=BINARY (a
// mau-peer binary).
func ParseReference(v string) (*Reference, error) {
	kind, path, ok := strings.Cut(v, "=")
	if !ok || path == "" {
		return nil, fmt.Errorf("--reference %q: want KIND[@VERSION]=PATH (libsignal=interop/libsignal or mau=bin/mau-peer)", v)
	}
	kind, version, _ := strings.Cut(kind, "@")
	switch kind {
	case RefLibsignal:
		if version == "" {
			version = "0.103"
		}
		return VerifyLibsignal(path, version)
	case RefMau:
		if version != "" {
			return nil, fmt.Errorf("--reference %q: the mau reference's version is read from the binary", v)
		}
		return VerifyMau(path)
	}
	return nil, fmt.Errorf("--reference %q: unknown kind %q (want libsignal or mau)", v, kind)
}

// VerifyLibsignal checks dir/node_modules/libsignal-client-VERSION is
// @signalapp/libsignal-client VERSION.x (package.json read from disk),
// digests the package directory and the peer wrapper, and returns the
// command that starts dir/peer.js on it.
func VerifyLibsignal(dir, version string) (*Reference, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	pkgDir := filepath.Join(abs, "node_modules", "libsignal-client-"+version)
	b, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("reference libsignal %s: %w (run npm ci in %s)", version, err, dir)
	}
	var pj struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pj); err != nil {
		return nil, fmt.Errorf("reference libsignal: %s/package.json: %w", pkgDir, err)
	}
	if pj.Name != "@signalapp/libsignal-client" || !strings.HasPrefix(pj.Version, version+".") {
		return nil, fmt.Errorf("reference libsignal: %s is %s %s, want @signalapp/libsignal-client %s.x", pkgDir, pj.Name, pj.Version, version)
	}
	peerJS := filepath.Join(abs, "peer.js")
	if _, err := os.Stat(peerJS); err != nil {
		return nil, fmt.Errorf("reference libsignal: %w", err)
	}
	digest, err := TreeDigest(os.DirFS(pkgDir), ".")
	if err != nil {
		return nil, fmt.Errorf("reference libsignal: %w", err)
	}
	wrapper, err := wrapperDigest(abs)
	if err != nil {
		return nil, fmt.Errorf("reference libsignal: %w", err)
	}
	spec := live.Spec{Argv: []string{"node", peerJS, "--lib", version}}
	return &Reference{Kind: RefLibsignal, Package: pj.Name, Version: pj.Version, Path: pkgDir,
		Digest:   digest,
		DigestOf: "cd PATH && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum",
		Wrapper:  peerJS, WrapperDigest: wrapper, Command: spec.String(), Spec: spec}, nil
}

// wrapperDigest digests the peer wrapper's own files: the *.js and
// package*.json files beside peer.js.
func wrapperDigest(dir string) (string, error) {
	var names []string
	for _, pat := range []string{"*.js", "package*.json"} {
		m, err := fs.Glob(os.DirFS(dir), pat)
		if err != nil {
			return "", err
		}
		names = append(names, m...)
	}
	return FilesDigest(os.DirFS(dir), names)
}

// VerifyMau reads the Go build information of a mau-peer binary
// (debug/buildinfo, as `go version -m`): it must be built from
// go.mau.fi/libsignal, not replaced. The binary's SHA-256 is recorded.
func VerifyMau(binary string) (*Reference, error) {
	abs, err := filepath.Abs(binary)
	if err != nil {
		return nil, err
	}
	bi, err := buildinfo.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("reference mau: %w", err)
	}
	var dep *debug.Module
	for _, d := range bi.Deps {
		if d.Path == "go.mau.fi/libsignal" {
			dep = d
		}
	}
	if dep == nil {
		return nil, fmt.Errorf("reference mau: %s is not built with go.mau.fi/libsignal (main module %s)", binary, bi.Main.Path)
	}
	if dep.Replace != nil {
		return nil, fmt.Errorf("reference mau: %s replaces go.mau.fi/libsignal %s with %s", binary, dep.Version, dep.Replace.Path)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	spec := live.Spec{Argv: []string{abs}}
	return &Reference{Kind: RefMau, Package: dep.Path + " (in " + bi.Main.Path + ")", Version: dep.Version + " " + dep.Sum,
		Path: abs, Digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), DigestOf: "sha256sum PATH",
		Command: spec.String(), Spec: spec}, nil
}

// TreeDigest is "sha256:" and the SHA-256 of the sha256sum(1) listing of
// every regular file under root in fsys, paths "./REL" in byte order:
// `cd ROOT && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum`.
// Symbolic links to files are followed (find -type f lists none).
func TreeDigest(fsys fs.FS, root string) (string, error) {
	var names []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return FilesDigest(fsys, names)
}

// FilesDigest is TreeDigest over the named files.
func FilesDigest(fsys fs.FS, names []string) (string, error) {
	lines := make([]string, 0, len(names))
	for _, n := range names {
		label := "./" + strings.TrimPrefix(n, "./")
		fi, err := fs.Stat(fsys, n)
		if err != nil {
			return "", err
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		f, err := fsys.Open(n)
		if err != nil {
			return "", err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
		lines = append(lines, hex.EncodeToString(h.Sum(nil))+"  "+label)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][64+2:] < lines[j][64+2:] })
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l+"\n")
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// ReadBuildInfo describes the running binary: module version and, when
// built from a checkout, the VCS revision.
func ReadBuildInfo() BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return BuildInfo{Version: "unknown"}
	}
	out := BuildInfo{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if out.Version == "" {
		out.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			out.VCSRevision = s.Value
		case "vcs.time":
			out.VCSTime = s.Value
		case "vcs.modified":
			out.VCSModified = s.Value == "true"
		}
	}
	return out
}
