package sealedsender_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestMessageRoundTripV1(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, 1)
	alice, bob := newParty(t, aliceUUID, 3), newParty(t, bobUUID, 1)
	alice.connect(t, bob)
	cert := srv.issue(t, alice)

	for i, want := range []struct {
		from, to *party
		text     string
		typ      session.MessageType
	}{
		{alice, bob, "first", session.TypePreKey},
		{alice, bob, "second", session.TypePreKey},
		{bob, alice, "answer", session.TypeSignal},
		{alice, bob, "third", session.TypeSignal},
	} {
		c := cert
		if want.from == bob {
			c = srv.issue(t, bob)
		}
		sealed, err := sealedsender.EncryptMessage(ctx, rand.Reader, want.from.cipher, want.from.store, want.to.addr, c, []byte(want.text))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if sealed[0] != sealedsender.VersionV1 {
			t.Fatalf("version byte 0x%02x", sealed[0])
		}
		res, err := sealedsender.DecryptMessage(ctx, want.to.cipher, want.to.store, sealed, srv.opts(want.to))
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if string(res.Plaintext) != want.text || res.Sender != want.from.addr || res.Type != want.typ {
			t.Fatalf("%d: got %q from %v type %d", i, res.Plaintext, res.Sender, res.Type)
		}
		if res.ContentHint != sealedsender.HintDefault || res.GroupID != nil {
			t.Fatalf("%d: hint %d group %x", i, res.ContentHint, res.GroupID)
		}
		// A replay reaches the session and is a duplicate.
		if _, err := sealedsender.DecryptMessage(ctx, want.to.cipher, want.to.store, sealed, srv.opts(want.to)); !errors.Is(err, session.ErrDuplicateMessage) {
			t.Fatalf("%d: replay: %v", i, err)
		}
	}
}

func TestEncryptMessageChecks(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, 1)
	alice, bob, carol := newParty(t, aliceUUID, 1), newParty(t, bobUUID, 1), newParty(t, carolUUID, 1)
	alice.connect(t, bob)
	if _, err := sealedsender.EncryptMessage(ctx, nil, alice.cipher, alice.store, carol.addr, srv.issue(t, alice), []byte("x")); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("no session: %v", err)
	}
	if _, err := sealedsender.EncryptMessage(ctx, nil, alice.cipher, alice.store, bob.addr, srv.issue(t, carol), []byte("x")); !errors.Is(err, sealedsender.ErrInvalidArgument) {
		t.Fatalf("someone else's certificate: %v", err)
	}
}

func TestSelfSend(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, 1)
	alice, bob := newParty(t, aliceUUID, 1), newParty(t, bobUUID, 1)
	alice.connect(t, bob)
	sealed, err := sealedsender.EncryptMessage(ctx, nil, alice.cipher, alice.store, bob.addr, srv.issue(t, alice), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	opts := srv.opts(bob)
	opts.Local = alice.addr // as if Bob were Alice's own device
	if _, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed, opts); !errors.Is(err, sealedsender.ErrSelfSend) {
		t.Fatalf("self send: %v", err)
	}
	opts.Local.DeviceID = 2 // another device of the same account may send to us
	if _, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed, opts); err != nil {
		t.Fatalf("other device: %v", err)
	}
}

func TestDecryptMessageCertificateChecks(t *testing.T) {
	ctx := context.Background()
	srv, other := newServer(t, 1), newServer(t, 2)
	alice, bob := newParty(t, aliceUUID, 1), newParty(t, bobUUID, 1)
	alice.connect(t, bob)
	cert := srv.issueAt(t, alice, time.UnixMilli(time.Now().UnixMilli()+60_000))
	sealed, err := sealedsender.EncryptMessage(ctx, nil, alice.cipher, alice.store, bob.addr, cert, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	opts := srv.opts(bob)
	opts.TrustRoot = other.root.Public
	if _, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed, opts); !errors.Is(err, sealedsender.ErrInvalidSignature) {
		t.Fatalf("wrong trust root: %v", err)
	}
	opts = srv.opts(bob)
	opts.Now = cert.Sender().Expires.Add(time.Millisecond)
	if _, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed, opts); !errors.Is(err, sealedsender.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	// The rejections consumed nothing: the message still opens, at exactly
	// the expiry time.
	opts.Now = cert.Sender().Expires
	res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed, opts)
	if err != nil || string(res.Plaintext) != "x" {
		t.Fatalf("after rejections: %v", err)
	}
}

