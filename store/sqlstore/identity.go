package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// Identity pinning (issue #20 item 10). interlock_identities holds one row
// per device seen; under session.PerAccount (the default)
// interlock_account_identities holds the pinned key of each account name and
// is what trust is decided on, under session.PerDevice the device rows are.

var _ session.DeviceIdentityStore = (*Store)(nil)

// WithIdentityScope sets what remote identity keys are pinned to (default
// session.PerAccount, the signal flavour; session.PerDevice for the whatsapp
// flavour). See session.IdentityScope.
func WithIdentityScope(scope session.IdentityScope) Option {
	return func(o *options) { o.scope = scope }
}

// WithOwnName returns a Store of the same account that knows the local
// account's protocol name, so that its other devices are never trusted on
// first use (see session.WithOwnName). Use the returned Store.
func (s *Store) WithOwnName(name string) *Store {
	c := *s
	c.ownName, c.hasOwn = name, true
	return &c
}

// IdentityScope implements session.DeviceIdentityStore.
func (s *Store) IdentityScope() session.IdentityScope { return s.db.scope }

func (s *Store) own(name string) bool { return s.hasOwn && name == s.ownName }

// SaveIdentity implements session.IdentityStore: it stores key for addr (for
// its account under PerAccount) and reports whether it replaced a different
// key.
func (s *Store) SaveIdentity(ctx context.Context, addr session.Address, key prekey.IdentityKey) (replaced bool, err error) {
	ch, err := s.SaveDeviceIdentity(ctx, addr, key)
	return ch == session.IdentityReplaced, err
}

// SaveDeviceIdentity implements session.DeviceIdentityStore, in one
// transaction.
func (s *Store) SaveDeviceIdentity(ctx context.Context, addr session.Address, key prekey.IdentityKey) (ch session.IdentityChange, err error) {
	if s.db.scope == session.PerAccount && s.own(addr.Name) && !key.Equal(s.identity.PublicKey()) {
		return 0, fmt.Errorf("%w: %s is a device of the local account and has another key", session.ErrUntrustedIdentity, addr)
	}
	err = s.atomically(ctx, func(s *Store) error {
		var known bool
		if s.db.scope == session.PerDevice && !s.own(addr.Name) {
			if known, err = s.accountKnown(ctx, addr.Name); err != nil {
				return err
			}
		}
		var devNew, devReplaced bool
		err := s.tracked(func(m marker) { m.identity(s.key(addr), key, true) }, func() error {
			var err error
			devNew, devReplaced, err = s.saveDeviceRow(ctx, addr, key)
			return err
		})
		if err != nil {
			return err
		}
		if s.db.scope == session.PerDevice {
			switch {
			case devNew && !known && !s.own(addr.Name):
				ch = session.IdentityNewAccount
			case devNew:
				ch = session.IdentityNewDevice
			case devReplaced:
				ch = session.IdentityReplaced
			}
			return nil
		}
		accNew, accReplaced, err := s.saveAccountRow(ctx, addr.Name, key)
		if err != nil {
			return err
		}
		switch {
		case accNew && !s.own(addr.Name):
			ch = session.IdentityNewAccount
		case accReplaced:
			ch = session.IdentityReplaced
		case devNew:
			ch = session.IdentityNewDevice
		}
		return nil
	})
	if err != nil {
		return 0, wrap("saving identity "+addr.String(), err)
	}
	return ch, nil
}

// saveDeviceRow upserts the device's row: two atomic statements, so
// concurrent callers see a consistent sequence of replacements.
func (s *Store) saveDeviceRow(ctx context.Context, addr session.Address, key prekey.IdentityKey) (inserted, replaced bool, err error) {
	kb := key.Bytes()
	res, err := s.exec(ctx, `INSERT INTO interlock_identities (account, name, device_id, identity_key) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account, name, device_id) DO NOTHING`, s.account, addr.Name, int64(addr.DeviceID), kb)
	if err != nil {
		return false, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return n == 1, false, err
	}
	res, err = s.exec(ctx, `UPDATE interlock_identities SET identity_key = $4
		WHERE account = $1 AND name = $2 AND device_id = $3 AND identity_key <> $4`,
		s.account, addr.Name, int64(addr.DeviceID), kb)
	if err != nil {
		return false, false, err
	}
	n, err := res.RowsAffected()
	return false, n == 1, err
}

