package session

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/interlock-e2ee/interlock/prekey"
)

// Recipient is one device EncryptMany encrypts for.
type Recipient struct {
	Address Address
	// RegistrationID, when non-zero, is the registration ID the service
	// currently lists for the device. A session holding another one belongs
	// to an earlier installation of the device: it is stale (Signal's 410).
	RegistrationID uint32
	// Bundle, when set, starts a new session first (X3DH or PQXDH as the
	// initiator, as ProcessBundle): for a device without a session, with a
	// stale one, or to replace the current one.
	Bundle *prekey.Bundle
}

// Message is one device's ciphertext from EncryptMany.
type Message struct {
	Address Address
	// Type is TypeSignal, or TypePreKey until the device answers.
	Type MessageType
	// Body is the wire message.
	Body []byte
	// RegistrationID is the device's registration ID as the session knows it
	// (what sealed sender v2 and Signal's device-list check want).
	RegistrationID uint32
}

// ErrDeviceMismatch is matched by every *DeviceMismatchError.
var ErrDeviceMismatch = errors.New("session: device list mismatch")

// DeviceMismatchError says which devices a multi-device send got wrong, in
// the shape of Signal's answers to a send: 409 (missingDevices,
// extraDevices) and 410 (staleDevices). EncryptMany returns one, changing
// nothing, when devices have no usable session (Missing) or a session with
// another registration ID (Stale) and no bundle was given for them; an
// application can also build one from its server's answer. Either way the
// remedy is the same (ResolveDeviceMismatch): drop the sessions of Extra
// and Stale devices, fetch bundles for Missing and Stale ones, and retry.
type DeviceMismatchError struct {
	// Missing devices exist but the send had no session for them (or, from
	// a server, did not include them): fetch their bundles.
	Missing []Address
	// Extra devices were included but no longer exist: remove them from
	// the device list.
	Extra []Address
	// Stale devices were re-registered: their session is for an earlier
	// installation. Fetch new bundles.
	Stale []Address
}

