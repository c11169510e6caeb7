package mau

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/groups"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/signalerror"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/util/keyhelper"
	"go.mau.fi/libsignal/util/optional"
)

// Implementation is the peer's capabilities.implementation string.
const Implementation = "go.mau.fi/libsignal v0.2.1"

// ProtocolVersion is the version of docs/peer-protocol.md the peer
// implements (capabilities.protocol_version). go.mau.fi/libsignal has no
// Kyber prekeys, so bundle's last_resort is never honoured nor echoed; of
// version 3 it offers no adversary mode (capabilities lists none, so no
// driver sends encrypt's pq_ratchet).
const ProtocolVersion = 3

// Ops is the list of implemented operations.
var Ops = []string{
	"init", "bundle", "process_bundle", "encrypt", "decrypt", "session", "trust",
	"group_distribution", "group_process", "group_encrypt", "group_decrypt",
	"restart", "capabilities",
}

// Options configure a Peer.
type Options struct {
	// Atomic rolls the whole client state back when an operation fails.
	// go.mau.fi/libsignal itself is not atomic: a PreKeySignalMessage whose
	// inner message fails to decrypt still saves the sender's identity key
	// (session.Builder.Process runs SaveIdentity before the MAC check).
	Atomic bool
	// Log receives diagnostics; nil discards them.
	Log io.Writer
}

// Peer is one go.mau.fi/libsignal client driven by the conformance peer
// protocol.
type Peer struct {
	opts  Options
	st    *State
	store *Store
	path  string
}

// NewPeer returns an uninitialised peer.
func NewPeer(opts Options) *Peer {
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	return &Peer{opts: opts}
}

type address struct {
	Name   string `json:"name"`
	Device uint32 `json:"device"`
}

func (a *address) signal() (*protocol.SignalAddress, error) {
	if a == nil || a.Name == "" {
		return nil, opErr(KindOther, "missing address")
	}
	return protocol.NewSignalAddress(a.Name, a.Device), nil
}

type bundle struct {
	RegistrationID        uint32  `json:"registration_id"`
	Device                uint32  `json:"device"`
	IdentityKey           []byte  `json:"identity_key"`
	SignedPreKeyID        uint32  `json:"signed_prekey_id"`
	SignedPreKey          []byte  `json:"signed_prekey"`
	SignedPreKeySignature []byte  `json:"signed_prekey_signature"`
	PreKeyID              *uint32 `json:"prekey_id,omitempty"`
	PreKey                []byte  `json:"prekey,omitempty"`
	// Kyber fields are accepted and ignored: go.mau.fi/libsignal has no
	// Kyber and sets up an X3DH (version 3) session, as a WhatsApp client
	// would.
	KyberPreKeyID        *uint32 `json:"kyber_prekey_id,omitempty"`
	KyberPreKey          []byte  `json:"kyber_prekey,omitempty"`
	KyberPreKeySignature []byte  `json:"kyber_prekey_signature,omitempty"`
}

type request struct {
	ID             json.RawMessage `json:"id"`
	Op             string          `json:"op"`
	Name           string          `json:"name"`
	Device         uint32          `json:"device"`
	RegistrationID *uint32         `json:"registration_id"`
	Store          string          `json:"store"`
	Flavour        string          `json:"flavour"`
	OneTime        *bool           `json:"one_time"`
	Kyber          *bool           `json:"kyber"`
	Address        *address        `json:"address"`
	Bundle         *bundle         `json:"bundle"`
	Plaintext      []byte          `json:"plaintext"`
	Ciphertext     []byte          `json:"ciphertext"`
	Type           int             `json:"type"`
	IdentityKey    []byte          `json:"identity_key"`
	DistributionID *string         `json:"distribution_id"`
	Message        []byte          `json:"message"`
	Version        *int            `json:"version"`
}

