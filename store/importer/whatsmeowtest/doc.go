// Package whatsmeowtest builds whatsmeow databases for tests (issue #15):
// the part of whatsmeow's schema that store/importer reads, filled from
// testdata/vectors/mau-records.json (go.mau.fi/libsignal's records of a
// conversation in a hard state).
package whatsmeowtest
