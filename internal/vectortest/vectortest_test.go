package vectortest_test

import (
	"testing"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

func TestLoad(t *testing.T) {
	var f struct {
		Vectors []any `json:"vectors"`
	}
	vectortest.Load(t, "libsignal-xeddsa.json", &f)
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
}
