package session

import (
	"context"
	"fmt"

	"github.com/interlock-e2ee/interlock/prekey"
)

// CurrentRatchetKeyMatches reports whether key is the ratchet key of the
// current session with addr, that is of the sending chain our next message
// to addr uses: libsignal's SessionRecord::current_ratchet_key_matches.
//
// A DecryptionErrorMessage is unauthenticated (it arrives in a
// PlaintextContent, or sealed): anyone can ask us to reset a session. When
// it names a ratchet key (DecryptionErrorMessage.RatchetKey), an app should
// archive the session and resend only if this reports true: a request about
// an older chain was already answered by a newer ratchet step, and a forged
// request for a chain that is not ours changes nothing. A request without a
// ratchet key (a failed sender-key or sealed message) carries no such
// evidence; apps then resend the message the request names, as Signal does.
// No session, or a current state without a sending chain, reports false.
func (c *Cipher) CurrentRatchetKeyMatches(ctx context.Context, addr Address, key prekey.PublicKey) (bool, error) {
	defer c.lock(addr).unlock()
	rec, err := c.store.LoadSession(ctx, addr)
	if err != nil {
		return false, fmt.Errorf("session: loading the record of %s: %w", addr, err)
	}
	if rec == nil || rec.current == nil {
		return false, nil
	}
	return rec.current.ratchet.SenderRatchet.Public.Equal(key), nil
}
