package main

import (
	"fmt"
	"io"
	"os"
)

// version is reported by `interlock peer` capabilities and the conformance
// report; `interlock version` adds the module version and VCS revision the
// build recorded (readBuildInfo).
const version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs one subcommand and returns its exit status: 0 success (or
// --help), 1 operational failure, 2 usage error (cli.go).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "interlock: missing command")
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "demo":
		return runDemo(args[1:], stdout, stderr)
	case "peer":
		return runPeerCmd(args[1:], stdin, stdout, stderr)
	case "media":
		return runMedia(args[1:], stdout, stderr)
	case "inspect":
		return runInspect(args[1:], stdin, stdout, stderr)
	case "import":
		return runImport(args[1:], stdout, stderr)
	case "conformance":
		return conformanceCmd(args[1:], stdout, stderr)
	case "version":
		return runVersion(args[1:], stdout, stderr)
	case "-h", "--help", "-help", "help":
		if args[0] == "help" && len(args) > 1 {
			// interlock help CMD [SUB] = interlock CMD [SUB] --help
			return run(append(append([]string(nil), args[1:]...), "--help"), stdin, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	case "-v", "--version", "-version":
		return runVersion(nil, stdout, stderr)
	}
	if cmd, ok := taggedCommands[args[0]]; ok {
		return cmd(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "interlock: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// taggedCommands are commands only some builds have (mutants_cmd.go: the
// interlock_mutants build).
var taggedCommands = map[string]func(args []string, stdout, stderr io.Writer) int{}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: interlock <command> [arguments]

commands:
  demo         two parties establish a PQXDH session and exchange messages, step by step
  peer         run the conformance peer (JSON lines on stdin/stdout)
  media        encrypt or decrypt an attachment (WhatsApp or Signal format), streaming
  inspect      show every field of a message, key, certificate or envelope (hex, base64 or raw)
  conformance  prove which security guarantees hold (vectors and live peers)
  import       move a whatsmeow or signalmeow store or a Baileys folder into an Interlock database, no re-keying
  version      print the module version, VCS revision and Go version

"interlock <command> --help" (or "interlock help <command>") describes a
command's flags. Exit status: 0 success, 1 failure, 2 usage error.
`)
}