// saveAccountRow upserts the account's pinned key.
// Either way the row then holds key (the cache takes it at commit).
func (s *Store) saveAccountRow(ctx context.Context, name string, key prekey.IdentityKey) (inserted, replaced bool, err error) {
	kb := key.Bytes()
	err = s.tracked(func(m marker) { m.account(s.accountKey(name), key, true) }, func() error {
		res, err := s.exec(ctx, `INSERT INTO interlock_account_identities (account, name, identity_key) VALUES ($1, $2, $3)
			ON CONFLICT (account, name) DO NOTHING`, s.account, name, kb)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			inserted = n == 1
			return err
		}
		res, err = s.exec(ctx, `UPDATE interlock_account_identities SET identity_key = $3
			WHERE account = $1 AND name = $2 AND identity_key <> $3`, s.account, name, kb)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		replaced = n == 1
		return err
	})
	return inserted, replaced, err
}

// accountKnown reports whether any device of the account name has a key.
func (s *Store) accountKnown(ctx context.Context, name string) (bool, error) {
	var one int
	err := s.reader().QueryRowContext(ctx, s.db.d.q(`SELECT 1 FROM interlock_identities WHERE account = $1 AND name = $2 LIMIT 1`),
		s.account, name).Scan(&one)
	if isNoRows(err) {
		return false, nil
	}
	return err == nil, err
}

// accountIdentity returns the pinned key of the account name (PerAccount).
func (s *Store) accountIdentity(ctx context.Context, name string) (prekey.IdentityKey, bool, error) {
	if s.own(name) {
		return s.identity.PublicKey(), true, nil
	}
	b, ok, err := s.loadBlob(ctx, `SELECT identity_key FROM interlock_account_identities WHERE account = $1 AND name = $2`, s.account, name)
	if err != nil || !ok {
		return prekey.IdentityKey{}, false, err
	}
	k, err := prekey.NewIdentityKey(b)
	if err != nil {
		return prekey.IdentityKey{}, false, fmt.Errorf("identity of %s: %w", name, err)
	}
	return k, true, nil
}

// IsTrustedIdentity implements session.IdentityStore: trust on first use
// per account (PerAccount) or for the first device of an unknown account
// (PerDevice), then only the pinned key.
func (s *Store) IsTrustedIdentity(ctx context.Context, addr session.Address, key prekey.IdentityKey, _ session.Direction) (bool, error) {
	if s.db.scope == session.PerAccount {
		old, ok, err := s.accountIdentity(ctx, addr.Name)
		if err != nil {
			return false, wrap("loading identity "+addr.String(), err)
		}
		return !ok || old.Equal(key), nil
	}
	old, ok, err := s.DeviceIdentity(ctx, addr)
	if err != nil {
		return false, err
	}
	if ok {
		return old.Equal(key), nil
	}
	if s.own(addr.Name) {
		return false, nil
	}
	known, err := s.accountKnown(ctx, addr.Name)
	if err != nil {
		return false, wrap("loading identity "+addr.String(), err)
	}
	return !known, nil
}

// Identity implements session.IdentityStore: the account's key under
// PerAccount, the device's under PerDevice.
func (s *Store) Identity(ctx context.Context, addr session.Address) (prekey.IdentityKey, bool, error) {
	if s.db.scope == session.PerAccount {
		k, ok, err := s.accountIdentity(ctx, addr.Name)
		if err != nil {
			return k, false, wrap("loading identity "+addr.String(), err)
		}
		return k, ok, nil
	}
	return s.DeviceIdentity(ctx, addr)
}

// DeviceIdentity implements session.DeviceIdentityStore: the key last saved
// for this very device.
func (s *Store) DeviceIdentity(ctx context.Context, addr session.Address) (prekey.IdentityKey, bool, error) {
	var token uint64
	if c := s.db.cache; c != nil {
		c.mu.Lock()
		k, present, ok, t := c.identities.lookup(c, s.key(addr))
		c.mu.Unlock()
		if ok {
			return k, present, nil
		}
		token = t
	}
	var b []byte
	err := s.reader().QueryRowContext(ctx, s.db.d.q(`SELECT identity_key FROM interlock_identities WHERE account = $1 AND name = $2 AND device_id = $3`),
		s.account, addr.Name, int64(addr.DeviceID)).Scan(&b)
	if isNoRows(err) {
		s.fillIdentity(addr, prekey.IdentityKey{}, false, token)
		return prekey.IdentityKey{}, false, nil
	}
	if err != nil {
		return prekey.IdentityKey{}, false, wrap("loading identity "+addr.String(), err)
	}
	k, err := prekey.NewIdentityKey(b)
	if err != nil {
		return prekey.IdentityKey{}, false, wrap("identity "+addr.String(), err)
	}
	s.fillIdentity(addr, k, true, token)
	return k, true, nil
}

