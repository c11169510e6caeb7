package bench

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/interlock-e2ee/interlock/interop/mau"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
	"go.mau.fi/libsignal/keys/identity"
	mauproto "go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	mausession "go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/state/record"
)

// Fan-out: one message (a sender-key distribution message, 100 bytes) to
// fanoutDevices device sessions, persistence included, done by Interlock
// (session.Cipher.EncryptMany over store/sqlstore on SQLite) and the way
// whatsmeow does it (go.mau.fi/libsignal, one device after another, a SQL
// store with whatsmeow's schema). Unless a name says "default", both
// databases run in WAL mode with synchronous=NORMAL, so neither figure is an
// fsync count; the "-default" pair compares each as shipped. The "-cache"
// row adds sqlstore.WithSessionCache; the "-prefetch" rows are whatsmeow's
// send path as it is today (sessions read in one SELECT first). Besides the
// wall time, each fan-out row reports the process's CPU time per fan-out,
// which the other jobs on a shared machine do not change.
//
//	go test -run '^$' -bench 'Fanout' -benchtime 5x -timeout 30m
const fanoutDevices = 3000

var fanoutPlaintext = make([]byte, 100)

// sqliteDSN opens path as both sides do here.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
}

// ---- a whatsmeow-style SQL store for go.mau.fi/libsignal ----

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// waStore keeps sessions and identities in SQLite with whatsmeow's tables
// and statements (one row per session, serialized records, an upsert per
// store); prekeys stay in memory (the sender never needs them).
type waStore struct {
	*mau.Store
	db  *sql.DB
	q   querier
	jid string
	// cache, while set, holds the parsed sessions of encryptPrefetched;
	// dirty names those stored since.
	cache map[string]*record.Session
	dirty map[string]bool
}

const waSchema = `
CREATE TABLE IF NOT EXISTS whatsmeow_identity_keys (
	our_jid TEXT, their_id TEXT, identity BLOB NOT NULL CHECK ( length(identity) = 32 ),
	PRIMARY KEY (our_jid, their_id));
CREATE TABLE IF NOT EXISTS whatsmeow_sessions (
	our_jid TEXT, their_id TEXT, session BLOB,
	PRIMARY KEY (our_jid, their_id));`

func newWAStore(tb testing.TB, dsn string, p *mau.Party) *waStore {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Exec(waSchema); err != nil {
		tb.Fatal(err)
	}
	return &waStore{Store: p.Store, db: db, q: db, jid: "me@s.whatsapp.net"}
}

func (s *waStore) SaveIdentity(ctx context.Context, a *mauproto.SignalAddress, k *identity.Key) error {
	key := k.PublicKey().PublicKey()
	_, err := s.q.ExecContext(ctx, `INSERT INTO whatsmeow_identity_keys (our_jid, their_id, identity) VALUES ($1, $2, $3)
		ON CONFLICT (our_jid, their_id) DO UPDATE SET identity=excluded.identity`, s.jid, a.String(), key[:])
	return err
}

func (s *waStore) IsTrustedIdentity(ctx context.Context, a *mauproto.SignalAddress, k *identity.Key) (bool, error) {
	var have []byte
	err := s.q.QueryRowContext(ctx, `SELECT identity FROM whatsmeow_identity_keys WHERE our_jid=$1 AND their_id=$2`, s.jid, a.String()).Scan(&have)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	key := k.PublicKey().PublicKey()
	return string(have) == string(key[:]), nil
}

func (s *waStore) LoadSession(ctx context.Context, a *mauproto.SignalAddress) (*record.Session, error) {
	if r, ok := s.cache[a.String()]; ok {
		return r, nil
	}
	var raw []byte
	err := s.q.QueryRowContext(ctx, `SELECT session FROM whatsmeow_sessions WHERE our_jid=$1 AND their_id=$2`, s.jid, a.String()).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return record.NewSession(s.Ser.Session, s.Ser.State), nil
	}
	if err != nil {
		return nil, err
	}
	return record.NewSessionFromBytes(raw, s.Ser.Session, s.Ser.State)
}

