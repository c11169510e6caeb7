package sqlstore

import (
	"context"
	"encoding/binary"

	"github.com/interlock-e2ee/interlock/session"
)

var _ session.SessionVersioner = (*Store)(nil)

// selectSession reads one session row.
const selectSession = `SELECT record FROM interlock_sessions WHERE account = $1 AND name = $2 AND device_id = $3`

// LoadSessionVersion implements session.SessionVersioner: LoadSession and
// the record's version, its stored bytes (or, for a record the session
// cache holds, the cache entry's generation, which changes with every write
// through this DB). Outside a transaction it reads without taking the write
// lock: on SQLite from the read connections, so a session.Cipher can reject
// a forged message while other accounts keep writing (issue #20 item 5).
func (s *Store) LoadSessionVersion(ctx context.Context, addr session.Address) (*session.Record, []byte, error) {
	var token uint64
	if s.db.cache != nil {
		r, present, ver, ok, t := s.cachedSession(addr)
		if ok {
			if !present {
				return nil, nil, nil
			}
			return r.Clone(), ver, nil
		}
		token = t
	}
	b, ok, err := s.loadBlob(ctx, selectSession, s.account, addr.Name, int64(addr.DeviceID))
	if err != nil {
		return nil, nil, wrap("loading session "+addr.String(), err)
	}
	if !ok {
		s.fillSessions([]cacheKey{s.key(addr)}, []*session.Record{nil}, []uint64{token})
		return nil, nil, nil
	}
	pt, err := s.open(ctx, sessionRow(addr), b)
	if err != nil {
		return nil, nil, err
	}
	r, err := session.UnmarshalRecord(pt)
	if err != nil {
		// LoadSession reports a corrupt record (naming addr).
		if _, lerr := s.LoadSession(ctx, addr); lerr != nil {
			err = lerr
		}
		return nil, nil, err
	}
	s.fillSessions([]cacheKey{s.key(addr)}, []*session.Record{r}, []uint64{token})
	return r, b, nil
}

// SessionVersion implements session.SessionVersioner. Inside Transact the
// row is read with the transaction (SELECT … FOR UPDATE on PostgreSQL, so
// it cannot change before the commit; on SQLite the transaction holds the
// write lock already).
func (s *Store) SessionVersion(ctx context.Context, addr session.Address) ([]byte, error) {
	if s.db.cache != nil {
		if _, present, ver, ok, _ := s.cachedSession(addr); ok {
			if !present {
				return nil, nil
			}
			return ver, nil
		}
	}
	if err := s.lockRows(ctx, sessionLock(addr)); err != nil {
		return nil, wrap("locking session "+addr.String(), err)
	}
	b, _, err := s.loadBlob(ctx, selectSession, s.account, addr.Name, int64(addr.DeviceID))
	if err != nil {
		return nil, wrap("loading session "+addr.String(), err)
	}
	return b, nil
}

// cachedSession is the session cache's lookup, with the version of a hit:
// 0x00 and the entry's generation. No serialized record starts with 0x00
// (field number 0 is invalid), so it never equals a record's bytes.
func (s *Store) cachedSession(addr session.Address) (r *session.Record, present bool, ver []byte, ok bool, token uint64) {
	c := s.db.cache
	k := s.key(addr)
	c.mu.Lock()
	defer c.mu.Unlock()
	r, present, ok, token = c.sessions.lookup(c, k)
	if ok && present {
		ver = binary.BigEndian.AppendUint64([]byte{0}, c.sessions.m[k].gen)
	}
	return r, present, ver, ok, token
}
