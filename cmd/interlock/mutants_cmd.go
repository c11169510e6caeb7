//go:build interlock_mutants

package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/interlock-e2ee/interlock/conformance"
)

// `interlock mutants`, in the interlock_mutants build only: prints the
// mutant table (conformance.MutantTable) that `interlock conformance
// --mutants` reads from this binary.
func init() {
	taggedCommands["mutants"] = func(args []string, stdout, stderr io.Writer) int {
		if len(args) > 0 {
			fmt.Fprintln(stderr, "usage: interlock mutants (prints the mutant table as JSON)")
			return exitUsage
		}
		b, err := json.MarshalIndent(conformance.MutantCases(), "", "  ")
		if err != nil {
			fmt.Fprintln(stderr, "interlock mutants:", err)
			return exitFail
		}
		stdout.Write(append(b, '\n'))
		return exitOK
	}
}