func (s *waStore) StoreSession(ctx context.Context, a *mauproto.SignalAddress, r *record.Session) error {
	if s.cache != nil {
		s.cache[a.String()], s.dirty[a.String()] = r, true
		return nil
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO whatsmeow_sessions (our_jid, their_id, session) VALUES ($1, $2, $3)
		ON CONFLICT (our_jid, their_id) DO UPDATE SET session=excluded.session`, s.jid, a.String(), r.Serialize())
	return err
}

func (s *waStore) ContainsSession(ctx context.Context, a *mauproto.SignalAddress) (bool, error) {
	if _, ok := s.cache[a.String()]; ok {
		return true, nil
	}
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM whatsmeow_sessions WHERE our_jid=$1 AND their_id=$2`, s.jid, a.String()).Scan(&n)
	return n > 0, err
}

// encryptPrefetched is the loop as whatsmeow's send path runs it today
// (store.Device.WithCachedSessions and PutCachedSessions): every session
// read in one SELECT and parsed up front, the per-device loop working on
// those parsed records (the identity is still checked with a SELECT per
// device), and the changed records written back one statement each.
func (s *waStore) encryptPrefetched(tb testing.TB, ser *serialize.Serializer, addrs []*mauproto.SignalAddress, pt []byte) int {
	ctx := context.Background()
	args := []any{s.jid}
	var in strings.Builder
	for i, a := range addrs {
		if i > 0 {
			in.WriteString(",")
		}
		in.WriteString("?")
		args = append(args, a.String())
	}
	rows, err := s.q.QueryContext(ctx, `SELECT their_id, session FROM whatsmeow_sessions WHERE our_jid=? AND their_id IN (`+in.String()+`)`, args...)
	if err != nil {
		tb.Fatal(err)
	}
	s.cache = make(map[string]*record.Session, len(addrs))
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			tb.Fatal(err)
		}
		if s.cache[id], err = record.NewSessionFromBytes(raw, s.Ser.Session, s.Ser.State); err != nil {
			tb.Fatal(err)
		}
	}
	if err := rows.Close(); err != nil {
		tb.Fatal(err)
	}
	s.dirty = make(map[string]bool, len(addrs))
	n := s.encryptEach(tb, ser, addrs, pt)
	cache := s.cache
	s.cache = nil
	for id := range s.dirty {
		if _, err := s.q.ExecContext(ctx, `INSERT INTO whatsmeow_sessions (our_jid, their_id, session) VALUES ($1, $2, $3)
			ON CONFLICT (our_jid, their_id) DO UPDATE SET session=excluded.session`, s.jid, id, cache[id].Serialize()); err != nil {
			tb.Fatal(err)
		}
	}
	return n
}

