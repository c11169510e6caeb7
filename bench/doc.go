// Package bench holds side-by-side benchmarks of Interlock and
// go.mau.fi/libsignal v0.2.1 (the Go library whatsmeow uses) on the same
// work in the same run. It is its own module so that go.mau.fi/libsignal
// never enters the library's go.mod. Run with `make bench` at the root.
package bench
