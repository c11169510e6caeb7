// Package jsonrec tells the JSON records go.mau.fi/libsignal writes
// (session, sender key and prekey records, issue #15 item 1) from
// libsignal's protobuf records (the RecordStructure messages of
// proto/signalpb), for the record_compat readers of packages session, group
// and prekey.
//
// # Security considerations
//
// Is reads untrusted stored bytes: it never panics, allocates nothing, and
// costs one json.Valid pass at most, only for input that starts with JSON
// white space and then '{'.
package jsonrec
