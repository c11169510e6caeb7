package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/sqlstore"
)

// ErrServiceID is a service ID that is neither a UUID (an ACI) nor "PNI:"
// and a UUID.
var ErrServiceID = errors.New("importer: invalid service ID")

// Signalmeow's trust levels (signalmeow_identity_keys.trust_level).
const (
	TrustedUnverified = "TRUSTED_UNVERIFIED"
	TrustedVerified   = "TRUSTED_VERIFIED"
)

// CanonicalServiceID parses a service ID as libsignal writes it — an ACI is
// a UUID ("9d0652a3-…"), a PNI is "PNI:" and a UUID — and returns it in
// canonical form (lowercase UUID, "PNI:" prefix in capitals) with whether it
// is a PNI.
func CanonicalServiceID(s string) (id string, pni bool, err error) {
	u := s
	if len(s) >= 4 && strings.EqualFold(s[:4], "PNI:") {
		u, pni = s[4:], true
	}
	if !isUUID(u) {
		return "", false, fmt.Errorf("%w: %q", ErrServiceID, s)
	}
	u = strings.ToLower(u)
	if pni {
		return "PNI:" + u, true, nil
	}
	return u, false, nil
}

// isUUID reports whether s is a UUID in its 36-character hyphenated form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// SignalmeowName is the default Options.ServiceName: a remote service ID
// names its devices unchanged (canonical form), as libsignal's
// ProtocolAddress(serviceId, deviceId) and signalmeow do.
func SignalmeowName(serviceID string) (string, error) {
	id, _, err := CanonicalServiceID(serviceID)
	return id, err
}

// ImportSignalmeow imports every device of a signalmeow database (src, in
// dialect; mautrix-signal's pkg/signalmeow/store) into dst. Each device
// becomes two Interlock accounts, one per local service ID — the ACI and
// the PNI — as libsignal keeps them: each has its own identity key pair,
// registration ID, prekeys and sessions. See the package documentation. It
// returns what was imported (or, with DryRun, what would be); on error
// nothing of the import is kept in dst.
func ImportSignalmeow(ctx context.Context, src *sql.DB, dialect Dialect, dst *sqlstore.DB, opts Options) (*Report, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("importer: unknown dialect %q", dialect)
	}
	if opts.ServiceName == nil {
		opts.ServiceName = SignalmeowName
	}
	if opts.AccountName == nil {
		opts.AccountName = func(id string) (string, error) { return id, nil }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &signalmeowReader{src: src, dialect: dialect, opts: opts}
	devs, err := r.devices(ctx)
	if err != nil {
		return nil, err
	}
	w := newAccountWriter(dst, opts)
	for _, d := range devs {
		accts, err := r.accounts(ctx, d)
		if err != nil {
			w.undo(ctx)
			return nil, err
		}
		for _, a := range accts {
			if err := w.put(ctx, a); err != nil {
				return nil, err
			}
		}
	}
	return w.rep, nil
}

// smIdentity is one local service ID of a signalmeow device.
type smIdentity struct {
	serviceID string // canonical
	identity  prekey.IdentityKeyPair
	regID     uint32
}

// smDevice is one signalmeow_device row, parsed.
type smDevice struct {
	aci      string // the row's key, as stored
	aciID    smIdentity
	pniID    *smIdentity // nil: no PNI identity yet
	deviceID uint32
}

type signalmeowReader struct {
	src     *sql.DB
	dialect Dialect
	opts    Options
}

