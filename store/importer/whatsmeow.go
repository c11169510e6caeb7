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

// Dialect names the SQL dialect of a source database.
type Dialect string

// Dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options tune an import. The zero value imports everything, failing on the
// first bad row.
type Options struct {
	// AccountName names the Interlock account of a whatsmeow device JID,
	// of signalmeow's local service ID (the ACI, or "PNI:" and the PNI),
	// or of a Baileys folder by creds.json's me.id (default: the JID or
	// service ID itself).
	AccountName func(jid string) (string, error)
	// Address maps the source's address strings: whatsmeow's
	// "user:device" (default: WhatsmeowAddress), Baileys' "user.device"
	// (default: BaileysAddress).
	Address func(id string) (session.Address, error)
	// ServiceName maps a signalmeow service ID (a remote ACI, or "PNI:"
	// and a PNI, canonical lowercase) to the Interlock address name of its
	// devices (default: SignalmeowName, the service ID itself). Device IDs
	// are kept as signalmeow numbers them.
	ServiceName func(serviceID string) (string, error)
	// SkipBad leaves rows that cannot be read out of the import and lists
	// them in the Report, instead of failing the import.
	SkipBad bool
	// DryRun reads and checks everything and writes nothing.
	DryRun bool
	// Progress, when set, is called as rows are read and written.
	Progress func(Progress)
	// Now dates what the source does not (signed prekey timestamps, the
	// unanswered sessions' pending prekeys); default time.Now.
	Now func() time.Time
}

// Progress reports how far an import is.
type Progress struct {
	Account string
	Phase   string // "read" or "write"
	Done    int    // rows of the account done in this phase
	Total   int    // rows of the account
}

// Report says what an import did.
type Report struct {
	DryRun   bool
	Accounts []AccountReport
}

// AccountReport is what was imported for one whatsmeow device or one
// signalmeow service ID (ACI or PNI).
type AccountReport struct {
	JID       string // the whatsmeow device
	ServiceID string // signalmeow: the local service ID (ACI, or "PNI:" + PNI)
	Account   string // the Interlock account
	// Counts of the rows imported.
	Identities, Sessions, SenderKeys, PreKeys, SignedPreKeys int
	// PreKeysNotUploaded counts imported prekeys whatsmeow had not yet
	// uploaded (uploaded = false): no peer can hold them yet.
	PreKeysNotUploaded int
	// KyberPreKeys counts imported Kyber prekeys (signalmeow), of which
	// LastResortKyberPreKeys are last-resort keys.
	KyberPreKeys, LastResortKyberPreKeys int
	// Verified counts imported identities signalmeow had marked
	// TRUSTED_VERIFIED (Interlock keeps no verified flag: the key is
	// pinned like any other, and the application keeps this fact).
	Verified int
	// Skipped lists the rows left out (Options.SkipBad).
	Skipped []Skipped
	// IdentitiesFromSessions counts identities taken from a session's
	// current state because the source stored none for the address
	// (ImportBaileys); they are included in Identities.
	IdentitiesFromSessions int
	// DroppedSkippedKeys counts skipped message keys beyond libsignal's
	// limits that a source kept (ImportBaileys: see
	// LibsignalNodeSession.DroppedSkippedKeys).
	DroppedSkippedKeys int
	// Ignored lists source files that hold no Signal-protocol state and
	// were not imported (ImportBaileys), by kind.
	Ignored []Ignored
}

// Ignored is a kind of source file left out of an import on purpose.
type Ignored struct {
	What  string // the kind and why it is not imported
	Files int
}

// Skipped is a row left out of an import, and why.
type Skipped struct {
	Table string // source table
	Key   string // the row's address, chat/sender or prekey ID
	Err   error
}

