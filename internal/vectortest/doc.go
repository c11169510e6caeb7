// Package vectortest loads the known-answer files of testdata/vectors for
// the tests of every package; testdata/vectors/README.md documents each
// file's schema and the independent implementation that produced it
// (libsignal, go.mau.fi/libsignal, Baileys, signal-service-java).
//
// The files are committed with the code, so a missing or unreadable file is
// a test failure, never a skip.
//
// # Security considerations
//
// Test-only code: it reads files below the repository and reports through
// testing.TB; no library package imports it.
package vectortest
