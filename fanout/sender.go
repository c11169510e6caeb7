package fanout

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

// Config is what a Sender works with.
type Config struct {
	// Sessions encrypts the distribution messages; SessionStore is the
	// store it was built over (registration IDs and identity keys for
	// sealed sender v2 and device checks).
	Sessions     *session.Cipher
	SessionStore session.Store
	// Groups encrypts with our sender keys; SenderKeys is the store it was
	// built over (Rotate empties our record there).
	Groups     *group.Cipher
	SenderKeys group.SenderKeyStore
	// Shared records which devices hold which of our chains.
	Shared DistributionStore
	// WrapDistribution, when set, turns the serialized distribution message
	// into the plaintext of the 1:1 messages (an application's Content
	// protobuf, for example). By default the plaintext is the message
	// itself.
	WrapDistribution func(skdm []byte) []byte
}

// Sender sends group messages: see the package documentation.
type Sender struct {
	cfg Config

	mu    sync.Mutex
	locks map[group.SenderKeyName]*sync.Mutex
}

// NewSender returns a Sender; every field of cfg but WrapDistribution is
// required.
func NewSender(cfg Config) (*Sender, error) {
	if cfg.Sessions == nil || cfg.SessionStore == nil || cfg.Groups == nil || cfg.SenderKeys == nil || cfg.Shared == nil {
		return nil, errors.New("fanout: incomplete Config")
	}
	return &Sender{cfg: cfg, locks: map[group.SenderKeyName]*sync.Mutex{}}, nil
}

