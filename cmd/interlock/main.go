package main

import (
	"fmt"
	"io"
	"os"
)

// version is reported by `interlock peer` capabilities.
const version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "demo":
		if err := demo(stdout, args[1:]); err != nil {
			fmt.Fprintln(stderr, "interlock demo:", err)
			return 1
		}
		return 0
	case "peer":
		if err := servePeer(args[1:], stdin, stdout, stderr); err != nil {
			fmt.Fprintln(stderr, "interlock peer:", err)
			return 1
		}
		return 0
	case "media":
		return runMedia(args[1:], stdout, stderr)
	case "inspect":
		return runInspect(args[1:], stdin, stdout, stderr)
	case "conformance":
		return conformanceCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "interlock: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: interlock <command> [arguments]

commands:
  demo    two parties establish a PQXDH session and exchange messages, step by step
  peer    run the conformance peer (JSON lines on stdin/stdout); --no-spqr turns
          the SPQR triple ratchet off (a stand-in for clients without it)
  media   encrypt or decrypt an attachment (WhatsApp or Signal format), streaming
  inspect show every field of a message, key, bundle or envelope (hex, base64 or raw)
  conformance  prove which security guarantees hold (vectors and live peers); -h for flags
`)
}
