package session

import (
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/mutant"
	"github.com/interlock-e2ee/interlock/prekey"
)

// ErrDowngrade: a bundle without a Kyber prekey, or a version 3
// PreKeySignalMessage starting a new session, for a device that has already
// spoken version 4 (PQXDH, and SPQR where negotiated) with us. It matches
// ErrUnsupported. Delete the session (Cipher.DeleteSession or the store's
// DeleteSession) to start over with version 3 deliberately.
var ErrDowngrade = fmt.Errorf("%w: downgrade from version 4", ErrUnsupported)

// spokeVersion4 reports whether any state of the record, current or
// archived, is a version 4 session: the device has shown it speaks PQXDH.
// An archived state that does not parse counts for nothing.
func (r *Record) spokeVersion4() bool {
	if r == nil {
		return false
	}
	if r.current != nil && r.current.version == prekey.Version4 {
		return true
	}
	for i := range r.previous {
		if s, err := r.archivedState(i); err == nil && s.version == prekey.Version4 {
			return true
		}
	}
	return false
}

// checkDowngrade refuses to set up a version 3 session with a device whose
// record shows version 4 (issue #20 item 13): a server that strips the
// Kyber prekey from a bundle must not silently move a post-quantum session
// back to X3DH, under AllowX3DH as well.
func checkDowngrade(rec *Record, addr Address, version int) error {
	if version == prekey.Version3 && rec.spokeVersion4() && !mutant.On(mutant.StrippedBundle) {
		return fmt.Errorf("%w: %s has spoken version 4 and the bundle has no Kyber prekey", ErrDowngrade, addr)
	}
	return nil
}
