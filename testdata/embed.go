// Package testdata embeds the portable vector corpus (vectors/*.json,
// described in vectors/README.md) so that `interlock conformance` runs all
// of it from any directory, including after `go install`. The go command
// ignores directories named testdata for ./... patterns, but the package
// can be imported by path.
package testdata

import "embed"

// Vectors holds vectors/*.json: open files as "vectors/NAME.json", or use
// fs.Sub(Vectors, "vectors").
//
//go:embed vectors/*.json
var Vectors embed.FS
