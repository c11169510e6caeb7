// Package readme holds the test that builds and runs every Go block of the
// repository's README.md (issue #16, "Docs that compile"). It has no code of
// its own.
//
// # Security considerations
//
// None: the test runs the README's code against in-memory and temporary
// stores only.
package readme
