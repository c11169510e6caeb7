package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/interlock-e2ee/interlock/internal/adversary"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// The conformance peer: docs/peer-protocol.md.

// peerProtocolVersion is the version of docs/peer-protocol.md this peer
// implements, reported by capabilities as protocol_version.
const peerProtocolVersion = 3

type peerRequest struct {
	ID          int64               `json:"id"`
	Op          string              `json:"op"`
	Name        string              `json:"name"`
	Device      uint32              `json:"device"`
	RegID       *uint32             `json:"registration_id"`
	Store       string              `json:"store"`
	Flavour     string              `json:"flavour"`
	OneTime     *bool               `json:"one_time"`
	Kyber       *bool               `json:"kyber"`
	LastResort  bool                `json:"last_resort"` // bundle: the Kyber prekey is a last-resort one (issue #21)
	Address     *peerAddress        `json:"address"`
	Bundle      *peerBundle         `json:"bundle"`
	Plaintext   []byte              `json:"plaintext"`
	Type        session.MessageType `json:"type"`
	Ciphertext  []byte              `json:"ciphertext"`
	IdentityKey []byte              `json:"identity_key"`
	// PQRatchet is encrypt's adversary field (docs/peer-protocol.md,
	// "Adversary mode"): "omit" or {"version": N}.
	PQRatchet json.RawMessage `json:"pq_ratchet"`
}

type peerAddress struct {
	Name   string `json:"name"`
	Device uint32 `json:"device"`
}

type peerBundle struct {
	RegistrationID        uint32  `json:"registration_id"`
	Device                uint32  `json:"device"`
	IdentityKey           []byte  `json:"identity_key"`
	SignedPreKeyID        uint32  `json:"signed_prekey_id"`
	SignedPreKey          []byte  `json:"signed_prekey"`
	SignedPreKeySignature []byte  `json:"signed_prekey_signature"`
	PreKeyID              *uint32 `json:"prekey_id,omitempty"`
	PreKey                []byte  `json:"prekey,omitempty"`
	KyberPreKeyID         *uint32 `json:"kyber_prekey_id,omitempty"`
	KyberPreKey           []byte  `json:"kyber_prekey,omitempty"`
	KyberPreKeySignature  []byte  `json:"kyber_prekey_signature,omitempty"`
}

// peerError is a protocol error with its kind.
type peerError struct {
	kind string
	err  error
}

func (e *peerError) Error() string { return e.err.Error() }

func kindErr(kind string, format string, args ...any) error {
	return &peerError{kind: kind, err: fmt.Errorf(format, args...)}
}

var peerOps = []string{"init", "bundle", "process_bundle", "encrypt", "decrypt", "session", "trust", "capabilities"}

// peerStore is what the peer needs of a store; session.MemoryStore and the
// SQL stores provide it.
type peerStore interface {
	session.Store
}

type peer struct {
	ctx      context.Context
	store    peerStore
	cipher   *session.Cipher
	identity prekey.IdentityKeyPair
	regID    uint32
	flavour  string
	policy   session.Policy
	spqr     session.SPQRPolicy
	name     string
	device   uint32
	nextID   uint32
	// adversary is set by --adversary: encrypt honours pq_ratchet.
	adversary bool
	// flavours are the flavours offered (--flavour restricts them).
	flavours []string

	groups *groupPeer  // peer_group.go
	sealed *sealedPeer // peer_sealed.go
}

// newPeerStore opens the peer's store: path is init's `store` field ("" =
// in memory). peer_store.go replaces it with the durable stores; a durable
// store that already holds an identity returns it instead of id/reg.
var newPeerStore = func(_ context.Context, path string, id prekey.IdentityKeyPair, reg uint32) (peerStore, prekey.IdentityKeyPair, uint32, error) {
	return session.NewMemoryStore(id, reg), id, reg, nil
}

const peerUsage = `usage: interlock peer [--no-spqr] [--adversary] [--flavour signal|whatsapp]

Serves the conformance peer protocol (docs/peer-protocol.md, version 3):
one JSON request per line on standard input, one JSON response per line
on standard output. Test tooling: the peer holds keys for the
protocol it serves and must not face untrusted callers outside a test.
`

