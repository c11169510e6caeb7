package storetest_test

import (
	"testing"

	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
	"github.com/interlock-e2ee/interlock/store/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, id prekey.IdentityKeyPair, reg uint32) session.Store {
		return session.NewMemoryStore(id, reg)
	})
}
