package main

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/session"
)

// groupPeer holds the peer's sender-key state (group_* ops).
type groupPeer struct {
	cipher  *group.Cipher
	store   group.SenderKeyStore
	boundTo peerStore // the peer store the cipher was built for
	layout  group.Layout
	memory  *group.MemoryStore // used when the peer store keeps no sender keys
	// groups lists, per sender, the application group IDs its whatsapp-layout
	// keys were filed under (the layout names no group), so that a message
	// can be matched to its record by chain ID.
	groups map[session.Address][]string
}

func init() {
	extraOps["group_distribution"] = (*peer).groupDistribution
	extraOps["group_process"] = (*peer).groupProcess
	extraOps["group_encrypt"] = (*peer).groupEncrypt
	extraOps["group_decrypt"] = (*peer).groupDecryptOp
	// addErrorKind puts each ahead of the ones before: most specific last.
	addErrorKind(group.ErrInvalidMessage, "invalid_message")
	addErrorKind(group.ErrInvalidKey, "invalid_key")
	addErrorKind(group.ErrNoSenderKey, "no_session")
	addErrorKind(group.ErrTooFar, "too_far")
	addErrorKind(group.ErrDuplicateMessage, "duplicate_message")
	addErrorKind(group.ErrInvalidSignature, "invalid_signature")
}

type groupRequest struct {
	Address        *peerAddress `json:"address"`
	DistributionID *string      `json:"distribution_id"`
	Message        []byte       `json:"message"`
	Plaintext      []byte       `json:"plaintext"`
	Ciphertext     []byte       `json:"ciphertext"`
}

func decodeGroupRequest(raw []byte) (*groupRequest, error) {
	var r groupRequest
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, kindErr("other", "bad request: %v", err)
	}
	return &r, nil
}

// groupCipher returns the sender-key cipher, built (again) when the peer's
// store or flavour changed: the peer store when it keeps sender keys (the
// durable stores do), else an in-memory store kept for the process.
func (p *peer) groupCipher() *group.Cipher {
	if p.groups == nil {
		p.groups = &groupPeer{groups: map[session.Address][]string{}}
	}
	g := p.groups
	layout := group.LayoutSignal
	if p.flavour == "whatsapp" {
		layout = group.LayoutWhatsApp
	}
	if g.cipher != nil && g.boundTo == p.store && g.layout == layout {
		return g.cipher
	}
	if sk, ok := p.store.(group.SenderKeyStore); ok {
		g.store = sk
	} else {
		if g.memory == nil {
			g.memory = group.NewMemoryStore()
		}
		g.store = g.memory
	}
	g.boundTo, g.layout = p.store, layout
	g.cipher = group.NewCipher(g.store, group.WithLayout(layout))
	return g.cipher
}

func (p *peer) ownSenderKeyName(dist string) group.SenderKeyName {
	return group.SenderKeyName{Sender: p.name, DeviceID: p.device, DistributionID: dist}
}

func (p *peer) groupDistribution(raw []byte) (map[string]any, error) {
	r, err := decodeGroupRequest(raw)
	if err != nil {
		return nil, err
	}
	if r.DistributionID == nil {
		return nil, kindErr("other", "group_distribution needs distribution_id")
	}
	m, err := p.groupCipher().CreateDistributionMessage(p.ctx, p.ownSenderKeyName(*r.DistributionID))
	if err != nil {
		return nil, err
	}
	return map[string]any{"message": m.Bytes()}, nil
}

// groupProcess accepts a distribution message of either layout. A
// whatsapp-layout one names no group: it is filed under distribution_id
// when given, else under the empty group ID (as the go.mau.fi peer does).
func (p *peer) groupProcess(raw []byte) (map[string]any, error) {
	r, err := decodeGroupRequest(raw)
	if err != nil {
		return nil, err
	}
	if r.Address == nil {
		return nil, kindErr("other", "group_process needs address")
	}
	m, err := group.ParseAnySenderKeyDistributionMessage(r.Message)
	if err != nil {
		return nil, err
	}
	c := p.groupCipher()
	addr := session.Address{Name: r.Address.Name, DeviceID: r.Address.Device}
	name := group.SenderKeyName{Sender: addr.Name, DeviceID: addr.DeviceID}
	if r.DistributionID != nil {
		name.DistributionID = *r.DistributionID
	}
	if err := c.ProcessDistributionMessage(p.ctx, name, m); err != nil {
		return nil, err
	}
	if m.Layout == group.LayoutWhatsApp {
		g := p.groups
		if !slices.Contains(g.groups[addr], name.DistributionID) {
			g.groups[addr] = append(g.groups[addr], name.DistributionID)
		}
	}
	return nil, nil
}

func (p *peer) groupEncrypt(raw []byte) (map[string]any, error) {
	r, err := decodeGroupRequest(raw)
	if err != nil {
		return nil, err
	}
	if r.DistributionID == nil {
		return nil, kindErr("other", "group_encrypt needs distribution_id")
	}
	ct, err := p.groupCipher().Encrypt(p.ctx, p.ownSenderKeyName(*r.DistributionID), r.Plaintext)
	if err != nil {
		return nil, err
	}
	return map[string]any{"ciphertext": ct}, nil
}

func (p *peer) groupDecryptOp(raw []byte) (map[string]any, error) {
	r, err := decodeGroupRequest(raw)
	if err != nil {
		return nil, err
	}
	if r.Address == nil {
		return nil, kindErr("other", "group_decrypt needs address")
	}
	addr := session.Address{Name: r.Address.Name, DeviceID: r.Address.Device}
	pt, err := p.groupDecryptIn(addr, r.DistributionID, r.Ciphertext)
	if err != nil {
		return nil, err
	}
	return map[string]any{"plaintext": nonNil(pt)}, nil
}

// groupDecrypt decrypts a SenderKeyMessage (either layout) from sender; the
// sealed-sender ops call it for sealed messages of inner type 7.
func (p *peer) groupDecrypt(sender session.Address, ciphertext []byte) ([]byte, error) {
	return p.groupDecryptIn(sender, nil, ciphertext)
}

// groupDecryptIn: a signal-layout message names its distribution; a
// whatsapp-layout one is looked up under dist when given, else under each
// group ID the sender's keys were filed under (the empty one first).
// Failed attempts change nothing stored, so trying several is safe.
func (p *peer) groupDecryptIn(sender session.Address, dist *string, ciphertext []byte) ([]byte, error) {
	m, err := group.ParseAnySenderKeyMessage(ciphertext)
	if err != nil {
		return nil, err
	}
	c := p.groupCipher()
	name := group.SenderKeyName{Sender: sender.Name, DeviceID: sender.DeviceID}
	if dist != nil || m.Layout == group.LayoutSignal {
		if dist != nil {
			name.DistributionID = *dist
		}
		return c.DecryptMessage(p.ctx, name, m)
	}
	candidates := []string{""}
	for _, d := range p.groups.groups[sender] {
		if d != "" {
			candidates = append(candidates, d)
		}
	}
	var pt []byte
	for _, d := range candidates {
		name.DistributionID = d
		if pt, err = c.DecryptMessage(p.ctx, name, m); !errors.Is(err, group.ErrNoSenderKey) {
			break
		}
	}
	return pt, err
}