// servePeer runs `interlock peer`. A usage error or --help is returned as
// an exitStatus, already reported.
func servePeer(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("peer", peerUsage)
	noSPQR := fs.Bool("no-spqr", false, "never offer the SPQR triple ratchet (a stand-in for clients without it)")
	adv := fs.Bool("adversary", false, "also write messages no honest sender writes, on request (encrypt's pq_ratchet); the conformance report starts its own")
	only := fs.String("flavour", "", "offer only this flavour, signal or whatsapp (default: both)")
	if status, ok := parseArgs(fs, args, stdout, stderr); !ok {
		return exitStatus(status)
	}
	if err := noArgs(fs); err != nil {
		return exitStatus(finish(fs, stderr, err))
	}
	p := &peer{ctx: context.Background(), nextID: 1, adversary: *adv, flavours: []string{"signal", "whatsapp"}}
	switch *only {
	case "":
	case "signal", "whatsapp":
		p.flavours = []string{*only}
	default:
		return exitStatus(usageFail(fs, stderr, "--flavour %q: want signal or whatsapp", *only))
	}
	if *noSPQR {
		p.spqr = session.NoSPQR
	}
	in := bufio.NewReader(stdin)
	out := bufio.NewWriter(stdout)
	for {
		line, err := in.ReadBytes('\n')
		// A blank line is no request: answering it would shift every
		// later answer against its request.
		if len(bytes.TrimSpace(line)) > 0 {
			resp := p.handle(line, stderr)
			b, merr := json.Marshal(resp)
			if merr != nil {
				b = []byte(`{"ok":false,"error":{"kind":"other","message":"cannot encode response"}}`)
			}
			out.Write(b)
			out.WriteByte('\n')
			if ferr := out.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (p *peer) handle(line []byte, stderr io.Writer) (resp map[string]any) {
	var req peerRequest
	var id any
	if err := json.Unmarshal(line, &req); err != nil {
		// Echo the id if at least that parses.
		var probe struct {
			ID any `json:"id"`
		}
		_ = json.Unmarshal(line, &probe)
		return failure(probe.ID, kindErr("other", "bad request: %v", err))
	}
	id = req.ID
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "interlock peer: panic in %s: %v\n", req.Op, r)
			resp = failure(id, kindErr("other", "internal error in %s", req.Op))
		}
	}()
	fields, err := p.dispatch(&req, line)
	if err != nil {
		return failure(id, err)
	}
	resp = map[string]any{"id": id, "ok": true}
	for k, v := range fields {
		resp[k] = v
	}
	return resp
}

func failure(id any, err error) map[string]any {
	return map[string]any{"id": id, "ok": false, "error": map[string]any{"kind": errorKind(err), "message": err.Error()}}
}

// errorKinds maps library sentinels to the peer protocol's kinds, most
// specific first. Files that add ops (groups, sealed sender, stores) add
// their sentinels in init functions, before the generic ones are reached.
var errorKinds = []struct {
	err  error
	kind string
}{
	{session.ErrTooFar, "too_far"},
	{session.ErrDuplicateMessage, "duplicate_message"},
	{session.ErrUntrustedIdentity, "untrusted_identity"},
	{session.ErrInvalidPreKey, "invalid_prekey"},
	{session.ErrInvalidSignature, "invalid_signature"},
	{session.ErrInvalidMessage, "invalid_message"},
	{session.ErrInvalidKey, "invalid_key"},
	{session.ErrNoSession, "no_session"},
	{session.ErrUnsupported, "unsupported"},
}

// addErrorKind registers a sentinel ahead of the generic ones.
func addErrorKind(err error, kind string) {
	errorKinds = append([]struct {
		err  error
		kind string
	}{{err, kind}}, errorKinds...)
}

