// Package signalmeow holds the live proof of issue #15 for signalmeow
// (mautrix-signal's Go package, which links the Rust libsignal): libsignal
// 0.90 and 0.103 (interop/libsignal/peer.js) leave real conversations in a
// hard state, their records are written into signalmeow's tables
// (store/importer/signalmeowtest), imported with
// store/importer.ImportSignalmeow, and Interlock continues them with the
// same live libsignal peers; Interlock's state exported with
// importer.ExportLibsignal and loaded back into libsignal continues too.
// It has no non-test code.
package signalmeow
