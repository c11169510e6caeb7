package session

import "github.com/interlock-e2ee/interlock/ratchet"

// SetWorkHook makes every decryption of a SignalMessage report the Double
// Ratchet derivations it spent to f (the message of a PreKeySignalMessage
// too, once per decryption of it), until the returned function restores
// the previous hook. Not safe to call while messages are being decrypted.
func SetWorkHook(f func(ratchet.Work)) (restore func()) {
	old := workHook
	workHook = f
	return func() { workHook = old }
}