// Serve runs the peer protocol: one JSON request per line from in, one
// response line per request to out, until in ends.
func (p *Peer) Serve(in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 1<<16), 256<<20)
	w := bufio.NewWriter(out)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		resp := p.Handle(line)
		b, err := json.Marshal(resp)
		if err != nil {
			b = []byte(`{"id":0,"ok":false,"error":{"kind":"other","message":"mau: cannot encode response"}}`)
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return p.persist()
}

// Handle answers one request line.
func (p *Peer) Handle(line []byte) map[string]any {
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		// Echo the id when at least that much parses.
		var idOnly struct {
			ID json.RawMessage `json:"id"`
		}
		_ = json.Unmarshal(line, &idOnly)
		return failure(idOrZero(idOnly.ID), opErr(KindOther, "bad request: %v", err))
	}
	id := idOrZero(req.ID)
	fields, oe := p.run(&req)
	if oe != nil {
		fmt.Fprintf(p.opts.Log, "mau-peer: %s: %v\n", req.Op, oe)
		return failure(id, oe)
	}
	resp := map[string]any{"id": id, "ok": true}
	for k, v := range fields {
		resp[k] = v
	}
	return resp
}

func idOrZero(raw json.RawMessage) json.RawMessage {
	var n json.Number
	if len(raw) == 0 || json.Unmarshal(raw, &n) != nil {
		return json.RawMessage("0")
	}
	return json.RawMessage(n.String())
}

func failure(id json.RawMessage, oe *OpError) map[string]any {
	return map[string]any{
		"id": id, "ok": false,
		"error": map[string]any{"kind": oe.Kind, "message": oe.Err.Error()},
	}
}

// mutating lists the operations after which state is written to the store.
var mutating = map[string]bool{
	"init": true, "bundle": true, "process_bundle": true, "encrypt": true, "decrypt": true,
	"trust": true, "group_distribution": true, "group_process": true, "group_encrypt": true,
	"group_decrypt": true,
}

func (p *Peer) run(req *request) (fields map[string]any, oe *OpError) {
	switch req.Op {
	case "capabilities":
		return map[string]any{"ops": Ops, "implementation": Implementation, "flavours": []string{"whatsapp"}, "protocol_version": ProtocolVersion}, nil
	case "init":
	case "":
		return nil, opErr(KindOther, "missing op")
	default:
		if !mutating[req.Op] && req.Op != "session" && req.Op != "restart" {
			return nil, opErr(KindUnsupported, "op %q not supported by go.mau.fi/libsignal", req.Op)
		}
		if p.st == nil {
			return nil, opErr(KindOther, "not initialised")
		}
	}

	var snapshot *State
	if p.opts.Atomic && p.st != nil && mutating[req.Op] {
		snapshot = p.st.Clone()
	}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(p.opts.Log, "mau-peer: panic in %s: %v\n%s", req.Op, r, debug.Stack())
			fields, oe = nil, opErr(KindInvalidMessage, "go.mau.fi/libsignal panicked: %v", r)
		}
		if oe != nil && snapshot != nil {
			p.st = snapshot
			p.store = NewStore(snapshot)
		}
		if mutating[req.Op] && p.st != nil {
			if err := p.persist(); err != nil && oe == nil {
				fields, oe = nil, opErr(KindOther, "writing store: %v", err)
			}
		}
	}()

	ctx := context.Background()
	switch req.Op {
	case "init":
		return p.opInit(req)
	case "bundle":
		return p.opBundle(ctx, req)
	case "process_bundle":
		return nil, p.opProcessBundle(ctx, req)
	case "encrypt":
		return p.opEncrypt(ctx, req)
	case "decrypt":
		return p.opDecrypt(ctx, req)
	case "session":
		return p.opSession(ctx, req)
	case "trust":
		return nil, p.opTrust(req)
	case "group_distribution":
		return p.opGroupDistribution(ctx, req)
	case "group_process":
		return nil, p.opGroupProcess(ctx, req)
	case "group_encrypt":
		return p.opGroupEncrypt(ctx, req)
	case "group_decrypt":
		return p.opGroupDecrypt(ctx, req)
	case "restart":
		return nil, p.opRestart()
	}
	return nil, opErr(KindUnsupported, "op %q", req.Op)
}