func TestCertificateValidation(t *testing.T) {
	srv, other := newServer(t, 7), newServer(t, 8)
	alice := newParty(t, aliceUUID, 5)
	cert := srv.issue(t, alice)
	now := time.Now()

	parsed, err := sealedsender.ParseSenderCertificate(cert.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	s := parsed.Sender()
	if s.UUID != aliceUUID || s.DeviceID != 5 || s.E164 != "" || !s.IdentityKey.Equal(alice.id.PublicKey()) ||
		s.Expires.UnixMilli() != srv.expires.UnixMilli() || parsed.SignerID() != 7 || parsed.Address() != alice.addr {
		t.Fatalf("parsed sender %+v", s)
	}
	if !bytes.Equal(parsed.Signer().Bytes(), srv.cert.Bytes()) || !parsed.Signer().Key().Equal(srv.key.Public) {
		t.Fatal("embedded server certificate differs")
	}
	sc, err := sealedsender.ParseServerCertificate(srv.cert.Bytes())
	if err != nil || sc.ID() != 7 || !bytes.Equal(sc.Bytes(), srv.cert.Bytes()) {
		t.Fatalf("server certificate: %v", err)
	}

	for _, tc := range []struct {
		name string
		err  error
		fn   func() error
	}{
		{"valid", nil, func() error { return parsed.Validate(srv.root.Public, now) }},
		{"valid at expiry", nil, func() error { return parsed.Validate(srv.root.Public, s.Expires) }},
		{"expired", sealedsender.ErrExpired, func() error { return parsed.Validate(srv.root.Public, s.Expires.Add(time.Millisecond)) }},
		{"wrong trust root", sealedsender.ErrInvalidSignature, func() error { return parsed.Validate(other.root.Public, now) }},
		{"zero trust root", sealedsender.ErrInvalidSignature, func() error { return parsed.Validate(prekey.PublicKey{}, now) }},
		{"server certificate", nil, func() error { return srv.cert.Validate(srv.root.Public) }},
		{"server certificate, wrong root", sealedsender.ErrInvalidSignature, func() error { return srv.cert.Validate(other.root.Public) }},
	} {
		if err := tc.fn(); !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}

	// Revoked server certificate ID.
	revoked, err := sealedsender.NewServerCertificate(rand.Reader, srv.root.Private, sealedsender.RevokedServerCertificateID, srv.key.Public)
	if err != nil {
		t.Fatal(err)
	}
	if err := revoked.Validate(srv.root.Public); !errors.Is(err, sealedsender.ErrRevoked) {
		t.Fatalf("revoked server certificate: %v", err)
	}
	rc, err := sealedsender.NewSenderCertificate(rand.Reader, s, revoked, srv.key.Private)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Validate(srv.root.Public, now); !errors.Is(err, sealedsender.ErrRevoked) {
		t.Fatalf("sender certificate under a revoked server certificate: %v", err)
	}

	// A server key the trust root never signed.
	if _, err := sealedsender.NewSenderCertificate(rand.Reader, s, srv.cert, other.key.Private); !errors.Is(err, sealedsender.ErrInvalidArgument) {
		t.Fatalf("mismatched server key: %v", err)
	}

	// Tampering: flip one bit of the signatures and of the signed bytes.
	var pb signalpb.SenderCertificate
	if err := proto.Unmarshal(cert.Bytes(), &pb); err != nil {
		t.Fatal(err)
	}
	for _, tamper := range []func(*signalpb.SenderCertificate){
		func(p *signalpb.SenderCertificate) { p.Signature[5] ^= 1 },
		func(p *signalpb.SenderCertificate) { p.Certificate[3] ^= 1 }, // expiry bytes
	} {
		c := proto.Clone(&pb).(*signalpb.SenderCertificate)
		tamper(c)
		b, _ := proto.Marshal(c)
		tc, err := sealedsender.ParseSenderCertificate(b)
		if err != nil {
			t.Fatalf("tampered certificate did not parse: %v", err)
		}
		if err := tc.Validate(srv.root.Public, now); !errors.Is(err, sealedsender.ErrInvalidSignature) {
			t.Fatalf("tampered certificate: %v", err)
		}
	}
	// A tampered embedded server certificate signature.
	var spb signalpb.ServerCertificate
	proto.Unmarshal(srv.cert.Bytes(), &spb)
	spb.Signature[0] ^= 1
	sb, _ := proto.Marshal(&spb)
	bad, err := sealedsender.ParseServerCertificate(sb)
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Validate(srv.root.Public); !errors.Is(err, sealedsender.ErrInvalidSignature) {
		t.Fatalf("tampered server certificate: %v", err)
	}
}

// signSender builds a sender certificate from an arbitrary inner message.
func signSender(t *testing.T, srv *server, inner *signalpb.SenderCertificate_Certificate) []byte {
	t.Helper()
	cb, err := proto.Marshal(inner)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := srv.key.Private.Sign(rand.Reader, cb)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&signalpb.SenderCertificate{Certificate: cb, Signature: sig})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCertificateVariants(t *testing.T) {
	srv := newServer(t, 42)
	alice := newParty(t, aliceUUID, 1)
	device, expires := uint32(9), uint64(time.Now().Add(time.Hour).UnixMilli())
	e164 := "+15550001111"
	uuid := [16]byte{0x9d, 0x06, 0x52, 0xa3, 0xdc, 0xc3, 0x4d, 0x11, 0x97, 0x5f, 0x74, 0xd6, 0x15, 0x98, 0x73, 0x3f}

	// UUID as bytes, signer by reference, with an E.164.
	b := signSender(t, srv, &signalpb.SenderCertificate_Certificate{
		SenderE164:   &e164,
		SenderUuid:   &signalpb.SenderCertificate_Certificate_UuidBytes{UuidBytes: uuid[:]},
		SenderDevice: &device, Expires: &expires, IdentityKey: alice.id.PublicKey().Bytes(),
		Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 42},
	})
	c, err := sealedsender.ParseSenderCertificate(b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sender().UUID != aliceUUID || c.Sender().E164 != e164 || c.Signer() != nil || c.SignerID() != 42 || c.ExpiresMillis() != expires {
		t.Fatalf("parsed %+v", c.Sender())
	}
	now := time.Now()
	if err := c.Validate(srv.root.Public, now); !errors.Is(err, sealedsender.ErrUnknownServerCertificate) {
		t.Fatalf("unknown reference: %v", err)
	}
	if err := c.Validate(srv.root.Public, now, newServer(t, 41).cert, srv.cert); err != nil {
		t.Fatalf("known reference: %v", err)
	}

	// Missing or invalid required fields.
	bad := uint32(128)
	zero := uint32(0)
	for name, inner := range map[string]*signalpb.SenderCertificate_Certificate{
		"no uuid":        {SenderDevice: &device, Expires: &expires, IdentityKey: alice.id.PublicKey().Bytes(), Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 1}},
		"short uuid":     {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidBytes{UuidBytes: uuid[:15]}, SenderDevice: &device, Expires: &expires, IdentityKey: alice.id.PublicKey().Bytes(), Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 1}},
		"no device":      {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidString{UuidString: "x"}, Expires: &expires, IdentityKey: alice.id.PublicKey().Bytes(), Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 1}},
		"device 0":       {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidString{UuidString: "x"}, SenderDevice: &zero, Expires: &expires, IdentityKey: alice.id.PublicKey().Bytes(), Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 1}},
		"device 128":     {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidString{UuidString: "x"}, SenderDevice: &bad, Expires: &expires, IdentityKey: alice.id.PublicKey().Bytes(), Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 1}},
		"no expiry":      {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidString{UuidString: "x"}, SenderDevice: &device, IdentityKey: alice.id.PublicKey().Bytes(), Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 1}},
		"no key":         {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidString{UuidString: "x"}, SenderDevice: &device, Expires: &expires, Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 1}},
		"bad key":        {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidString{UuidString: "x"}, SenderDevice: &device, Expires: &expires, IdentityKey: []byte{5, 1}, Signer: &signalpb.SenderCertificate_Certificate_Id{Id: 1}},
		"no signer":      {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidString{UuidString: "x"}, SenderDevice: &device, Expires: &expires, IdentityKey: alice.id.PublicKey().Bytes()},
		"garbage signer": {SenderUuid: &signalpb.SenderCertificate_Certificate_UuidString{UuidString: "x"}, SenderDevice: &device, Expires: &expires, IdentityKey: alice.id.PublicKey().Bytes(), Signer: &signalpb.SenderCertificate_Certificate_Certificate{Certificate: []byte{0xff}}},
	} {
		if _, err := sealedsender.ParseSenderCertificate(signSender(t, srv, inner)); !errors.Is(err, sealedsender.ErrInvalidCertificate) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, b := range [][]byte{nil, {0xff}, {0x0a, 0x01, 0x00}} {
		if _, err := sealedsender.ParseSenderCertificate(b); !errors.Is(err, sealedsender.ErrInvalidCertificate) {
			t.Errorf("%x: %v", b, err)
		}
		if _, err := sealedsender.ParseServerCertificate(b); !errors.Is(err, sealedsender.ErrInvalidCertificate) {
			t.Errorf("%x: %v", b, err)
		}
	}
}

