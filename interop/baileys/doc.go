// Package baileys holds the live proof of issue #15 for Baileys: the auth
// directory of a Baileys client (Baileys 7.0.0-rc14's own signal repository
// and useMultiFileAuthState, over npm libsignal 6.0.0, driven by peer.mjs)
// is imported with store/importer.ImportBaileys, and Interlock continues its
// conversations with the same Baileys peers (import_test.go). See README.md.
package baileys
