// Package errtext holds only tests of the API's consistency (issue #16
// item 6): typical errors of each package, produced through the public API,
// have no doubled package prefix ("ratchet: ratchet: …") and name no
// address twice; and a nil rand io.Reader means crypto/rand.Reader.
//
// # Security considerations
//
// None: the package has no code outside its test.
package errtext
