package sqlstore_test

import (
	"context"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

// BenchmarkStoreEncryptDecrypt measures one message — Encrypt by one party,
// Decrypt by the other, each persisted in its own transaction — with the
// direction alternating, so half the messages carry a DH ratchet step.
// SQLite and PostgreSQL flush every commit to disk; the Relaxed variants use
// sqlstore.RelaxedDurability; the Encrypted ones seal every private row
// (WithKeyEncryption).
func BenchmarkStoreEncryptDecrypt(b *testing.B) {
	b.Run("Memory", func(b *testing.B) {
		open := func(id prekey.IdentityKeyPair, reg uint32) session.Store { return session.NewMemoryStore(id, reg) }
		benchConversation(b, storetest.NewAccount(b, "alice", open), storetest.NewAccount(b, "bob", open))
	})
	b.Run("SQLite", func(b *testing.B) {
		db, _ := openSQLite(b)
		benchConversation(b, newAccount(b, db, "alice", "alice"), newAccount(b, db, "bob", "bob"))
	})
	b.Run("SQLite/Relaxed", func(b *testing.B) {
		db, _ := openSQLite(b, sqlstore.RelaxedDurability())
		benchConversation(b, newAccount(b, db, "alice", "alice"), newAccount(b, db, "bob", "bob"))
	})
	b.Run("PostgreSQL", func(b *testing.B) {
		db := openPostgres(b)
		benchConversation(b, newAccount(b, db, "alice", "alice"), newAccount(b, db, "bob", "bob"))
	})
	b.Run("PostgreSQL/Relaxed", func(b *testing.B) {
		db := openPostgres(b, sqlstore.RelaxedDurability())
		benchConversation(b, newAccount(b, db, "alice", "alice"), newAccount(b, db, "bob", "bob"))
	})
	// Encryption at rest (issue #19 item 2): every session row sealed and
	// opened with AES-256-GCM.
	b.Run("SQLite/Relaxed/Encrypted", func(b *testing.B) {
		db, _ := openSQLite(b, sqlstore.RelaxedDurability(), sqlstore.WithKeyEncryption(keyring(b, "k1", map[string][]byte{"k1": newKey(b)})))
		benchConversation(b, newAccount(b, db, "alice", "alice"), newAccount(b, db, "bob", "bob"))
	})
	b.Run("PostgreSQL/Relaxed/Encrypted", func(b *testing.B) {
		db := openPostgres(b, sqlstore.RelaxedDurability(), sqlstore.WithKeyEncryption(keyring(b, "k1", map[string][]byte{"k1": newKey(b)})))
		benchConversation(b, newAccount(b, db, "alice", "alice"), newAccount(b, db, "bob", "bob"))
	})
}

func benchConversation(b *testing.B, alice, bob *storetest.Account) {
	ctx := context.Background()
	ac, bc := session.NewCipher(alice.Store), session.NewCipher(bob.Store)
	if err := ac.ProcessBundle(ctx, bob.Addr, bob.Bundle(b, true, true)); err != nil {
		b.Fatal(err)
	}
	typ, ct, err := ac.Encrypt(ctx, bob.Addr, []byte("hello"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := bc.Decrypt(ctx, alice.Addr, typ, ct); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		from, to, toAddr, fromAddr := ac, bc, bob.Addr, alice.Addr
		if i%2 == 1 {
			from, to, toAddr, fromAddr = bc, ac, alice.Addr, bob.Addr
		}
		typ, ct, err := from.Encrypt(ctx, toAddr, msg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := to.Decrypt(ctx, fromAddr, typ, ct); err != nil {
			b.Fatal(err)
		}
	}
}