// Totals sums the reports of all accounts.
func (r *Report) Totals() (t AccountReport) {
	for _, a := range r.Accounts {
		t.Identities += a.Identities
		t.Sessions += a.Sessions
		t.SenderKeys += a.SenderKeys
		t.PreKeys += a.PreKeys
		t.SignedPreKeys += a.SignedPreKeys
		t.PreKeysNotUploaded += a.PreKeysNotUploaded
		t.KyberPreKeys += a.KyberPreKeys
		t.LastResortKyberPreKeys += a.LastResortKyberPreKeys
		t.Verified += a.Verified
		t.DroppedSkippedKeys += a.DroppedSkippedKeys
		t.IdentitiesFromSessions += a.IdentitiesFromSessions
		t.Ignored = append(t.Ignored, a.Ignored...)
		t.Skipped = append(t.Skipped, a.Skipped...)
	}
	return t
}

// ErrBadRow matches every *RowError.
var ErrBadRow = errors.New("importer: bad source row")

// RowError is a source row that cannot be read. It matches ErrBadRow and
// unwraps to the parser's error (session.ErrCorruptRecord,
// group.ErrInvalidRecord, prekey.ErrInvalidRecord, prekey.ErrInvalidKey…).
type RowError struct {
	Account string // the whatsmeow device JID or signalmeow's local service ID
	Table   string
	Key     string // address, "chat_id/sender_id", "distribution_id/sender" or prekey ID
	Err     error
}

func (e *RowError) Error() string {
	return fmt.Sprintf("importer: account %s: %s row %s: %v", e.Account, e.Table, e.Key, e.Err)
}

// Unwrap returns Err.
func (e *RowError) Unwrap() error { return e.Err }

// Is reports whether target is ErrBadRow.
func (e *RowError) Is(target error) bool { return target == ErrBadRow }

// WhatsmeowAddress maps a libsignal address string as whatsmeow writes it,
// "user:device", to session.Address{Name: user, DeviceID: device}. The
// user part is kept as it is (a phone number, or a LID with its agent
// suffix); it may not be empty, and the device is a decimal uint32.
func WhatsmeowAddress(id string) (session.Address, error) {
	i := strings.LastIndexByte(id, ':')
	if i <= 0 {
		return session.Address{}, fmt.Errorf("address %q is not user:device", id)
	}
	d, err := strconv.ParseUint(id[i+1:], 10, 32)
	if err != nil {
		return session.Address{}, fmt.Errorf("address %q: device: %w", id, err)
	}
	return session.Address{Name: id[:i], DeviceID: uint32(d)}, nil
}

// device is one whatsmeow_device row, parsed.
type device struct {
	jid      string
	identity prekey.IdentityKeyPair
	regID    uint32
	spk      *prekey.SignedPreKeyRecord
}

// account is everything read for one device, ready to be written.
type account struct {
	device
	name       string
	identities map[session.Address]prekey.IdentityKey
	sessions   map[session.Address]*session.Record
	senderKeys map[group.SenderKeyName]*group.Record
	preKeys    []*prekey.PreKeyRecord
	signed     []*prekey.SignedPreKeyRecord // besides spk
	kyber      []*prekey.KyberPreKeyRecord
	uploaded   bool // mark every imported prekey uploaded
	scope      session.IdentityScope
	rep        AccountReport
}

