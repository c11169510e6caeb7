package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// The multi-process soak test (issue #19 item 3) and the scale-out
// measurement (item 4). Workers are this test binary run again with
// soakChildEnv set to a soakSpec.

const soakChildEnv = "INTERLOCK_SQLSTORE_SOAK_CHILD"

// The soak's population: alice's devices 1..soakAlice and bob's devices
// 1..soakBob, each a local account (a device's identity is its account's:
// session.PerAccount), one conversation per pair of devices (200), and
// soakGroups groups: group g is sent by alice.(g+1) to bob.1–4 for g < 5,
// by bob.(g-4) to alice.1–4 otherwise.
const (
	soakAlice  = 10
	soakBob    = 20
	soakGroups = 10
	soakHot    = 6 // conversations most operations pick, to make them race
)

type soakSpec struct {
	Mode    string // "soak" or "bench"
	Backend string // "sqlite" or "postgres"
	DSN     string
	Worker  int
	Until   int64 // Unix milliseconds
	Convs   []int // bench: the conversations this worker runs
}

func soakDevice(side string, dev int) string { return side + "." + strconv.Itoa(dev) }

func soakAddr(account string) session.Address {
	for i := len(account) - 1; i >= 0; i-- {
		if account[i] == '.' {
			d, _ := strconv.Atoi(account[i+1:])
			return session.Address{Name: account[:i], DeviceID: uint32(d)}
		}
	}
	return session.Address{Name: account}
}

// soakConv returns the two accounts of conversation i.
func soakConv(i int) (alice, bob string) {
	return soakDevice("alice", i/soakBob+1), soakDevice("bob", i%soakBob+1)
}

func soakDist(g int) string { return fmt.Sprintf("5a0c%04d-0000-4000-8000-000000000000", g) }

// soakGroup returns group g's sender and members.
func soakGroup(g int) (sender string, members []string) {
	if g < soakGroups/2 {
		sender = soakDevice("alice", g+1)
		for d := 1; d <= 4; d++ {
			members = append(members, soakDevice("bob", d))
		}
		return sender, members
	}
	sender = soakDevice("bob", g-soakGroups/2+1)
	for d := 1; d <= 4; d++ {
		members = append(members, soakDevice("alice", d))
	}
	return sender, members
}

func soakOpen(ctx context.Context, backend, dsn string) (*sqlstore.DB, error) {
	if backend == "sqlite" {
		return sqlstore.Open(ctx, dsn)
	}
	return sqlstore.OpenPostgres(ctx, dsn)
}

// soakDDL creates the soak's own tables: the messages acknowledged (queued
// in the transaction that encrypted them), their decryptions, every message
// key used (1:1: sender, recipient, ratchet key, counter; group: sender,
// distribution, chain ID, iteration) and the workers' errors.
func soakDDL(backend string) []string {
	id := "BIGSERIAL PRIMARY KEY"
	blob := "BYTEA"
	if backend == "sqlite" {
		id, blob = "INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"
	}
	return []string{
		`CREATE TABLE soak_msgs (id ` + id + `, kind INTEGER NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
			dist TEXT NOT NULL, typ INTEGER NOT NULL, ct ` + blob + ` NOT NULL, pt TEXT NOT NULL, state INTEGER NOT NULL)`,
		`CREATE INDEX soak_msgs_pending ON soak_msgs (recipient, state)`,
		`CREATE TABLE soak_decrypts (msg_id BIGINT NOT NULL, worker INTEGER NOT NULL)`,
		`CREATE TABLE soak_keys (kind INTEGER NOT NULL, owner TEXT NOT NULL, peer TEXT NOT NULL, chain ` + blob + ` NOT NULL, counter BIGINT NOT NULL)`,
		`CREATE TABLE soak_errors (worker INTEGER NOT NULL, what TEXT NOT NULL)`,
	}
}

// soakQ rewrites $n placeholders for SQLite.
func soakQ(backend, stmt string) string {
	if backend != "sqlite" {
		return stmt
	}
	return string(bytes.ReplaceAll([]byte(stmt), []byte("$"), []byte("?")))
}

// soakWorld is one process's view: a Store per local account.
type soakWorld struct {
	backend string
	db      *sqlstore.DB
	stores  map[string]*sqlstore.Store
	worker  int
	rng     *mrand.Rand
}

