// Package storetest is the conformance suite for session.Store
// implementations: every store in this module (session.MemoryStore,
// store/sqlstore on SQLite and PostgreSQL) runs it, and so can an
// application's own store.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, id prekey.IdentityKeyPair, reg uint32) session.Store {
//			return mystore.New(id, reg)
//		})
//	}
//
// It checks record round trips of every kind, not-found errors wrapping
// session.ErrInvalidPreKey, trust-on-first-use identity semantics, the
// atomicity of session.Transactor (when implemented), isolation between
// stores opened from one database, concurrent use, and whole conversations
// through session.Cipher.
//
// Specifications the suite holds a store to:
//   - The store interfaces and their contracts in package session
//     (session.Store, session.Transactor, session.ErrInvalidPreKey).
//   - X3DH §3.4 and PQXDH §3.4: one-time prekeys (Curve25519 and Kyber)
//     are gone once a session has used them; signed prekeys and last-resort
//     Kyber prekeys stay.
//   - X3DH §4.1 (authentication): an identity is trusted on first use and a
//     changed identity is reported (SaveIdentity, IsTrustedIdentity).
//   - Sesame (session management) §3: a session record round-trips byte for
//     byte, so archived states survive a reload.
//
// # Security considerations
//
// The suite generates real keys with crypto/rand but keeps them only in the
// stores under test; it is test tooling and must not run against a store
// holding a real account. A passing run shows a store keeps what it is
// given and honours the interfaces' contracts; it says nothing about how
// the store protects its data at rest.
package storetest
