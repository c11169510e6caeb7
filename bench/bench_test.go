package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/interop/mau"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	mauproto "go.mau.fi/libsignal/protocol"
)

// The same work, done by Interlock and by go.mau.fi/libsignal v0.2.1 (the
// library whatsmeow uses), in one run. go.mau.fi keeps its records
// serialized (as whatsmeow's SQL store does); Interlock is measured with
// its MemoryStore (records copied in and out) and with a store that
// serializes records on every load and store, the like-for-like case.

// conversation is one 1:1 session from the initiator's side to the
// responder's, for either implementation.
type conversation interface {
	// send encrypts on side from (0 = initiator, 1 = responder).
	send(tb testing.TB, from int, msg []byte) (int, []byte)
	recv(tb testing.TB, to int, typ int, ct []byte) []byte
}

type impl struct {
	name string
	// setup builds a fresh pair and processes the responder's bundle; v is
	// the message version (3 = X3DH, 4 = PQXDH).
	setup func(tb testing.TB, v int) conversation
}

var impls = []impl{
	{"interlock", func(tb testing.TB, v int) conversation { return newInterlock(tb, v, false) }},
	{"interlock-serialized", func(tb testing.TB, v int) conversation { return newInterlock(tb, v, true) }},
	{"mau", func(tb testing.TB, v int) conversation { return newMau(tb) }},
}

// ---- Interlock ----

type ilParty struct {
	addr   session.Address
	id     prekey.IdentityKeyPair
	store  session.Store
	cipher *session.Cipher
}

type ilConv struct{ p [2]*ilParty }

// serializingStore stores sessions as bytes, as a database would.
type serializingStore struct {
	*session.MemoryStore
	records map[session.Address][]byte
}

func (s *serializingStore) LoadSession(_ context.Context, a session.Address) (*session.Record, error) {
	b, ok := s.records[a]
	if !ok {
		return nil, nil
	}
	return session.UnmarshalRecord(b)
}

func (s *serializingStore) DeleteSession(_ context.Context, a session.Address) error {
	delete(s.records, a)
	return nil
}

func (s *serializingStore) StoreSession(_ context.Context, a session.Address, r *session.Record) error {
	b, err := r.Marshal()
	if err != nil {
		return err
	}
	s.records[a] = b
	return nil
}

func newILParty(tb testing.TB, name string, v int, serialized bool) *ilParty {
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	mem := session.NewMemoryStore(id, 1)
	var st session.Store = mem
	if serialized {
		st = &serializingStore{MemoryStore: mem, records: map[session.Address][]byte{}}
	}
	policy := session.RequirePQXDH
	if v == 3 {
		policy = session.AllowX3DH
	}
	return &ilParty{addr: session.Address{Name: name, DeviceID: 1}, id: id, store: st, cipher: session.NewCipher(st, session.WithPolicy(policy))}
}

func (p *ilParty) bundle(tb testing.TB, v int) *prekey.Bundle {
	ctx := context.Background()
	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, p.id, 1, time.Now())
	pks, _ := prekey.GeneratePreKeys(rand.Reader, 1, 1)
	if err := p.store.StoreSignedPreKey(ctx, &spk); err != nil {
		tb.Fatal(err)
	}
	if err := p.store.StorePreKey(ctx, &pks[0]); err != nil {
		tb.Fatal(err)
	}
	b := &prekey.Bundle{
		RegistrationID: 1, DeviceID: 1, IdentityKey: p.id.PublicKey(),
		SignedPreKeyID: 1, SignedPreKey: spk.KeyPair.Public, SignedPreKeySignature: spk.Signature,
		PreKeyID: pks[0].ID, PreKey: pks[0].KeyPair.Public,
	}
	if v == 4 {
		k, _ := prekey.GenerateKyberPreKey(rand.Reader, p.id, 1, true, time.Now())
		if err := p.store.StoreKyberPreKey(ctx, &k); err != nil {
			tb.Fatal(err)
		}
		b.KyberPreKeyID, b.KyberPreKey, b.KyberPreKeySignature = 1, k.KeyPair.Public, k.Signature
	}
	return b
}

func newInterlock(tb testing.TB, v int, serialized bool) *ilConv {
	a, b := newILParty(tb, "alice", v, serialized), newILParty(tb, "bob", v, serialized)
	if err := a.cipher.ProcessBundle(context.Background(), b.addr, b.bundle(tb, v)); err != nil {
		tb.Fatal(err)
	}
	return &ilConv{[2]*ilParty{a, b}}
}

