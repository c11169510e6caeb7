package sqlstore

import "database/sql"

// Application writes in the store's transaction (issue #16, "must have" 1).
//
// session.Cipher.DecryptAndCommit, DecryptFromIdentityAndCommit,
// group.Cipher.DecryptAndCommit and sealedsender.DecryptMessageAndCommit
// hand their commit function the Store of the transaction that stores the
// decryption. SQLTx returns that transaction's *sql.Tx, through which the
// application writes its own tables (the plaintext, the event it makes of
// it): they commit together with the advanced session or sender-key chain
// and the consumed prekeys, or not at all.
//
// Writing through the *sql.Tx cannot deadlock: it is the connection the
// transaction already holds — on SQLite the database's only write
// connection, on PostgreSQL a connection of the pool whose row and advisory
// locks are this transaction's. What would deadlock on SQLite is writing
// through another handle to the same database (DB.SQL(), another Store,
// another *sql.DB) while the commit function runs: it waits for the write
// lock this transaction holds. Do not Commit or Rollback the *sql.Tx
// yourself; return an error from the commit function to roll back.

// SQLTx returns the SQL transaction the Store runs in: non-nil for the Store
// a Transact or TransactSenderKeys function, or a Cipher's commit function,
// is given; nil for a Store obtained from DB.Account or DB.CreateAccount,
// whose methods each run on their own.
func (s *Store) SQLTx() *sql.Tx { return s.tx }

// SQLTx returns the *sql.Tx behind st, the store a commit function was given
// (a session.Store or a group.SenderKeyStore); ok is false when st is not a
// Store of this package or not inside a transaction (a Cipher over a store
// without a Transactor).
func SQLTx(st any) (tx *sql.Tx, ok bool) {
	s, isStore := st.(*Store)
	if !isStore || s.tx == nil {
		return nil, false
	}
	return s.tx, true
}
