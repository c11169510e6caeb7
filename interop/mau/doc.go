// Package mau drives go.mau.fi/libsignal v0.2.1, the Go port of the Signal
// protocol that WhatsApp bridges use, through the conformance peer protocol
// (docs/peer-protocol.md), and records test vectors
// from it.
//
// It is a separate Go module so that the GPL library never enters the
// Interlock module's dependency graph.
//
// # Security considerations
//
// This is test tooling. State, including private keys, is written in the
// clear to the store file given to init.
package mau