func (p *Peer) setState(st *State) {
	p.st = st
	p.store = NewStore(st)
}

// persist writes the state to the durable store, if there is one.
func (p *Peer) persist() error {
	if p.path == "" || p.st == nil {
		return nil
	}
	b, err := json.Marshal(p.st)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p.path), ".mau-peer-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), p.path)
}

// RandomRegistrationID returns a registration id in 1..16380, the range
// libsignal clients use (keyhelper.GenerateRegistrationID returns any
// uint32).
func RandomRegistrationID() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return binary.BigEndian.Uint32(b[:])%16380 + 1
}

func (p *Peer) opInit(req *request) (map[string]any, *OpError) {
	if req.Flavour != "" && req.Flavour != "whatsapp" {
		return nil, opErr(KindUnsupported, "flavour %q: go.mau.fi/libsignal speaks only whatsapp", req.Flavour)
	}
	if req.Name == "" {
		return nil, opErr(KindOther, "init: missing name")
	}
	var st *State
	if req.Store != "" {
		if b, err := os.ReadFile(req.Store); err == nil && len(b) > 0 {
			old, err := UnmarshalState(b)
			if err != nil {
				return nil, opErr(KindOther, "init: %v", err)
			}
			if old.Name == req.Name && old.Device == req.Device {
				st = old
			}
		}
	}
	if st == nil {
		id, err := keyhelper.GenerateIdentityKeyPair()
		if err != nil {
			return nil, opErr(KindOther, "init: %v", err)
		}
		reg := RandomRegistrationID()
		if req.RegistrationID != nil {
			reg = *req.RegistrationID
		}
		st = NewState(req.Name, req.Device, reg, id)
	}
	p.path = req.Store
	p.setState(st)
	return map[string]any{"identity_key": st.IdentityPublic, "registration_id": st.RegistrationID}, nil
}

func (p *Peer) opRestart() *OpError {
	if p.path == "" {
		// No durable store: a round trip through the serialized form is
		// what a reload would see.
		p.setState(p.st.Clone())
		return nil
	}
	b, err := os.ReadFile(p.path)
	if err != nil {
		return opErr(KindOther, "restart: %v", err)
	}
	st, err := UnmarshalState(b)
	if err != nil {
		return opErr(KindOther, "restart: %v", err)
	}
	p.setState(st)
	return nil
}

func (p *Peer) opBundle(ctx context.Context, req *request) (map[string]any, *OpError) {
	if req.Kyber == nil || *req.Kyber {
		return nil, opErr(KindUnsupported, "go.mau.fi/libsignal has no Kyber prekeys")
	}
	s := p.store
	idPair := s.GetIdentityKeyPair()
	spkID := p.st.NextSignedPreKeyID
	p.st.NextSignedPreKeyID++
	spk, err := keyhelper.GenerateSignedPreKey(idPair, spkID, s.Ser.SignedPreKeyRecord)
	if err != nil {
		return nil, opErr(KindOther, "bundle: %v", err)
	}
	if err := s.StoreSignedPreKey(ctx, spkID, spk); err != nil {
		return nil, opErr(KindOther, "bundle: %v", err)
	}
	sig := spk.Signature()
	b := map[string]any{
		"registration_id":         p.st.RegistrationID,
		"device":                  p.st.Device,
		"identity_key":            p.st.IdentityPublic,
		"signed_prekey_id":        spkID,
		"signed_prekey":           spk.KeyPair().PublicKey().Serialize(),
		"signed_prekey_signature": sig[:],
	}
	if req.OneTime == nil || *req.OneTime {
		// Never id 0: the library's protobuf deserializer reads a
		// pre_key_id of 0 as "no one-time prekey".
		if p.st.NextPreKeyID == 0 {
			p.st.NextPreKeyID = 1
		}
		pkID := p.st.NextPreKeyID
		p.st.NextPreKeyID++
		kp, err := ecc.GenerateKeyPair()
		if err != nil {
			return nil, opErr(KindOther, "bundle: %v", err)
		}
		if err := s.StorePreKey(ctx, pkID, record.NewPreKey(pkID, kp, s.Ser.PreKeyRecord)); err != nil {
			return nil, opErr(KindOther, "bundle: %v", err)
		}
		b["prekey_id"] = pkID
		b["prekey"] = kp.PublicKey().Serialize()
	}
	return map[string]any{"bundle": b}, nil
}

