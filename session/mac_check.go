//go:build !interlock_broken_mac

package session

import (
	"crypto/hmac"

	"github.com/interlock-e2ee/interlock/internal/mutant"
)

// macEqual compares a received MAC with the expected one in constant time.
// mac_check_broken.go replaces it in the deliberately broken test build.
func macEqual(want, got []byte) bool {
	if mutant.On(mutant.MACUnchecked) {
		return len(want) == len(got) // mutant: any MAC accepted
	}
	return hmac.Equal(want, got)
}