// ImportWhatsmeow imports every device of a whatsmeow database (src, in
// dialect) into dst, one account per device: see the package
// documentation. It returns what was imported (or, with DryRun, what would
// be); on error nothing of the import is kept in dst.
func ImportWhatsmeow(ctx context.Context, src *sql.DB, dialect Dialect, dst *sqlstore.DB, opts Options) (*Report, error) {
	if dialect != SQLite && dialect != Postgres {
		return nil, fmt.Errorf("importer: unknown dialect %q", dialect)
	}
	if opts.Address == nil {
		opts.Address = WhatsmeowAddress
	}
	if opts.AccountName == nil {
		opts.AccountName = func(jid string) (string, error) { return jid, nil }
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &whatsmeowReader{src: src, dialect: dialect, opts: opts}
	devs, err := r.devices(ctx)
	if err != nil {
		return nil, err
	}
	w := newAccountWriter(dst, opts)
	for _, d := range devs {
		a, err := r.account(ctx, d)
		if err != nil {
			w.undo(ctx)
			return nil, err
		}
		if err := w.put(ctx, a); err != nil {
			return nil, err
		}
	}
	return w.rep, nil
}

// accountWriter writes the accounts of one import, each in its own
// transaction (write), and undoes the whole import on the first error.
type accountWriter struct {
	dst     *sqlstore.DB
	opts    Options
	rep     *Report
	created []string
}

func newAccountWriter(dst *sqlstore.DB, opts Options) *accountWriter {
	return &accountWriter{dst: dst, opts: opts, rep: &Report{DryRun: opts.DryRun}}
}

// put writes a (nothing with DryRun) and adds it to the report; on error
// the import is undone.
func (w *accountWriter) put(ctx context.Context, a *account) error {
	if !w.opts.DryRun {
		if err := checkScope(ctx, w.dst, a.name); err != nil {
			w.undo(ctx)
			return err
		}
		made, err := write(ctx, w.dst, a, w.opts.Progress)
		if made {
			w.created = append(w.created, a.name)
		}
		if err != nil {
			w.undo(ctx)
			return err
		}
	}
	w.rep.Accounts = append(w.rep.Accounts, a.rep)
	return nil
}

// undo leaves the destination as it was: it removes the accounts this
// import created (each committed in its own transaction).
func (w *accountWriter) undo(ctx context.Context) {
	for _, name := range w.created {
		_ = w.dst.DeleteAccount(context.WithoutCancel(ctx), name)
	}
	w.created = nil
}

// checkScope refuses a destination that pins identities per account.
func checkScope(ctx context.Context, dst *sqlstore.DB, name string) error {
	if _, err := dst.Account(ctx, name); err == nil {
		return fmt.Errorf("importer: %w: %q", sqlstore.ErrAccountExists, name)
	} else if !errors.Is(err, sqlstore.ErrNoAccount) {
		return err
	}
	return nil
}

// write creates the account and writes its rows in one transaction; made
// reports whether the account was created.
func write(ctx context.Context, dst *sqlstore.DB, a *account, progress func(Progress)) (made bool, err error) {
	st, err := dst.CreateAccount(ctx, a.name, a.identity, a.regID)
	if err != nil {
		return false, fmt.Errorf("importer: account %s: %w", a.jid, err)
	}
	if st.IdentityScope() != a.scope {
		if a.scope == session.PerAccount {
			return true, fmt.Errorf("importer: the destination pins identities per device; Signal accounts have one identity key for all their devices: open it with the default sqlstore.WithIdentityScope(session.PerAccount)")
		}
		return true, fmt.Errorf("importer: the destination pins identities per account; WhatsApp devices have their own identity keys: open it with sqlstore.WithIdentityScope(session.PerDevice)")
	}
	total := len(a.identities) + len(a.sessions) + len(a.senderKeys) + len(a.preKeys) + len(a.signed) + len(a.kyber) + 1
	done := 0
	tick := func(n int) {
		done += n
		if progress != nil {
			progress(Progress{Account: a.jid, Phase: "write", Done: done, Total: total})
		}
	}
	err = st.Transact(ctx, func(txs session.Store) error {
		tx, ok := txs.(*sqlstore.Store)
		if !ok {
			return fmt.Errorf("importer: unexpected transaction store %T", txs)
		}
		if a.spk != nil {
			if err := tx.StoreSignedPreKey(ctx, a.spk); err != nil {
				return err
			}
		}
		for _, r := range a.signed {
			if err := tx.StoreSignedPreKey(ctx, r); err != nil {
				return err
			}
		}
		tick(1 + len(a.signed))
		var ids, kids []uint32
		for _, pk := range a.preKeys {
			if err := tx.StorePreKey(ctx, pk); err != nil {
				return err
			}
			ids = append(ids, pk.ID)
		}
		for _, r := range a.kyber {
			if err := tx.StoreKyberPreKey(ctx, r); err != nil {
				return err
			}
			kids = append(kids, r.ID)
		}
		if a.uploaded {
			if err := tx.MarkPreKeysUploaded(ctx, ids, kids); err != nil {
				return err
			}
		}
		tick(len(a.preKeys) + len(a.kyber))
		for addr, k := range a.identities {
			if _, err := tx.SaveIdentity(ctx, addr, k); err != nil {
				return fmt.Errorf("identity of %s: %w", addr, err)
			}
		}
		tick(len(a.identities))
		const batch = 1000
		part := make(map[session.Address]*session.Record, min(batch, len(a.sessions)))
		for addr, rec := range a.sessions {
			part[addr] = rec
			if len(part) == batch {
				if err := tx.StoreSessions(ctx, part); err != nil {
					return err
				}
				tick(len(part))
				clear(part)
			}
		}
		if len(part) > 0 {
			if err := tx.StoreSessions(ctx, part); err != nil {
				return err
			}
			tick(len(part))
		}
		for name, rec := range a.senderKeys {
			if err := tx.StoreSenderKey(ctx, name, rec); err != nil {
				return err
			}
		}
		tick(len(a.senderKeys))
		return nil
	})
	if err != nil {
		return true, fmt.Errorf("importer: account %s: writing: %w", a.jid, err)
	}
	return true, nil
}

// whatsmeowReader reads whatsmeow's tables.
type whatsmeowReader struct {
	src     *sql.DB
	dialect Dialect
	opts    Options
}

func (r *whatsmeowReader) devices(ctx context.Context) ([]device, error) {
	rows, err := r.src.QueryContext(ctx, `SELECT jid, registration_id, identity_key, signed_pre_key, signed_pre_key_id, signed_pre_key_sig FROM whatsmeow_device ORDER BY jid`)
	if err != nil {
		return nil, fmt.Errorf("importer: reading whatsmeow_device: %w", err)
	}
	defer rows.Close()
	var out []device
	for rows.Next() {
		var jid string
		var reg, spkID int64
		var idKey, spk, sig []byte
		if err := rows.Scan(&jid, &reg, &idKey, &spk, &spkID, &sig); err != nil {
			return nil, fmt.Errorf("importer: reading whatsmeow_device: %w", err)
		}
		d, err := r.device(jid, reg, idKey, spk, spkID, sig)
		if err != nil {
			return nil, &RowError{Account: jid, Table: "whatsmeow_device", Key: jid, Err: err}
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("importer: reading whatsmeow_device: %w", err)
	}
	return out, nil
}

func (r *whatsmeowReader) device(jid string, reg int64, idKey, spk []byte, spkID int64, sig []byte) (device, error) {
	d := device{jid: jid}
	if reg < 0 || reg > math.MaxUint32 {
		return d, fmt.Errorf("registration ID %d out of range", reg)
	}
	d.regID = uint32(reg)
	var err error
	if d.identity, err = prekey.NewIdentityKeyPair(idKey); err != nil {
		return d, fmt.Errorf("identity key: %w", err)
	}
	if spkID < 0 || spkID > 0xFFFFFF {
		return d, fmt.Errorf("signed prekey ID %d out of range", spkID)
	}
	priv, err := prekey.NewPrivateKey(spk)
	if err != nil {
		return d, fmt.Errorf("signed prekey: %w", err)
	}
	kp := prekey.KeyPair{Private: priv, Public: priv.PublicKey()}
	if len(sig) != 64 || !d.identity.PublicKey().VerifySignature(kp.Public.Bytes(), sig) {
		return d, fmt.Errorf("signed prekey %d: signature does not verify under the identity key", spkID)
	}
	d.spk = &prekey.SignedPreKeyRecord{ID: uint32(spkID), KeyPair: kp, Signature: append([]byte(nil), sig...), Timestamp: r.opts.Now()}
	return d, nil
}

// account reads every row of d.
func (r *whatsmeowReader) account(ctx context.Context, d device) (*account, error) {
	name, err := r.opts.AccountName(d.jid)
	if err != nil {
		return nil, fmt.Errorf("importer: account name of %s: %w", d.jid, err)
	}
	a := &account{
		device: d, name: name,
		identities: map[session.Address]prekey.IdentityKey{},
		sessions:   map[session.Address]*session.Record{},
		senderKeys: map[group.SenderKeyName]*group.Record{},
		scope:      session.PerDevice,
		rep:        AccountReport{JID: d.jid, Account: name, SignedPreKeys: 1},
	}
	var tx *sql.Tx
	if r.dialect == Postgres {
		// One snapshot of the account's rows.
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
	bad := func(table, key string, err error) error {
		if r.opts.SkipBad {
			a.rep.Skipped = append(a.rep.Skipped, Skipped{Table: table, Key: key, Err: err})
			return nil
		}
		return &RowError{Account: d.jid, Table: table, Key: key, Err: err}
	}
	done := 0
	tick := func() {
		done++
		if r.opts.Progress != nil && done%256 == 0 {
			r.opts.Progress(Progress{Account: d.jid, Phase: "read", Done: done})
		}
	}
	if r.opts.Progress != nil {
		r.opts.Progress(Progress{Account: d.jid, Phase: "read"})
	}
	each := func(table, q string, fn func(rows *sql.Rows) error) error {
		rows, err := query(q, d.jid)
		if err != nil {
			return fmt.Errorf("importer: account %s: reading %s: %w", d.jid, table, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows); err != nil {
				return err
			}
			tick()
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("importer: account %s: reading %s: %w", d.jid, table, err)
		}
		return nil
	}

	err = each("whatsmeow_pre_keys", `SELECT key_id, key, uploaded FROM whatsmeow_pre_keys WHERE jid = $1 ORDER BY key_id`, func(rows *sql.Rows) error {
		var id int64
		var key []byte
		var uploaded bool
		if err := rows.Scan(&id, &key, &uploaded); err != nil {
			return fmt.Errorf("importer: account %s: reading whatsmeow_pre_keys: %w", d.jid, err)
		}
		rec, err := preKeyRow(id, key)
		if err != nil {
			return bad("whatsmeow_pre_keys", strconv.FormatInt(id, 10), err)
		}
		a.preKeys = append(a.preKeys, rec)
		a.rep.PreKeys++
		if !uploaded {
			a.rep.PreKeysNotUploaded++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each("whatsmeow_identity_keys", `SELECT their_id, identity FROM whatsmeow_identity_keys WHERE our_jid = $1 ORDER BY their_id`, func(rows *sql.Rows) error {
		var id string
		var key []byte
		if err := rows.Scan(&id, &key); err != nil {
			return fmt.Errorf("importer: account %s: reading whatsmeow_identity_keys: %w", d.jid, err)
		}
		addr, k, err := r.identityRow(id, key)
		if err != nil {
			return bad("whatsmeow_identity_keys", id, err)
		}
		a.identities[addr] = k
		a.rep.Identities++
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each("whatsmeow_sessions", `SELECT their_id, session FROM whatsmeow_sessions WHERE our_jid = $1 ORDER BY their_id`, func(rows *sql.Rows) error {
		var id string
		var b []byte
		if err := rows.Scan(&id, &b); err != nil {
			return fmt.Errorf("importer: account %s: reading whatsmeow_sessions: %w", d.jid, err)
		}
		addr, rec, err := r.sessionRow(id, b)
		if err != nil {
			return bad("whatsmeow_sessions", id, err)
		}
		a.sessions[addr] = rec
		a.rep.Sessions++
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = each("whatsmeow_sender_keys", `SELECT chat_id, sender_id, sender_key FROM whatsmeow_sender_keys WHERE our_jid = $1 ORDER BY chat_id, sender_id`, func(rows *sql.Rows) error {
		var chat, sender string
		var b []byte
		if err := rows.Scan(&chat, &sender, &b); err != nil {
			return fmt.Errorf("importer: account %s: reading whatsmeow_sender_keys: %w", d.jid, err)
		}
		name, rec, err := r.senderKeyRow(chat, sender, b)
		if err != nil {
			return bad("whatsmeow_sender_keys", chat+"/"+sender, err)
		}
		a.senderKeys[name] = rec
		a.rep.SenderKeys++
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// The conversions of one row of each of whatsmeow's tables into Interlock's
// records, apart from the SQL that reads them (FuzzWhatsmeowRows). A row's
// bytes come from another program's database: each conversion returns an
// error for anything it cannot read, and never panics.

// preKeyRow converts a whatsmeow_pre_keys row (key_id, key).
func preKeyRow(id int64, key []byte) (*prekey.PreKeyRecord, error) {
	if id <= 0 || id > 0xFFFFFF {
		return nil, fmt.Errorf("prekey ID %d out of range", id)
	}
	priv, err := prekey.NewPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &prekey.PreKeyRecord{ID: uint32(id), KeyPair: prekey.KeyPair{Private: priv, Public: priv.PublicKey()}}, nil
}

// identityRow converts a whatsmeow_identity_keys row (their_id, identity).
func (r *whatsmeowReader) identityRow(id string, key []byte) (session.Address, prekey.IdentityKey, error) {
	addr, err := r.opts.Address(id)
	if err != nil {
		return addr, prekey.IdentityKey{}, err
	}
	if len(key) != 32 {
		return addr, prekey.IdentityKey{}, fmt.Errorf("%w: identity key is %d bytes, want 32", prekey.ErrInvalidKey, len(key))
	}
	k, err := prekey.NewIdentityKey(append([]byte{0x05}, key...))
	return addr, k, err
}

// sessionRow converts a whatsmeow_sessions row (their_id, session).
func (r *whatsmeowReader) sessionRow(id string, b []byte) (session.Address, *session.Record, error) {
	addr, err := r.opts.Address(id)
	if err != nil {
		return addr, nil, err
	}
	if len(b) == 0 {
		return addr, nil, fmt.Errorf("%w: empty record", session.ErrCorruptRecord)
	}
	rec, err := session.UnmarshalRecord(b)
	if err == nil {
		err = rec.Normalize()
	}
	if err != nil {
		return addr, nil, err
	}
	if rec.Current() == nil && rec.ArchivedStates() == 0 {
		return addr, nil, fmt.Errorf("%w: record holds no session state", session.ErrCorruptRecord)
	}
	return addr, rec, nil
}

// senderKeyRow converts a whatsmeow_sender_keys row (chat_id, sender_id,
// sender_key).
func (r *whatsmeowReader) senderKeyRow(chat, sender string, b []byte) (group.SenderKeyName, *group.Record, error) {
	addr, err := r.opts.Address(sender)
	if err != nil {
		return group.SenderKeyName{}, nil, err
	}
	if chat == "" {
		return group.SenderKeyName{}, nil, errors.New("empty chat_id")
	}
	rec, err := group.UnmarshalRecord(b)
	if err != nil {
		return group.SenderKeyName{}, nil, err
	}
	if rec.IsEmpty() {
		return group.SenderKeyName{}, nil, fmt.Errorf("%w: no sender-key state", group.ErrInvalidRecord)
	}
	return group.SenderKeyName{Sender: addr.Name, DeviceID: addr.DeviceID, DistributionID: chat}, rec, nil
}