func openSoakWorld(ctx context.Context, backend, dsn string, worker int) (*soakWorld, error) {
	db, err := soakOpen(ctx, backend, dsn)
	if err != nil {
		return nil, err
	}
	w := &soakWorld{backend: backend, db: db, stores: map[string]*sqlstore.Store{}, worker: worker,
		rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), uint64(worker)))}
	names, err := db.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if w.stores[n], err = db.Account(ctx, n); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *soakWorld) q(stmt string) string { return soakQ(w.backend, stmt) }

// send1 encrypts one message from account from to account to and queues
// it, logging its message key, in the encryption's transaction.
func (w *soakWorld) send1(ctx context.Context, from, to string) error {
	var nonce [6]byte
	rand.Read(nonce[:])
	pt := fmt.Sprintf("%s>%s %x", from, to, nonce)
	return w.stores[from].Transact(ctx, func(tx session.Store) error {
		typ, ct, err := session.NewCipher(tx).Encrypt(ctx, soakAddr(to), []byte(pt))
		if err != nil {
			return err
		}
		var m *session.SignalMessage
		if typ == session.TypePreKey {
			p, err := session.ParsePreKeySignalMessage(ct)
			if err != nil {
				return err
			}
			m = p.Message
		} else if m, err = session.ParseSignalMessage(ct); err != nil {
			return err
		}
		sqlTx := mustTx(tx)
		if _, err := sqlTx.ExecContext(ctx, w.q(`INSERT INTO soak_keys (kind, owner, peer, chain, counter) VALUES (0, $1, $2, $3, $4)`),
			from, to, m.RatchetKey.Bytes(), int64(m.Counter)); err != nil {
			return err
		}
		_, err = sqlTx.ExecContext(ctx, w.q(`INSERT INTO soak_msgs (kind, sender, recipient, dist, typ, ct, pt, state) VALUES (0, $1, $2, '', $3, $4, $5, 0)`),
			from, to, typ, ct, pt)
		return err
	})
}

// sendGroup encrypts one group message of group g through group.Cipher's
// own transaction (TransactSenderKeys: what keeps two processes off one
// iteration), then logs its iteration and queues it for every member in a
// second transaction. A kill between the two loses the message (never
// acknowledged) and its log entry: the duplicate check may miss a use,
// never invent one.
func (w *soakWorld) sendGroup(ctx context.Context, g int) error {
	sender, members := soakGroup(g)
	var nonce [6]byte
	rand.Read(nonce[:])
	pt := fmt.Sprintf("%s>group%d %x", sender, g, nonce)
	a := soakAddr(sender)
	self := group.SenderKeyName{Sender: a.Name, DeviceID: a.DeviceID, DistributionID: soakDist(g)}
	ct, err := group.NewCipher(w.stores[sender]).Encrypt(ctx, self, []byte(pt))
	if err != nil {
		return err
	}
	m, err := group.ParseSenderKeyMessage(ct, group.LayoutSignal)
	if err != nil {
		return err
	}
	return w.stores[sender].Transact(ctx, func(tx session.Store) error {
		sqlTx := mustTx(tx)
		if _, err := sqlTx.ExecContext(ctx, w.q(`INSERT INTO soak_keys (kind, owner, peer, chain, counter) VALUES (1, $1, $2, $3, $4)`),
			sender, soakDist(g), binary.BigEndian.AppendUint32(nil, m.ChainID), int64(m.Iteration)); err != nil {
			return err
		}
		for _, r := range members {
			if _, err := sqlTx.ExecContext(ctx, w.q(`INSERT INTO soak_msgs (kind, sender, recipient, dist, typ, ct, pt, state) VALUES (1, $1, $2, $3, 0, $4, $5, 0)`),
				sender, r, soakDist(g), ct, pt); err != nil {
				return err
			}
		}
		return nil
	})
}

type soakMsg struct {
	id                int64
	kind, typ         session.MessageType
	sender, recipient string
	dist, pt          string
	ct                []byte
}