// decodeBundleKey parses a 33-byte Curve25519 public key from a bundle.
// The library's ecc.DecodePoint itself accepts any length (it copies at
// most 32 bytes after the type byte and zero-fills), so the length is
// checked here, as a client decoding a server's fixed-size key would.
func decodeBundleKey(what string, b []byte) (ecc.ECPublicKeyable, *OpError) {
	if len(b) != 33 {
		return nil, opErr(KindInvalidKey, "%s: %d bytes, want 33", what, len(b))
	}
	k, err := ecc.DecodePoint(b, 0)
	if err != nil {
		return nil, classify(fmt.Errorf("%s: %w", what, err), KindInvalidKey)
	}
	return k, nil
}

func (p *Peer) builder(addr *protocol.SignalAddress) *session.Builder {
	return session.NewBuilderFromSignal(p.store, addr, p.store.Ser)
}

func (p *Peer) opProcessBundle(ctx context.Context, req *request) *OpError {
	addr, err := req.Address.signal()
	if err != nil {
		return classify(err, KindOther)
	}
	bd := req.Bundle
	if bd == nil {
		return opErr(KindOther, "process_bundle: missing bundle")
	}
	ik, oe := decodeBundleKey("identity_key", bd.IdentityKey)
	if oe != nil {
		return oe
	}
	spk, oe := decodeBundleKey("signed_prekey", bd.SignedPreKey)
	if oe != nil {
		return oe
	}
	if len(bd.SignedPreKeySignature) != 64 {
		return opErr(KindInvalidSignature, "signed_prekey_signature: %d bytes, want 64", len(bd.SignedPreKeySignature))
	}
	var sig [64]byte
	copy(sig[:], bd.SignedPreKeySignature)
	pkID := optional.NewEmptyUint32()
	var pk ecc.ECPublicKeyable
	if bd.PreKey != nil {
		if pk, oe = decodeBundleKey("prekey", bd.PreKey); oe != nil {
			return oe
		}
		if bd.PreKeyID == nil {
			return opErr(KindOther, "process_bundle: prekey without prekey_id")
		}
		pkID = optional.NewOptionalUint32(*bd.PreKeyID)
	}
	pb := prekey.NewBundle(bd.RegistrationID, bd.Device, pkID, bd.SignedPreKeyID, pk, spk, sig, identity.NewKey(ik))
	if err := p.builder(addr).ProcessBundle(ctx, pb); err != nil {
		return classify(err, KindOther)
	}
	return nil
}

func (p *Peer) hasSession(ctx context.Context, addr *protocol.SignalAddress) (*record.Session, bool) {
	if ok, _ := p.store.ContainsSession(ctx, addr); !ok {
		return nil, false
	}
	rec, err := p.store.LoadSession(ctx, addr)
	if err != nil || !rec.SessionState().HasSenderChain() {
		return nil, false
	}
	return rec, true
}

