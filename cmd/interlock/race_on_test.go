//go:build race

package main

// raceEnabled: this test binary is built with the race detector, which
// makes the full conformance run tenfold slower; the Makefile runs that
// case once more without it (unit stage).
const raceEnabled = true