// lock serialises Send and Rotate on one of our chains.
func (s *Sender) lock(self group.SenderKeyName) func() {
	self.DistributionID = strings.ToLower(self.DistributionID)
	s.mu.Lock()
	l := s.locks[self]
	if l == nil {
		l = new(sync.Mutex)
		s.locks[self] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Outgoing is one group message ready to hand to the server.
type Outgoing struct {
	// DistributionID and ChainID name the chain the message uses.
	DistributionID string
	ChainID        uint32
	// Distribution holds one 1:1 message per member device that did not yet
	// hold the chain, each carrying the distribution message. Send them
	// first (or in the same request), then call Delivered.
	Distribution []session.Message
	// SenderKeyMessage is the group message, the same for every device.
	SenderKeyMessage []byte
	// Devices lists every member device, sorted.
	Devices []session.Address

	// sessions names the session each distribution message went over, for
	// Delivered.
	sessions map[session.Address][]byte
}

// Send encrypts plaintext for the member devices in members with our chain
// self (self.Sender and self.DeviceID are our own address), creating the
// chain if needed and distributing it to the devices that lack it, in one
// batch. A Recipient's Bundle starts a new session with that device and
// sends it the distribution message again; its RegistrationID, when set, is
// checked against the session for every device.
//
// Devices without a session, or whose registration ID changed, fail the
// send with a *session.DeviceMismatchError before anything is encrypted
// (session.Cipher.ResolveDeviceMismatch, then fetch bundles and retry). A
// device whose stored record does not parse counts as Missing: its fresh
// bundle replaces the record. When EncryptMany leaves some devices out
// and encrypts for the others (a *session.BatchError of records found
// corrupt while encrypting), Send returns the Outgoing for the others,
// without the failed devices, together with that error; the failed devices
// get the chain in a later Send. Any other failure fails the whole send.
//
// Across processes sharing the stores, another process may rotate the
// chain between the distribution and the group message: the message would
// then use a chain the devices were not sent. Send checks the chain the
// message used and, if it changed, starts again (up to three times) with
// the new chain (issue #19 item 1).
func (s *Sender) Send(ctx context.Context, self group.SenderKeyName, members []session.Recipient, plaintext []byte) (*Outgoing, error) {
	defer s.lock(self)()
	for range 3 {
		out, err := s.send(ctx, self, members, plaintext)
		if !errors.Is(err, errChainChanged) {
			return out, err
		}
	}
	return nil, fmt.Errorf("%w three times in a row", errChainChanged) // errChainChanged says "fanout: "
}

// errChainChanged: another process replaced our chain during a Send.
var errChainChanged = errors.New("fanout: the chain was rotated during the send")

// send is one attempt of Send; the caller holds the chain's lock.
func (s *Sender) send(ctx context.Context, self group.SenderKeyName, members []session.Recipient, plaintext []byte) (*Outgoing, error) {
	skdm, err := s.cfg.Groups.CreateDistributionMessage(ctx, self)
	if err != nil {
		return nil, err
	}
	dist := s.distributionID(self, skdm)
	addrs := make([]session.Address, len(members))
	for i, m := range members {
		addrs[i] = m.Address
	}
	// A device holds the chain only over the session it was sent over: a
	// re-installed device, or one with a new session since, is sent it
	// again (issue #20 item 8).
	cur, err := s.currentSessions(ctx, addrs)
	if err != nil {
		return nil, err
	}
	devices := make([]SharedDevice, len(addrs))
	for i, a := range addrs {
		devices[i] = SharedDevice{Address: a, Session: cur[a].tag}
	}
	shared, err := s.cfg.Shared.SharedWith(ctx, dist, skdm.ChainID, devices)
	if err != nil {
		return nil, fmt.Errorf("fanout: %w", err)
	}
	var need, check []session.Recipient
	for _, m := range members {
		if !shared[m.Address] || m.Bundle != nil {
			need = append(need, m)
		}
		if m.Bundle == nil {
			check = append(check, m)
		}
	}
	// Every device without a bundle needs a session, and the listed
	// registration ID: report all mismatches at once, before encrypting.
	if err := checkDevices(check, cur); err != nil {
		return nil, err
	}
	pt := skdm.Bytes()
	if s.cfg.WrapDistribution != nil {
		pt = s.cfg.WrapDistribution(pt)
	}
	msgs, err := s.cfg.Sessions.EncryptMany(ctx, need, pt)
	var failed *session.BatchError
	if err != nil && !errors.As(err, &failed) {
		return nil, err
	}
	if failed != nil {
		// EncryptMany left some devices out and encrypted for all the
		// others (a record that turned corrupt since it was read): they are
		// sent to, and the failed ones left out of this send; they get the
		// chain in a later Send once resolved. A batch that failed as a
		// whole fails the send.
		got := make(map[session.Address]bool, len(msgs))
		for _, m := range msgs {
			got[m.Address] = true
		}
		for _, m := range need {
			if !got[m.Address] && failed.Errors[m.Address] == nil {
				return nil, err
			}
		}
		addrs = slices.DeleteFunc(addrs, func(a session.Address) bool { return failed.Errors[a] != nil })
	}
	ct, err := s.cfg.Groups.Encrypt(ctx, self, plaintext)
	if err != nil {
		return nil, err
	}
	if m, err := group.ParseSenderKeyMessage(ct, s.cfg.Groups.Layout()); err != nil {
		return nil, err
	} else if m.ChainID != skdm.ChainID {
		return nil, errChainChanged
	}
	sent := make([]session.Address, len(msgs))
	for i, m := range msgs {
		sent[i] = m.Address
	}
	after, err := s.currentSessions(ctx, sent)
	if err != nil {
		return nil, err
	}
	sessions := make(map[session.Address][]byte, len(after))
	for a, c := range after {
		sessions[a] = c.tag
	}
	slices.SortFunc(addrs, compareAddr)
	out := &Outgoing{DistributionID: dist, ChainID: skdm.ChainID, Distribution: msgs, SenderKeyMessage: ct, Devices: addrs, sessions: sessions}
	if failed != nil {
		return out, failed
	}
	return out, nil
}

// Delivered records that the devices of out.Distribution hold the chain;
// call it once the server has accepted those messages.
func (s *Sender) Delivered(ctx context.Context, out *Outgoing) error {
	devices := make([]SharedDevice, len(out.Distribution))
	var missing []session.Address
	for i, m := range out.Distribution {
		devices[i] = SharedDevice{Address: m.Address, Session: out.sessions[m.Address]}
		if len(devices[i].Session) == 0 {
			missing = append(missing, m.Address)
		}
	}
	if len(missing) > 0 { // an Outgoing not made by Send: the sessions now
		cur, err := s.currentSessions(ctx, missing)
		if err != nil {
			return err
		}
		for i := range devices {
			if len(devices[i].Session) == 0 {
				devices[i].Session = cur[devices[i].Address].tag
			}
		}
	}
	if err := s.cfg.Shared.MarkShared(ctx, out.DistributionID, out.ChainID, devices); err != nil {
		return fmt.Errorf("fanout: %w", err)
	}
	return nil
}

// Rotate replaces our chain self with a new one on the next Send, which
// then goes to the member devices given there and no others. Call it after
// every member removal.
func (s *Sender) Rotate(ctx context.Context, self group.SenderKeyName) error {
	defer s.lock(self)()
	old, err := s.cfg.Groups.CreateDistributionMessage(ctx, self)
	if err != nil {
		return err
	}
	name := self
	name.DistributionID = s.distributionID(self, old)
	if err := s.cfg.SenderKeys.StoreSenderKey(ctx, name, group.NewRecord()); err != nil {
		if strings.Contains(err.Error(), name.String()) { // the store named it (issue #16 item 6)
			return fmt.Errorf("fanout: rotating: %w", err)
		}
		return fmt.Errorf("fanout: rotating %s: %w", name, err)
	}
	fresh, err := s.cfg.Groups.CreateDistributionMessage(ctx, self)
	if err != nil {
		return err
	}
	if fresh.ChainID == old.ChainID && fresh.SigningKey.Equal(old.SigningKey) {
		return fmt.Errorf("fanout: rotating %s: the chain did not change", name)
	}
	// The shared set is keyed by chain ID: forgetting the old chain's rows
	// is only housekeeping.
	if err := s.cfg.Shared.ForgetShared(ctx, name.DistributionID); err != nil {
		return fmt.Errorf("fanout: %w", err)
	}
	return nil
}

// distributionID is the canonical name of our chain in the shared set.
func (s *Sender) distributionID(self group.SenderKeyName, m *group.SenderKeyDistributionMessage) string {
	if m.DistributionID != "" {
		return m.DistributionID // LayoutSignal: canonical lowercase UUID
	}
	return self.DistributionID
}

// sessionInfo is what Send needs of a device's current session.
type sessionInfo struct {
	regID uint32
	tag   []byte // session.State.BaseKey
}

// currentSessions returns the current session of each of addrs (absent: no
// session), in one batch when the store can.
func (s *Sender) currentSessions(ctx context.Context, addrs []session.Address) (map[session.Address]sessionInfo, error) {
	out := make(map[session.Address]sessionInfo, len(addrs))
	if len(addrs) == 0 {
		return out, nil
	}
	// A record that does not parse counts as no session (issue #20 item
	// 17): the device is reported Missing, and the bundle the app then
	// fetches replaces the record; the other devices are not held up.
	var recs map[session.Address]*session.Record
	if bs, ok := s.cfg.SessionStore.(session.BatchSessionStore); ok {
		var err error
		if recs, err = bs.LoadSessions(ctx, addrs); err != nil && !onlyCorrupt(err) {
			return nil, err
		}
	} else {
		recs = make(map[session.Address]*session.Record, len(addrs))
		for _, a := range addrs {
			r, err := s.cfg.SessionStore.LoadSession(ctx, a)
			if errors.Is(err, session.ErrCorruptRecord) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if r != nil {
				recs[a] = r
			}
		}
	}
	for a, r := range recs {
		if st := r.Current(); st != nil {
			out[a] = sessionInfo{regID: st.RemoteRegistrationID(), tag: st.BaseKey()}
		}
	}
	return out, nil
}

// onlyCorrupt reports whether err is a batch load's report of records that
// do not parse, and nothing else.
func onlyCorrupt(err error) bool {
	var b *session.BatchError
	if !errors.As(err, &b) || len(b.Errors) == 0 {
		return false
	}
	for _, e := range b.Errors {
		if !errors.Is(e, session.ErrCorruptRecord) {
			return false
		}
	}
	return true
}

// checkDevices fails with a *session.DeviceMismatchError when a device has
// no session, or one with another registration ID than the one listed.
func checkDevices(rs []session.Recipient, cur map[session.Address]sessionInfo) error {
	var e session.DeviceMismatchError
	for _, r := range rs {
		c, ok := cur[r.Address]
		switch {
		case !ok:
			e.Missing = append(e.Missing, r.Address)
		case r.RegistrationID != 0 && c.regID != r.RegistrationID:
			e.Stale = append(e.Stale, r.Address)
		}
	}
	if len(e.Missing)+len(e.Stale) > 0 {
		slices.SortFunc(e.Missing, compareAddr)
		slices.SortFunc(e.Stale, compareAddr)
		return &e
	}
	return nil
}

// SealSenderKeyMessage wraps out.SenderKeyMessage in one sealed sender v2
// message for all of out.Devices (the signal flavour): the content has type
// session.TypeSenderKey, our certificate cert, the hint and groupID. Device
// names must be ACI or PNI service IDs; registration IDs and identity keys
// come from the sessions and trusted identities in the session store. The
// devices of one user must share an identity key (always so under
// session.PerAccount): v2 seals to one key per service ID, and devices with
// different keys fail with sealedsender.ErrIdentityKeyMismatch before
// anything is sealed. A nil rnd means crypto/rand.Reader.
func (s *Sender) SealSenderKeyMessage(ctx context.Context, rnd io.Reader, out *Outgoing, cert *sealedsender.SenderCertificate, hint sealedsender.ContentHint, groupID []byte) ([]byte, error) {
	content, err := sealedsender.NewContent(session.TypeSenderKey, cert, out.SenderKeyMessage, hint, groupID)
	if err != nil {
		return nil, err
	}
	ids, err := s.currentSessions(ctx, out.Devices)
	if err != nil {
		return nil, err
	}
	var recipients []sealedsender.Recipient
	index := map[string]int{}
	for _, a := range out.Devices {
		id, ok := ids[a]
		if !ok {
			return nil, fmt.Errorf("fanout: %w: %s", session.ErrNoSession, a)
		}
		i, seen := index[a.Name]
		var sid sealedsender.ServiceID
		if !seen {
			if sid, err = sealedsender.ParseServiceID(a.Name); err != nil {
				return nil, fmt.Errorf("fanout: %s: %w", a, err)
			}
		}
		// Every device's own key (issue #16 item 5): v2 seals to one key per
		// service ID, so devices with different keys (session.PerDevice)
		// are refused here rather than sent a message they cannot open.
		key, ok, err := s.cfg.SessionStore.Identity(ctx, a)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("fanout: %w: no identity key for %s", session.ErrNoSession, a)
		}
		if !seen {
			i = len(recipients)
			index[a.Name] = i
			recipients = append(recipients, sealedsender.Recipient{ServiceID: sid, IdentityKey: key})
		} else if !recipients[i].IdentityKey.Equal(key) {
			return nil, fmt.Errorf("fanout: %w: %s", sealedsender.ErrIdentityKeyMismatch, a)
		}
		recipients[i].Devices = append(recipients[i].Devices, sealedsender.Device{ID: a.DeviceID, RegistrationID: id.regID})
	}
	ours, err := s.cfg.SessionStore.IdentityKeyPair(ctx)
	if err != nil {
		return nil, err
	}
	return sealedsender.EncryptMultiRecipient(rnd, recipients, nil, ours, content)
}

func compareAddr(x, y session.Address) int {
	return cmp.Or(strings.Compare(x.Name, y.Name), cmp.Compare(x.DeviceID, y.DeviceID))
}
