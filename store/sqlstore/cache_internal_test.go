package sqlstore

import (
	"fmt"
	"testing"

	"github.com/interlock-e2ee/interlock/session"
)

// The cache's bookkeeping, step by step, in the orders that goroutines can
// produce (the end-to-end tests in cache_test.go cannot force them).

func key(i int) cacheKey {
	return cacheKey{account: "a", addr: session.Address{Name: fmt.Sprint("n", i), DeviceID: 1}}
}

func newTestLRU(max int) (*cache, *lru[int]) {
	c := newCache(max)
	l := new(lru[int])
	l.init(max)
	return c, l
}

func wantValue(t *testing.T, c *cache, l *lru[int], k cacheKey, v int, known bool) {
	t.Helper()
	got, present, ok, _ := l.lookup(c, k)
	if ok != known || (known && (!present || got != v)) {
		t.Fatalf("%v: lookup = %d %v %v, want %d known=%v", k, got, present, ok, v, known)
	}
}

func TestCacheFillAfterCommitIsDropped(t *testing.T) {
	c, l := newTestLRU(10)
	k := key(1)
	_, _, _, token := l.lookup(c, k) // a load misses and reads the database (old value 0)
	l.mark(c, k)                     // meanwhile a writer stores 1 and commits
	l.release(k, pending[int]{val: 1, present: true}, committed)
	l.fill(k, 0, true, token) // the load's stale value arrives late
	wantValue(t, c, l, k, 1, true)
}

func TestCacheFillWhilePinnedIsDropped(t *testing.T) {
	c, l := newTestLRU(10)
	k := key(1)
	l.mark(c, k)
	_, _, ok, token := l.lookup(c, k)
	if ok || token != 0 {
		t.Fatal("a pinned key was served or handed a fill token")
	}
	l.fill(k, 5, true, token)
	l.release(k, pending[int]{val: 1, present: true}, rolledBack)
	if _, _, ok, _ := l.lookup(c, k); ok {
		t.Fatal("a rolled-back write left a value behind")
	}
}

func TestCacheOutcomes(t *testing.T) {
	c, l := newTestLRU(10)
	k := key(1)
	_, _, _, token := l.lookup(c, k)
	l.fill(k, 7, true, token)
	wantValue(t, c, l, k, 7, true)

	l.mark(c, k)
	l.release(k, pending[int]{val: 8, present: true}, rolledBack)
	wantValue(t, c, l, k, 7, true) // a rollback keeps the committed value

	l.mark(c, k)
	l.release(k, pending[int]{val: 8, present: true, bad: true}, committed)
	wantValue(t, c, l, k, 0, false) // a failed statement in a committed transaction: forgotten

	_, _, _, token = l.lookup(c, k)
	l.fill(k, 7, true, token)
	l.mark(c, k)
	l.release(k, pending[int]{val: 8, present: true}, unknown)
	wantValue(t, c, l, k, 0, false) // a commit that may have failed: forgotten

	l.mark(c, k)
	l.release(k, pending[int]{val: 9, present: true}, committed)
	wantValue(t, c, l, k, 9, true)
}

func TestCacheOverlappingWriters(t *testing.T) {
	for _, order := range []string{"first commits first", "second commits first"} {
		c, l := newTestLRU(10)
		k := key(1)
		l.mark(c, k) // writer 1
		l.mark(c, k) // writer 2, before writer 1 is done
		if order == "first commits first" {
			l.release(k, pending[int]{val: 1, present: true}, committed)
			l.release(k, pending[int]{val: 2, present: true}, committed)
		} else {
			l.release(k, pending[int]{val: 2, present: true}, committed)
			l.release(k, pending[int]{val: 1, present: true}, committed)
		}
		// Which commit came last is unknown here: nothing is cached.
		if _, _, ok, _ := l.lookup(c, k); ok {
			t.Fatalf("%s: overlapping writers left a value", order)
		}
	}
}

func TestCachePurgeWhilePinned(t *testing.T) {
	c, l := newTestLRU(10)
	k := key(1)
	l.mark(c, k)
	l.purge("a")
	l.release(k, pending[int]{val: 1, present: true}, committed)
	if _, _, ok, _ := l.lookup(c, k); ok {
		t.Fatal("a write to a purged account was cached")
	}
}

func TestCacheLRU(t *testing.T) {
	c, l := newTestLRU(3)
	for i := range 3 {
		_, _, _, token := l.lookup(c, key(i))
		l.fill(key(i), i, true, token)
	}
	wantValue(t, c, l, key(0), 0, true) // 0 is now the most recent
	_, _, _, token := l.lookup(c, key(3))
	l.fill(key(3), 3, true, token) // evicts 1, the least recent
	if _, _, ok, _ := l.lookup(c, key(1)); ok {
		t.Fatal("the least recently used entry was kept")
	}
	if len(l.m) > 3 || l.n > 3 {
		t.Fatalf("%d entries (%d listed) over a bound of 3", len(l.m), l.n)
	}
	// Pinned entries are outside the bound until released.
	for i := 10; i < 20; i++ {
		l.mark(c, key(i))
	}
	for i := 10; i < 20; i++ {
		l.release(key(i), pending[int]{val: i, present: true}, committed)
	}
	if l.n > 3 || len(l.m) > 3 {
		t.Fatalf("%d entries after the writers finished, over a bound of 3", len(l.m))
	}
	wantValue(t, c, l, key(19), 19, true)
}
