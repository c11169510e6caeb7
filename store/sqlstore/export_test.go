package sqlstore

// CacheStats is what the tests read of a DB's session cache: lookups served
// and missed, and the entries held, for sessions and identities.
type CacheStats struct {
	SessionHits, SessionMisses   uint64
	IdentityHits, IdentityMisses uint64
	AccountHits, AccountMisses   uint64
	Sessions, Identities         int
}

// ReadCacheStats returns db's cache statistics (zero without a cache).
func ReadCacheStats(db *DB) CacheStats {
	c := db.cache
	if c == nil {
		return CacheStats{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{
		SessionHits: c.sessions.hits, SessionMisses: c.sessions.misses,
		IdentityHits: c.identities.hits, IdentityMisses: c.identities.misses,
		AccountHits: c.accounts.hits, AccountMisses: c.accounts.misses,
		Sessions: len(c.sessions.m), Identities: len(c.identities.m),
	}
}
