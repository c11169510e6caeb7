// Package baileys holds the live proof of issue #15 for Baileys: a Baileys
// account's auth directory (useMultiFileAuthState's layout, written by
// peer.js over libsignal-node, npm libsignal 6.0.0) is imported with
// store/importer.ImportBaileys, and Interlock continues its conversations
// with the same libsignal-node peers (import_test.go). See README.md.
package baileys
