package importer

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/importer/internal/baileysrec"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// BaileysAddress maps a libsignal-node address string as Baileys names
// sessions and identities, "user.device" (ProtocolAddress.toString() of
// jidToSignalProtocolAddress: user is the JID's user part, with "_1" for a
// LID, "_128"/"_129" for hosted ones), to session.Address{Name: user,
// DeviceID: device}. The user part is kept as it is — the same names
// WhatsmeowAddress gives the same devices — may not be empty, and the
// device is a decimal uint32.
func BaileysAddress(id string) (session.Address, error) {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 {
		return session.Address{}, fmt.Errorf("address %q is not user.device", id)
	}
	d, err := strconv.ParseUint(id[i+1:], 10, 32)
	if err != nil {
		return session.Address{}, fmt.Errorf("address %q: device: %w", id, err)
	}
	return session.Address{Name: id[:i], DeviceID: uint32(d)}, nil
}

// baileysCreds is the part of Baileys' creds.json (AuthenticationCreds)
// the Signal protocol uses; the rest (noise key, pairing and app-state
// data, account) is WhatsApp's connection state and is not imported.
type baileysCreds struct {
	SignedIdentityKey *struct {
		Public  baileysrec.Buffer `json:"public"`
		Private baileysrec.Buffer `json:"private"`
	} `json:"signedIdentityKey"`
	SignedPreKey *struct {
		KeyPair *struct {
			Public  baileysrec.Buffer `json:"public"`
			Private baileysrec.Buffer `json:"private"`
		} `json:"keyPair"`
		Signature  baileysrec.Buffer `json:"signature"`
		KeyID      *int64            `json:"keyId"`
		TimestampS *int64            `json:"timestampS"`
	} `json:"signedPreKey"`
	RegistrationID          *int64 `json:"registrationId"`
	FirstUnuploadedPreKeyID *int64 `json:"firstUnuploadedPreKeyId"`
	Me                      *struct {
		ID string `json:"id"`
	} `json:"me"`
}

// baileysKinds are the key kinds useMultiFileAuthState writes as
// "<kind>-<id>.json", longest first so that a prefix is matched whole;
// imported says which carry Signal-protocol state.
var baileysKinds = []struct {
	kind     string
	imported bool
	why      string
}{
	{"app-state-sync-version", false, "WhatsApp app-state sync (not Signal-protocol state)"},
	{"app-state-sync-key", false, "WhatsApp app-state sync keys (not Signal-protocol state)"},
	{"sender-key-memory", false, "Baileys' record of which devices have its sender key; it re-sends the distribution message when missing"},
	{"identity-key", true, ""},
	{"lid-mapping", false, "phone number ↔ LID mapping (WhatsApp addressing, not Signal-protocol state)"},
	{"device-list", false, "WhatsApp device lists (refetched by the client)"},
	{"sender-key", true, ""},
	{"pre-key", true, ""},
	{"session", true, ""},
	{"tctoken", false, "WhatsApp trusted-contact tokens (not Signal-protocol state)"},
}

func compareAddr(x, y session.Address) int {
	return cmp.Or(strings.Compare(x.Name, y.Name), cmp.Compare(x.DeviceID, y.DeviceID))
}

// unfixFileName undoes useMultiFileAuthState's fixFileName ('/' → "__",
// ':' → '-') where it can: "__" back to '/', and "--" (a sender-key
// name's "::") back to "::".
func unfixFileName(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "__", "/"), "--", "::")
}

