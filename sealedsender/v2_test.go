package sealedsender_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
)

func forgeV1(t *testing.T, recipient prekey.IdentityKey, sealer prekey.IdentityKeyPair, c *sealedsender.UnidentifiedSenderMessageContent) []byte {
	t.Helper()
	b, err := sealedsender.SealV1(rand.Reader, recipient, sealer, c.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustServiceID(t testing.TB, s string) sealedsender.ServiceID {
	t.Helper()
	id, err := sealedsender.ParseServiceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type v2Fixture struct {
	srv               *server
	alice             *party
	bob1, bob2, carol *party
	bobID, carolID    sealedsender.ServiceID
	daveID            sealedsender.ServiceID
	content           *sealedsender.UnidentifiedSenderMessageContent
	recipients        []sealedsender.Recipient
	sent              []byte
}

func newV2Fixture(t *testing.T) *v2Fixture {
	t.Helper()
	f := &v2Fixture{srv: newServer(t, 1)}
	f.alice = newParty(t, aliceUUID, 1)
	f.bob1 = newParty(t, bobUUID, 1)
	f.bob2 = newPartyWith(t, bobUUID, 7, f.bob1.id) // one account, one identity
	f.carol = newParty(t, carolUUID, 1)
	f.bobID, f.carolID = mustServiceID(t, bobUUID), mustServiceID(t, "PNI:"+carolUUID)
	f.daveID = mustServiceID(t, daveUUID)
	var err error
	f.content, err = sealedsender.NewContent(session.TypeSenderKey, f.srv.issue(t, f.alice), []byte("sender key message"), sealedsender.HintImplicit, []byte("group id"))
	if err != nil {
		t.Fatal(err)
	}
	f.recipients = []sealedsender.Recipient{
		{ServiceID: f.bobID, IdentityKey: f.bob1.id.PublicKey(), Devices: []sealedsender.Device{{ID: 1, RegistrationID: 0x3FFF}, {ID: 7, RegistrationID: 5}}},
		{ServiceID: f.carolID, IdentityKey: f.carol.id.PublicKey(), Devices: []sealedsender.Device{{ID: 1, RegistrationID: 1234}}},
	}
	f.sent, err = sealedsender.EncryptMultiRecipient(rand.Reader, f.recipients, []sealedsender.ServiceID{f.daveID}, f.alice.id, f.content)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestMultiRecipientRoundTrip(t *testing.T) {
	f := newV2Fixture(t)
	if f.sent[0] != sealedsender.VersionV2Sent {
		t.Fatalf("version 0x%02x", f.sent[0])
	}
	m, err := sealedsender.ParseSentMessage(f.sent)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Recipients) != 3 || m.Recipients[0].ServiceID != f.bobID || m.Recipients[1].ServiceID != f.carolID ||
		m.Recipients[2].ServiceID != f.daveID || len(m.Recipients[2].Devices) != 0 {
		t.Fatalf("recipients %+v", m.Recipients)
	}
	if d := m.Recipients[0].Devices; len(d) != 2 || d[0] != (sealedsender.Device{ID: 1, RegistrationID: 0x3FFF}) || d[1] != (sealedsender.Device{ID: 7, RegistrationID: 5}) {
		t.Fatalf("bob's devices %+v", d)
	}
	for _, r := range []struct {
		p  *party
		id sealedsender.ServiceID
	}{{f.bob1, f.bobID}, {f.bob2, f.bobID}, {f.carol, f.carolID}} {
		rm, err := sealedsender.SplitForRecipient(f.sent, r.id, r.p.addr.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		if rm[0] != sealedsender.VersionV2Received {
			t.Fatalf("received version 0x%02x", rm[0])
		}
		c, err := sealedsender.DecryptToContent(r.p.id, rm)
		if err != nil {
			t.Fatalf("%v: %v", r.p.addr, err)
		}
		if !bytes.Equal(c.Bytes(), f.content.Bytes()) || c.Type() != session.TypeSenderKey || string(c.GroupID()) != "group id" || c.ContentHint() != sealedsender.HintImplicit {
			t.Fatal("content differs")
		}
		if err := c.SenderCertificate().Validate(f.srv.root.Public, f.srv.expires); err != nil {
			t.Fatal(err)
		}
	}
	// Not for Carol's key, not for unlisted devices, not for the excluded.
	bobMsg, _ := sealedsender.SplitForRecipient(f.sent, f.bobID, 1)
	if _, err := sealedsender.DecryptToContent(f.carol.id, bobMsg); !errors.Is(err, sealedsender.ErrInvalidMessage) {
		t.Fatalf("Bob's message opened by Carol: %v", err)
	}
	for _, tc := range []struct {
		id     sealedsender.ServiceID
		device uint32
	}{{f.bobID, 2}, {f.daveID, 1}, {mustServiceID(t, carolUUID), 1}} {
		if _, err := sealedsender.SplitForRecipient(f.sent, tc.id, tc.device); !errors.Is(err, sealedsender.ErrUnknownRecipient) {
			t.Fatalf("%s.%d: %v", tc.id, tc.device, err)
		}
	}
}

// TestMultiRecipientDecryptMessage: a v2 message through DecryptMessage,
// including a 1:1 inner message that the session decrypts.
func TestMultiRecipientDecryptMessage(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, 1)
	alice, bob := newParty(t, aliceUUID, 1), newParty(t, bobUUID, 2)
	alice.connect(t, bob)
	recipients, err := sealedsender.RecipientsFromStore(ctx, alice.store, []session.Address{bob.addr})
	if err != nil {
		t.Fatal(err)
	}
	if len(recipients) != 1 || recipients[0].Devices[0] != (sealedsender.Device{ID: 2, RegistrationID: bob.regID}) {
		t.Fatalf("recipients %+v", recipients)
	}
	typ, inner, err := alice.cipher.Encrypt(ctx, bob.addr, []byte("via v2"))
	if err != nil {
		t.Fatal(err)
	}
	content, _ := sealedsender.NewContent(typ, srv.issue(t, alice), inner, sealedsender.HintDefault, nil)
	sent, err := sealedsender.EncryptMultiRecipient(nil, recipients, nil, alice.id, content)
	if err != nil {
		t.Fatal(err)
	}
	rm, err := sealedsender.SplitForRecipient(sent, recipients[0].ServiceID, 2)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, rm, srv.opts(bob))
	if err != nil || string(res.Plaintext) != "via v2" || res.Sender != alice.addr || res.Type != session.TypePreKey {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := sealedsender.RecipientsFromStore(ctx, alice.store, []session.Address{{Name: carolUUID, DeviceID: 1}}); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("no session: %v", err)
	}
	if _, err := sealedsender.RecipientsFromStore(ctx, alice.store, []session.Address{{Name: "bob", DeviceID: 1}}); !errors.Is(err, sealedsender.ErrInvalidArgument) {
		t.Fatalf("not a service ID: %v", err)
	}
}

func TestMultiRecipientForgedTag(t *testing.T) {
	f := newV2Fixture(t)
	// Carol seals a message carrying Alice's certificate: the payload
	// decrypts, but the authentication tag binds Carol's key.
	sent, err := sealedsender.SealV2(rand.Reader, f.recipients[:1], nil, f.carol.id, f.content.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	rm, err := sealedsender.SplitForRecipient(sent, f.bobID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sealedsender.DecryptToContent(f.bob1.id, rm); !errors.Is(err, sealedsender.ErrInvalidMessage) {
		t.Fatalf("forged tag: %v", err)
	}
}

func TestMultiRecipientTampering(t *testing.T) {
	f := newV2Fixture(t)
	rm, err := sealedsender.SplitForRecipient(f.sent, f.bobID, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rm {
		for _, mask := range []byte{0x01, 0x80} {
			if i == 0 && mask == 0x01 {
				continue // 0x23 is read as a received message too
			}
			b := bytes.Clone(rm)
			b[i] ^= mask
			if _, err := sealedsender.DecryptToContent(f.bob1.id, b); !errors.Is(err, sealedsender.ErrInvalidMessage) {
				t.Fatalf("byte %d ^ 0x%02x: %v", i, mask, err)
			}
		}
	}
	for n := range len(rm) {
		if _, err := sealedsender.DecryptToContent(f.bob1.id, rm[:n]); !errors.Is(err, sealedsender.ErrInvalidMessage) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	// Truncated sent messages never panic; those that still parse lose the
	// payload's tag or a recipient's key material.
	for n := range len(f.sent) {
		m, err := sealedsender.ParseSentMessage(f.sent[:n])
		if err != nil {
			if !errors.Is(err, sealedsender.ErrInvalidMessage) {
				t.Fatalf("truncated to %d: %v", n, err)
			}
			continue
		}
		b, err := m.ReceivedMessage(f.bobID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sealedsender.DecryptToContent(f.bob1.id, b); err == nil {
			t.Fatalf("sent message truncated to %d still decrypts", n)
		}
	}
}

func TestParseSentMessage(t *testing.T) {
	f := newV2Fixture(t)
	m, _ := sealedsender.ParseSentMessage(f.sent)
	bobMsg, _ := m.ReceivedMessage(f.bobID)

	// The original 0x22 form: 16-byte ACIs. Rebuild Bob's part that way.
	legacy := []byte{sealedsender.VersionV2Received, 1}
	bobUUIDBytes := f.bobID.UUID()
	legacy = append(legacy, bobUUIDBytes[:]...)
	legacy = append(legacy, 1, 0x3F, 0xFF)
	legacy = append(legacy, bobMsg[1:]...) // C ‖ AT ‖ E.pub ‖ payload
	lm, err := sealedsender.ParseSentMessage(legacy)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lm.ReceivedMessage(f.bobID)
	if err != nil || !bytes.Equal(got, bobMsg) {
		t.Fatalf("legacy form: %v", err)
	}

	head := func(count uint64) []byte {
		return protowire.AppendVarint([]byte{sealedsender.VersionV2Sent}, count)
	}
	id := f.bobID.Bytes()
	km := make([]byte, 48)
	epub := make([]byte, 32)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for name, b := range map[string][]byte{
		"empty":               nil,
		"version 0x11":        {0x11, 0},
		"huge count":          head(1 << 40),
		"bad varint":          {sealedsender.VersionV2Sent, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"no ephemeral key":    cat(head(0), make([]byte, 31)),
		"device 0 after one":  cat(head(1), id, []byte{1, 0x80, 0}, []byte{0}, km, epub),
		"device 128":          cat(head(1), id, []byte{128, 0, 0}, km, epub),
		"kind 2":              cat(head(1), append([]byte{2}, id[1:]...), []byte{1, 0, 0}, km, epub),
		"excluded twice":      cat(head(2), id, []byte{0}, id, []byte{0}, epub),
		"excluded and listed": cat(head(2), id, []byte{1, 0, 0}, km, id, []byte{0}, epub),
		"truncated devices":   cat(head(1), id, []byte{1, 0x80}),
		"truncated material":  cat(head(1), id, []byte{1, 0, 0}, km[:47]),
	} {
		if _, err := sealedsender.ParseSentMessage(b); !errors.Is(err, sealedsender.ErrInvalidMessage) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A recipient encoded twice with devices: the device lists are joined
	// and the first key material kept.
	twice := cat(head(2), id, []byte{1, 0, 1}, km, id, []byte{2, 0, 2}, make([]byte, 48), epub)
	tm, err := sealedsender.ParseSentMessage(twice)
	if err != nil || len(tm.Recipients) != 1 || len(tm.Recipients[0].Devices) != 2 {
		t.Fatalf("recipient twice: %v", err)
	}
	// Registration ID bit 14 is ignored, as libsignal masks it.
	rm := cat(head(1), id, []byte{1, 0x7f, 0xff}, km, epub)
	if m, err := sealedsender.ParseSentMessage(rm); err != nil || m.Recipients[0].Devices[0].RegistrationID != 0x3FFF {
		t.Fatalf("registration ID mask: %v", err)
	}
}

func TestEncryptMultiRecipientArguments(t *testing.T) {
	f := newV2Fixture(t)
	ik := f.bob1.id.PublicKey()
	for name, rs := range map[string][]sealedsender.Recipient{
		"no devices":      {{ServiceID: f.bobID, IdentityKey: ik}},
		"device 0":        {{ServiceID: f.bobID, IdentityKey: ik, Devices: []sealedsender.Device{{ID: 0}}}},
		"device 128":      {{ServiceID: f.bobID, IdentityKey: ik, Devices: []sealedsender.Device{{ID: 128}}}},
		"registration ID": {{ServiceID: f.bobID, IdentityKey: ik, Devices: []sealedsender.Device{{ID: 1, RegistrationID: 0x4000}}}},
		"no identity":     {{ServiceID: f.bobID, Devices: []sealedsender.Device{{ID: 1}}}},
		"twice": {
			{ServiceID: f.bobID, IdentityKey: ik, Devices: []sealedsender.Device{{ID: 1}}},
			{ServiceID: f.bobID, IdentityKey: ik, Devices: []sealedsender.Device{{ID: 2}}},
		},
	} {
		if _, err := sealedsender.EncryptMultiRecipient(nil, rs, nil, f.alice.id, f.content); !errors.Is(err, sealedsender.ErrInvalidArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := sealedsender.EncryptMultiRecipient(nil, f.recipients, []sealedsender.ServiceID{f.bobID}, f.alice.id, f.content); !errors.Is(err, sealedsender.ErrInvalidArgument) {
		t.Error("excluded recipient that is also listed accepted")
	}
	if _, err := sealedsender.EncryptMultiRecipient(nil, f.recipients, nil, f.carol.id, f.content); !errors.Is(err, sealedsender.ErrInvalidArgument) {
		t.Error("foreign certificate accepted")
	}
}