func (p *Peer) opEncrypt(ctx context.Context, req *request) (map[string]any, *OpError) {
	addr, err := req.Address.signal()
	if err != nil {
		return nil, classify(err, KindOther)
	}
	if _, ok := p.hasSession(ctx, addr); !ok {
		return nil, opErr(KindNoSession, "no session for %s", addr)
	}
	c := session.NewCipher(p.builder(addr), addr)
	msg, err := c.Encrypt(ctx, req.Plaintext)
	if err != nil {
		return nil, classify(err, KindOther)
	}
	return map[string]any{"type": msg.Type(), "ciphertext": msg.Serialize()}, nil
}

func (p *Peer) opDecrypt(ctx context.Context, req *request) (map[string]any, *OpError) {
	addr, err := req.Address.signal()
	if err != nil {
		return nil, classify(err, KindOther)
	}
	ser := p.store.Ser
	before := p.st.Clone()
	c := session.NewCipher(p.builder(addr), addr)
	var pt []byte
	switch req.Type {
	case protocol.WHISPER_TYPE:
		msg, err := protocol.NewSignalMessageFromBytes(req.Ciphertext, ser.SignalMessage)
		if err != nil {
			return nil, classify(err, KindInvalidMessage)
		}
		if pt, err = c.Decrypt(ctx, msg); err != nil {
			return nil, p.diagnose(ctx, before, addr, err, nil, msg)
		}
	case protocol.PREKEY_TYPE:
		msg, err := protocol.NewPreKeySignalMessageFromBytes(req.Ciphertext, ser.PreKeySignalMessage, ser.SignalMessage)
		if err != nil {
			return nil, classify(err, KindInvalidMessage)
		}
		if pt, err = c.DecryptMessage(ctx, msg); err != nil {
			return nil, p.diagnose(ctx, before, addr, err, msg, msg.WhisperMessage())
		}
	default:
		return nil, opErr(KindInvalidMessage, "decrypt: unknown message type %d", req.Type)
	}
	if pt == nil {
		pt = []byte{}
	}
	return map[string]any{"plaintext": pt}, nil
}

// diagnose refines signalerror.ErrNoValidSessions. SessionCipher's
// DecryptWithRecord answers that for every failure of the current session
// state except ErrOldCounter (bad MAC, too far ahead, wrong version all
// become "no valid sessions"), so the peer repeats the attempt against the
// current state alone, on a throw-away copy of the state as it was before
// the request, and classifies that error instead.
func (p *Peer) diagnose(ctx context.Context, before *State, addr *protocol.SignalAddress, err error,
	pre *protocol.PreKeySignalMessage, msg *protocol.SignalMessage) *OpError {
	if !errors.Is(err, signalerror.ErrNoValidSessions) {
		return classify(err, KindInvalidMessage)
	}
	detail := func() (derr error) {
		defer func() {
			if r := recover(); r != nil {
				derr = fmt.Errorf("panic: %v", r)
			}
		}()
		s := NewStore(before)
		b := session.NewBuilderFromSignal(s, addr, s.Ser)
		rec, err := s.LoadSession(ctx, addr)
		if err != nil {
			return err
		}
		if pre != nil {
			if _, err := b.Process(ctx, rec, pre); err != nil {
				return err
			}
		}
		_, _, err = session.NewCipher(b, addr).DecryptWithState(ctx, rec.SessionState(), msg)
		return err
	}()
	if detail == nil {
		return classify(err, KindInvalidMessage)
	}
	oe := classify(detail, KindInvalidMessage)
	oe.Err = fmt.Errorf("%w (current state: %v)", err, detail)
	return oe
}

func (p *Peer) opSession(ctx context.Context, req *request) (map[string]any, *OpError) {
	addr, err := req.Address.signal()
	if err != nil {
		return nil, classify(err, KindOther)
	}
	rec, ok := p.hasSession(ctx, addr)
	if !ok {
		return map[string]any{"exists": false, "version": 0}, nil
	}
	return map[string]any{"exists": true, "version": rec.SessionState().Version()}, nil
}

