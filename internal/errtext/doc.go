// Package errtext holds only a test: it produces typical errors through the
// public API of each package and checks their text (issue #16 item 6): no
// doubled package prefix ("ratchet: ratchet: …") and no address named twice.
//
// # Security considerations
//
// None: the package has no code outside its test.
package errtext
