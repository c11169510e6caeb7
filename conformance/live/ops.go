package live

import (
	"encoding/json"
	"strconv"
)

// Address names one device of one user.
type Address struct {
	Name   string `json:"name"`
	Device int    `json:"device"`
}

func (a Address) String() string { return a.Name + "." + strconv.Itoa(a.Device) }

// Message type numbers of the peer protocol.
const (
	TypeSignal = 2 // SignalMessage
	TypePreKey = 3 // PreKeySignalMessage
)

// Message is one encrypted 1:1 message as it travels between peers.
type Message struct {
	Type       int    `json:"type"`
	Ciphertext []byte `json:"ciphertext"`
}

// Capabilities is the capabilities response.
type Capabilities struct {
	Ops            []string `json:"ops"`
	Implementation string   `json:"implementation"`
	Flavours       []string `json:"flavours"`
	// FlavoursDeclared is true if the peer sent a "flavours" field.
	FlavoursDeclared bool `json:"-"`
	// ProtocolVersion is the version of docs/peer-protocol.md the peer
	// implements: its "protocol_version" field, 1 when absent.
	ProtocolVersion int `json:"protocol_version"`
	// Adversary lists the deviations a peer started in adversary mode
	// performs on request (docs/peer-protocol.md, "Adversary mode"; v3).
	Adversary []string `json:"adversary"`
}

// Has reports whether op is listed.
func (c Capabilities) Has(op string) bool {
	for _, o := range c.Ops {
		if o == op {
			return true
		}
	}
	return false
}

// Offers reports whether the peer speaks a flavour (no declaration = signal).
func (c Capabilities) Offers(flavour string) bool {
	if !c.FlavoursDeclared {
		return flavour == "signal"
	}
	for _, f := range c.Flavours {
		if f == flavour {
			return true
		}
	}
	return false
}

// InitOptions are the init request fields.
type InitOptions struct {
	Name           string
	Device         int
	RegistrationID int    // 0 = let the peer choose
	Store          string // "" = in memory
	Flavour        string // "" = do not send the field
}

// InitResult is the init response.
type InitResult struct {
	IdentityKey    []byte `json:"identity_key"`
	RegistrationID int    `json:"registration_id"`
}

// BundleFields are the parsed fields of a bundle object.
type BundleFields struct {
	RegistrationID        int    `json:"registration_id"`
	Device                int    `json:"device"`
	IdentityKey           []byte `json:"identity_key"`
	SignedPreKeyID        *int64 `json:"signed_prekey_id"`
	SignedPreKey          []byte `json:"signed_prekey"`
	SignedPreKeySignature []byte `json:"signed_prekey_signature"`
	PreKeyID              *int64 `json:"prekey_id"`
	PreKey                []byte `json:"prekey"`
	KyberPreKeyID         *int64 `json:"kyber_prekey_id"`
	KyberPreKey           []byte `json:"kyber_prekey"`
	KyberPreKeySignature  []byte `json:"kyber_prekey_signature"`
}

// Bundle is a prekey bundle: the exact JSON the peer sent (handed on
// unchanged) and its parsed fields.
type Bundle struct {
	Raw json.RawMessage
	BundleFields
}

// SessionInfo is the session response.
type SessionInfo struct {
	Exists  bool `json:"exists"`
	Version int  `json:"version"`
}

// FingerprintResult is the fingerprint response.
type FingerprintResult struct {
	Displayable string `json:"displayable"`
	Scannable   []byte `json:"scannable"`
}

// ServerKeys is the server_keys response.
type ServerKeys struct {
	TrustRoot         []byte `json:"trust_root"`
	ServerCertificate []byte `json:"server_certificate"`
}

// SealedResult is the sealed_decrypt response.
type SealedResult struct {
	Plaintext []byte  `json:"plaintext"`
	Sender    Address `json:"sender"`
	Type      int     `json:"type"`
}