func (c *ilConv) send(tb testing.TB, from int, msg []byte) (int, []byte) {
	typ, ct, err := c.p[from].cipher.Encrypt(context.Background(), c.p[1-from].addr, msg)
	if err != nil {
		tb.Fatal(err)
	}
	return int(typ), ct
}

func (c *ilConv) recv(tb testing.TB, to int, typ int, ct []byte) []byte {
	pt, err := c.p[to].cipher.Decrypt(context.Background(), c.p[1-to].addr, session.MessageType(typ), ct)
	if err != nil {
		tb.Fatal(err)
	}
	return pt
}

// ---- go.mau.fi/libsignal ----

type mauConv struct {
	p    [2]*mau.Party
	addr [2]*mauproto.SignalAddress
}

func newMau(tb testing.TB) *mauConv {
	a, err := mau.NewParty("alice", 1, 1)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := mau.NewParty("bob", 1, 2)
	if err != nil {
		tb.Fatal(err)
	}
	c := &mauConv{p: [2]*mau.Party{a, b}, addr: [2]*mauproto.SignalAddress{a.LocalAddress(), b.LocalAddress()}}
	bundle, _, err := b.NewBundle(1, 1)
	if err != nil {
		tb.Fatal(err)
	}
	if err := a.ProcessBundle(c.addr[1], bundle); err != nil {
		tb.Fatal(err)
	}
	return c
}

func (c *mauConv) send(tb testing.TB, from int, msg []byte) (int, []byte) {
	m, err := c.p[from].Encrypt(c.addr[1-from], msg)
	if err != nil {
		tb.Fatal(err)
	}
	return int(m.Type()), m.Serialize()
}

func (c *mauConv) recv(tb testing.TB, to int, typ int, ct []byte) []byte {
	pt, err := c.p[to].Decrypt(c.addr[1-to], uint32(typ), ct)
	if err != nil {
		tb.Fatal(err)
	}
	return pt
}

// established answers the first message so both sides are in the ratchet.
func established(tb testing.TB, im impl, v int) conversation {
	c := im.setup(tb, v)
	typ, ct := c.send(tb, 0, []byte("hello"))
	c.recv(tb, 1, typ, ct)
	typ, ct = c.send(tb, 1, []byte("hi"))
	c.recv(tb, 0, typ, ct)
	return c
}

// BenchmarkSetup: bundle processed, first message encrypted, responder
// decrypts it.
func BenchmarkSetup(b *testing.B) {
	for _, v := range []int{3, 4} {
		for _, im := range impls {
			if im.name == "mau" && v == 4 {
				continue // no Kyber in go.mau.fi/libsignal
			}
			name := map[int]string{3: "x3dh", 4: "pqxdh"}[v]
			b.Run(name+"/"+im.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c := im.setup(b, v)
					typ, ct := c.send(b, 0, []byte("hello"))
					c.recv(b, 1, typ, ct)
				}
			})
		}
	}
}

// BenchmarkSteadyState: encrypt then decrypt in one direction.
func BenchmarkSteadyState(b *testing.B) {
	for _, size := range []int{64, 1024, 64 << 10} {
		for _, im := range impls {
			b.Run(fmt.Sprintf("%dB/%s", size, im.name), func(b *testing.B) {
				c := established(b, im, 3)
				msg := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					typ, ct := c.send(b, 0, msg)
					c.recv(b, 1, typ, ct)
				}
			})
		}
	}
}

// BenchmarkPingPong: directions alternate, so every message takes a DH
// ratchet step.
func BenchmarkPingPong(b *testing.B) {
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			c := established(b, im, 3)
			msg := make([]byte, 64)
			b.ReportAllocs()
			from := 0
			for b.Loop() {
				typ, ct := c.send(b, from, msg)
				c.recv(b, 1-from, typ, ct)
				from = 1 - from
			}
		})
	}
}

// BenchmarkReverse1000: 1,000 messages delivered in reverse order (the
// skipped-key path); one op is the whole batch.
func BenchmarkReverse1000(b *testing.B) {
	for _, im := range impls {
		b.Run(im.name, func(b *testing.B) {
			msg := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				c := established(b, im, 3)
				b.StartTimer()
				type w struct {
					typ int
					ct  []byte
				}
				ws := make([]w, 1000)
				for i := range ws {
					ws[i].typ, ws[i].ct = c.send(b, 0, msg)
				}
				for i := len(ws) - 1; i >= 0; i-- {
					c.recv(b, 1, ws[i].typ, ws[i].ct)
				}
			}
		})
	}
}
