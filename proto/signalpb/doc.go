// Package signalpb holds the Go code generated from ../wire.proto and
// ../storage.proto (run `make generate`). It is an implementation detail:
// no public signature of Interlock uses these types.
//
// The field numbers follow the Signal protocol's wire formats
// (docs/wire-formats.md) and libsignal's stored
// records, written from the protocol facts. The hot path (SignalMessage and
// PreKeySignalMessage) is parsed by hand in package session with protowire;
// these types serve the stored records and cross-checks.
package signalpb
