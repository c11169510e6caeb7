package session_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/session"
)

// secretSet collects byte strings that must never reach a log.
type secretSet map[string]string // value -> what it is

// publicFields are the stored fields that are not secret.
var publicFields = map[protoreflect.Name]bool{
	"local_identity_public": true, "remote_identity_public": true, "alice_base_key": true,
	"base_key": true, "sender_ratchet_key": true, "public": true, "public_key": true,
	"signature": true, "ciphertext": true,
}

// addProto adds every non-public bytes field of m (recursively) of 16
// bytes or more.
func (s secretSet) addProto(what string, m protoreflect.Message) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := range v.List().Len() {
				s.addProto(what, v.List().Get(i).Message())
			}
		case fd.Kind() == protoreflect.MessageKind:
			s.addProto(what, v.Message())
		case fd.Kind() == protoreflect.BytesKind && !fd.IsList() && !publicFields[fd.Name()]:
			s.add(what+"."+string(fd.Name()), v.Bytes())
		}
		return true
	})
}

func (s secretSet) add(what string, b []byte) {
	if len(b) >= 16 {
		s[string(b)] = what
	}
}

// addRecord adds the secrets of the session record p holds for addr.
func (s secretSet) addRecord(t *testing.T, p *party, addr session.Address) {
	t.Helper()
	b := p.record(t, addr)
	if b == nil {
		return
	}
	var pb signalpb.RecordStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	s.addProto(p.addr.Name+" record of "+addr.String(), pb.ProtoReflect())
}

// addGroup adds the secrets of a sender-key record.
func (s secretSet) addGroup(t *testing.T, st *group.MemoryStore, n group.SenderKeyName) {
	t.Helper()
	r, err := st.LoadSenderKey(context.Background(), n)
	if err != nil || r == nil {
		t.Fatalf("sender key %s: %v", n, err)
	}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var pb signalpb.SenderKeyRecordStructure
	if err := proto.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	s.addProto("sender key "+n.String(), pb.ProtoReflect())
}

// addKeys adds p's identity private key and its prekeys' private keys.
func (s secretSet) addKeys(t *testing.T, p *party, b *prekey.Bundle) {
	t.Helper()
	ctx := context.Background()
	id, err := prekey.MarshalIdentityKeyPair(p.id)
	if err != nil {
		t.Fatal(err)
	}
	var ipb signalpb.IdentityKeyPairStructure
	if err := proto.Unmarshal(id, &ipb); err != nil {
		t.Fatal(err)
	}
	s.addProto(p.addr.Name+" identity", ipb.ProtoReflect())
	add := func(what string, raw []byte, m proto.Message) {
		if err := proto.Unmarshal(raw, m); err != nil {
			t.Fatal(err)
		}
		s.addProto(p.addr.Name+" "+what, m.ProtoReflect())
	}
	if spk, err := p.store.LoadSignedPreKey(ctx, b.SignedPreKeyID); err == nil {
		raw, _ := spk.Marshal()
		add("signed prekey", raw, &signalpb.SignedPreKeyRecordStructure{})
	}
	if b.HasPreKey() {
		if pk, err := p.store.LoadPreKey(ctx, b.PreKeyID); err == nil {
			raw, _ := pk.Marshal()
			add("one-time prekey", raw, &signalpb.PreKeyRecordStructure{})
		}
	}
	if b.HasKyberPreKey() {
		if k, err := p.store.LoadKyberPreKey(ctx, b.KyberPreKeyID); err == nil {
			raw, _ := k.Marshal()
			add("Kyber prekey", raw, &signalpb.KyberPreKeyRecordStructure{})
		}
	}
}

// leaks returns a description of the first secret found in log, raw or in
// hex, base64 or base64url (padded or not), whole or its first 16 bytes;
// the log's JSON string values are also searched decoded.
func (s secretSet) leaks(log []byte) string {
	var decoded strings.Builder
	for _, line := range bytes.Split(log, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			return "a log line is not JSON: " + string(line)
		}
		for _, v := range m {
			fmt.Fprint(&decoded, v, "\x00")
		}
	}
	hay := string(log) + "\x00" + decoded.String()
	lower := strings.ToLower(hay)
	for secret, what := range s {
		for _, b := range [][]byte{[]byte(secret), []byte(secret)[:16]} {
			forms := []string{
				string(b), base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
				base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
			}
			for _, f := range forms {
				if strings.Contains(hay, f) {
					return what
				}
			}
			if strings.Contains(lower, hex.EncodeToString(b)) {
				return what + " (hex)"
			}
		}
	}
	return ""
}

