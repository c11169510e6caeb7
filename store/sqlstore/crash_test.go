package sqlstore_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// crashChildEnv names the database a re-executed test binary works on as
// the crash test's child.
const crashChildEnv = "INTERLOCK_SQLSTORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(soakChildEnv); spec != "" {
		if err := soakChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "soak child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := crashChild(path); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// ack is one message the child saw decrypt: the receiver, the message and,
// for a PreKeySignalMessage, the one-time prekey it consumed.
type ack struct {
	toBob  bool
	typ    session.MessageType
	ct     []byte
	preKey uint32
}

func (a ack) String() string {
	return fmt.Sprintf("ACK %t %d %d %s\n", a.toBob, a.typ, a.preKey, hex.EncodeToString(a.ct))
}

func parseAck(line string) (ack, error) {
	f := strings.Fields(line)
	if len(f) != 5 || f[0] != "ACK" {
		return ack{}, fmt.Errorf("bad line %q", line)
	}
	var a ack
	a.toBob = f[1] == "true"
	typ, err := strconv.Atoi(f[2])
	if err != nil {
		return ack{}, err
	}
	a.typ = session.MessageType(typ)
	id, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return ack{}, err
	}
	a.preKey = uint32(id)
	if a.ct, err = hex.DecodeString(f[4]); err != nil {
		return ack{}, err
	}
	return a, nil
}

// crashPair is the two accounts of the crash test, loaded from the file.
type crashPair struct {
	db         *sqlstore.DB
	alice, bob *party
}

func openCrashPair(ctx context.Context, path string) (*crashPair, error) {
	db, err := sqlstore.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	p := &crashPair{db: db}
	for _, name := range []string{"alice", "bob"} {
		s, err := db.Account(ctx, name)
		if err != nil {
			db.Close()
			return nil, err
		}
		id, _ := s.IdentityKeyPair(ctx)
		reg, _ := s.LocalRegistrationID(ctx)
		pt := &party{addr: session.Address{Name: name, DeviceID: 1}, id: id, reg: reg, store: s, cipher: session.NewCipher(s)}
		if name == "alice" {
			p.alice = pt
		} else {
			p.bob = pt
		}
	}
	return p, nil
}

// send encrypts from one side and decrypts on the other; ok reports that the
// decryption returned.
func (p *crashPair) send(ctx context.Context, toBob bool, text string) (ack, error) {
	from, to := p.bob, p.alice
	if toBob {
		from, to = p.alice, p.bob
	}
	typ, ct, err := from.cipher.Encrypt(ctx, to.addr, []byte(text))
	if err != nil {
		return ack{}, fmt.Errorf("encrypt: %w", err)
	}
	a := ack{toBob: toBob, typ: typ, ct: ct}
	if typ == session.TypePreKey {
		m, err := session.ParsePreKeySignalMessage(ct)
		if err != nil {
			return ack{}, err
		}
		if m.HasPreKeyID {
			a.preKey = m.PreKeyID
		}
	}
	pt, err := to.cipher.Decrypt(ctx, from.addr, typ, ct)
	if err != nil {
		return ack{}, fmt.Errorf("decrypt: %w", err)
	}
	if string(pt) != text {
		return ack{}, fmt.Errorf("decrypted %q, want %q", pt, text)
	}
	return a, nil
}

// newBundle has Bob publish fresh prekeys under the next unused ID and
// Alice start a new session from them.
func (p *crashPair) newBundle(ctx context.Context) error {
	ids, err := p.bob.store.SignedPreKeyIDs(ctx)
	if err != nil {
		return err
	}
	next := uint32(1)
	if len(ids) > 0 {
		next = ids[len(ids)-1] + 1
	}
	b, err := p.bob.bundleWithID(ctx, next)
	if err != nil {
		return err
	}
	return p.alice.cipher.ProcessBundle(ctx, p.bob.addr, b)
}

