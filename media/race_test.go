//go:build race

package media

// Under the race detector sync.Pool drops a random quarter of what is put
// back, so either round trip of TestLargeStream may allocate the rings of
// its encryption and decryption (ringPool) that the other found pooled.
func init() { poolSlack = 2 * ringSize }