// TestIssue16LogsNoSecrets (issue #16, "must have" 2): a long conversation
// in both flavours — first messages, a ratchet step per turn, messages out
// of order, a new session that archives the old one and a late message that
// promotes it back, refused messages of every kind, group messages and a
// sender-key rotation — logged at debug level by a JSON handler. The log
// has every event the issue names and not one byte of any root key, chain
// key, message key, private key, plaintext or ciphertext of the
// conversation, raw or encoded. The counters agree with what happened.
func TestIssue16LogsNoSecrets(t *testing.T) {
	for _, flavour := range []struct {
		name   string
		policy session.Policy
		kyber  bool
	}{{"signal", session.RequirePQXDH, true}, {"whatsapp", session.AllowX3DH, false}} {
		t.Run(flavour.name, func(t *testing.T) {
			ctx := context.Background()
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			var metrics session.Metrics
			opts := []session.Option{session.WithPolicy(flavour.policy), session.WithLogger(logger), session.WithMetrics(&metrics)}
			alice, bob := newParty(t, "alice", opts...), newParty(t, "bob", opts...)
			secrets := secretSet{}
			var wires []wire
			snap := func() {
				secrets.addRecord(t, alice, bob.addr)
				secrets.addRecord(t, bob, alice.addr)
			}
			send := func(from, to *party, i int) wire {
				w := from.send(t, to, fmt.Sprintf("secret plaintext %s %d, not for the logs", flavour.name, i))
				secrets.add("plaintext", []byte(w.pt))
				secrets.add("ciphertext", w.ct)
				wires = append(wires, w)
				snap()
				return w
			}

			b1 := bob.bundle(t, true, flavour.kyber)
			secrets.addKeys(t, bob, b1)
			secrets.addKeys(t, alice, b1)
			if err := alice.cipher.ProcessBundle(ctx, bob.addr, b1); err != nil {
				t.Fatal(err)
			}
			snap()
			// Forty turns, each direction in bursts delivered out of order.
			n := 0
			for turn := range 40 {
				from, to := alice, bob
				if turn%2 == 1 {
					from, to = bob, alice
				}
				var burst []wire
				for range 1 + turn%3 {
					burst = append(burst, send(from, to, n))
					n++
				}
				for i := len(burst) - 1; i >= 0; i-- {
					to.recv(t, from, burst[i])
					snap()
				}
			}
			// Refused: a duplicate, a forged MAC, an unknown type, garbage.
			last := wires[len(wires)-1]
			if _, err := alice.cipher.Decrypt(ctx, bob.addr, last.typ, last.ct); !errors.Is(err, session.ErrDuplicateMessage) {
				t.Fatalf("duplicate: %v", err)
			}
			w := send(alice, bob, n)
			n++
			forged := append([]byte(nil), w.ct...)
			forged[len(forged)-1] ^= 0xff
			if _, err := bob.cipher.Decrypt(ctx, alice.addr, w.typ, forged); !errors.Is(err, session.ErrInvalidMessage) {
				t.Fatalf("forged: %v", err)
			}
			bob.recv(t, alice, w)
			if _, err := bob.cipher.Decrypt(ctx, alice.addr, 42, w.ct); err == nil {
				t.Fatal("unknown type decrypted")
			}
			if _, err := bob.cipher.Decrypt(ctx, alice.addr, session.TypeSignal, []byte("garbage")); err == nil {
				t.Fatal("garbage decrypted")
			}
			if _, err := bob.cipher.Decrypt(ctx, session.Address{Name: "nobody", DeviceID: 1}, w.typ, w.ct); !errors.Is(err, session.ErrNoSession) {
				t.Fatalf("no session: %v", err)
			}
			// A new session: Bob archives the old one; Alice's late message of
			// the old session promotes it back on Bob's side.
			late := send(alice, bob, n)
			n++
			b2 := bob.bundle(t, true, flavour.kyber)
			secrets.addKeys(t, bob, b2)
			if err := alice.cipher.ProcessBundle(ctx, bob.addr, b2); err != nil {
				t.Fatal(err)
			}
			snap()
			fresh := send(alice, bob, n)
			n++
			bob.recv(t, alice, fresh)
			snap()
			bob.recv(t, alice, late)
			snap()
			// A stranger under Alice's name: untrusted.
			mallory := newParty(t, "alice", opts...)
			if err := mallory.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t, true, flavour.kyber)); err != nil {
				t.Fatal(err)
			}
			mw := mallory.send(t, bob, "mallory")
			secrets.add("ciphertext", mw.ct)
			if _, err := bob.cipher.Decrypt(ctx, alice.addr, mw.typ, mw.ct); !errors.Is(err, session.ErrUntrustedIdentity) {
				t.Fatalf("untrusted: %v", err)
			}

			// Group messages, with a rotation.
			gs := group.NewMemoryStore()
			ga := group.NewCipher(gs, group.WithLogger(logger))
			gb := group.NewCipher(group.NewMemoryStore(), group.WithLogger(logger))
			self := group.SenderKeyName{Sender: "alice", DeviceID: 1, DistributionID: "5e1fbd2c-4b0e-4a4c-9f53-1f2d6a0c8e11"}
			from := group.SenderKeyName{Sender: "alice", DeviceID: 1}
			for round := range 2 {
				if round == 1 {
					if err := gs.StoreSenderKey(ctx, self, group.NewRecord()); err != nil { // rotate
						t.Fatal(err)
					}
				}
				dm, err := ga.CreateDistributionMessage(ctx, self)
				if err != nil {
					t.Fatal(err)
				}
				secrets.add("sender chain key", dm.ChainKey)
				secrets.addGroup(t, gs, self)
				if err := gb.ProcessDistributionMessage(ctx, from, dm); err != nil {
					t.Fatal(err)
				}
				for i := range 10 {
					pt := fmt.Sprintf("secret group plaintext %d %d", round, i)
					ct, err := ga.Encrypt(ctx, self, []byte(pt))
					if err != nil {
						t.Fatal(err)
					}
					secrets.add("group plaintext", []byte(pt))
					secrets.add("group ciphertext", ct)
					secrets.addGroup(t, gs, self)
					if _, err := gb.Decrypt(ctx, from, ct); err != nil {
						t.Fatal(err)
					}
					if i == 9 {
						if _, err := gb.Decrypt(ctx, from, ct); !errors.Is(err, group.ErrDuplicateMessage) {
							t.Fatalf("group duplicate: %v", err)
						}
					}
				}
			}

			log := buf.Bytes()
			for _, event := range []string{
				"session: session created", "session: session archived", "session: archived session promoted",
				"session: identity changed", "session: prekey consumed", "session: message refused",
				`"kind":"duplicate"`, `"kind":"invalid"`, `"kind":"no_session"`, `"kind":"untrusted_identity"`,
				"group: own sender key created", "group: sender key received", "group: sender key rotated",
				"group: message refused",
			} {
				if !bytes.Contains(log, []byte(event)) {
					t.Errorf("no %q in the log", event)
				}
			}
			// The checker finds a secret in each form.
			for _, form := range []func([]byte) string{hex.EncodeToString, base64.StdEncoding.EncodeToString} {
				for sec := range secrets {
					if secrets.leaks(fmt.Appendf(nil, "{\"msg\":%q}\n", form([]byte(sec)))) == "" {
						t.Fatal("the leak checker misses a secret")
					}
					break
				}
			}
			if what := secrets.leaks(log); what != "" {
				t.Fatalf("the log holds a secret: %s", what)
			}
			m := metrics.Snapshot()
			if m.SessionsCreated != 5 || m.SessionsArchived < 2 || m.SessionsPromoted < 1 || m.PreKeysConsumed != 2 ||
				m.DecryptFailures[session.FailureDuplicate] != 1 || m.DecryptFailures[session.FailureNoSession] != 1 ||
				m.DecryptFailures[session.FailureUntrusted] != 1 || m.DecryptFailures[session.FailureInvalid] != 3 ||
				m.Decrypted != uint64(n) {
				t.Errorf("metrics: %+v (%d sent)", m, n)
			}
			if flavour.kyber && m.KyberPreKeysConsumed != 2 {
				t.Errorf("Kyber prekeys consumed: %d, want 2", m.KyberPreKeysConsumed)
			}
			t.Logf("%d log lines, %d secrets checked, %+v", bytes.Count(log, []byte("\n")), len(secrets), m)
		})
	}
}

