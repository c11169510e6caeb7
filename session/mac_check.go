//go:build !interlock_broken_mac

package session

import "crypto/hmac"

// macEqual compares a received MAC with the expected one in constant time.
// mac_check_broken.go replaces it in the deliberately broken test build.
func macEqual(want, got []byte) bool { return hmac.Equal(want, got) }
