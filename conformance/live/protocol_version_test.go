package live

import (
	"os/exec"
	"testing"
)

// TestCapabilitiesProtocolVersion (issue #21 item 5): the driver reads the
// peer's protocol_version (docs/peer-protocol.md#versions) and takes a
// peer without the field for version 1.
func TestCapabilitiesProtocolVersion(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	// A peer in three lines of shell: it answers every request with the
	// capabilities below, echoing the request's id.
	const script = `while read -r l; do
id=$(printf '%s' "$l" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
printf '{"id":%s,"ok":true,"ops":["capabilities"],"implementation":"sh"%s}\n' "$id" "$EXTRA"
done`
	for _, tc := range []struct {
		extra string
		want  int
		fails bool
	}{
		{"", 1, false},
		{`,"protocol_version":2`, 2, false},
		{`,"protocol_version":7`, 7, false},
		{`,"protocol_version":-1`, 0, true},
	} {
		p, err := Start(Spec{Argv: []string{"sh", "-c", script}, Env: []string{"EXTRA=" + tc.extra}}, "sh")
		if err != nil {
			t.Fatal(err)
		}
		c, err := p.Capabilities()
		p.Close()
		if tc.fails {
			if err == nil {
				t.Errorf("%q: accepted, version %d", tc.extra, c.ProtocolVersion)
			}
			continue
		}
		if err != nil || c.ProtocolVersion != tc.want {
			t.Errorf("%q: version %d, err %v; want %d", tc.extra, c.ProtocolVersion, err, tc.want)
		}
	}
}
