package sealedsender_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// fuzzSeeds returns valid certificates, a content and v1/v2 messages for
// one recipient identity.
func fuzzSeeds(f *testing.F) (recipient prekey.IdentityKeyPair, server, sender, content, v1, v2sent, v2received []byte) {
	srv := newServer(f, 3)
	alice, bob := newParty(f, aliceUUID, 1), newParty(f, bobUUID, 1)
	cert := srv.issue(f, alice)
	c, err := sealedsender.NewContent(session.TypeSenderKey, cert, []byte("payload"), sealedsender.HintResendable, []byte("group"))
	if err != nil {
		f.Fatal(err)
	}
	v1, err = sealedsender.Encrypt(rand.Reader, bob.id.PublicKey(), alice.id, c)
	if err != nil {
		f.Fatal(err)
	}
	bobID := mustServiceID(f, bobUUID)
	v2sent, err = sealedsender.EncryptMultiRecipient(rand.Reader, []sealedsender.Recipient{
		{ServiceID: bobID, IdentityKey: bob.id.PublicKey(), Devices: []sealedsender.Device{{ID: 1, RegistrationID: 7}, {ID: 2, RegistrationID: 8}}},
	}, []sealedsender.ServiceID{mustServiceID(f, "PNI:"+carolUUID)}, alice.id, c)
	if err != nil {
		f.Fatal(err)
	}
	v2received, err = sealedsender.SplitForRecipient(v2sent, bobID, 1)
	if err != nil {
		f.Fatal(err)
	}
	return bob.id, srv.cert.Bytes(), cert.Bytes(), c.Bytes(), v1, v2sent, v2received
}

func FuzzParseServerCertificate(f *testing.F) {
	_, server, _, _, _, _, _ := fuzzSeeds(f)
	f.Add(server)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sealedsender.ParseServerCertificate(b)
		if err != nil {
			if c != nil || !errors.Is(err, sealedsender.ErrInvalidCertificate) {
				t.Fatalf("%v with a result or an unexpected sentinel", err)
			}
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatal("Bytes differs from the parsed input")
		}
		_ = c.Validate(c.Key())
	})
}

func FuzzParseSenderCertificate(f *testing.F) {
	_, _, sender, _, _, _, _ := fuzzSeeds(f)
	f.Add(sender)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sealedsender.ParseSenderCertificate(b)
		if err != nil {
			if c != nil || !errors.Is(err, sealedsender.ErrInvalidCertificate) {
				t.Fatalf("%v with a result or an unexpected sentinel", err)
			}
			return
		}
		if !bytes.Equal(c.Bytes(), b) {
			t.Fatal("Bytes differs from the parsed input")
		}
		if d := c.Sender().DeviceID; d < 1 || d > sealedsender.MaxDeviceID {
			t.Fatalf("device %d accepted", d)
		}
		var root prekey.PublicKey
		if s := c.Signer(); s != nil {
			root = s.Key()
		}
		_ = c.Validate(root, c.Sender().Expires)
	})
}

func FuzzParseContent(f *testing.F) {
	_, _, _, content, _, _, _ := fuzzSeeds(f)
	f.Add(content)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sealedsender.ParseContent(b)
		if err != nil {
			if c != nil {
				t.Fatal("result with an error")
			}
			return
		}
		if !bytes.Equal(c.Bytes(), b) || c.SenderCertificate() == nil {
			t.Fatal("round trip")
		}
		// Rebuilding from the parsed fields gives a content that parses to
		// the same fields.
		r, err := sealedsender.NewContent(c.Type(), c.SenderCertificate(), c.Contents(), c.ContentHint(), c.GroupID())
		if err != nil {
			t.Fatal(err)
		}
		p, err := sealedsender.ParseContent(r.Bytes())
		if err != nil || p.Type() != c.Type() || p.ContentHint() != c.ContentHint() ||
			!bytes.Equal(p.Contents(), c.Contents()) || !bytes.Equal(p.GroupID(), c.GroupID()) {
			t.Fatalf("rebuilt content differs: %v", err)
		}
	})
}

// FuzzDecryptToContent feeds v1 and v2 received messages to a fixed
// recipient: nothing panics, every error is ErrInvalidMessage or a
// certificate error, and a result's certificate names the sealing key.
func FuzzDecryptToContent(f *testing.F) {
	bob, _, _, _, v1, _, v2 := fuzzSeeds(f)
	f.Add(v1)
	f.Add(v2)
	f.Add([]byte{0x11})
	f.Add([]byte{0x22})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := sealedsender.DecryptToContent(bob, b)
		if err != nil {
			if c != nil || !(errors.Is(err, sealedsender.ErrInvalidMessage) || errors.Is(err, sealedsender.ErrInvalidCertificate)) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if c.SenderCertificate() == nil {
			t.Fatal("content without certificate")
		}
	})
}

// FuzzSplitSentMessage parses server-bound v2 messages and splits them for
// every listed device: nothing panics, each received message is
// 0x22 ‖ 48 bytes of key material ‖ the shared tail.
func FuzzSplitSentMessage(f *testing.F) {
	bob, _, _, _, _, sent, _ := fuzzSeeds(f)
	f.Add(sent)
	f.Add([]byte{0x23, 0})
	f.Add([]byte{0x22, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := sealedsender.ParseSentMessage(b)
		if err != nil {
			if m != nil || !errors.Is(err, sealedsender.ErrInvalidMessage) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for _, r := range m.Recipients {
			rm, err := m.ReceivedMessage(r.ServiceID)
			if len(r.Devices) == 0 {
				if !errors.Is(err, sealedsender.ErrUnknownRecipient) {
					t.Fatalf("excluded recipient: %v", err)
				}
				continue
			}
			if err != nil || rm[0] != sealedsender.VersionV2Received || len(rm) < 1+48+32 {
				t.Fatalf("received message: %v", err)
			}
			for _, d := range r.Devices {
				split, err := sealedsender.SplitForRecipient(b, r.ServiceID, d.ID)
				if err != nil || !bytes.Equal(split, rm) {
					t.Fatalf("split for %s.%d: %v", r.ServiceID, d.ID, err)
				}
			}
			_, _ = sealedsender.DecryptToContent(bob, rm)
		}
	})
}