// Capabilities asks for the peer's ops, implementation, flavours and
// protocol version (docs/peer-protocol.md#versions).
func (p *Peer) Capabilities() (Capabilities, error) {
	var c Capabilities
	raw, err := p.CallRaw("capabilities", nil)
	if err != nil {
		return c, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return c, p.fail("malformed capabilities response: %v", err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, p.fail("malformed capabilities response: %v", err)
	}
	if f, ok := probe["flavours"]; ok && string(f) != "null" {
		c.FlavoursDeclared = true
	}
	// Version 1 of docs/peer-protocol.md had no protocol_version field.
	if c.ProtocolVersion == 0 {
		c.ProtocolVersion = 1
	}
	if c.ProtocolVersion < 0 {
		return c, p.fail("malformed capabilities response: protocol_version %d", c.ProtocolVersion)
	}
	return c, nil
}

// Init creates the peer's identity.
func (p *Peer) Init(o InitOptions) (InitResult, error) {
	f := map[string]any{"name": o.Name, "device": o.Device}
	if o.RegistrationID != 0 {
		f["registration_id"] = o.RegistrationID
	}
	if o.Store != "" {
		f["store"] = o.Store
	}
	if o.Flavour != "" {
		f["flavour"] = o.Flavour
	}
	var r InitResult
	err := p.Call("init", f, &r)
	return r, err
}

// Bundle asks for a fresh prekey bundle.
func (p *Peer) Bundle(oneTime, kyber bool) (*Bundle, error) {
	var r struct {
		Bundle json.RawMessage `json:"bundle"`
	}
	if err := p.Call("bundle", map[string]any{"one_time": oneTime, "kyber": kyber}, &r); err != nil {
		return nil, err
	}
	if len(r.Bundle) == 0 || r.Bundle[0] != '{' {
		return nil, p.fail("bundle response lacks a bundle object")
	}
	b := &Bundle{Raw: r.Bundle}
	if err := json.Unmarshal(r.Bundle, &b.BundleFields); err != nil {
		return nil, p.fail("malformed bundle: %v", err)
	}
	return b, nil
}

// ProcessBundle starts a session with address from its bundle.
func (p *Peer) ProcessBundle(addr Address, b *Bundle) error {
	return p.Call("process_bundle", map[string]any{"address": addr, "bundle": b.Raw}, nil)
}

// Encrypt encrypts a 1:1 message.
func (p *Peer) Encrypt(addr Address, plaintext []byte) (Message, error) {
	var m Message
	err := p.Call("encrypt", map[string]any{"address": addr, "plaintext": nonNil(plaintext)}, &m)
	return m, err
}

// Decrypt decrypts a 1:1 message.
func (p *Peer) Decrypt(addr Address, m Message) ([]byte, error) {
	var r struct {
		Plaintext []byte `json:"plaintext"`
	}
	err := p.Call("decrypt", map[string]any{"address": addr, "type": m.Type, "ciphertext": nonNil(m.Ciphertext)}, &r)
	return nonNil(r.Plaintext), err
}

// Session describes the current session with addr.
func (p *Peer) Session(addr Address) (SessionInfo, error) {
	var s SessionInfo
	err := p.Call("session", map[string]any{"address": addr}, &s)
	return s, err
}

// Trust replaces the trusted identity for addr's name.
func (p *Peer) Trust(addr Address, identityKey []byte) error {
	return p.Call("trust", map[string]any{"address": addr, "identity_key": identityKey}, nil)
}

// Fingerprint computes a safety number.
func (p *Peer) Fingerprint(localID, remoteID string, remoteIdentityKey []byte, version int) (FingerprintResult, error) {
	var r FingerprintResult
	err := p.Call("fingerprint", map[string]any{
		"local_id": localID, "remote_id": remoteID,
		"remote_identity_key": remoteIdentityKey, "version": version,
	}, &r)
	return r, err
}

// GroupDistribution returns a SenderKeyDistributionMessage for the group.
func (p *Peer) GroupDistribution(distributionID string) ([]byte, error) {
	var r struct {
		Message []byte `json:"message"`
	}
	err := p.Call("group_distribution", map[string]any{"distribution_id": distributionID}, &r)
	return r.Message, err
}

// GroupProcess stores a sender's SenderKeyDistributionMessage.
func (p *Peer) GroupProcess(sender Address, message []byte) error {
	return p.Call("group_process", map[string]any{"address": sender, "message": nonNil(message)}, nil)
}

// GroupEncrypt encrypts a SenderKeyMessage.
func (p *Peer) GroupEncrypt(distributionID string, plaintext []byte) ([]byte, error) {
	var r struct {
		Ciphertext []byte `json:"ciphertext"`
	}
	err := p.Call("group_encrypt", map[string]any{"distribution_id": distributionID, "plaintext": nonNil(plaintext)}, &r)
	return r.Ciphertext, err
}

// GroupDecrypt decrypts a SenderKeyMessage.
func (p *Peer) GroupDecrypt(sender Address, ciphertext []byte) ([]byte, error) {
	var r struct {
		Plaintext []byte `json:"plaintext"`
	}
	err := p.Call("group_decrypt", map[string]any{"address": sender, "ciphertext": nonNil(ciphertext)}, &r)
	return nonNil(r.Plaintext), err
}

// ServerKeys makes the peer a sealed-sender server.
func (p *Peer) ServerKeys() (ServerKeys, error) {
	var r ServerKeys
	err := p.Call("server_keys", nil, &r)
	return r, err
}

// SenderCertificate issues a sender certificate.
func (p *Peer) SenderCertificate(sender Address, identityKey []byte, expires int64) ([]byte, error) {
	var r struct {
		Certificate []byte `json:"certificate"`
	}
	err := p.Call("sender_certificate", map[string]any{"address": sender, "identity_key": identityKey, "expires": expires}, &r)
	return r.Certificate, err
}

// SealedEncrypt seals a message to recipient.
func (p *Peer) SealedEncrypt(recipient Address, plaintext, certificate []byte) ([]byte, error) {
	var r struct {
		Ciphertext []byte `json:"ciphertext"`
	}
	err := p.Call("sealed_encrypt", map[string]any{"address": recipient, "plaintext": nonNil(plaintext), "certificate": certificate}, &r)
	return r.Ciphertext, err
}

// SealedDecrypt opens a sealed-sender message.
func (p *Peer) SealedDecrypt(ciphertext, trustRoot []byte, now int64) (SealedResult, error) {
	var r SealedResult
	err := p.Call("sealed_decrypt", map[string]any{"ciphertext": nonNil(ciphertext), "trust_root": trustRoot, "now": now}, &r)
	r.Plaintext = nonNil(r.Plaintext)
	return r, err
}

// Restart drops the peer's memory and reloads its durable store.
func (p *Peer) Restart() error { return p.Call("restart", nil, nil) }

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
