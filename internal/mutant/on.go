//go:build interlock_mutants

package mutant

import (
	"fmt"
	"os"
	"slices"
	"sync"
)

var active = sync.OnceValue(func() string {
	name := os.Getenv(Env)
	if name != "" && !slices.Contains(All, name) {
		fmt.Fprintf(os.Stderr, "interlock: %s=%q names no mutant (internal/mutant.All)\n", Env, name)
		os.Exit(2)
	}
	return name
})

// On reports whether the named mutant is the one INTERLOCK_MUTANT names.
func On(name string) bool {
	if !slices.Contains(All, name) {
		panic("mutant: unknown mutant " + name)
	}
	return active() == name
}

// Active returns the name of the active mutant, "" for none.
func Active() string { return active() }
