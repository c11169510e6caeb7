// Package signalmeowtest builds signalmeow databases for tests (issue #15):
// the part of signalmeow's schema (mautrix-signal's
// pkg/signalmeow/store/upgrades/00-latest.sql) that store/importer reads,
// filled with libsignal's serialized records as signalmeow stores them —
// taken from the store file of the libsignal peer
// (interop/libsignal/peer.js, format interlock-libsignal-peer-store/1).
package signalmeowtest