func (r *signalmeowReader) devices(ctx context.Context) ([]smDevice, error) {
	rows, err := r.src.QueryContext(ctx, `SELECT aci_uuid, aci_identity_key_pair, registration_id, pni_uuid, pni_identity_key_pair, pni_registration_id, device_id FROM signalmeow_device ORDER BY aci_uuid`)
	if err != nil {
		return nil, fmt.Errorf("importer: reading signalmeow_device: %w", err)
	}
	defer rows.Close()
	var out []smDevice
	for rows.Next() {
		var aci, pni string
		var aciKP, pniKP []byte
		var aciReg, pniReg, dev int64
		if err := rows.Scan(&aci, &aciKP, &aciReg, &pni, &pniKP, &pniReg, &dev); err != nil {
			return nil, fmt.Errorf("importer: reading signalmeow_device: %w", err)
		}
		d, err := smParseDevice(aci, aciKP, aciReg, pni, pniKP, pniReg, dev)
		if err != nil {
			return nil, &RowError{Account: aci, Table: "signalmeow_device", Key: aci, Err: err}
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("importer: reading signalmeow_device: %w", err)
	}
	return out, nil
}

func smParseIdentity(what, id string, kp []byte, reg int64, wantPNI bool) (smIdentity, error) {
	var out smIdentity
	sid := id
	if wantPNI && !strings.HasPrefix(strings.ToUpper(id), "PNI:") {
		sid = "PNI:" + id
	}
	c, pni, err := CanonicalServiceID(sid)
	if err != nil || pni != wantPNI {
		return out, fmt.Errorf("%s: %w: %q", what, ErrServiceID, id)
	}
	out.serviceID = c
	if reg < 0 || reg > math.MaxUint32 {
		return out, fmt.Errorf("%s registration ID %d out of range", what, reg)
	}
	out.regID = uint32(reg)
	if out.identity, err = prekey.UnmarshalIdentityKeyPair(kp); err != nil {
		return out, fmt.Errorf("%s identity key pair: %w", what, err)
	}
	return out, nil
}

func smParseDevice(aci string, aciKP []byte, aciReg int64, pni string, pniKP []byte, pniReg, dev int64) (smDevice, error) {
	d := smDevice{aci: aci}
	var err error
	if d.aciID, err = smParseIdentity("ACI", aci, aciKP, aciReg, false); err != nil {
		return d, err
	}
	if dev < 0 || dev > math.MaxUint32 {
		return d, fmt.Errorf("device ID %d out of range", dev)
	}
	d.deviceID = uint32(dev)
	if len(pniKP) == 0 {
		return d, nil // no PNI identity (yet): the ACI's account alone
	}
	p, err := smParseIdentity("PNI", pni, pniKP, pniReg, true)
	if err != nil {
		return d, err
	}
	d.pniID = &p
	return d, nil
}

// accounts reads every row of d into its ACI and PNI accounts. On
// PostgreSQL it reads inside one read-only repeatable-read transaction.
func (r *signalmeowReader) accounts(ctx context.Context, d smDevice) ([]*account, error) {
	ids := []smIdentity{d.aciID}
	if d.pniID != nil {
		ids = append(ids, *d.pniID)
	}
	byService := map[string]*account{}
	var out []*account
	for _, id := range ids {
		name, err := r.opts.AccountName(id.serviceID)
		if err != nil {
			return nil, fmt.Errorf("importer: account name of %s: %w", id.serviceID, err)
		}
		a := &account{
			device:     device{jid: id.serviceID, identity: id.identity, regID: id.regID},
			name:       name,
			identities: map[session.Address]prekey.IdentityKey{},
			sessions:   map[session.Address]*session.Record{},
			senderKeys: map[group.SenderKeyName]*group.Record{},
			uploaded:   true,
			scope:      session.PerAccount,
			rep:        AccountReport{ServiceID: id.serviceID, Account: name},
		}
		byService[id.serviceID] = a
		out = append(out, a)
	}
	aci := out[0]

	var tx *sql.Tx
	if r.dialect == Postgres {
		var err error
		if tx, err = r.src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}); err != nil {
			return nil, fmt.Errorf("importer: source: %w", err)
		}
		defer tx.Rollback()
	}
	query := func(q string, args ...any) (*sql.Rows, error) {
		if tx != nil {
			return tx.QueryContext(ctx, q, args...)
		}
		return r.src.QueryContext(ctx, q, args...)
	}
	bad := func(a *account, table, key string, err error) error {
		if r.opts.SkipBad {
			a.rep.Skipped = append(a.rep.Skipped, Skipped{Table: table, Key: key, Err: err})
			return nil
		}
		return &RowError{Account: a.jid, Table: table, Key: key, Err: err}
	}
	// local finds the account of a row's service_id; a row of another
	// service ID is a bad row of the ACI account.
	local := func(table, sid, key string) (*account, error) {
		c, _, err := CanonicalServiceID(sid)
		if err == nil {
			if a := byService[c]; a != nil {
				return a, nil
			}
			err = fmt.Errorf("service_id %s is neither the device's ACI nor its PNI", sid)
		}
		return nil, bad(aci, table, key, err)
	}
	done := 0
	tick := func() {
		done++
		if r.opts.Progress != nil && done%256 == 0 {
			r.opts.Progress(Progress{Account: aci.jid, Phase: "read", Done: done})
		}
	}
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Account: aci.jid, Phase: "read"})
	}
	each := func(table, q string, fn func(rows *sql.Rows) error) error {
		rows, err := query(q, d.aci)
		if err != nil {
			return fmt.Errorf("importer: account %s: reading %s: %w", aci.jid, table, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
			tick()
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("importer: account %s: reading %s: %w", aci.jid, table, err)
		}
		return nil
	}
	scanErr := func(table string, err error) error {
		return fmt.Errorf("importer: account %s: reading %s: %w", aci.jid, table, err)
	}
	remote := func(sid string, dev int64) (session.Address, error) {
		if dev <= 0 || dev > math.MaxUint32 {
			return session.Address{}, fmt.Errorf("device ID %d out of range", dev)
		}
		name, err := r.opts.ServiceName(sid)
		if err != nil {
			return session.Address{}, err
		}
		if name == "" {
			return session.Address{}, fmt.Errorf("service ID %q mapped to an empty name", sid)
		}
		return session.Address{Name: name, DeviceID: uint32(dev)}, nil
	}

	const tPre = "signalmeow_pre_keys"
	err := each(tPre, `SELECT service_id, key_id, is_signed, key_pair FROM signalmeow_pre_keys WHERE account_id = $1 ORDER BY service_id, is_signed, key_id`, func(rows *sql.Rows) error {
		var sid string
		var id int64
		var signed bool
		var b []byte
		if err := rows.Scan(&sid, &id, &signed, &b); err != nil {
			return scanErr(tPre, err)
		}
		key := sid + "/" + strconv.FormatInt(id, 10)
		if signed {
			key = sid + "/signed/" + strconv.FormatInt(id, 10)
		}
		a, err := local(tPre, sid, key)
		if a == nil {
			return err
		}
		if id <= 0 || id > 0xFFFFFF {
			return bad(a, tPre, key, fmt.Errorf("prekey ID %d out of range", id))
		}
		if !signed {
			rec, err := prekey.UnmarshalPreKeyRecord(b)
			if err == nil && rec.ID != uint32(id) {
				err = fmt.Errorf("%w: record ID %d in row %d", prekey.ErrInvalidRecord, rec.ID, id)
			}
			if err != nil {
				return bad(a, tPre, key, err)
			}
			a.preKeys = append(a.preKeys, rec)
			a.rep.PreKeys++
			return nil
		}
		rec, err := prekey.UnmarshalSignedPreKeyRecord(b)
		if err == nil && rec.ID != uint32(id) {
			err = fmt.Errorf("%w: record ID %d in row %d", prekey.ErrInvalidRecord, rec.ID, id)
		}
		if err == nil && (len(rec.Signature) != 64 || !a.identity.PublicKey().VerifySignature(rec.KeyPair.Public.Bytes(), rec.Signature)) {
			err = fmt.Errorf("signed prekey %d: signature does not verify under the identity key", id)
		}
		if err != nil {
			return bad(a, tPre, key, err)
		}
		a.signed = append(a.signed, rec)
		a.rep.SignedPreKeys++
		return nil
	})
	if err != nil {
		return nil, err
	}

	const tKyber = "signalmeow_kyber_pre_keys"
	err = each(tKyber, `SELECT service_id, key_id, key_pair, is_last_resort FROM signalmeow_kyber_pre_keys WHERE account_id = $1 ORDER BY service_id, key_id`, func(rows *sql.Rows) error {
		var sid string
		var id int64
		var b []byte
		var last bool
		if err := rows.Scan(&sid, &id, &b, &last); err != nil {
			return scanErr(tKyber, err)
		}
		key := sid + "/kyber/" + strconv.FormatInt(id, 10)
		a, err := local(tKyber, sid, key)
		if a == nil {
			return err
		}
		if id <= 0 || id > 0xFFFFFF {
			return bad(a, tKyber, key, fmt.Errorf("kyber prekey ID %d out of range", id))
		}
		rec, err := prekey.UnmarshalKyberPreKeyRecord(b)
		if err == nil && rec.ID != uint32(id) {
			err = fmt.Errorf("%w: record ID %d in row %d", prekey.ErrInvalidRecord, rec.ID, id)
		}
		if err == nil && !a.identity.PublicKey().VerifySignature(rec.KeyPair.Public.Bytes(), rec.Signature) {
			err = fmt.Errorf("kyber prekey %d: signature does not verify under the identity key", id)
		}
		if err != nil {
			return bad(a, tKyber, key, err)
		}
		rec.LastResort = last // signalmeow's column is what it acts on
		a.kyber = append(a.kyber, rec)
		a.rep.KyberPreKeys++
		if last {
			a.rep.LastResortKyberPreKeys++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Identities are per signalmeow device (shared by ACI and PNI, as
	// libsignal's identity store of both is one table): each account gets
	// them all.
	const tID = "signalmeow_identity_keys"
	err = each(tID, `SELECT their_service_id, key, trust_level FROM signalmeow_identity_keys WHERE account_id = $1 ORDER BY their_service_id`, func(rows *sql.Rows) error {
		var sid, trust string
		var b []byte
		if err := rows.Scan(&sid, &b, &trust); err != nil {
			return scanErr(tID, err)
		}
		fail := func(err error) error { return bad(aci, tID, sid, err) }
		addr, err := remote(sid, 1)
		if err != nil {
			return fail(err)
		}
		if trust != TrustedUnverified && trust != TrustedVerified {
			// Interlock pins a key or knows none; it has no "known but
			// refused" state, so importing the key would trust it.
			return fail(fmt.Errorf("trust level %q: only %s and %s can be imported", trust, TrustedUnverified, TrustedVerified))
		}
		if len(b) != 33 {
			return fail(fmt.Errorf("%w: identity key is %d bytes, want 33", prekey.ErrInvalidKey, len(b)))
		}
		k, err := prekey.NewIdentityKey(b)
		if err != nil {
			return fail(err)
		}
		for _, a := range out {
			a.identities[addr] = k
			a.rep.Identities++
			if trust == TrustedVerified {
				a.rep.Verified++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	const tSess = "signalmeow_sessions"
	err = each(tSess, `SELECT service_id, their_service_id, their_device_id, record FROM signalmeow_sessions WHERE account_id = $1 ORDER BY service_id, their_service_id, their_device_id`, func(rows *sql.Rows) error {
		var sid, their string
		var dev int64
		var b []byte
		if err := rows.Scan(&sid, &their, &dev, &b); err != nil {
			return scanErr(tSess, err)
		}
		key := their + "." + strconv.FormatInt(dev, 10)
		a, err := local(tSess, sid, sid+"/"+key)
		if a == nil {
			return err
		}
		addr, err := remote(their, dev)
		if err != nil {
			return bad(a, tSess, key, err)
		}
		if len(b) == 0 {
			return bad(a, tSess, key, fmt.Errorf("%w: empty record", session.ErrCorruptRecord))
		}
		rec, err := session.UnmarshalRecord(b)
		if err == nil {
			err = rec.Normalize()
		}
		if err != nil {
			return bad(a, tSess, key, err)
		}
		if rec.Current() == nil && rec.ArchivedStates() == 0 {
			return bad(a, tSess, key, fmt.Errorf("%w: record holds no session state", session.ErrCorruptRecord))
		}
		a.sessions[addr] = rec
		a.rep.Sessions++
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Sender keys are Signal's group messaging, which is the ACI's.
	const tSK = "signalmeow_sender_keys"
	err = each(tSK, `SELECT sender_uuid, sender_device_id, distribution_id, key_record FROM signalmeow_sender_keys WHERE account_id = $1 ORDER BY distribution_id, sender_uuid, sender_device_id`, func(rows *sql.Rows) error {
		var sender, dist string
		var dev int64
		var b []byte
		if err := rows.Scan(&sender, &dev, &dist, &b); err != nil {
			return scanErr(tSK, err)
		}
		key := dist + "/" + sender + "." + strconv.FormatInt(dev, 10)
		addr, err := remote(sender, dev)
		if err != nil {
			return bad(aci, tSK, key, err)
		}
		if !isUUID(dist) {
			return bad(aci, tSK, key, fmt.Errorf("distribution_id %q is not a UUID", dist))
		}
		rec, err := group.UnmarshalRecord(b)
		if err != nil {
			return bad(aci, tSK, key, err)
		}
		if rec.IsEmpty() {
			return bad(aci, tSK, key, fmt.Errorf("%w: no sender-key state", group.ErrInvalidRecord))
		}
		aci.senderKeys[group.SenderKeyName{Sender: addr.Name, DeviceID: addr.DeviceID, DistributionID: strings.ToLower(dist)}] = rec
		aci.rep.SenderKeys++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
