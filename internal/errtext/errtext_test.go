package errtext_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/fingerprint"
	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/media"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore/sqlite"
)

type peer struct {
	addr   session.Address
	id     prekey.IdentityKeyPair
	reg    uint32
	store  *session.MemoryStore
	cipher *session.Cipher
}

func newPeer(t *testing.T, name string) *peer {
	t.Helper()
	id, err := prekey.GenerateIdentityKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := prekey.GenerateRegistrationID(nil)
	if err != nil {
		t.Fatal(err)
	}
	st := session.NewMemoryStore(id, reg)
	return &peer{addr: session.Address{Name: name, DeviceID: 1}, id: id, reg: reg, store: st, cipher: session.NewCipher(st)}
}

func (p *peer) bundle(t *testing.T) *prekey.Bundle {
	t.Helper()
	ctx := context.Background()
	spk, err := prekey.GenerateSignedPreKey(nil, p.id, 1, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kyber, err := prekey.GenerateKyberPreKey(nil, p.id, 1, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otk, err := prekey.GeneratePreKeys(nil, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{p.store.StoreSignedPreKey(ctx, &spk), p.store.StoreKyberPreKey(ctx, &kyber), p.store.StorePreKey(ctx, &otk[0])} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return prekey.NewBundle(p.reg, 1, p.id.PublicKey(), &spk, &otk[0], &kyber)
}

var word = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// doubled returns a package prefix repeated at once in msg ("ratchet:
// ratchet: …"), or "".
func doubled(msg string) string {
	parts := strings.Split(msg, ": ")
	for i := 0; i+1 < len(parts); i++ {
		f := strings.Fields(parts[i])
		if len(f) == 0 {
			continue
		}
		if last := f[len(f)-1]; word.MatchString(last) && last == parts[i+1] {
			return last
		}
	}
	return ""
}

// TestIssue16Item6ErrorStrings: typical errors of every package, produced
// through the public API, name each package once in a row and each address
// once (issue #16 item 6).
func TestIssue16Item6ErrorStrings(t *testing.T) {
	ctx := context.Background()
	alice, bob := newPeer(t, "alice-aci"), newPeer(t, "bob-aci")
	if err := alice.cipher.ProcessBundle(ctx, bob.addr, bob.bundle(t)); err != nil {
		t.Fatal(err)
	}
	typ, first, err := alice.cipher.Encrypt(ctx, bob.addr, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.cipher.Decrypt(ctx, alice.addr, typ, first); err != nil {
		t.Fatal(err)
	}
	rtyp, reply, err := bob.cipher.Encrypt(ctx, alice.addr, []byte("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.cipher.Decrypt(ctx, bob.addr, rtyp, reply); err != nil {
		t.Fatal(err)
	}
	_, unsent, err := bob.cipher.Encrypt(ctx, alice.addr, []byte("again"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(unsent)
	tampered[len(tampered)-1] ^= 1
	mallory := newPeer(t, "mallory-aci")
	stranger := session.Address{Name: "carol-aci", DeviceID: 7}

	// Stored state that no longer parses, on SQLite.
	db, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	carolID, err := prekey.GenerateIdentityKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	carolStore, err := db.CreateAccount(ctx, "carol", carolID, 7)
	if err != nil {
		t.Fatal(err)
	}
	carol := session.NewCipher(carolStore)
	if err := carol.ProcessBundle(ctx, bob.addr, bob.bundle(t)); err != nil {
		t.Fatal(err)
	}
	carolGroup := group.NewCipher(carolStore)
	self := group.SenderKeyName{Sender: "carol-aci", DeviceID: 1, DistributionID: "5a6b1d2e-3f40-4152-8364-758697a8b9ca"}
	if _, err := carolGroup.CreateDistributionMessage(ctx, self); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE interlock_sessions SET record = x'0a0102'`, `UPDATE interlock_sender_keys SET record = x'0a0102'`} {
		if _, err := db.SQL().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	type gen struct {
		name string
		addr string // an address the text may name at most once
		err  func() error
	}
	gens := []gen{
		{"session duplicate", bob.addr.String(), func() error { _, err := alice.cipher.Decrypt(ctx, bob.addr, rtyp, reply); return err }},
		{"session bad MAC", bob.addr.String(), func() error {
			_, err := alice.cipher.Decrypt(ctx, bob.addr, session.TypeSignal, tampered)
			return err
		}},
		{"session garbage signal", bob.addr.String(), func() error {
			_, err := alice.cipher.Decrypt(ctx, bob.addr, session.TypeSignal, []byte{0x33, 1, 2, 3})
			return err
		}},
		{"session garbage prekey", bob.addr.String(), func() error {
			_, err := alice.cipher.Decrypt(ctx, bob.addr, session.TypePreKey, []byte{0x44, 1, 2, 3})
			return err
		}},
		{"session unknown type", bob.addr.String(), func() error {
			_, err := alice.cipher.Decrypt(ctx, bob.addr, session.MessageType(99), reply)
			return err
		}},
		{"session no session", stranger.String(), func() error {
			_, err := alice.cipher.Decrypt(ctx, stranger, rtyp, reply)
			return err
		}},
		{"session encrypt no session", stranger.String(), func() error {
			_, _, err := alice.cipher.Encrypt(ctx, stranger, []byte("x"))
			return err
		}},
		{"session untrusted identity", bob.addr.String(), func() error {
			return alice.cipher.ProcessBundle(ctx, bob.addr, mallory.bundle(t))
		}},
		{"session wrong sender", mallory.addr.String(), func() error {
			_, err := bob.cipher.Decrypt(ctx, mallory.addr, session.TypeSignal, reply)
			return err
		}},
		{"session corrupt stored record", bob.addr.String(), func() error {
			_, _, err := carol.Encrypt(ctx, bob.addr, []byte("x"))
			return err
		}},
		{"group corrupt stored record", self.String(), func() error {
			_, err := carolGroup.Encrypt(ctx, self, []byte("x"))
			return err
		}},
		{"group garbage", "", func() error {
			g := group.NewCipher(group.NewMemoryStore())
			_, err := g.Decrypt(ctx, group.SenderKeyName{Sender: "alice-aci", DeviceID: 1, DistributionID: "5a6b1d2e-3f40-4152-8364-758697a8b9ca"}, []byte{0x33, 1, 2})
			return err
		}},
		{"sealedsender garbage", "", func() error {
			_, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, []byte{0x11, 1, 2, 3}, sealedsender.DecryptOptions{})
			return err
		}},
		{"envelope garbage", "", func() error { _, _, err := envelope.Open(ctx, bob.cipher, []byte{0xff, 0xff}); return err }},
		{"envelope whatsapp", alice.addr.String(), func() error {
			_, err := envelope.OpenWhatsApp(ctx, bob.cipher, alice.addr, "msg", []byte{0x33, 1, 2})
			return err
		}},
		{"media", "", func() error {
			blob := make([]byte, 64)
			var out bytes.Buffer
			return media.DecryptWhatsApp(&out, bytes.NewReader(blob), int64(len(blob)), media.Image, make([]byte, media.MediaKeySize), nil)
		}},
		{"prekey", "", func() error { _, err := prekey.NewIdentityKey([]byte{1, 2, 3}); return err }},
		{"fingerprint", "", func() error {
			_, err := fingerprint.New(fingerprint.VersionACI, make([]byte, 16), prekey.IdentityKey{}, make([]byte, 16), alice.id.PublicKey())
			return err
		}},
	}
	for _, g := range gens {
		err := g.err()
		if err == nil {
			t.Errorf("%s: no error", g.name)
			continue
		}
		msg := err.Error()
		t.Logf("%s: %s", g.name, msg)
		if p := doubled(msg); p != "" {
			t.Errorf("%s: prefix %q doubled in %q", g.name, p, msg)
		}
		if g.addr != "" && strings.Count(msg, g.addr) > 1 {
			t.Errorf("%s: address %s named %d times in %q", g.name, g.addr, strings.Count(msg, g.addr), msg)
		}
	}
	// A corrupt record says "session: corrupt record" once, not "session:
	// record of … does not parse: session: corrupt record: …".
	if _, _, err := carol.Encrypt(ctx, bob.addr, []byte("x")); err == nil || strings.Count(err.Error(), "session: ") != 1 || !errors.Is(err, session.ErrCorruptRecord) {
		t.Errorf("corrupt record: %v", err)
	}
}