// crashChild talks until it is killed, printing every acknowledged message.
func crashChild(path string) error {
	ctx := context.Background()
	p, err := openCrashPair(ctx, path)
	if err != nil {
		return err
	}
	os.Stdout.WriteString("READY\n")
	rng := mrand.New(mrand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
	for i := 0; ; i++ {
		if rng.IntN(30) == 0 {
			if err := p.newBundle(ctx); err != nil {
				return err
			}
		}
		a, err := p.send(ctx, rng.IntN(2) == 0, fmt.Sprintf("child %d message %d", os.Getpid(), i))
		if err != nil {
			return err
		}
		// One write of a short line: the parent sees all of it or none.
		os.Stdout.WriteString(a.String())
	}
}

// TestCrash kills a child process that talks between two accounts of one
// SQLite file at random points (SIGKILL), at least 200 times (20 with
// -short). After every kill the parent reopens the file and checks that the
// last message the child acknowledged cannot be decrypted again (its
// decryption was committed), that the one-time prekeys of acknowledged
// PreKeySignalMessages are gone, and that the conversation continues in both
// directions. At the end no acknowledged message decrypts again.
func TestCrash(t *testing.T) {
	kills := 200
	if testing.Short() {
		kills = 20
	}
	ctx := context.Background()
	path := t.TempDir() + "/crash.db"
	db, err := sqlstore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		if _, err := newParty(ctx, db, name); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	p, err := openCrashPair(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.newBundle(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.send(ctx, true, "hello"); err != nil {
		t.Fatal(err)
	}
	p.db.Close()

	start := time.Now()
	var all []ack
	rng := mrand.New(mrand.NewPCG(1, uint64(time.Now().UnixNano())))
	for k := range kills {
		acks, err := runCrashChild(path, time.Duration(rng.IntN(120))*time.Millisecond, rng.IntN(10) == 0)
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		all = append(all, acks...)
		p, err := openCrashPair(ctx, path)
		if err != nil {
			t.Fatalf("kill %d: reopening: %v", k, err)
		}
		if len(acks) > 0 {
			last := acks[len(acks)-1]
			if err := p.redeliver(ctx, last); !errors.Is(err, session.ErrDuplicateMessage) && !errors.Is(err, session.ErrInvalidMessage) {
				t.Fatalf("kill %d: the last acknowledged message: %v, want it refused as a duplicate", k, err)
			}
		}
		for _, a := range acks {
			if a.preKey != 0 {
				if _, err := p.bob.store.LoadPreKey(ctx, a.preKey); !errors.Is(err, session.ErrInvalidPreKey) {
					t.Fatalf("kill %d: one-time prekey %d of an acknowledged message still stored (%v)", k, a.preKey, err)
				}
			}
		}
		for _, toBob := range []bool{true, false} {
			if _, err := p.send(ctx, toBob, fmt.Sprintf("parent after kill %d", k)); err != nil {
				t.Fatalf("kill %d: the conversation does not continue: %v", k, err)
			}
		}
		p.db.Close()
	}

	p, err = openCrashPair(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.db.Close()
	for i, a := range all {
		if err := p.redeliver(ctx, a); err == nil {
			t.Fatalf("acknowledged message %d decrypted a second time", i)
		}
	}
	t.Logf("%d kills, %d acknowledged messages, %v", kills, len(all), time.Since(start).Round(time.Millisecond))
}

// redeliver decrypts an acknowledged message again; it must fail.
func (p *crashPair) redeliver(ctx context.Context, a ack) error {
	to, from := p.alice, p.bob
	if a.toBob {
		to, from = p.bob, p.alice
	}
	_, err := to.cipher.Decrypt(ctx, from.addr, a.typ, a.ct)
	if err == nil {
		return errors.New("decrypted again")
	}
	return err
}

// runCrashChild starts a child on path, kills it with SIGKILL after delay
// (counted from its READY line, or from its start when early is set) and
// returns the messages it acknowledged.
func runCrashChild(path string, delay time.Duration, early bool) ([]ack, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1024)
	readErr := make(chan error, 1)
	go func() {
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				// A line without its newline was cut by the kill: ignore it.
				close(lines)
				readErr <- nil
				return
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	var acks []ack
	var parseErr error
	collect := func(line string) {
		if line == "READY" || parseErr != nil {
			return
		}
		a, err := parseAck(line)
		if err != nil {
			parseErr = err
			return
		}
		acks = append(acks, a)
	}
	kill := time.After(delay)
	if !early {
		select {
		case line, ok := <-lines:
			if !ok || line != "READY" {
				cmd.Process.Kill()
				cmd.Wait()
				return nil, fmt.Errorf("child did not start: %q %s", line, stderr.String())
			}
			kill = time.After(delay)
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			cmd.Wait()
			return nil, errors.New("child did not start within 30s")
		}
	}
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				// The child exited by itself: that is a failure.
				cmd.Wait()
				return nil, fmt.Errorf("child exited before the kill: %s", stderr.String())
			}
			collect(line)
		case <-kill:
			done = true
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return nil, err
	}
	for line := range lines {
		collect(line)
	}
	<-readErr
	werr := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return nil, fmt.Errorf("child did not die of SIGKILL: %v %s", werr, stderr.String())
	}
	return acks, parseErr
}
