package sqlstore

import (
	"sync"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// WithSessionCache keeps up to maxEntries parsed session records, and as
// many remote identities, in memory (least recently used first out), shared
// by every Store of the DB and keyed by account and address. Loads that hit
// it skip the SELECT and the parsing and return a copy; writes still go to
// the database first, and the cache takes the new value only once their
// transaction has committed (a rolled-back transaction leaves it as it was).
// maxEntries ≤ 0 leaves the cache off, the default.
//
// The cache is only correct while this DB is the only writer of the
// accounts it serves: no other process, and no other DB opened on the same
// database, may write their sessions or identities (reading is fine). See
// "Session cache" in the package documentation for what goes wrong
// otherwise. Records handed to StoreSession and StoreSessions are kept as
// they are (the session.SessionStore contract: the caller does not use them
// afterwards). A parsed record takes about as much memory as its serialized
// form: under 1 KB for a version 3 session, a few KB with PQXDH and SPQR.
func WithSessionCache(maxEntries int) Option {
	return func(o *options) { o.cacheSize = maxEntries }
}

// cacheKey names one cached row.
type cacheKey struct {
	account string
	addr    session.Address
}

// cache holds committed session records (never modified once cached: loads
// return clones), identities, and accounts' pinned keys (session.PerAccount:
// keyed by the account name alone, DeviceID 0). A key a transaction has written and not yet
// committed or rolled back is pinned (writers > 0): loads of it go to the
// database, which sees the transaction's own writes and, elsewhere, the
// last committed value.
type cache struct {
	mu         sync.Mutex
	gen        uint64 // last generation handed out
	sessions   lru[*session.Record]
	identities lru[prekey.IdentityKey]
	accounts   lru[prekey.IdentityKey]
}

func newCache(max int) *cache {
	c := &cache{}
	c.sessions.init(max)
	c.identities.init(max)
	c.accounts.init(max)
	return c
}

// entry is one key's cached knowledge. known says whether val and present
// describe the committed row (present false: there is no row).
type entry[V any] struct {
	key     cacheKey
	val     V
	present bool
	known   bool
	// writers counts unfinished transactions (or statements) that wrote the
	// key. While it is non-zero the entry is off the LRU list and no load
	// reads or fills it.
	writers int
	// conflict: two writers overlapped, so neither knows whether its value
	// committed last; the entry is forgotten when they finish.
	conflict bool
	// gen changes whenever a writer marks the key; a load that missed fills
	// the entry only if gen is still the one it saw before its SELECT.
	gen        uint64
	prev, next *entry[V]
}

type lru[V any] struct {
	max  int
	m    map[cacheKey]*entry[V]
	root entry[V] // root.next is the most recently used, root.prev the least
	n    int      // entries on the list
	// hits and misses count lookups (for tests).
	hits, misses uint64
}

func (l *lru[V]) init(max int) {
	l.max = max
	l.m = make(map[cacheKey]*entry[V])
	l.root.next, l.root.prev = &l.root, &l.root
}

func (l *lru[V]) unlink(e *entry[V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	l.n--
}

func (l *lru[V]) pushFront(e *entry[V]) {
	e.prev, e.next = &l.root, l.root.next
	e.prev.next, e.next.prev = e, e
	l.n++
}

func (l *lru[V]) touch(e *entry[V]) {
	if l.root.next != e {
		l.unlink(e)
		l.pushFront(e)
	}
}

func (l *lru[V]) evict() {
	for l.n > l.max {
		e := l.root.prev
		l.unlink(e)
		delete(l.m, e.key)
	}
}

// lookup returns the committed value of k if the cache knows it. Otherwise
// token, when non-zero, lets fill store what the caller then reads from the
// database.
func (l *lru[V]) lookup(c *cache, k cacheKey) (v V, present, ok bool, token uint64) {
	e := l.m[k]
	switch {
	case e == nil:
		c.gen++
		e = &entry[V]{key: k, gen: c.gen}
		l.m[k] = e
		l.pushFront(e)
		token = e.gen
		l.evict()
	case e.writers > 0:
		// Being written: the database knows better.
	case e.known:
		l.touch(e)
		l.hits++
		return e.val, e.present, true, 0
	default:
		l.touch(e)
		token = e.gen
	}
	l.misses++
	return v, false, false, token
}

// fill stores the committed value a load read after lookup gave it token,
// unless a writer has touched the key since.
func (l *lru[V]) fill(k cacheKey, v V, present bool, token uint64) {
	if token == 0 {
		return
	}
	if e := l.m[k]; e != nil && e.gen == token && e.writers == 0 {
		e.val, e.present, e.known = v, present, true
	}
}

// mark pins k for a writer about to write it.
func (l *lru[V]) mark(c *cache, k cacheKey) {
	e := l.m[k]
	switch {
	case e == nil:
		e = &entry[V]{key: k}
		l.m[k] = e
	case e.writers == 0:
		l.unlink(e)
	default:
		e.conflict = true
	}
	e.writers++
	c.gen++
	e.gen = c.gen
}

// outcome is how a write ended.
type outcome int

const (
	rolledBack outcome = iota // the database is as before
	committed                 // the write is durable
	unknown                   // it may or may not have committed
)

// release unpins k once its writer is done. A committed value becomes the
// cached one unless another writer overlapped or the writer's own
// statement failed (bad); a rollback leaves the entry as it was.
func (l *lru[V]) release(k cacheKey, p pending[V], o outcome) {
	e := l.m[k]
	if e == nil || e.writers == 0 {
		return // purged
	}
	e.writers--
	switch {
	case o == committed && !p.bad && !e.conflict:
		e.val, e.present, e.known = p.val, p.present, true
	case o != rolledBack:
		var zero V
		e.val, e.present, e.known = zero, false, false
	}
	if e.writers > 0 {
		return
	}
	e.conflict = false
	if !e.known {
		delete(l.m, k)
		return
	}
	l.pushFront(e)
	l.evict()
}

// purge forgets every entry of account.
func (l *lru[V]) purge(account string) {
	var zero V
	for k, e := range l.m {
		if k.account != account {
			continue
		}
		if e.writers > 0 {
			// Its writers will find it forgotten and drop it.
			e.val, e.present, e.known, e.conflict = zero, false, false, true
			continue
		}
		l.unlink(e)
		delete(l.m, k)
	}
}

// pending is a value a writer stored, waiting for the end of its
// transaction; bad when the statement that wrote it failed.
type pending[V any] struct {
	val     V
	present bool
	bad     bool
}

// journal is what one transaction (or one statement outside a transaction)
// wrote through the cache. Guarded by the cache's mutex.
type journal struct {
	done       bool
	sessions   map[cacheKey]pending[*session.Record]
	identities map[cacheKey]pending[prekey.IdentityKey]
	accounts   map[cacheKey]pending[prekey.IdentityKey]
}

func newJournal() *journal {
	return &journal{
		sessions:   make(map[cacheKey]pending[*session.Record]),
		identities: make(map[cacheKey]pending[prekey.IdentityKey]),
		accounts:   make(map[cacheKey]pending[prekey.IdentityKey]),
	}
}

// marker adds writes to a journal, pinning their keys (with the cache's
// mutex held). With bad set it flags them as failed instead.
type marker struct {
	c   *cache
	j   *journal
	bad bool
}

func (m marker) session(k cacheKey, r *session.Record) {
	journalWrite(m, &m.c.sessions, m.j.sessions, k, r, r != nil)
}

func (m marker) identity(k cacheKey, key prekey.IdentityKey, present bool) {
	journalWrite(m, &m.c.identities, m.j.identities, k, key, present)
}

// account notes a write of an account's pinned key (present false: the
// row is deleted).
func (m marker) account(k cacheKey, key prekey.IdentityKey, present bool) {
	journalWrite(m, &m.c.accounts, m.j.accounts, k, key, present)
}

// journalWrite adds a write of k (val, or no row) to a journal's entries
// for l, pinning k in l on its first write; with m.bad it flags the write
// as failed instead.
func journalWrite[V any](m marker, l *lru[V], entries map[cacheKey]pending[V], k cacheKey, val V, present bool) {
	p, seen := entries[k]
	if !seen {
		l.mark(m.c, k)
	}
	if m.bad {
		p.bad = true
	} else {
		p.val, p.present = val, present
	}
	entries[k] = p
}

// note runs fn, which adds writes to j, with the mutex held; nothing
// happens once j is finished (a Store used after its Transact returned:
// its statements fail).
func (c *cache) note(j *journal, bad bool, fn func(marker)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !j.done {
		fn(marker{c: c, j: j, bad: bad})
	}
}

// finish applies j's outcome and unpins its keys.
func (c *cache) finish(j *journal, o outcome) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j.done {
		return
	}
	j.done = true
	for k, p := range j.sessions {
		c.sessions.release(k, p, o)
	}
	for k, p := range j.identities {
		c.identities.release(k, p, o)
	}
	for k, p := range j.accounts {
		c.accounts.release(k, p, o)
	}
}

// purge forgets everything cached for account.
func (c *cache) purge(account string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions.purge(account)
	c.identities.purge(account)
	c.accounts.purge(account)
}

// tracked runs exec, a write whose cache effects note records. Outside a
// transaction exec is atomic on its own: the cache takes the new values if
// it succeeded and forgets the keys if it failed (it may have committed).
// Inside one the values wait in the transaction's journal for its commit;
// if exec fails they are flagged, so a commit that follows forgets them.
func (s *Store) tracked(note func(marker), exec func() error) error {
	c := s.db.cache
	if c == nil {
		return exec()
	}
	j := s.j
	if j == nil {
		j = newJournal()
	}
	c.note(j, false, note)
	err := exec()
	switch {
	case s.j == nil && err == nil:
		c.finish(j, committed)
	case s.j == nil:
		c.finish(j, unknown)
	case err != nil:
		c.note(j, true, note)
	}
	return err
}

func (s *Store) key(a session.Address) cacheKey { return cacheKey{account: s.account, addr: a} }

// accountKey names the cached pinned key of the account name.
func (s *Store) accountKey(name string) cacheKey {
	return cacheKey{account: s.account, addr: session.Address{Name: name}}
}

// fillSessions caches what loads read (nil: no record) for the keys whose
// lookup gave a token. The cache keeps copies: the caller gets the
// originals.
func (s *Store) fillSessions(keys []cacheKey, recs []*session.Record, tokens []uint64) {
	c := s.db.cache
	if c == nil {
		return
	}
	copies := make([]*session.Record, len(recs))
	parallel(len(recs), func(i int) error {
		if tokens[i] != 0 && recs[i] != nil {
			copies[i] = recs[i].Clone()
		}
		return nil
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, k := range keys {
		c.sessions.fill(k, copies[i], copies[i] != nil, tokens[i])
	}
}

func (s *Store) fillIdentity(a session.Address, k prekey.IdentityKey, present bool, token uint64) {
	c := s.db.cache
	if c == nil || token == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.identities.fill(s.key(a), k, present, token)
}
