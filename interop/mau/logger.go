package mau

import (
	"fmt"
	"io"

	"go.mau.fi/libsignal/logger"
)

// libraryLogger receives go.mau.fi/libsignal's global log calls. The
// library's default logger prints Info, Warning and Error lines to standard
// output with fmt.Println, which would corrupt the peer protocol's stream;
// its Debug calls format key material, so Debug is always dropped.
type libraryLogger struct{ w io.Writer }

func (l libraryLogger) Debug(string, string) {}

func (l libraryLogger) Info(caller, msg string) {
	fmt.Fprintf(l.w, "libsignal INFO %s %s\n", caller, msg)
}

func (l libraryLogger) Warning(caller, msg string) {
	fmt.Fprintf(l.w, "libsignal WARNING %s %s\n", caller, msg)
}

func (l libraryLogger) Error(caller, msg string) {
	fmt.Fprintf(l.w, "libsignal ERROR %s %s\n", caller, msg)
}

func (l libraryLogger) Configure(string) {}

// RouteLibraryLogger installs a logger for go.mau.fi/libsignal that writes
// to w (io.Discard to silence it). It sets a process-wide global.
func RouteLibraryLogger(w io.Writer) {
	var l logger.Loggable = libraryLogger{w: w}
	logger.Setup(&l)
}