// ImportBaileys imports the auth directory of Baileys'
// useMultiFileAuthState (dir) into dst as one account: see the package
// documentation. The directory is only read. On error nothing of the import
// is kept in dst.
func ImportBaileys(ctx context.Context, dir string, dst *sqlstore.DB, opts Options) (*Report, error) {
	if opts.Address == nil {
		opts.Address = BaileysAddress
	}
	if opts.AccountName == nil {
		opts.AccountName = func(jid string) (string, error) {
			if jid == "" {
				return "", errors.New("creds.json has no me.id (the device never registered): name the account with Options.AccountName")
			}
			return jid, nil
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a, err := readBaileys(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	w := newAccountWriter(dst, opts)
	if err := w.put(ctx, a); err != nil {
		return nil, err
	}
	return w.rep, nil
}

// MaxBaileysFileSize bounds one file of a Baileys auth directory; a larger
// file is a bad file, never read whole.
const MaxBaileysFileSize = baileysrec.MaxFileSize

// LibsignalNodeSession is a parsed libsignal-node session record.
// DroppedSkippedKeys counts skipped message keys libsignal-node kept beyond
// libsignal's limits (ratchet.MaxReceiverChains chains of
// ratchet.MaxMessageKeys keys; libsignal-node bounds neither): the oldest
// are left out, as libsignal itself would have dropped them.
type LibsignalNodeSession = baileysrec.Session

// ParseLibsignalNodeSession reads a libsignal-node SessionRecord (its JSON
// serialization, version "v1", as Baileys stores it in session-*.json;
// also accepted wrapped in a BufferJSON Buffer) into an Interlock record.
// libsignal-node keeps neither the local identity nor the local
// registration ID in a session: the account's are given. now dates an
// unanswered session whose creation time is missing. A field that cannot
// be read is an error naming it (wrapping session.ErrCorruptRecord). See
// the package documentation for the mapping.
func ParseLibsignalNodeSession(b []byte, local prekey.IdentityKey, localRegID uint32, now time.Time) (*LibsignalNodeSession, error) {
	return baileysrec.ParseSession(b, local, localRegID, now)
}

// ParseBaileysSenderKey reads a sender-key record of Baileys' group cipher
// (src/Signal/Group/sender-key-record.ts): a JSON array of states, the
// newest last, as Baileys stores it in sender-key-*.json (the JSON text in
// a BufferJSON Buffer; the bare JSON text is accepted too), into
// libsignal's form (newest state first). A field that cannot be read is an
// error naming it (wrapping group.ErrInvalidRecord).
func ParseBaileysSenderKey(b []byte) (*group.Record, error) { return baileysrec.ParseSenderKey(b) }

// readFileLimited reads a file of at most MaxBaileysFileSize bytes.
func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, baileysrec.MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > baileysrec.MaxFileSize {
		return nil, fmt.Errorf("larger than %d bytes", baileysrec.MaxFileSize)
	}
	return b, nil
}

func readBaileys(ctx context.Context, dir string, opts Options) (*account, error) {
	const credsFile = "creds.json"
	cb, err := readFileLimited(filepath.Join(dir, credsFile))
	if err != nil {
		return nil, fmt.Errorf("importer: baileys: %w", err)
	}
	d, firstUnuploaded, err := parseBaileysCreds(cb, opts.Now())
	if err != nil {
		return nil, &RowError{Account: dir, Table: credsFile, Key: credsFile, Err: err}
	}
	name, err := opts.AccountName(d.jid)
	if err != nil {
		return nil, fmt.Errorf("importer: account name of %s: %w", d.jid, err)
	}
	a := &account{
		device: d, name: name, scope: session.PerDevice,
		identities: map[session.Address]prekey.IdentityKey{},
		sessions:   map[session.Address]*session.Record{},
		senderKeys: map[group.SenderKeyName]*group.Record{},
		rep:        AccountReport{JID: d.jid, Account: name, SignedPreKeys: 1},
	}
	if a.jid == "" {
		a.jid, a.rep.JID = name, name
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("importer: baileys: %w", err)
	}
	bad := func(kind, file string, err error) error {
		if opts.SkipBad {
			a.rep.Skipped = append(a.rep.Skipped, Skipped{Table: kind, Key: file, Err: err})
			return nil
		}
		return &RowError{Account: a.jid, Table: kind, Key: file, Err: err}
	}
	ignored := map[string]int{}
	sessionFiles := map[session.Address]string{}
	local := d.identity.PublicKey()
	for n, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		file := e.Name()
		if file == credsFile {
			continue
		}
		stem, ok := strings.CutSuffix(file, ".json")
		if !ok || !e.Type().IsRegular() {
			ignored["not a Baileys key file"]++
			continue
		}
		kind, id := "", ""
		imported := false
		for _, k := range baileysKinds {
			if rest, ok := strings.CutPrefix(stem, k.kind+"-"); ok {
				kind, id, imported = k.kind, rest, k.imported
				if !imported {
					ignored[k.kind+": "+k.why]++
				}
				break
			}
		}
		if kind == "" {
			ignored["not a Baileys key file"]++
			continue
		}
		if !imported {
			continue
		}
		if opts.Progress != nil && (n+1)%256 == 0 {
			opts.Progress(Progress{Account: a.jid, Phase: "read", Done: n + 1, Total: len(entries)})
		}
		b, err := readFileLimited(filepath.Join(dir, file))
		if err != nil {
			if err := bad(kind, file, err); err != nil {
				return nil, err
			}
			continue
		}
		if err := a.addBaileys(kind, id, b, local, opts, func(addr session.Address) { sessionFiles[addr] = file }); err != nil {
			if err := bad(kind, file, err); err != nil {
				return nil, err
			}
		}
	}
	// Baileys trusts on first use and keeps no identity for a session it
	// started (identity-key files come from received PreKeyWhisperMessages):
	// such a session's remote identity becomes the address's identity, so
	// that Interlock checks the peer's key from the start.
	for _, addr := range slices.SortedFunc(maps.Keys(a.sessions), compareAddr) {
		rec := a.sessions[addr]
		if k, ok := a.identities[addr]; ok && rec.Current() != nil && !k.Equal(rec.Current().RemoteIdentity()) {
			// Baileys deletes a session when a device's identity changes: a
			// session under another identity is not one it would use.
			if err := bad("session", sessionFiles[addr], errors.New("the session's remote identity is not the device's identity (identity-key file)")); err != nil {
				return nil, err
			}
			delete(a.sessions, addr)
			a.rep.Sessions--
			continue
		}
		if _, ok := a.identities[addr]; !ok && rec.Current() != nil {
			a.identities[addr] = rec.Current().RemoteIdentity()
			a.rep.Identities++
			a.rep.IdentitiesFromSessions++
		}
	}
	slices.SortFunc(a.preKeys, func(x, y *prekey.PreKeyRecord) int { return cmp.Compare(x.ID, y.ID) })
	for _, pk := range a.preKeys {
		if firstUnuploaded > 0 && int64(pk.ID) >= firstUnuploaded {
			a.rep.PreKeysNotUploaded++
		}
	}
	for k, n := range ignored {
		a.rep.Ignored = append(a.rep.Ignored, Ignored{What: k, Files: n})
	}
	slices.SortFunc(a.rep.Ignored, func(x, y Ignored) int { return strings.Compare(x.What, y.What) })
	return a, nil
}

// addBaileys parses one key file of kind with id (the file name's rest,
// fixFileName undone where needed).
func (a *account) addBaileys(kind, id string, b []byte, local prekey.IdentityKey, opts Options, sessionFile func(session.Address)) error {
	switch kind {
	case "pre-key":
		n, err := strconv.ParseUint(id, 10, 32)
		if err != nil || n == 0 || n > 0xFFFFFF {
			return fmt.Errorf("prekey ID %q out of range", id)
		}
		var kp struct {
			Public  baileysrec.Buffer `json:"public"`
			Private baileysrec.Buffer `json:"private"`
		}
		if err := baileysrec.StrictUnmarshal(b, &kp); err != nil {
			return err
		}
		priv, err := prekey.NewPrivateKey(kp.Private)
		if err != nil {
			return fmt.Errorf("private: %w", err)
		}
		if pub := priv.PublicKey(); !slices.Equal(baileysrec.FixKey(kp.Public), pub.Bytes()) {
			return fmt.Errorf("%w: public does not match private", prekey.ErrInvalidKey)
		}
		a.preKeys = append(a.preKeys, &prekey.PreKeyRecord{ID: uint32(n), KeyPair: prekey.KeyPair{Private: priv, Public: priv.PublicKey()}})
		a.rep.PreKeys++
	case "identity-key":
		addr, err := opts.Address(unfixFileName(id))
		if err != nil {
			return err
		}
		var k baileysrec.Buffer
		if err := json.Unmarshal(b, &k); err != nil {
			return err
		}
		if len(k) != 32 && len(k) != 33 {
			return fmt.Errorf("%w: identity key is %d bytes", prekey.ErrInvalidKey, len(k))
		}
		ik, err := prekey.NewIdentityKey(baileysrec.FixKey(k))
		if err != nil {
			return err
		}
		if _, dup := a.identities[addr]; dup {
			return fmt.Errorf("a second identity for address %v (Options.Address maps two names to it)", addr)
		}
		a.identities[addr] = ik
		a.rep.Identities++
	case "session":
		addr, err := opts.Address(unfixFileName(id))
		if err != nil {
			return err
		}
		s, err := ParseLibsignalNodeSession(b, local, a.regID, opts.Now())
		if err != nil {
			return err
		}
		if s.Record.Current() == nil && s.Record.ArchivedStates() == 0 {
			return fmt.Errorf("%w: record holds no session state", session.ErrCorruptRecord)
		}
		if _, dup := a.sessions[addr]; dup {
			return fmt.Errorf("a second session for address %v (Options.Address maps two names to it)", addr)
		}
		a.sessions[addr] = s.Record
		sessionFile(addr)
		a.rep.Sessions++
		a.rep.DroppedSkippedKeys += s.DroppedSkippedKeys
	case "sender-key":
		// "<group>::<user>::<device>" (SenderKeyName.toString()), with
		// fixFileName's "::" → "--".
		name := unfixFileName(id)
		j := strings.LastIndex(name, "::")
		i := -1
		if j > 0 {
			i = strings.LastIndex(name[:j], "::")
		}
		if i <= 0 {
			return fmt.Errorf("sender-key name %q is not group::user::device", name)
		}
		addr, err := opts.Address(name[i+2:j] + "." + name[j+2:])
		if err != nil {
			return err
		}
		rec, err := ParseBaileysSenderKey(b)
		if err != nil {
			return err
		}
		skn := group.SenderKeyName{Sender: addr.Name, DeviceID: addr.DeviceID, DistributionID: name[:i]}
		if _, dup := a.senderKeys[skn]; dup {
			return fmt.Errorf("a second sender key for %v (Options.Address maps two names to it)", skn)
		}
		a.senderKeys[skn] = rec
		a.rep.SenderKeys++
	}
	return nil
}

// parseBaileysCreds reads creds.json's Signal-protocol part.
func parseBaileysCreds(b []byte, now time.Time) (device, int64, error) {
	var c baileysCreds
	if err := json.Unmarshal(b, &c); err != nil {
		return device{}, 0, err
	}
	var d device
	if c.Me != nil {
		d.jid = c.Me.ID
	}
	if c.RegistrationID == nil || *c.RegistrationID < 0 || *c.RegistrationID > math.MaxUint32 {
		return d, 0, errors.New("registrationId: missing or out of range")
	}
	d.regID = uint32(*c.RegistrationID)
	if c.SignedIdentityKey == nil {
		return d, 0, errors.New("signedIdentityKey: missing")
	}
	var err error
	if d.identity, err = prekey.NewIdentityKeyPair(c.SignedIdentityKey.Private); err != nil {
		return d, 0, fmt.Errorf("signedIdentityKey.private: %w", err)
	}
	if !slices.Equal(baileysrec.FixKey(c.SignedIdentityKey.Public), d.identity.PublicKey().Bytes()) {
		return d, 0, errors.New("signedIdentityKey: public does not match private")
	}
	sp := c.SignedPreKey
	if sp == nil || sp.KeyPair == nil || sp.KeyID == nil {
		return d, 0, errors.New("signedPreKey: missing")
	}
	if *sp.KeyID < 0 || *sp.KeyID > 0xFFFFFF {
		return d, 0, fmt.Errorf("signedPreKey.keyId %d out of range", *sp.KeyID)
	}
	priv, err := prekey.NewPrivateKey(sp.KeyPair.Private)
	if err != nil {
		return d, 0, fmt.Errorf("signedPreKey.keyPair.private: %w", err)
	}
	kp := prekey.KeyPair{Private: priv, Public: priv.PublicKey()}
	if !slices.Equal(baileysrec.FixKey(sp.KeyPair.Public), kp.Public.Bytes()) {
		return d, 0, errors.New("signedPreKey.keyPair: public does not match private")
	}
	if len(sp.Signature) != 64 || !d.identity.PublicKey().VerifySignature(kp.Public.Bytes(), sp.Signature) {
		return d, 0, errors.New("signedPreKey.signature does not verify under the identity key")
	}
	ts := now
	if sp.TimestampS != nil && *sp.TimestampS > 0 && *sp.TimestampS < math.MaxInt32*4 {
		ts = time.Unix(*sp.TimestampS, 0)
	}
	d.spk = &prekey.SignedPreKeyRecord{ID: uint32(*sp.KeyID), KeyPair: kp, Signature: slices.Clone([]byte(sp.Signature)), Timestamp: ts}
	var first int64
	if c.FirstUnuploadedPreKeyID != nil {
		first = *c.FirstUnuploadedPreKeyID
	}
	return d, first, nil
}
