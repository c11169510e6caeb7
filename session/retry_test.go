package session_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

func TestDecryptionErrorMessage(t *testing.T) {
	alice, bob := newParty(t, "alice"), newParty(t, "bob")
	if err := alice.cipher.ProcessBundle(context.Background(), bob.addr, bob.bundle(t, true, true)); err != nil {
		t.Fatal(err)
	}
	pre := alice.send(t, bob, "first")
	if pre.typ != session.TypePreKey {
		t.Fatalf("type %d", pre.typ)
	}
	bob.recv(t, alice, pre)
	reply := bob.send(t, alice, "reply")
	alice.recv(t, bob, reply)
	sig := alice.send(t, bob, "second")

	for _, tc := range []struct {
		name string
		w    []byte
		typ  session.MessageType
	}{{"prekey", pre.ct, session.TypePreKey}, {"signal", sig.ct, session.TypeSignal}} {
		m, err := session.NewDecryptionErrorMessage(tc.w, tc.typ, 1_700_000_000_123, 7)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var want []byte
		if tc.typ == session.TypePreKey {
			pm, _ := session.ParsePreKeySignalMessage(tc.w)
			want = pm.Message.RatchetKey.Bytes()
		} else {
			sm, _ := session.ParseSignalMessage(tc.w)
			want = sm.RatchetKey.Bytes()
		}
		if !bytes.Equal(m.RatchetKey.Bytes(), want) {
			t.Fatalf("%s: ratchet key differs", tc.name)
		}
		p, err := session.ParseDecryptionErrorMessage(m.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if !p.RatchetKey.Equal(m.RatchetKey) || p.Timestamp != 1_700_000_000_123 || p.DeviceID != 7 || !bytes.Equal(p.Bytes(), m.Bytes()) {
			t.Fatalf("%s: round trip %+v", tc.name, p)
		}
		// Wrapped in a PlaintextContent.
		pc := session.NewPlaintextContent(m)
		raw := pc.Bytes()
		if raw[0] != 0xC0 || raw[len(raw)-1] != 0x80 {
			t.Fatalf("plaintext content %x", raw)
		}
		pc2, err := session.ParsePlaintextContent(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pc2.DecryptionErrorMessage()
		if err != nil || !bytes.Equal(got.Bytes(), m.Bytes()) {
			t.Fatalf("from plaintext content: %v", err)
		}
		// Extra zero padding after the boundary is accepted.
		padded, _ := session.ParsePlaintextContent(append(raw, 0, 0, 0))
		if _, err := padded.DecryptionErrorMessage(); err != nil {
			t.Fatal(err)
		}
	}

	// Sender-key: no ratchet key; the exact bytes libsignal writes.
	m, err := session.NewDecryptionErrorMessage([]byte("anything"), session.TypeSenderKey, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !m.RatchetKey.IsZero() || !bytes.Equal(m.Bytes(), []byte{0x10, 0x01, 0x18, 0x02}) {
		t.Fatalf("sender-key: %x", m.Bytes())
	}
	if _, err := session.NewDecryptionErrorMessage(nil, session.TypePlaintext, 1, 2); err == nil {
		t.Fatal("plaintext accepted")
	}
	if _, err := session.NewDecryptionErrorMessage([]byte{0x44, 1}, session.TypeSignal, 1, 2); !errors.Is(err, session.ErrInvalidMessage) {
		t.Fatalf("malformed original: %v", err)
	}
}

func TestParseDecryptionErrorMessageErrors(t *testing.T) {
	for _, tc := range []struct {
		b    []byte
		want error
	}{
		{nil, session.ErrInvalidMessage},                              // no timestamp
		{[]byte{0x18, 0x01}, session.ErrInvalidMessage},               // device only
		{[]byte{0x10}, session.ErrInvalidMessage},                     // truncated
		{[]byte{0x12, 0x01, 0x00}, session.ErrInvalidMessage},         // wrong wire type
		{[]byte{0x0a, 0x01, 0x05, 0x10, 0x01}, session.ErrInvalidKey}, // short key
	} {
		if _, err := session.ParseDecryptionErrorMessage(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%x: %v, want %v", tc.b, err, tc.want)
		}
	}
	if m, err := session.ParseDecryptionErrorMessage([]byte{0x10, 0x05}); err != nil || m.DeviceID != 0 || m.Timestamp != 5 {
		t.Fatalf("timestamp only: %+v %v", m, err)
	}
	for _, b := range [][]byte{nil, {0xC1}, {0x80}} {
		if _, err := session.ParsePlaintextContent(b); !errors.Is(err, session.ErrInvalidMessage) {
			t.Errorf("plaintext %x: %v", b, err)
		}
	}
	for _, b := range [][]byte{{0xC0}, {0xC0, 0x42}, {0xC0, 0x08, 0x01, 0x80}, {0xC0, 0x80}} {
		p, err := session.ParsePlaintextContent(b)
		if err != nil {
			t.Fatalf("only 0xC0 is checked: %x %v", b, err)
		}
		if _, err := p.DecryptionErrorMessage(); !errors.Is(err, session.ErrInvalidMessage) {
			t.Errorf("body %x: %v", b, err)
		}
	}
}

func FuzzParseDecryptionErrorMessage(f *testing.F) {
	m, _ := session.NewDecryptionErrorMessage(nil, session.TypeSenderKey, 1_700_000_000_000, 3)
	f.Add(m.Bytes())
	f.Add([]byte{0x0a, 0x21, 0x05})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := session.ParseDecryptionErrorMessage(b)
		if err != nil {
			if m != nil {
				t.Fatal("non-nil message with an error")
			}
			return
		}
		if !bytes.Equal(m.Bytes(), b) {
			t.Fatal("Bytes differs from the input")
		}
	})
}

func FuzzParsePlaintextContent(f *testing.F) {
	m, _ := session.NewDecryptionErrorMessage(nil, session.TypeSenderKey, 1_700_000_000_000, 3)
	f.Add(session.NewPlaintextContent(m).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := session.ParsePlaintextContent(b)
		if err != nil {
			if p != nil {
				t.Fatal("non-nil content with an error")
			}
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatal("Bytes differs from the input")
		}
		if d, err := p.DecryptionErrorMessage(); err == nil {
			if _, err := session.ParseDecryptionErrorMessage(d.Bytes()); err != nil {
				t.Fatal(err)
			}
		}
	})
}