func TestContent(t *testing.T) {
	srv := newServer(t, 1)
	cert := srv.issue(t, newParty(t, aliceUUID, 1))
	for _, typ := range []session.MessageType{session.TypePreKey, session.TypeSignal, session.TypeSenderKey, session.TypePlaintext} {
		for _, hint := range []sealedsender.ContentHint{sealedsender.HintDefault, sealedsender.HintResendable, sealedsender.HintImplicit} {
			c, err := sealedsender.NewContent(typ, cert, []byte("inner"), hint, []byte("group"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := sealedsender.ParseContent(c.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if p.Type() != typ || p.ContentHint() != hint || string(p.Contents()) != "inner" || string(p.GroupID()) != "group" ||
				!bytes.Equal(p.SenderCertificate().Bytes(), cert.Bytes()) || !bytes.Equal(p.Bytes(), c.Bytes()) {
				t.Fatalf("type %d hint %d: round trip differs", typ, hint)
			}
		}
	}
	c, _ := sealedsender.NewContent(session.TypeSignal, cert, nil, sealedsender.HintDefault, nil)
	var pb signalpb.UnidentifiedSenderMessage_Message
	proto.Unmarshal(c.Bytes(), &pb)
	if pb.ContentHint != nil || pb.GroupId != nil || pb.Content == nil || *pb.Type != signalpb.UnidentifiedSenderMessage_Message_MESSAGE {
		t.Fatal("default hint or empty group written, or contents left out")
	}
	// An unknown content hint is kept (libsignal's ContentHint::Unknown).
	b := protowire.AppendTag(c.Bytes(), 4, protowire.VarintType)
	b = protowire.AppendVarint(b, 9)
	if p, err := sealedsender.ParseContent(b); err != nil || p.ContentHint() != 9 {
		t.Fatalf("unknown hint: %v", err)
	}
	// An unknown or reserved type is refused.
	for _, typ := range []uint64{0, 3, 4, 6, 9} {
		b := protowire.AppendTag(c.Bytes(), 1, protowire.VarintType)
		b = protowire.AppendVarint(b, typ)
		if _, err := sealedsender.ParseContent(b); !errors.Is(err, sealedsender.ErrInvalidMessage) {
			t.Fatalf("type %d: %v", typ, err)
		}
	}
	if _, err := sealedsender.NewContent(4, cert, nil, 0, nil); !errors.Is(err, sealedsender.ErrInvalidArgument) {
		t.Fatal("type 4 accepted")
	}
}

func TestV1LowLevel(t *testing.T) {
	srv := newServer(t, 1)
	alice, bob, carol := newParty(t, aliceUUID, 1), newParty(t, bobUUID, 1), newParty(t, carolUUID, 1)
	content, err := sealedsender.NewContent(session.TypeSenderKey, srv.issue(t, alice), []byte("group message"), sealedsender.HintResendable, []byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := sealedsender.Encrypt(rand.Reader, bob.id.PublicKey(), alice.id, content)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sealedsender.DecryptToContent(bob.id, sealed)
	if err != nil || !bytes.Equal(got.Bytes(), content.Bytes()) {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := sealedsender.DecryptToContent(carol.id, sealed); !errors.Is(err, sealedsender.ErrInvalidMessage) {
		t.Fatalf("wrong recipient: %v", err)
	}
	// libsignal accepts version bytes 0x0? and 0x1?.
	for _, v := range []byte{0x01, 0x10, 0x1f} {
		b := bytes.Clone(sealed)
		b[0] = v
		if _, err := sealedsender.DecryptToContent(bob.id, b); err != nil {
			t.Fatalf("version 0x%02x: %v", v, err)
		}
	}
	for _, v := range []byte{0x33, 0x44, 0xf1} {
		b := bytes.Clone(sealed)
		b[0] = v
		if _, err := sealedsender.DecryptToContent(bob.id, b); !errors.Is(err, sealedsender.ErrInvalidMessage) {
			t.Fatalf("version 0x%02x: %v", v, err)
		}
	}
	// Sealed by an identity other than the certificate's.
	if _, err := sealedsender.Encrypt(rand.Reader, bob.id.PublicKey(), carol.id, content); !errors.Is(err, sealedsender.ErrInvalidArgument) {
		t.Fatalf("foreign certificate: %v", err)
	}
	forged := forgeV1(t, bob.id.PublicKey(), carol.id, content)
	if _, err := sealedsender.DecryptToContent(bob.id, forged); !errors.Is(err, sealedsender.ErrInvalidMessage) {
		t.Fatalf("certificate key differs from the sealing key: %v", err)
	}
}

// TestTamperingV1 flips every byte (two ways) and tries every truncation of
// a sealed message: each fails with ErrInvalidMessage, nothing panics, and
// the session is untouched afterwards.
func TestTamperingV1(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, 1)
	alice, bob := newParty(t, aliceUUID, 1), newParty(t, bobUUID, 1)
	alice.connect(t, bob)
	sealed, err := sealedsender.EncryptMessage(ctx, nil, alice.cipher, alice.store, bob.addr, srv.issue(t, alice), []byte("tamper me"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80} {
			if i == 0 && mask == 0x01 {
				continue // the low nibble of the version byte is not checked
			}
			b := bytes.Clone(sealed)
			b[i] ^= mask
			if _, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, b, srv.opts(bob)); err == nil {
				t.Fatalf("byte %d ^ 0x%02x accepted", i, mask)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed[:n], srv.opts(bob)); !errors.Is(err, sealedsender.ErrInvalidMessage) {
			t.Fatalf("truncated to %d: %v", n, err)
		}
	}
	res, err := sealedsender.DecryptMessage(ctx, bob.cipher, bob.store, sealed, srv.opts(bob))
	if err != nil || string(res.Plaintext) != "tamper me" {
		t.Fatalf("original after tampering: %v", err)
	}
}

func TestServiceID(t *testing.T) {
	for _, s := range []string{aliceUUID, "PNI:" + bobUUID} {
		id, err := sealedsender.ParseServiceID(s)
		if err != nil || id.String() != s {
			t.Fatalf("%s: %v %s", s, err, id)
		}
		back, err := sealedsender.ParseServiceIDBytes(id.Bytes())
		if err != nil || back != id {
			t.Fatalf("%s: bytes round trip", s)
		}
	}
	up, err := sealedsender.ParseServiceID("9D0652A3-DCC3-4D11-975F-74D61598733F")
	if err != nil || up.String() != aliceUUID || up.Kind() != sealedsender.ACI {
		t.Fatal("upper case")
	}
	for _, s := range []string{"", "alice", "PNI:", "ACI:" + aliceUUID, aliceUUID[:35], aliceUUID + "0", "9d0652a3_dcc3-4d11-975f-74d61598733f", "9d0652a3-dcc3-4d11-975f-74d61598733g"} {
		if _, err := sealedsender.ParseServiceID(s); !errors.Is(err, sealedsender.ErrInvalidArgument) {
			t.Errorf("%q accepted", s)
		}
	}
	for _, b := range [][]byte{nil, make([]byte, 16), append([]byte{2}, make([]byte, 16)...)} {
		if _, err := sealedsender.ParseServiceIDBytes(b); err == nil {
			t.Errorf("%x accepted", b)
		}
	}
}