// pending returns up to n undelivered messages to recipient, oldest first
// ("" for any recipient).
func (w *soakWorld) pending(ctx context.Context, recipient string, n int) ([]soakMsg, error) {
	stmt := `SELECT id, kind, typ, sender, recipient, dist, pt, ct FROM soak_msgs WHERE state = 0`
	args := []any{}
	if recipient != "" {
		stmt += ` AND recipient = $1`
		args = append(args, recipient)
	}
	stmt += ` ORDER BY id LIMIT ` + strconv.Itoa(n)
	rows, err := w.db.SQL().QueryContext(ctx, w.q(stmt), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []soakMsg
	for rows.Next() {
		var m soakMsg
		if err := rows.Scan(&m.id, &m.kind, &m.typ, &m.sender, &m.recipient, &m.dist, &m.pt, &m.ct); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// errAlreadyDelivered: another process decrypted the message first (the
// library refused it as a duplicate, as it must).
var errAlreadyDelivered = errors.New("already delivered")

// receive decrypts m for its recipient and records the decryption, in the
// decryption's transaction.
func (w *soakWorld) receive(ctx context.Context, m soakMsg) error {
	st, ok := w.stores[m.recipient]
	if !ok {
		return fmt.Errorf("no account %s", m.recipient)
	}
	return st.Transact(ctx, func(tx session.Store) error {
		var pt []byte
		var err error
		from := soakAddr(m.sender)
		if m.kind == 0 {
			pt, err = session.NewCipher(tx).Decrypt(ctx, from, m.typ, m.ct)
		} else {
			pt, err = group.NewCipher(tx.(*sqlstore.Store)).Decrypt(ctx,
				group.SenderKeyName{Sender: from.Name, DeviceID: from.DeviceID, DistributionID: m.dist}, m.ct)
		}
		if errors.Is(err, session.ErrDuplicateMessage) || errors.Is(err, group.ErrDuplicateMessage) {
			var state int
			if qerr := mustTx(tx).QueryRowContext(ctx, w.q(`SELECT state FROM soak_msgs WHERE id = $1`), m.id).Scan(&state); qerr == nil && state == 1 {
				return errAlreadyDelivered
			}
			return fmt.Errorf("message %d refused as a duplicate but never delivered: %w", m.id, err)
		}
		if err != nil {
			return fmt.Errorf("message %d (%s→%s): %w", m.id, m.sender, m.recipient, err)
		}
		if string(pt) != m.pt {
			return fmt.Errorf("message %d decrypted to %q, want %q", m.id, pt, m.pt)
		}
		sqlTx := mustTx(tx)
		if _, err := sqlTx.ExecContext(ctx, w.q(`INSERT INTO soak_decrypts (msg_id, worker) VALUES ($1, $2)`), m.id, w.worker); err != nil {
			return err
		}
		_, err = sqlTx.ExecContext(ctx, w.q(`UPDATE soak_msgs SET state = 1 WHERE id = $1`), m.id)
		return err
	})
}

// pickConv picks a conversation, most often one of the hot few.
func (w *soakWorld) pickConv() int {
	if w.rng.IntN(2) == 0 {
		return w.rng.IntN(soakHot)
	}
	return w.rng.IntN(soakAlice * soakBob)
}

// soakStep runs one random operation.
func (w *soakWorld) soakStep(ctx context.Context) error {
	switch op := w.rng.IntN(20); {
	case op < 7:
		a, b := soakConv(w.pickConv())
		if w.rng.IntN(2) == 0 {
			a, b = b, a
		}
		return w.send1(ctx, a, b)
	case op < 10:
		return w.sendGroup(ctx, w.rng.IntN(2)) // two hot groups …
	case op < 11:
		return w.sendGroup(ctx, w.rng.IntN(soakGroups)) // … and the others
	default:
		// Deliver to a hot recipient or any: several workers race for the
		// same messages and the same sessions.
		recipient := ""
		if w.rng.IntN(2) == 0 {
			a, b := soakConv(w.pickConv())
			recipient = [2]string{a, b}[w.rng.IntN(2)]
		}
		msgs, err := w.pending(ctx, recipient, 3)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := w.receive(ctx, m); err != nil && !errors.Is(err, errAlreadyDelivered) {
				return err
			}
		}
		return nil
	}
}

// retryable reports whether err is a transient database error a worker
// retries: a PostgreSQL deadlock or serialisation failure, SQLite busy.
func retryable(err error) bool {
	s := err.Error()
	for _, p := range []string{"40P01", "40001", "SQLITE_BUSY", "database is locked"} {
		if bytes.Contains([]byte(s), []byte(p)) {
			return true
		}
	}
	return false
}

func soakChild(specJSON string) error {
	var spec soakSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return err
	}
	ctx := context.Background()
	w, err := openSoakWorld(ctx, spec.Backend, spec.DSN, spec.Worker)
	if err != nil {
		return err
	}
	defer w.db.Close()
	until := time.UnixMilli(spec.Until)
	if spec.Mode == "bench" {
		return w.bench(ctx, spec.Convs, until)
	}
	for time.Now().Before(until) {
		if err := w.soakStep(ctx); err != nil {
			if retryable(err) {
				continue
			}
			w.db.SQL().ExecContext(ctx, w.q(`INSERT INTO soak_errors (worker, what) VALUES ($1, $2)`), w.worker, err.Error())
			return err
		}
	}
	return nil
}

// bench runs round trips on convs until the deadline: alice's device
// encrypts, bob's decrypts, bob's answers, alice's decrypts; each step a
// committed transaction. It prints the number of messages.
func (w *soakWorld) bench(ctx context.Context, convs []int, until time.Time) error {
	n := 0
	for time.Now().Before(until) {
		for _, c := range convs {
			a, b := soakConv(c)
			for _, p := range [][2]string{{a, b}, {b, a}} {
				from, to := w.stores[p[0]], w.stores[p[1]]
				typ, ct, err := session.NewCipher(from).Encrypt(ctx, soakAddr(p[1]), []byte("scale-out"))
				if err != nil {
					return err
				}
				if _, err := session.NewCipher(to).Decrypt(ctx, soakAddr(p[0]), typ, ct); err != nil {
					return err
				}
				n++
			}
		}
	}
	fmt.Printf("MESSAGES %d\n", n)
	return nil
}

// soakSetup creates the accounts, the 200 sessions (one round trip each)
// and the 10 groups' chains, distributed to their members.
func soakSetup(t testing.TB, ctx context.Context, db *sqlstore.DB, backend string, convs []int) {
	t.Helper()
	ids := map[string]prekey.IdentityKeyPair{}
	stores := map[string]*sqlstore.Store{}
	for side, n := range map[string]int{"alice": soakAlice, "bob": soakBob} {
		id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ids[side] = id
		for d := 1; d <= n; d++ {
			reg, err := prekey.GenerateRegistrationID(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			name := soakDevice(side, d)
			if stores[name], err = db.CreateAccount(ctx, name, id, reg); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := 0
	for range 4 {
		wg.Go(func() {
			for {
				mu.Lock()
				if next >= len(convs) || firstErr != nil {
					mu.Unlock()
					return
				}
				c := convs[next]
				next++
				mu.Unlock()
				if err := soakHandshake(ctx, stores, ids, c); err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	for g := range soakGroups {
		sender, members := soakGroup(g)
		a := soakAddr(sender)
		self := group.SenderKeyName{Sender: a.Name, DeviceID: a.DeviceID, DistributionID: soakDist(g)}
		skdm, err := group.NewCipher(stores[sender]).CreateDistributionMessage(ctx, self)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if err := group.NewCipher(stores[m]).ProcessDistributionMessage(ctx, self, skdm); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range soakDDL(backend) {
		if _, err := db.SQL().ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

// soakHandshake starts conversation c: bob's device publishes a bundle,
// alice's processes it and sends, bob's decrypts and answers, alice's
// decrypts.
func soakHandshake(ctx context.Context, stores map[string]*sqlstore.Store, ids map[string]prekey.IdentityKeyPair, c int) error {
	a, b := soakConv(c)
	bob := &party{addr: soakAddr(b), id: ids["bob"], store: stores[b]}
	reg, err := stores[b].LocalRegistrationID(ctx)
	if err != nil {
		return err
	}
	bob.reg = reg
	bundle, err := bob.bundleWithID(ctx, uint32(c+1))
	if err != nil {
		return err
	}
	ca, cb := session.NewCipher(stores[a]), session.NewCipher(stores[b])
	if err := ca.ProcessBundle(ctx, soakAddr(b), bundle); err != nil {
		return err
	}
	for _, p := range []struct {
		from, to *session.Cipher
		f, t     string
	}{{ca, cb, a, b}, {cb, ca, b, a}} {
		typ, ct, err := p.from.Encrypt(ctx, soakAddr(p.t), []byte("hello"))
		if err != nil {
			return err
		}
		if _, err := p.to.Decrypt(ctx, soakAddr(p.f), typ, ct); err != nil {
			return fmt.Errorf("handshake %s→%s: %w", p.f, p.t, err)
		}
	}
	return nil
}

// startSoakWorker starts worker i.
func startSoakWorker(t testing.TB, spec soakSpec) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	b, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), soakChildEnv+"="+string(b))
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// TestMultiProcessSoak (issue #19 item 3): 4 worker processes over one
// database (PostgreSQL, then one SQLite file) serve 200 conversations and
// 10 groups between 2 accounts' devices, racing on the same addresses,
// while the supervisor SIGKILLs a random worker every 1–3 s and restarts
// it. At the end every acknowledged message (queued in the transaction that
// encrypted it) has been decrypted exactly once, no message key or
// sender-key iteration was used twice (each encryption logged its key in
// its own transaction), and every session works both ways.
// INTERLOCK_SOAK_SECONDS sets the duration of each backend's run (default
// 15). It runs without the race detector (make unit runs it so).
func TestMultiProcessSoak(t *testing.T) {
	if raceEnabled {
		t.Skip("run without -race (make unit does): the race detector slows the workers tenfold")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	secs := 15
	if n, err := strconv.Atoi(os.Getenv("INTERLOCK_SOAK_SECONDS")); err == nil && n > 0 {
		secs = n
	}
	t.Run("PostgreSQL", func(t *testing.T) { runSoak(t, "postgres", postgresSchemaURL(t), secs) })
	t.Run("SQLite", func(t *testing.T) {
		runSoak(t, "sqlite", filepath.Join(t.TempDir(), "soak.db"), secs)
	})
}

func runSoak(t *testing.T, backend, dsn string, secs int) {
	ctx := context.Background()
	db, err := soakOpen(ctx, backend, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all := make([]int, soakAlice*soakBob)
	for i := range all {
		all[i] = i
	}
	soakSetup(t, ctx, db, backend, all)

	until := time.Now().Add(time.Duration(secs) * time.Second)
	const workers = 4
	cmds := make([]*exec.Cmd, workers)
	outs := make([]*bytes.Buffer, workers)
	done := make([]chan error, workers)
	start := func(i int) {
		cmds[i], outs[i] = startSoakWorker(t, soakSpec{Mode: "soak", Backend: backend, DSN: dsn, Worker: i, Until: until.UnixMilli()})
		ch := make(chan error, 1)
		c := cmds[i]
		go func() { ch <- c.Wait() }()
		done[i] = ch
	}
	for i := range workers {
		start(i)
	}
	kills := 0
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for {
		pause := time.Second + time.Duration(rng.IntN(2000))*time.Millisecond
		if time.Until(until) < pause+500*time.Millisecond {
			break
		}
		time.Sleep(pause)
		i := rng.IntN(workers)
		select {
		case err := <-done[i]:
			t.Fatalf("worker %d ended early: %v\n%s", i, err, outs[i])
		default:
		}
		cmds[i].Process.Signal(syscall.SIGKILL)
		<-done[i]
		kills++
		start(i)
	}
	for i := range workers {
		if err := <-done[i]; err != nil {
			t.Errorf("worker %d: %v\n%s", i, err, outs[i])
		}
	}
	w, err := openSoakWorld(ctx, backend, dsn, 99)
	if err != nil {
		t.Fatal(err)
	}
	defer w.db.Close()
	var werrs []string
	rows, err := w.db.SQL().QueryContext(ctx, `SELECT what FROM soak_errors`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		werrs = append(werrs, s)
	}
	rows.Close()
	if len(werrs) > 0 {
		t.Fatalf("workers failed: %v", werrs)
	}
	// Drain: deliver what is still queued, in order.
	for {
		msgs, err := w.pending(ctx, "", 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if err := w.receive(ctx, m); err != nil {
				t.Fatalf("draining: %v", err)
			}
		}
	}
	count := func(stmt string) int {
		t.Helper()
		var n int
		if err := w.db.SQL().QueryRowContext(ctx, stmt).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	msgs := count(`SELECT COUNT(*) FROM soak_msgs`)
	oneToOne := count(`SELECT COUNT(*) FROM soak_msgs WHERE kind = 0`)
	groupSends := count(`SELECT COUNT(*) FROM soak_keys WHERE kind = 1`)
	notOnce := count(`SELECT COUNT(*) FROM soak_msgs m WHERE (SELECT COUNT(*) FROM soak_decrypts d WHERE d.msg_id = m.id) <> 1`)
	dupKeys := count(`SELECT COUNT(*) FROM (SELECT kind, owner, peer, chain, counter FROM soak_keys
		GROUP BY kind, owner, peer, chain, counter HAVING COUNT(*) > 1) AS x`)
	dupDecrypts := count(`SELECT COUNT(*) FROM (SELECT msg_id FROM soak_decrypts GROUP BY msg_id HAVING COUNT(*) > 1) AS x`)
	byWorkers := count(`SELECT COUNT(*) FROM soak_decrypts WHERE worker <> 99`)
	if keys := count(`SELECT COUNT(*) FROM soak_keys`); keys != oneToOne+groupSends {
		t.Errorf("%d keys logged for %d encryptions", keys, oneToOne+groupSends)
	}
	if notOnce > 0 || dupKeys > 0 || dupDecrypts > 0 {
		t.Errorf("%d messages not decrypted exactly once, %d message keys or iterations used twice, %d decrypted twice", notOnce, dupKeys, dupDecrypts)
	}
	if kills == 0 || byWorkers == 0 {
		t.Errorf("the soak did too little: %d kills, %d messages decrypted by the workers", kills, byWorkers)
	}
	// Every session works both ways.
	for c := range soakAlice * soakBob {
		a, b := soakConv(c)
		for _, p := range [][2]string{{a, b}, {b, a}} {
			typ, ct, err := session.NewCipher(w.stores[p[0]]).Encrypt(ctx, soakAddr(p[1]), []byte("still there"))
			if err != nil {
				t.Fatalf("%s→%s after the soak: %v", p[0], p[1], err)
			}
			if pt, err := session.NewCipher(w.stores[p[1]]).Decrypt(ctx, soakAddr(p[0]), typ, ct); err != nil || string(pt) != "still there" {
				t.Fatalf("%s→%s after the soak: %q, %v", p[0], p[1], pt, err)
			}
		}
	}
	fmt.Printf("soak %s: %d messages (%d 1:1, %d group deliveries of %d group messages; %d decrypted by workers), 4 workers, %d kills, duplicates: %d message keys, %d decryptions, %d not decrypted once; 200 sessions work both ways\n",
		backend, msgs, oneToOne, msgs-oneToOne, groupSends, byWorkers, kills, dupKeys, dupDecrypts, notOnce)
}

// TestMultiProcessScaleOut (issue #19 item 4) measures messages per second
// (encrypt, decrypt, each persisted in its own transaction) with 1, 2 and 4
// processes over one PostgreSQL database, each process on conversations of
// its own. It runs only with INTERLOCK_SCALEOUT=1 (scripts/scaleout.sh).
func TestMultiProcessScaleOut(t *testing.T) {
	if os.Getenv("INTERLOCK_SCALEOUT") == "" {
		t.Skip("set INTERLOCK_SCALEOUT=1 (scripts/scaleout.sh)")
	}
	secs := 10
	if n, err := strconv.Atoi(os.Getenv("INTERLOCK_SCALEOUT_SECONDS")); err == nil && n > 0 {
		secs = n
	}
	ctx := context.Background()
	for _, procs := range []int{1, 2, 4} {
		dsn := postgresSchemaURL(t)
		db, err := soakOpen(ctx, "postgres", dsn)
		if err != nil {
			t.Fatal(err)
		}
		const per = 8
		convs := make([]int, procs*per)
		for i := range convs {
			convs[i] = i * 7 % (soakAlice * soakBob) // distinct devices where possible
		}
		soakSetup(t, ctx, db, "postgres", convs)
		db.Close()
		until := time.Now().Add(time.Duration(secs) * time.Second)
		cmds := make([]*exec.Cmd, procs)
		outs := make([]*bytes.Buffer, procs)
		for i := range procs {
			cmds[i], outs[i] = startSoakWorker(t, soakSpec{Mode: "bench", Backend: "postgres", DSN: dsn, Worker: i,
				Until: until.UnixMilli(), Convs: convs[i*per : (i+1)*per]})
		}
		total := 0
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Fatalf("process %d: %v\n%s", i, err, outs[i])
			}
			var n int
			if _, err := fmt.Sscanf(outs[i].String(), "MESSAGES %d", &n); err != nil {
				t.Fatalf("process %d: %q", i, outs[i])
			}
			total += n
		}
		fmt.Printf("scale-out: %d process(es): %d messages in %ds = %.0f messages/s (encrypt+decrypt, each committed)\n",
			procs, total, secs, float64(total)/float64(secs))
	}
}

// mustTx is the transaction of a Store given to a Transact function.
func mustTx(st any) *sql.Tx {
	tx, _ := sqlstore.SQLTx(st)
	return tx
}
