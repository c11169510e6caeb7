package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
)

// The convention every subcommand follows (issue #17 item 2):
//
//   - --help or -h prints the usage to standard output; exit status 0.
//   - A usage error (unknown flag, bad flag value, missing or extra
//     argument) prints "interlock CMD: <error>" and then the usage to
//     standard error; exit status 2.
//   - An operational failure (I/O, a message that does not parse, a failed
//     authentication, a failed conformance check) prints "interlock CMD:
//     <error>" to standard error; exit status 1.
//   - Results go to standard output and nothing else does: progress and
//     diagnostics go to standard error.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// newFlagSet returns the flag set of `interlock NAME` (name may hold a
// sub-subcommand: "media encrypt"). Its Usage writes usage, then the flags
// and their defaults, to fs.Output(), which parseArgs points at standard
// output for --help and at standard error for a usage error. usage is the
// synopsis and description; it should end with a newline.
func newFlagSet(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("interlock "+name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprint(w, usage)
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprintln(w, "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseArgs parses args with fs by the convention above: flags may come
// before, between or after the positional arguments ("--" ends the flags).
// When ok is false the command must return status at once: --help was
// given (usage printed on stdout, status 0) or the flags are wrong (error
// and usage on stderr, status 2). fs.Usage must write to fs.Output()
// (newFlagSet's does); after parseArgs, fs.Output() is stderr.
//
// The conformance subcommand uses it as well; see usageFail.
func parseArgs(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (status int, ok bool) {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error; we print once, below
	fs.SetOutput(io.Discard)
	var positional []string
	var err error
	for {
		if err = fs.Parse(args); err != nil {
			break
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	fs.Usage = usage
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(stdout)
		fs.Usage()
		fs.SetOutput(stderr)
		return exitOK, false
	case err != nil:
		return usageFail(fs, stderr, "%v", err), false
	}
	// Leave the positional arguments in fs.Args(); "--" stops the flags.
	fs.Parse(append([]string{"--"}, positional...))
	fs.SetOutput(stderr)
	return exitOK, true
}

// usageFail reports a usage error: "interlock CMD: <message>", then the
// usage, on stderr. It returns exitUsage (2).
func usageFail(fs *flag.FlagSet, stderr io.Writer, format string, a ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.SetOutput(stderr)
	fs.Usage()
	return exitUsage
}

// fail reports an operational failure, "interlock CMD: <err>" on stderr, and
// returns exitFail (1).
func fail(fs *flag.FlagSet, stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
	return exitFail
}

// usageError is an error a command's helpers return for a usage error:
// exitUsage, with the usage printed.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// finish maps a command's error to its exit status: nil → 0, usageError →
// usageFail (2), anything else → fail (1).
func finish(fs *flag.FlagSet, stderr io.Writer, err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return usageFail(fs, stderr, "%s", ue.msg)
	}
	return fail(fs, stderr, err)
}

// noArgs is for commands without positional arguments.
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// buildInfo is what `interlock version` reports, from the binary's
// embedded build information (runtime/debug.ReadBuildInfo).
type buildInfo struct {
	Module    string // module path
	Version   string // module version: "v1.2.3" from go install …@v1.2.3, "(devel)" from a checkout
	Revision  string // VCS revision ("" when not stamped, as in go run and go test)
	Time      string // VCS commit time (RFC 3339)
	Modified  bool   // built from a tree with uncommitted changes
	GoVersion string // toolchain, e.g. "go1.26.0"
	Platform  string // GOOS/GOARCH
}

// readBuildInfo reads the running binary's buildInfo.
func readBuildInfo() buildInfo {
	b := buildInfo{Module: "github.com/interlock-e2ee/interlock", Version: "(unknown)",
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	return parseBuildInfo(bi, b)
}

func parseBuildInfo(bi *debug.BuildInfo, b buildInfo) buildInfo {
	if bi.Main.Path != "" {
		b.Module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		b.Version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is the one-line form, for reports: "interlock (devel) 0123abcd…
// (modified) go1.26.0 linux/amd64".
func (b buildInfo) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "interlock %s", b.Version)
	if b.Revision != "" {
		fmt.Fprintf(&s, " %s", b.Revision)
		if b.Modified {
			s.WriteString(" (modified)")
		}
	}
	fmt.Fprintf(&s, " %s %s", b.GoVersion, b.Platform)
	return s.String()
}

const versionUsage = `usage: interlock version

Prints the module version, the VCS revision the binary was built from
(when the build recorded it: go build and go install in a checkout do, go
run does not) and the Go version.
`

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", versionUsage)
	if status, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return status
	}
	if err := noArgs(fs); err != nil {
		return finish(fs, stderr, err)
	}
	b := readBuildInfo()
	fmt.Fprintf(stdout, "interlock %s\n", b.Version)
	fmt.Fprintf(stdout, "module   %s\n", b.Module)
	if b.Revision != "" {
		rev := b.Revision
		if b.Modified {
			rev += " (modified)"
		}
		fmt.Fprintf(stdout, "revision %s\n", rev)
		if b.Time != "" {
			fmt.Fprintf(stdout, "time     %s\n", b.Time)
		}
	} else {
		fmt.Fprintf(stdout, "revision unknown (not recorded by this build)\n")
	}
	fmt.Fprintf(stdout, "go       %s %s\n", b.GoVersion, b.Platform)
	return exitOK
}

// isTerminal reports whether w is a terminal (a character device other than
// /dev/null). Progress is shown only on one unless forced.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(st, null) {
		return false
	}
	return true
}

// exitStatus is returned by a command that has already reported everything
// (servePeer's --help and usage errors): exit with this status.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// runPeer runs `interlock peer` (peer.go).
func runPeerCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := servePeer(args, stdin, stdout, stderr)
	var st exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &st):
		return int(st)
	}
	fmt.Fprintln(stderr, "interlock peer:", err)
	return exitFail
}