// inTx runs f with every statement inside one SQL transaction: the
// baselines kinder than whatsmeow itself.
func (s *waStore) inTx(tb testing.TB, f func()) {
	tx, err := s.db.BeginTx(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	s.q = tx
	f()
	s.q = s.db
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// encryptEach is whatsmeow's per-device loop: one go.mau.fi session cipher
// per device, each loading, checking, saving and storing on its own.
func (s *waStore) encryptEach(tb testing.TB, ser *serialize.Serializer, addrs []*mauproto.SignalAddress, pt []byte) int {
	ctx := context.Background()
	n := 0
	for _, a := range addrs {
		c := mausession.NewCipher(mausession.NewBuilderFromSignal(s, a, ser), a)
		m, err := c.Encrypt(ctx, pt)
		if err != nil {
			tb.Fatal(err)
		}
		n += len(m.Serialize())
	}
	return n
}

// mauWarm builds a go.mau.fi sender with n answered sessions in a
// whatsmeow-style SQLite store. One responder identity answers for every
// device address (the sender cannot tell), which keeps the set-up short.
// mauFanout runs one whatsmeow-style warm fan-out benchmark: fan runs one
// fan-out to n devices over a store from mauWarm.
func mauFanout(b *testing.B, name string, n int, documented bool, fan func(*testing.B, *waStore, []*mauproto.SignalAddress)) {
	b.Run(name, func(b *testing.B) {
		st, addrs := mauWarm(b, n, documented)
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			fan(b, st, addrs)
		}
		reportFanout(b, n, cpu)
	})
}

func mauWarm(tb testing.TB, n int, documented bool) (*waStore, []*mauproto.SignalAddress) {
	alice, err := mau.NewParty("alice", 1, 1)
	if err != nil {
		tb.Fatal(err)
	}
	bob, err := mau.NewParty("bob", 1, 2)
	if err != nil {
		tb.Fatal(err)
	}
	bundle, _, err := bob.NewBundle(1, 0)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "whatsmeow.db")
	dsn := sqliteDSN(path)
	if documented {
		// What whatsmeow's README passes: rollback journal, synchronous=FULL.
		dsn = "file:" + path + "?_pragma=foreign_keys(1)"
	}
	st := newWAStore(tb, dsn, alice)
	ctx := context.Background()
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	st.q = tx // set-up in one transaction; the benchmark runs without
	addrs := make([]*mauproto.SignalAddress, n)
	for i := range n {
		a := mauproto.NewSignalAddress(fmt.Sprintf("user-%05d", i/3), uint32(i%3+1))
		addrs[i] = a
		back := mauproto.NewSignalAddress("alice", uint32(i+1))
		if err := mausession.NewBuilderFromSignal(st, a, st.Ser).ProcessBundle(ctx, bundle); err != nil {
			tb.Fatal(err)
		}
		m, err := mausession.NewCipher(mausession.NewBuilderFromSignal(st, a, st.Ser), a).Encrypt(ctx, []byte("hello"))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := bob.Decrypt(back, m.Type(), m.Serialize()); err != nil {
			tb.Fatal(err)
		}
		r, err := bob.Encrypt(back, []byte("hi"))
		if err != nil {
			tb.Fatal(err)
		}
		sm, err := mauproto.NewSignalMessageFromBytes(r.Serialize(), st.Ser.SignalMessage)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := mausession.NewCipher(mausession.NewBuilderFromSignal(st, a, st.Ser), a).Decrypt(ctx, sm); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	st.q = st.db
	return st, addrs
}

// ---- Interlock ----

// ilWarm builds an Interlock sender (MemoryStore) with n answered version 3
// sessions, the same work as mauWarm.
func ilWarm(tb testing.TB, n int) (*session.MemoryStore, []session.Recipient) {
	ctx := context.Background()
	aid, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	bid, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	alice := session.NewMemoryStore(aid, 1)
	bob := session.NewMemoryStore(bid, 2)
	opt := session.WithPolicy(session.AllowX3DH)
	ac, bc := session.NewCipher(alice, opt), session.NewCipher(bob, opt)
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bid, 1, time.Now())
	if err := bob.StoreSignedPreKey(ctx, &spk); err != nil {
		tb.Fatal(err)
	}
	bundle := &prekey.Bundle{
		RegistrationID: 2, DeviceID: 1, IdentityKey: bid.PublicKey(),
		SignedPreKeyID: 1, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
	}
	rs := make([]session.Recipient, n)
	for i := range n {
		a := session.Address{Name: fmt.Sprintf("user-%05d", i/3), DeviceID: uint32(i%3 + 1)}
		back := session.Address{Name: "alice", DeviceID: uint32(i + 1)}
		rs[i] = session.Recipient{Address: a}
		if err := ac.ProcessBundle(ctx, a, bundle); err != nil {
			tb.Fatal(err)
		}
		typ, ct, err := ac.Encrypt(ctx, a, []byte("hello"))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := bc.Decrypt(ctx, back, typ, ct); err != nil {
			tb.Fatal(err)
		}
		if typ, ct, err = bc.Encrypt(ctx, back, []byte("hi")); err != nil {
			tb.Fatal(err)
		}
		if _, err := ac.Decrypt(ctx, a, typ, ct); err != nil {
			tb.Fatal(err)
		}
	}
	return alice, rs
}