// errorKind maps library errors to the peer protocol's kinds.
func errorKind(err error) string {
	var pe *peerError
	if errors.As(err, &pe) {
		return pe.kind
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return "other"
}

// extraOps are ops implemented in other files of this package (groups,
// sealed sender, fingerprints, restart). Each handler decodes its own fields
// from the raw request line; init has run when it is called.
var extraOps = map[string]func(p *peer, raw []byte) (map[string]any, error){}

// peerOpsList returns every implemented op.
func peerOpsList() []string {
	ops := append([]string(nil), peerOps...)
	for op := range extraOps {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

func (p *peer) dispatch(r *peerRequest, raw []byte) (map[string]any, error) {
	if r.Op == "capabilities" {
		caps := map[string]any{
			"ops":            peerOpsList(),
			"implementation": "interlock " + version,
			"flavours":       p.flavours,
			// docs/peer-protocol.md#versions
			"protocol_version": peerProtocolVersion,
		}
		if p.adversary {
			caps["adversary"] = []string{"pq_ratchet"}
		}
		return caps, nil
	}
	if r.Op == "init" {
		return p.init(r)
	}
	if !slices.Contains(peerOps, r.Op) && extraOps[r.Op] == nil {
		return nil, kindErr("unsupported", "op %q is not implemented", r.Op)
	}
	if p.cipher == nil {
		return nil, kindErr("other", "%s before init", r.Op)
	}
	if r.Address != nil && r.Address.Name == "" {
		return nil, kindErr("other", "%s: address without a name", r.Op)
	}
	if h, ok := extraOps[r.Op]; ok {
		return h(p, raw)
	}
	switch r.Op {
	case "bundle":
		return p.bundle(r)
	case "process_bundle":
		if r.Address == nil || r.Bundle == nil {
			return nil, kindErr("other", "process_bundle needs address and bundle")
		}
		b, err := r.Bundle.parse()
		if err != nil {
			return nil, err
		}
		return nil, p.cipher.ProcessBundle(p.ctx, r.addr(), b)
	case "encrypt":
		if r.Address == nil {
			return nil, kindErr("other", "encrypt needs address")
		}
		ctx, err := p.deviation(r)
		if err != nil {
			return nil, err
		}
		typ, ct, err := p.cipher.Encrypt(ctx, r.addr(), r.Plaintext)
		if err != nil {
			return nil, err
		}
		return map[string]any{"type": typ, "ciphertext": ct}, nil
	case "decrypt":
		if r.Address == nil {
			return nil, kindErr("other", "decrypt needs address")
		}
		if r.Type != session.TypeSignal && r.Type != session.TypePreKey {
			return nil, kindErr("invalid_message", "message type %d is not a 1:1 message", r.Type)
		}
		pt, err := p.cipher.Decrypt(p.ctx, r.addr(), r.Type, r.Ciphertext)
		if err != nil {
			return nil, err
		}
		return map[string]any{"plaintext": nonNil(pt)}, nil
	case "session":
		if r.Address == nil {
			return nil, kindErr("other", "session needs address")
		}
		v, err := p.cipher.SessionVersion(p.ctx, r.addr())
		if err != nil {
			return nil, err
		}
		return map[string]any{"exists": v != 0, "version": v}, nil
	case "trust":
		if r.Address == nil {
			return nil, kindErr("other", "trust needs address")
		}
		k, err := prekey.NewIdentityKey(r.IdentityKey)
		if err != nil {
			return nil, err
		}
		_, err = p.store.SaveIdentity(p.ctx, r.addr(), k)
		return nil, err
	}
	return nil, kindErr("unsupported", "op %q is not implemented", r.Op)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func (r *peerRequest) addr() session.Address {
	return session.Address{Name: r.Address.Name, DeviceID: r.Address.Device}
}

func (p *peer) init(r *peerRequest) (map[string]any, error) {
	if r.Name == "" {
		return nil, kindErr("other", "init needs name")
	}
	id, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	reg := uint32(0)
	if r.RegID != nil {
		reg = *r.RegID
	} else if reg, err = prekey.GenerateRegistrationID(rand.Reader); err != nil {
		return nil, err
	}
	policy := session.RequirePQXDH
	switch r.Flavour {
	case "", "signal":
		r.Flavour = "signal"
	case "whatsapp":
		policy = session.AllowX3DH
	default:
		return nil, kindErr("unsupported", "flavour %q", r.Flavour)
	}
	if !slices.Contains(p.flavours, r.Flavour) {
		return nil, kindErr("unsupported", "flavour %q (this peer offers %v)", r.Flavour, p.flavours)
	}
	store, id, reg, err := newPeerStore(p.ctx, r.Store, id, reg)
	if err != nil {
		return nil, err
	}
	p.identity, p.regID, p.flavour, p.device, p.name = id, reg, r.Flavour, r.Device, r.Name
	p.policy = policy
	p.store = store
	if p.nextID, err = nextPreKeyID(p.ctx, store); err != nil { // peer_store.go
		return nil, err
	}
	p.cipher = p.newCipher()
	return map[string]any{"identity_key": id.PublicKey().Bytes(), "registration_id": reg}, nil
}

// newCipher builds the session cipher over p.store with the peer's policies.
func (p *peer) newCipher() *session.Cipher {
	return session.NewCipher(p.store, session.WithPolicy(p.policy), session.WithSPQR(p.spqr),
		session.WithLocalAddress(session.Address{Name: p.name, DeviceID: p.device}))
}

func (p *peer) bundle(r *peerRequest) (map[string]any, error) {
	oneTime := r.OneTime == nil || *r.OneTime
	kyber := r.Kyber == nil || *r.Kyber
	now := time.Now()
	id := p.nextID
	p.nextID++
	spk, err := prekey.GenerateSignedPreKey(rand.Reader, p.identity, id, now)
	if err != nil {
		return nil, err
	}
	if err := p.store.StoreSignedPreKey(p.ctx, &spk); err != nil {
		return nil, err
	}
	b := &peerBundle{
		RegistrationID:        p.regID,
		Device:                p.device,
		IdentityKey:           p.identity.PublicKey().Bytes(),
		SignedPreKeyID:        spk.ID,
		SignedPreKey:          spk.KeyPair.Public.Bytes(),
		SignedPreKeySignature: spk.Signature,
	}
	if oneTime {
		pks, err := prekey.GeneratePreKeys(rand.Reader, id, 1)
		if err != nil {
			return nil, err
		}
		if err := p.store.StorePreKey(p.ctx, &pks[0]); err != nil {
			return nil, err
		}
		b.PreKeyID, b.PreKey = &pks[0].ID, pks[0].KeyPair.Public.Bytes()
	}
	if kyber {
		kpk, err := prekey.GenerateKyberPreKey(rand.Reader, p.identity, id, r.LastResort, now)
		if err != nil {
			return nil, err
		}
		if err := p.store.StoreKyberPreKey(p.ctx, &kpk); err != nil {
			return nil, err
		}
		b.KyberPreKeyID, b.KyberPreKey, b.KyberPreKeySignature = &kpk.ID, kpk.KeyPair.Public.Bytes(), kpk.Signature
	}
	if kyber && r.LastResort {
		// Echoed so that a driver knows the peer honoured it.
		return map[string]any{"bundle": b, "last_resort": true}, nil
	}
	return map[string]any{"bundle": b}, nil
}

func (b *peerBundle) parse() (*prekey.Bundle, error) {
	ik, err := prekey.NewIdentityKey(b.IdentityKey)
	if err != nil {
		return nil, err
	}
	spk, err := prekey.NewPublicKey(b.SignedPreKey)
	if err != nil {
		return nil, err
	}
	out := &prekey.Bundle{
		RegistrationID:        b.RegistrationID,
		DeviceID:              b.Device,
		IdentityKey:           ik,
		SignedPreKeyID:        b.SignedPreKeyID,
		SignedPreKey:          spk,
		SignedPreKeySignature: b.SignedPreKeySignature,
	}
	if b.PreKeyID != nil || b.PreKey != nil {
		if b.PreKeyID == nil || b.PreKey == nil {
			return nil, kindErr("invalid_key", "bundle has a one-time prekey ID without key or the reverse")
		}
		if out.PreKey, err = prekey.NewPublicKey(b.PreKey); err != nil {
			return nil, err
		}
		out.PreKeyID = *b.PreKeyID
	}
	if b.KyberPreKeyID != nil || b.KyberPreKey != nil {
		if b.KyberPreKeyID == nil || b.KyberPreKey == nil {
			return nil, kindErr("invalid_key", "bundle has a Kyber prekey ID without key or the reverse")
		}
		if out.KyberPreKey, err = prekey.NewKEMPublicKey(b.KyberPreKey); err != nil {
			return nil, err
		}
		out.KyberPreKeyID = *b.KyberPreKeyID
		out.KyberPreKeySignature = b.KyberPreKeySignature
	}
	return out, nil
}

// deviation returns the context encrypt runs under: p.ctx, or in adversary
// mode p.ctx carrying the pq_ratchet the request asks for
// (docs/peer-protocol.md, "Adversary mode").
func (p *peer) deviation(r *peerRequest) (context.Context, error) {
	if len(r.PQRatchet) == 0 || string(r.PQRatchet) == "null" {
		return p.ctx, nil
	}
	if !p.adversary {
		return nil, kindErr("unsupported", "encrypt: pq_ratchet needs interlock peer --adversary")
	}
	var omit string
	if json.Unmarshal(r.PQRatchet, &omit) == nil {
		if omit != "omit" {
			return nil, kindErr("other", "encrypt: pq_ratchet %q: want \"omit\" or {\"version\": N}", omit)
		}
		return adversary.WithPQRatchet(p.ctx, adversary.PQRatchet{Omit: true}), nil
	}
	var v struct {
		Version *uint8 `json:"version"`
	}
	if err := json.Unmarshal(r.PQRatchet, &v); err != nil || v.Version == nil {
		return nil, kindErr("other", "encrypt: pq_ratchet: want \"omit\" or {\"version\": N} with N in 0..255")
	}
	return adversary.WithPQRatchet(p.ctx, adversary.PQRatchet{Version: *v.Version}), nil
}
