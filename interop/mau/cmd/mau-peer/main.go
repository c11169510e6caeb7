// Command mau-peer is a conformance peer (docs/peer-protocol.md) backed by
// go.mau.fi/libsignal v0.2.1. It speaks only the whatsapp flavour.
//
// Usage:
//
//	mau-peer [-atomic] [-v]
//
// Requests are read from standard input and answered on standard output;
// diagnostics go to standard error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/interlock-e2ee/interlock/interop/mau"
)

func main() {
	atomic := flag.Bool("atomic", false, "roll back all state when an operation fails (the library itself does not)")
	verbose := flag.Bool("v", false, "log failures and the library's log lines to standard error")
	flag.Parse()

	// Keep the only handle to the real standard output for responses and
	// point os.Stdout at standard error, so that nothing else that prints
	// (the library's default logger uses fmt.Println) reaches the stream.
	out := os.Stdout
	os.Stdout = os.Stderr

	var logw io.Writer = io.Discard
	if *verbose || os.Getenv("MAU_PEER_VERBOSE") != "" {
		logw = os.Stderr
	}
	mau.RouteLibraryLogger(logw)

	p := mau.NewPeer(mau.Options{Atomic: *atomic, Log: logw})
	if err := p.Serve(os.Stdin, out); err != nil {
		fmt.Fprintln(os.Stderr, "mau-peer:", err)
		os.Exit(1)
	}
}