// ilSQLite copies a MemoryStore's sessions and identities into a new
// SQLite database (RelaxedDurability: synchronous=NORMAL, as the baseline).
func ilSQLite(tb testing.TB, mem *session.MemoryStore, rs []session.Recipient, opts ...sqlstore.Option) *sqlstore.Store {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, filepath.Join(tb.TempDir(), "interlock.db"), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return fillStore(tb, db, mem, rs)
}

// fillStore creates the account "me" in db with mem's identity, sessions
// and remote identities.
func fillStore(tb testing.TB, db *sqlstore.DB, mem *session.MemoryStore, rs []session.Recipient) *sqlstore.Store {
	ctx := context.Background()
	id, _ := mem.IdentityKeyPair(ctx)
	st, err := db.CreateAccount(ctx, "me", id, 1)
	if err != nil {
		tb.Fatal(err)
	}
	addrs := make([]session.Address, len(rs))
	for i, r := range rs {
		addrs[i] = r.Address
	}
	recs, err := mem.LoadSessions(ctx, addrs)
	if err != nil {
		tb.Fatal(err)
	}
	err = st.Transact(ctx, func(tx session.Store) error {
		for _, a := range addrs {
			k, _, _ := mem.Identity(ctx, a)
			if _, err := tx.SaveIdentity(ctx, a, k); err != nil {
				return err
			}
		}
		return tx.(*sqlstore.Store).StoreSessions(ctx, recs)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// reportFanout reports the wall time per fan-out and per device and, when
// cpu0 is the processCPU reading taken just before the timed loop, the CPU
// time per fan-out (all goroutines, garbage collection included): the
// figure that does not depend on the other processes sharing the machine.
func reportFanout(b *testing.B, n int, cpu0 ...time.Duration) {
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(per/1e6, "ms/fanout")
	b.ReportMetric(per/1e3/float64(n), "µs/device")
	if len(cpu0) == 1 && cpu0[0] > 0 {
		b.ReportMetric(float64((processCPU()-cpu0[0]).Nanoseconds())/float64(b.N)/1e6, "cpu-ms/fanout")
	}
}

// encryptManyLoop times c.EncryptMany of one fan-out to rs, allocations and
// CPU time included (reportFanout).
func encryptManyLoop(b *testing.B, c *session.Cipher, rs []session.Recipient) {
	ctx := context.Background()
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if _, err := c.EncryptMany(ctx, rs, fanoutPlaintext); err != nil {
			b.Fatal(err)
		}
	}
	reportFanout(b, len(rs), cpu)
}

// encryptLoop times one 1:1 Encrypt to a, persistence included.
func encryptLoop(b *testing.B, c *session.Cipher, a session.Address) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Encrypt(ctx, a, fanoutPlaintext); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFanout: warm fan-out of one 100-byte message to 3,000 device
// sessions; one op is the whole fan-out. The single-1to1 cases are one
// Encrypt to one device, the unit the per-device costs compare against.
func BenchmarkFanout(b *testing.B) {
	ctx := context.Background()
	n := fanoutDevices
	b.Run("warm-3000/interlock-memory", func(b *testing.B) {
		mem, rs := ilWarm(b, n)
		c := session.NewCipher(mem, session.WithPolicy(session.AllowX3DH))
		encryptManyLoop(b, c, rs)
	})
	b.Run("warm-3000/interlock-sqlite", func(b *testing.B) {
		mem, rs := ilWarm(b, n)
		st := ilSQLite(b, mem, rs, sqlstore.RelaxedDurability())
		c := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
		encryptManyLoop(b, c, rs)
	})
	b.Run("warm-3000/interlock-sqlite-cache", func(b *testing.B) {
		// sqlstore.WithSessionCache: loads come from the cache of parsed
		// records and identities, stores still write every record to
		// SQLite in one transaction. One fan-out before the timer fills
		// the cache, as any earlier send would in a running client.
		mem, rs := ilWarm(b, n)
		st := ilSQLite(b, mem, rs, sqlstore.RelaxedDurability(), sqlstore.WithSessionCache(2*n))
		c := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
		if _, err := c.EncryptMany(ctx, rs, fanoutPlaintext); err != nil {
			b.Fatal(err)
		}
		encryptManyLoop(b, c, rs)
	})
	b.Run("warm-3000/interlock-sqlite-one-by-one", func(b *testing.B) {
		// Interlock's 1:1 Encrypt in the same loop as whatsmeow's: what
		// batching alone buys.
		mem, rs := ilWarm(b, n)
		st := ilSQLite(b, mem, rs, sqlstore.RelaxedDurability())
		c := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
		b.ReportAllocs()
		cpu := processCPU()
		for b.Loop() {
			for _, r := range rs {
				if _, _, err := c.Encrypt(ctx, r.Address, fanoutPlaintext); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportFanout(b, n, cpu)
	})
	mauFanout(b, "warm-3000/whatsmeow-sqlite", n, false, func(b *testing.B, st *waStore, addrs []*mauproto.SignalAddress) {
		st.encryptEach(b, st.Ser, addrs, fanoutPlaintext)
	})
	// The same loop inside one SQL transaction: a baseline kinder than
	// whatsmeow itself.
	mauFanout(b, "warm-3000/whatsmeow-sqlite-one-tx", n, false, func(b *testing.B, st *waStore, addrs []*mauproto.SignalAddress) {
		st.inTx(b, func() { st.encryptEach(b, st.Ser, addrs, fanoutPlaintext) })
	})
	// Today's whatsmeow send path: one SELECT and all records parsed
	// first, the writes one statement each at the end.
	mauFanout(b, "warm-3000/whatsmeow-sqlite-prefetch", n, false, func(b *testing.B, st *waStore, addrs []*mauproto.SignalAddress) {
		st.encryptPrefetched(b, st.Ser, addrs, fanoutPlaintext)
	})
	// The same with the write-back in one transaction.
	mauFanout(b, "warm-3000/whatsmeow-sqlite-prefetch-one-tx", n, false, func(b *testing.B, st *waStore, addrs []*mauproto.SignalAddress) {
		st.inTx(b, func() { st.encryptPrefetched(b, st.Ser, addrs, fanoutPlaintext) })
	})
	// As shipped: Interlock's default durability (WAL, synchronous=FULL,
	// one commit per fan-out) against whatsmeow's documented SQLite DSN
	// (rollback journal, synchronous=FULL, a commit per statement).
	b.Run("warm-3000/interlock-sqlite-default", func(b *testing.B) {
		mem, rs := ilWarm(b, n)
		c := session.NewCipher(ilSQLite(b, mem, rs), session.WithPolicy(session.AllowX3DH))
		encryptManyLoop(b, c, rs)
	})
	mauFanout(b, "warm-3000/whatsmeow-sqlite-default", n, true, func(b *testing.B, st *waStore, addrs []*mauproto.SignalAddress) {
		st.encryptEach(b, st.Ser, addrs, fanoutPlaintext)
	})
	b.Run("single-1to1/interlock-memory", func(b *testing.B) {
		mem, rs := ilWarm(b, 1)
		c := session.NewCipher(mem, session.WithPolicy(session.AllowX3DH))
		encryptLoop(b, c, rs[0].Address)
	})
	b.Run("single-1to1/interlock-sqlite", func(b *testing.B) {
		mem, rs := ilWarm(b, 1)
		encryptLoop(b, session.NewCipher(ilSQLite(b, mem, rs, sqlstore.RelaxedDurability()), session.WithPolicy(session.AllowX3DH)), rs[0].Address)
	})
}

// coldBundles returns n bundles of n distinct devices (identity, signed
// prekey, one-time prekey; a Kyber prekey when kyber).
func coldBundles(tb testing.TB, n int, kyber bool) []session.Recipient {
	rs := make([]session.Recipient, n)
	for i := range n {
		id, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
		spk, _ := prekey.GenerateSignedPreKey(rand.Reader, id, 1, time.Now())
		pk, _ := prekey.GenerateKeyPair(rand.Reader)
		b := &prekey.Bundle{
			RegistrationID: uint32(i + 1), DeviceID: uint32(i%3 + 1), IdentityKey: id.PublicKey(),
			SignedPreKeyID: 1, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
			PreKeyID: 1, PreKey: pk.Public,
		}
		if kyber {
			k, err := prekey.GenerateKyberPreKey(rand.Reader, id, 1, false, time.Now())
			if err != nil {
				tb.Fatal(err)
			}
			b.KyberPreKeyID, b.KyberPreKey, b.KyberPreKeySignature = 1, k.KeyPair.Public, k.Signature
		}
		rs[i] = session.Recipient{Address: session.Address{Name: fmt.Sprintf("user-%05d", i/3), DeviceID: uint32(i%3 + 1)}, Bundle: b}
	}
	return rs
}

// BenchmarkFanoutCold: 3,000 bundles processed and the first message
// encrypted for each, in one EncryptMany; one op is the whole batch. The
// primitive case is the key agreement alone (bundle signatures verified,
// X3DH or PQXDH as the initiator), device after device on one goroutine:
// the work no implementation can skip.
func BenchmarkFanoutCold(b *testing.B) {
	ctx := context.Background()
	n := fanoutDevices
	for _, flavour := range []struct {
		name    string
		kyber   bool
		version int
	}{{"x3dh", false, prekey.Version3}, {"pqxdh", true, prekey.Version4}} {
		var rs []session.Recipient
		bundles := func(b *testing.B) []session.Recipient {
			if rs == nil {
				rs = coldBundles(b, n, flavour.kyber)
			}
			return rs
		}
		b.Run(flavour.name+"-3000/primitive-sequential", func(b *testing.B) {
			rs := bundles(b)
			ours, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
			for b.Loop() {
				for _, r := range rs {
					if err := r.Bundle.Verify(); err != nil {
						b.Fatal(err)
					}
					if _, err := prekey.Initiate(rand.Reader, ours, r.Bundle, flavour.version); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportFanout(b, n)
		})
		b.Run(flavour.name+"-3000/interlock-memory", func(b *testing.B) {
			rs := bundles(b)
			ours, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
			for b.Loop() {
				b.StopTimer()
				c := session.NewCipher(session.NewMemoryStore(ours, 1), session.WithPolicy(session.AllowX3DH))
				b.StartTimer()
				if _, err := c.EncryptMany(ctx, rs, fanoutPlaintext); err != nil {
					b.Fatal(err)
				}
			}
			reportFanout(b, n)
		})
		b.Run(flavour.name+"-3000/interlock-sqlite", func(b *testing.B) {
			rs := bundles(b)
			ours, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
			db, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "cold.db"), sqlstore.RelaxedDurability())
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			i := 0
			for b.Loop() {
				b.StopTimer()
				i++
				st, err := db.CreateAccount(ctx, fmt.Sprint("me-", i), ours, 1)
				if err != nil {
					b.Fatal(err)
				}
				c := session.NewCipher(st, session.WithPolicy(session.AllowX3DH))
				b.StartTimer()
				if _, err := c.EncryptMany(ctx, rs, fanoutPlaintext); err != nil {
					b.Fatal(err)
				}
			}
			reportFanout(b, n)
		})
	}
}
