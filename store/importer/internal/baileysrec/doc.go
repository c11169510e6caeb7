// Package baileysrec parses the records of Baileys' auth state (issue #15):
// libsignal-node's JSON SessionRecord (the WhiskeySockets fork Baileys
// uses, npm libsignal 6.0.0: src/session_record.js, src/session_cipher.js)
// and the sender-key records of Baileys' own group cipher
// (src/Signal/Group/sender-key-record.ts, sender-key-state.ts), with the
// Node Buffer encodings of Baileys' BufferJSON (src/Utils/generics.ts),
// into Interlock's records (libsignal's storage.proto forms).
//
// It is internal so that its fuzz target links none of the SQL engines
// store/importer's tests do; store/importer exports it as
// ParseLibsignalNodeSession and ParseBaileysSenderKey. Every input is
// untrusted: sizes are bounded (MaxFileSize, libsignal's chain and key
// limits), and a field that cannot be read is an error naming it.
package baileysrec