func (e *DeviceMismatchError) Error() string {
	var b strings.Builder
	b.WriteString("session: device list mismatch:")
	for _, part := range []struct {
		what  string
		addrs []Address
	}{{"missing", e.Missing}, {"extra", e.Extra}, {"stale", e.Stale}} {
		if len(part.addrs) == 0 {
			continue
		}
		fmt.Fprintf(&b, " %d %s (", len(part.addrs), part.what)
		for i, a := range part.addrs {
			if i == 5 {
				b.WriteString(", …")
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(a.String())
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns ErrDeviceMismatch.
func (e *DeviceMismatchError) Unwrap() error { return ErrDeviceMismatch }

// NeedBundles lists the devices to fetch bundles for: Missing and Stale.
func (e *DeviceMismatchError) NeedBundles() []Address {
	return sortedAddrs(slices.Concat(e.Missing, e.Stale))
}

// BatchError reports, per device, why a batch operation left devices out
// (issue #20 item 17; the per-address error of issue #16 item 3). Errors
// holds one error per failed device. It matches (errors.Is, errors.As)
// whatever one of its errors matches: ErrUntrustedIdentity,
// ErrCorruptRecord, *CorruptRecordError, …
//
// EncryptMany returns one in two cases, which the messages it returns tell
// apart. When some devices failed in a way that stops the send (an
// untrusted identity, an invalid bundle, …) nothing changes and no message
// is returned. When the only failures are records that do not parse
// (*CorruptRecordError, with no bundle given to replace them), every other
// device is encrypted for and stored, their messages are returned with the
// error, and the corrupt records stay as they are.
//
// BatchSessionStore.LoadSessions returns one, with the records that parse,
// to report records that do not.
type BatchError struct {
	Errors map[Address]error
}

// Addresses returns the failed devices, sorted.
func (e *BatchError) Addresses() []Address {
	out := make([]Address, 0, len(e.Errors))
	for a := range e.Errors {
		out = append(out, a)
	}
	return sortedAddrs(out)
}

func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "session: %d device(s) failed:", len(e.Errors))
	for i, a := range e.Addresses() {
		if i == 5 {
			b.WriteString(" …")
			break
		}
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s: %v", a, e.Errors[a])
	}
	return b.String()
}

// Unwrap returns the per-device errors in address order.
func (e *BatchError) Unwrap() []error {
	out := make([]error, 0, len(e.Errors))
	for _, a := range e.Addresses() {
		out = append(out, e.Errors[a])
	}
	return out
}

// onlyCorrupt reports whether every error is a corrupt record.
func (e *BatchError) onlyCorrupt() bool {
	for _, err := range e.Errors {
		if !errors.Is(err, ErrCorruptRecord) {
			return false
		}
	}
	return len(e.Errors) > 0
}

// BatchSessionStore is implemented by session stores that load and store
// many records in one round trip. EncryptMany uses it when the store (or
// the transaction's store) implements it, and falls back to LoadSession and
// StoreSession otherwise.
type BatchSessionStore interface {
	// LoadSessions returns the records of those addrs that have one;
	// addresses without a record are absent from the map. The caller may
	// modify the records freely. Records that do not parse are absent too,
	// and reported in a *BatchError, returned with the map of the others,
	// holding a *CorruptRecordError for each such address: one corrupt
	// record must not hide the healthy ones (issue #20 item 17). Any other
	// error fails the whole call.
	LoadSessions(ctx context.Context, addrs []Address) (map[Address]*Record, error)
	// StoreSessions stores every record, atomically: all of them or, on
	// error, none. It takes ownership of the records.
	StoreSessions(ctx context.Context, records map[Address]*Record) error
}

// BatchIdentityStore is implemented by identity stores that answer many
// trust questions in one round trip.
type BatchIdentityStore interface {
	// AreTrustedIdentities answers IsTrustedIdentity for every entry of
	// keys.
	AreTrustedIdentities(ctx context.Context, keys map[Address]prekey.IdentityKey, dir Direction) (map[Address]bool, error)
}

// EncryptMany encrypts plaintext once per recipient device (Sesame's
// per-device encryption, done as a batch) and returns the messages in the
// order of recipients.
//
// All recipient addresses are locked in sorted order, so EncryptMany
// serialises with Encrypt, Decrypt and other EncryptMany calls on any of
// them without deadlock. The records are loaded in one batch
// (BatchSessionStore) inside one unit of work (Transactor), bundles are
// processed and the devices encrypted on up to GOMAXPROCS goroutines (one
// when WithRand is set, so output stays deterministic), and the advanced
// records are stored in one batch.
//
// Before anything is stored every device is checked: devices without a
// usable session or with a stale one (Recipient.RegistrationID) and no
// bundle fail the call with a *DeviceMismatchError; any other device error
// (ErrUntrustedIdentity, an invalid bundle, …) fails it with a *BatchError
// naming each such device. Either way nothing changes.
//
// A device whose stored record does not parse is not a reason to fail the
// others (issue #20 item 17). With a Recipient.Bundle the new session
// replaces the record, archiving nothing of it. Without one the device is
// left out: every other device is encrypted for and stored, and their
// messages (in the order of recipients, without the left-out devices) are
// returned with a *BatchError holding a *CorruptRecordError per left-out
// device; its record stays as it is (give a bundle, or DeleteSession).
//
// If storing fails, each session is
// either advanced with its message returned, or untouched: with a
// Transactor or a BatchSessionStore nothing was stored and no message is
// returned; otherwise the records are stored one after another in address
// order, and the messages of those stored before the failure are returned
// with the error.
func (c *Cipher) EncryptMany(ctx context.Context, recipients []Recipient, plaintext []byte) ([]Message, error) {
	if len(recipients) == 0 {
		return nil, nil
	}
	index := make(map[Address]int, len(recipients))
	for i, r := range recipients {
		if _, dup := index[r.Address]; dup {
			return nil, fmt.Errorf("%w: %s listed twice", ErrInvalidArgument, r.Address)
		}
		index[r.Address] = i
	}
	addrs := make([]Address, len(recipients))
	for i, r := range recipients {
		addrs[i] = r.Address
	}
	addrs = sortedAddrs(addrs)
	for _, u := range c.lockAll(addrs) {
		defer u.unlock()
	}

	views := make([]*deviceView, len(recipients))
	var stored []bool // per recipient, set once its record is stored
	var skipped *BatchError
	err := c.within(ctx, func(st Store) error {
		stored = make([]bool, len(recipients))
		skipped = nil
		recs, corrupt, err := loadSessions(ctx, st, addrs)
		if err != nil {
			return err
		}
		var mismatch DeviceMismatchError
		keys := make(map[Address]prekey.IdentityKey, len(recipients))
		now := c.now()
		for i, r := range recipients {
			v := &deviceView{Store: st, addr: r.Address, rec: recs[r.Address], bundle: r.Bundle}
			views[i] = v
			if err := corrupt[r.Address]; err != nil && r.Bundle == nil {
				// Left out; reported below (issue #20 item 17). With a
				// bundle the view starts from no record: the new session
				// replaces the corrupt one.
				v.skip, v.err = true, err
				continue
			}
			if r.Bundle != nil {
				keys[r.Address] = r.Bundle.IdentityKey
				continue
			}
			cur := (*State)(nil)
			if v.rec != nil {
				cur = v.rec.current
			}
			switch {
			case cur == nil || (cur.pending != nil && now.Sub(cur.pending.timestamp) > MaxUnacknowledgedSessionAge):
				mismatch.Missing = append(mismatch.Missing, r.Address)
			case r.RegistrationID != 0 && cur.remoteRegID != r.RegistrationID:
				mismatch.Stale = append(mismatch.Stale, r.Address)
			default:
				keys[r.Address] = cur.remoteIdentity
			}
		}
		if len(mismatch.Missing)+len(mismatch.Stale) > 0 {
			mismatch.Missing, mismatch.Stale = sortedAddrs(mismatch.Missing), sortedAddrs(mismatch.Stale)
			return &mismatch
		}
		trusted, err := areTrusted(ctx, st, keys, Sending)
		if err != nil {
			return err
		}
		for _, v := range views {
			v.key, v.trusted = keys[v.addr], trusted[v.addr]
		}

		c.runParallel(ctx, len(views), func(i int) {
			v := views[i]
			if v.skip {
				return
			}
			if v.bundle != nil {
				if v.err = c.processBundle(ctx, v, v.addr, v.bundle); v.err != nil {
					return
				}
			}
			v.typ, v.body, v.err = c.encrypt(ctx, v, v.addr, plaintext)
		})
		if err := ctx.Err(); err != nil {
			return err
		}
		failed := &BatchError{Errors: map[Address]error{}}
		fatal := false
		for _, v := range views {
			if v.err != nil {
				failed.Errors[v.addr] = v.err
				fatal = fatal || !v.skip
			}
		}
		if fatal {
			return failed
		}
		if len(failed.Errors) > 0 {
			skipped = failed
		}

		// Identities first, then the records (as ProcessBundle does).
		for _, a := range addrs {
			if v := views[index[a]]; v.saveIdentity {
				if err := c.saveIdentity(ctx, st, a, v.savedKey); err != nil {
					return err
				}
			}
		}
		if bs, ok := st.(BatchSessionStore); ok {
			out := make(map[Address]*Record, len(views))
			for _, v := range views {
				if !v.skip {
					out[v.addr] = v.rec
				}
			}
			if err := bs.StoreSessions(ctx, out); err != nil {
				return err
			}
			for i, v := range views {
				stored[i] = !v.skip
			}
			return nil
		}
		for _, a := range addrs {
			i := index[a]
			if views[i].skip {
				continue
			}
			if err := st.StoreSession(ctx, a, views[i].rec); err != nil {
				return err
			}
			stored[i] = true
		}
		return nil
	})
	if err != nil {
		if _, tx := c.store.(Transactor); tx {
			return nil, err // rolled back: nothing was stored
		}
		var partial []Message
		for i, v := range views {
			if stored != nil && stored[i] {
				partial = append(partial, v.message())
			}
		}
		return partial, err
	}
	out := make([]Message, 0, len(views))
	for _, v := range views {
		if !v.skip {
			out = append(out, v.message())
		}
	}
	if skipped != nil {
		return out, skipped
	}
	return out, nil
}

// ErrInvalidArgument: a call was made with arguments that cannot be right
// (for example a device listed twice).
var ErrInvalidArgument = errors.New("session: invalid argument")

// ResolveDeviceMismatch applies the answer to a multi-device send: the
// current sessions of e.Extra and e.Stale devices are archived (the next
// EncryptMany reports them Missing unless a bundle is given), in one unit
// of work. It returns the devices to fetch bundles for (e.NeedBundles()).
func (c *Cipher) ResolveDeviceMismatch(ctx context.Context, e *DeviceMismatchError) ([]Address, error) {
	drop := sortedAddrs(slices.Concat(e.Extra, e.Stale))
	drop = slices.Compact(drop)
	if len(drop) > 0 {
		for _, u := range c.lockAll(drop) {
			defer u.unlock()
		}
		err := c.within(ctx, func(st Store) error {
			recs, corrupt, err := loadSessions(ctx, st, drop)
			if err != nil {
				return err
			}
			// A record that does not parse has nothing to archive: it is
			// deleted, so the device is Missing next time (issue #20
			// item 17).
			for _, a := range drop {
				if corrupt[a] != nil {
					if err := st.DeleteSession(ctx, a); err != nil {
						return err
					}
				}
			}
			for a, r := range recs {
				if r.current == nil {
					delete(recs, a)
					continue
				}
				r.ArchiveCurrent()
			}
			if bs, ok := st.(BatchSessionStore); ok {
				return bs.StoreSessions(ctx, recs)
			}
			for _, a := range drop {
				if r, ok := recs[a]; ok {
					if err := st.StoreSession(ctx, a, r); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return e.NeedBundles(), nil
}

// lockAll takes the locks of addrs, which must be sorted and distinct, in
// order.
func (c *Cipher) lockAll(addrs []Address) []unlocker {
	us := make([]unlocker, len(addrs))
	for i, a := range addrs {
		us[i] = c.lock(a)
	}
	return us
}

// runParallel calls fn(0) … fn(n-1) on up to GOMAXPROCS goroutines (one
// when the Cipher has an injected randomness source, which need not be safe
// for concurrent use and keeps output reproducible). It stops handing out
// work once ctx is done.
func (c *Cipher) runParallel(ctx context.Context, n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if c.rand != rand.Reader {
		workers = 1
	}
	if workers <= 1 {
		for i := range n {
			if ctx.Err() != nil {
				return
			}
			fn(i)
		}
		return
	}
	var next sync.Mutex
	i := 0
	take := func() (int, bool) {
		next.Lock()
		defer next.Unlock()
		if i >= n || ctx.Err() != nil {
			return 0, false
		}
		i++
		return i - 1, true
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				j, ok := take()
				if !ok {
					return
				}
				fn(j)
			}
		})
	}
	wg.Wait()
}

func sortedAddrs(a []Address) []Address {
	slices.SortFunc(a, func(x, y Address) int {
		return cmp.Or(strings.Compare(x.Name, y.Name), cmp.Compare(x.DeviceID, y.DeviceID))
	})
	return a
}

// loadSessions loads the records of addrs (absent: no record) and, apart,
// the addresses whose record does not parse, each with its
// *CorruptRecordError. Any other error fails the load.
func loadSessions(ctx context.Context, st Store, addrs []Address) (map[Address]*Record, map[Address]error, error) {
	var corrupt map[Address]error
	if bs, ok := st.(BatchSessionStore); ok {
		recs, err := bs.LoadSessions(ctx, addrs)
		if err != nil {
			be, ok := errors.AsType[*BatchError](err)
			if !ok || recs == nil || !be.onlyCorrupt() {
				return nil, nil, err
			}
			corrupt = make(map[Address]error, len(be.Errors))
			for a, e := range be.Errors {
				corrupt[a] = corruptRecord(a, e)
			}
		}
		// Only what was asked for: a store that answers with other
		// addresses (a bug, or a lookup matching the wrong rows) must not
		// have their sessions archived or rewritten by the caller.
		want := make(map[Address]bool, len(addrs))
		for _, a := range addrs {
			want[a] = true
		}
		maps.DeleteFunc(recs, func(a Address, _ *Record) bool { return !want[a] })
		maps.DeleteFunc(corrupt, func(a Address, _ error) bool { return !want[a] })
		return recs, corrupt, nil
	}
	out := make(map[Address]*Record, len(addrs))
	for _, a := range addrs {
		r, err := st.LoadSession(ctx, a)
		if errors.Is(err, ErrCorruptRecord) {
			if corrupt == nil {
				corrupt = map[Address]error{}
			}
			corrupt[a] = corruptRecord(a, err)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if r != nil {
			out[a] = r
		}
	}
	return out, corrupt, nil
}

func areTrusted(ctx context.Context, st Store, keys map[Address]prekey.IdentityKey, dir Direction) (map[Address]bool, error) {
	if bs, ok := st.(BatchIdentityStore); ok {
		return bs.AreTrustedIdentities(ctx, keys, dir)
	}
	out := make(map[Address]bool, len(keys))
	for a, k := range keys {
		ok, err := st.IsTrustedIdentity(ctx, a, k, dir)
		if err != nil {
			return nil, err
		}
		out[a] = ok
	}
	return out, nil
}

// deviceView is the Store one device's encryption sees inside EncryptMany:
// its record and trust answer come from the batch, its writes stay in
// memory until the batch is stored. Everything else goes to the underlying
// (transaction's) store. Each view is used by one goroutine at a time.
type deviceView struct {
	Store
	addr    Address
	bundle  *prekey.Bundle
	rec     *Record
	key     prekey.IdentityKey
	trusted bool

	saveIdentity bool
	savedKey     prekey.IdentityKey

	typ  MessageType
	body []byte
	err  error
	// skip: the device is left out of the batch (its record does not
	// parse and no bundle replaces it); err says why.
	skip bool
}

func (v *deviceView) LoadSession(ctx context.Context, a Address) (*Record, error) {
	if a != v.addr {
		return v.Store.LoadSession(ctx, a)
	}
	return v.rec, nil
}

func (v *deviceView) StoreSession(ctx context.Context, a Address, r *Record) error {
	if a != v.addr {
		return fmt.Errorf("session: batch encryption for %s stored a session for %s", v.addr, a)
	}
	v.rec = r
	return nil
}

func (v *deviceView) IsTrustedIdentity(ctx context.Context, a Address, k prekey.IdentityKey, dir Direction) (bool, error) {
	if a == v.addr && dir == Sending && k.Equal(v.key) {
		return v.trusted, nil
	}
	return v.Store.IsTrustedIdentity(ctx, a, k, dir)
}

func (v *deviceView) SaveIdentity(ctx context.Context, a Address, k prekey.IdentityKey) (bool, error) {
	if a != v.addr {
		return false, fmt.Errorf("session: batch encryption for %s saved an identity for %s", v.addr, a)
	}
	v.saveIdentity, v.savedKey = true, k
	return false, nil
}

func (v *deviceView) message() Message {
	m := Message{Address: v.addr, Type: v.typ, Body: v.body}
	if v.rec != nil && v.rec.current != nil {
		m.RegistrationID = v.rec.current.remoteRegID
	}
	return m
}
