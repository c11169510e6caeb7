// Package wycheproof is the shared test harness for Wycheproof vectors
// (github.com/C2SP/wycheproof, testvectors_v1), used by the tests of
// internal/curve, internal/aescbc, internal/kdf, internal/kem,
// internal/mlkem768 and sealedsender (AES-GCM-SIV).
//
// Wycheproof JSON is not committed to this repository: it is read from
// $INTERLOCK_WYCHEPROOF_DIR, else from shared/wycheproof beside the module
// root, the directory holding go.mod (the steering repository's shared folder,
// which CI clones beside this one). A missing directory skips the test, naming it and
// every file the package reads; a file missing from a directory that exists
// fails the test.
//
// Every "acceptable" case must be settled by an explicit Decision; an
// acceptable case that no decision covers is reported as a problem, in the
// manner of Go's own crypto tests.
//
// # Security considerations
//
// Test-only code: it reads files and reports through testing.T. Deciding
// every acceptable case explicitly keeps a library from silently accepting
// what the vectors flag (for X25519, an all-zero shared secret must be
// refused).
package wycheproof
