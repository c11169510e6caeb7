//go:build interlock_broken_mac

package session

// macEqual, in this build only, accepts every MAC. The interlock_broken_mac
// build tag exists so that the conformance tests can prove the report
// notices: `go build -tags interlock_broken_mac ./cmd/interlock` makes the
// integrity guarantee fail. Never ship a binary built with this tag.
func macEqual(want, got []byte) bool { return len(want) == len(got) }