// RemoveIdentity forgets the identity stored for addr, so the next one is
// trusted on first use again: under PerAccount the account's key and every
// device row of the account, under PerDevice the device's row.
func (s *Store) RemoveIdentity(ctx context.Context, addr session.Address) error {
	var err error
	if s.db.scope == session.PerAccount {
		err = s.atomically(ctx, func(s *Store) error {
			err := s.tracked(func(m marker) { m.account(s.accountKey(addr.Name), prekey.IdentityKey{}, false) }, func() error {
				_, err := s.exec(ctx, `DELETE FROM interlock_account_identities WHERE account = $1 AND name = $2`, s.account, addr.Name)
				return err
			})
			if err != nil {
				return err
			}
			rows, err := s.reader().QueryContext(ctx, s.db.d.q(`SELECT device_id FROM interlock_identities WHERE account = $1 AND name = $2`), s.account, addr.Name)
			if err != nil {
				return err
			}
			var devs []uint32
			for rows.Next() {
				var d int64
				if err := rows.Scan(&d); err != nil {
					rows.Close()
					return err
				}
				devs = append(devs, uint32(d))
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for _, d := range devs {
				if err := s.removeDeviceRow(ctx, session.Address{Name: addr.Name, DeviceID: d}); err != nil {
					return err
				}
			}
			return nil
		})
	} else {
		err = s.removeDeviceRow(ctx, addr)
	}
	if err != nil {
		return wrap("removing identity "+addr.String(), err)
	}
	return nil
}

func (s *Store) removeDeviceRow(ctx context.Context, addr session.Address) error {
	return s.tracked(func(m marker) { m.identity(s.key(addr), prekey.IdentityKey{}, false) }, func() error {
		_, err := s.exec(ctx, `DELETE FROM interlock_identities WHERE account = $1 AND name = $2 AND device_id = $3`,
			s.account, addr.Name, int64(addr.DeviceID))
		return err
	})
}

// areTrustedPerAccount answers AreTrustedIdentities under PerAccount with
// one SELECT per batchRows account names; unpinned accounts whose devices
// present different keys in the batch are refused.
func (s *Store) areTrustedPerAccount(ctx context.Context, keys map[session.Address]prekey.IdentityKey) (map[session.Address]bool, error) {
	var names []string
	seen := map[string]bool{}
	for a := range keys {
		if !seen[a.Name] {
			seen[a.Name] = true
			names = append(names, a.Name)
		}
	}
	slices.Sort(names)
	pinned := make(map[string]prekey.IdentityKey, len(names))
	// With WithSessionCache, the pinned keys it knows (a key, or no row);
	// the others are read and, unless written meanwhile, cached.
	var tokens map[string]uint64
	if c := s.db.cache; c != nil {
		tokens = make(map[string]uint64)
		c.mu.Lock()
		want := names[:0:0]
		for _, n := range names {
			k, present, ok, token := c.accounts.lookup(c, s.accountKey(n))
			switch {
			case !ok:
				want, tokens[n] = append(want, n), token
			case present:
				pinned[n] = k
			}
		}
		c.mu.Unlock()
		names = want
	}
	for chunk := range slices.Chunk(names, batchRows) {
		w := &stmtBuilder{d: s.db.d}
		w.wantNames(chunk).sql(`SELECT t.name, t.identity_key FROM want CROSS JOIN interlock_account_identities t WHERE t.account = `).
			arg(s.account).sql(` AND t.name = want.name`)
		rows, err := s.reader().QueryContext(ctx, w.b.String(), w.args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name string
			var b []byte
			if err := rows.Scan(&name, &b); err != nil {
				rows.Close()
				return nil, err
			}
			k, err := prekey.NewIdentityKey(b)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("identity of %s: %w", name, err)
			}
			pinned[name] = k
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if c := s.db.cache; c != nil && len(names) > 0 {
		c.mu.Lock()
		for _, n := range names {
			k, present := pinned[n]
			c.accounts.fill(s.accountKey(n), k, present, tokens[n])
		}
		c.mu.Unlock()
	}
	out := make(map[session.Address]bool, len(keys))
	first := map[string]prekey.IdentityKey{}
	conflict := map[string]bool{}
	for a, k := range keys {
		if s.own(a.Name) {
			out[a] = k.Equal(s.identity.PublicKey())
			continue
		}
		if p, ok := pinned[a.Name]; ok {
			out[a] = p.Equal(k)
			continue
		}
		out[a] = true
		if f, ok := first[a.Name]; !ok {
			first[a.Name] = k
		} else if !f.Equal(k) {
			conflict[a.Name] = true
		}
	}
	for a := range keys {
		if conflict[a.Name] {
			out[a] = false
		}
	}
	return out, nil
}