// TestIssue16NoLoggerNoOutput: without WithLogger nothing is logged (the
// default slog logger sees nothing), and FailureKindOf classifies the
// sentinels.
func TestIssue16NoLoggerNoOutput(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)
	alice, bob := established(t)
	w := alice.send(t, bob, "x")
	bob.recv(t, alice, w)
	if _, err := bob.cipher.Decrypt(context.Background(), alice.addr, w.typ, w.ct); err == nil {
		t.Fatal("decrypted twice")
	}
	if buf.Len() != 0 {
		t.Fatalf("logged without a logger: %s", buf.String())
	}
	for err, want := range map[error]session.FailureKind{
		session.ErrDuplicateMessage:                         session.FailureDuplicate,
		fmt.Errorf("x: %w", session.ErrTooFar):              session.FailureTooFar,
		session.ErrReusedBaseKey:                            session.FailureReusedBaseKey,
		session.ErrInvalidPreKey:                            session.FailureInvalidPreKey,
		&session.UntrustedIdentityError{}:                   session.FailureUntrusted,
		fmt.Errorf("%w: x", session.ErrInvalidMessage):      session.FailureInvalid,
		context.Canceled:                                    session.FailureCanceled,
		errors.New("disk on fire"):                          session.FailureOther,
		fmt.Errorf("%w: x", session.ErrNoSession):           session.FailureNoSession,
		fmt.Errorf("%w: x", session.ErrUnsupported):         session.FailureUnsupported,
		&session.CorruptRecordError{Err: errors.New("bad")}: session.FailureCorruptRecord,
		fmt.Errorf("%w: x", session.ErrInvalidKey):          session.FailureInvalidKey,
	} {
		if got := session.FailureKindOf(err); got != want {
			t.Errorf("FailureKindOf(%v) = %q, want %q", err, got, want)
		}
	}
}