func (p *Peer) opTrust(req *request) *OpError {
	addr, err := req.Address.signal()
	if err != nil {
		return classify(err, KindOther)
	}
	if _, oe := decodeBundleKey("identity_key", req.IdentityKey); oe != nil {
		return oe
	}
	p.store.SetIdentity(addr, req.IdentityKey)
	return nil
}

func (p *Peer) groupBuilder() *groups.SessionBuilder {
	return groups.NewGroupSessionBuilder(p.store, p.store.Ser)
}

func (p *Peer) opGroupDistribution(ctx context.Context, req *request) (map[string]any, *OpError) {
	if req.DistributionID == nil {
		return nil, opErr(KindOther, "group_distribution: missing distribution_id")
	}
	name := protocol.NewSenderKeyName(*req.DistributionID, p.store.LocalAddress())
	m, err := p.groupBuilder().Create(ctx, name)
	if err != nil {
		return nil, classify(err, KindOther)
	}
	return map[string]any{"message": m.Serialize()}, nil
}

// receivingGroup names the group a message from sender belongs to. The
// whatsapp layout carries no group id, so group_process without a
// distribution_id files the sender's keys under the empty group id; the
// library keeps up to 5 states per record, told apart by key id.
func receivingGroup(req *request) string {
	if req.DistributionID != nil {
		return *req.DistributionID
	}
	return ""
}

func (p *Peer) opGroupProcess(ctx context.Context, req *request) *OpError {
	addr, err := req.Address.signal()
	if err != nil {
		return classify(err, KindOther)
	}
	m, err := protocol.NewSenderKeyDistributionMessageFromBytes(req.Message, p.store.Ser.SenderKeyDistributionMessage)
	if err != nil {
		return classify(err, KindInvalidMessage)
	}
	name := protocol.NewSenderKeyName(receivingGroup(req), addr)
	if err := p.groupBuilder().Process(ctx, name, m); err != nil {
		return classify(err, KindOther)
	}
	return nil
}

func (p *Peer) opGroupEncrypt(ctx context.Context, req *request) (map[string]any, *OpError) {
	if req.DistributionID == nil {
		return nil, opErr(KindOther, "group_encrypt: missing distribution_id")
	}
	name := protocol.NewSenderKeyName(*req.DistributionID, p.store.LocalAddress())
	m, err := groups.NewGroupCipher(p.groupBuilder(), name, p.store).Encrypt(ctx, req.Plaintext)
	if err != nil {
		return nil, classify(err, KindOther)
	}
	return map[string]any{"ciphertext": m.SignedSerialize()}, nil
}

func (p *Peer) opGroupDecrypt(ctx context.Context, req *request) (map[string]any, *OpError) {
	addr, err := req.Address.signal()
	if err != nil {
		return nil, classify(err, KindOther)
	}
	m, err := protocol.NewSenderKeyMessageFromBytes(req.Ciphertext, p.store.Ser.SenderKeyMessage)
	if err != nil {
		return nil, classify(err, KindInvalidMessage)
	}
	group, ok := "", false
	if req.DistributionID != nil {
		group, ok = *req.DistributionID, true
	} else {
		// Find the record of this sender holding the message's key id.
		for _, g := range p.store.SenderKeyGroups(addr) {
			rec, err := p.store.LoadSenderKey(ctx, protocol.NewSenderKeyName(g, addr))
			if err != nil {
				continue
			}
			if _, err := rec.GetSenderKeyStateByID(m.KeyID()); err == nil {
				group, ok = g, true
				break
			}
		}
	}
	if !ok {
		return nil, opErr(KindNoSession, "no sender key from %s with id %d", addr, m.KeyID())
	}
	name := protocol.NewSenderKeyName(group, addr)
	pt, err := groups.NewGroupCipher(p.groupBuilder(), name, p.store).Decrypt(ctx, m)
	if err != nil {
		return nil, classify(err, KindInvalidMessage)
	}
	if pt == nil {
		pt = []byte{}
	}
	return map[string]any{"plaintext": pt}, nil
}
