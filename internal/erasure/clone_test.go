package erasure

import (
	"bytes"
	"testing"
)

// TestCloneIndependent: adding chunks to a clone leaves the original as it
// was, and the other way round; both still decode.
func TestCloneIndependent(t *testing.T) {
	msg := make([]byte, 1152)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	e, _ := NewEncoder(msg)
	d, _ := NewDecoder(len(msg))
	for range 10 {
		d.Add(e.Next())
	}
	ec := e.Clone()
	idx, _ := ec.Next()
	if idx2, _ := e.Next(); idx2 != idx {
		t.Fatalf("clone advanced the original: %d %d", idx, idx2)
	}
	_, before, _ := d.State()
	c := d.Clone()
	for i := uint16(40); i < 80; i++ {
		c.Add(i, e.Chunk(i))
	}
	if _, after, _ := d.State(); len(after) != len(before) || !bytes.Equal(bytes.Join(after, nil), bytes.Join(before, nil)) {
		t.Fatal("adding to the clone changed the original")
	}
	got, ok := c.Decoded()
	if !ok || !bytes.Equal(got, msg) {
		t.Fatal("clone does not decode")
	}
	for i := uint16(10); i < 36; i++ {
		d.Add(i, e.Chunk(i))
	}
	if got, ok := d.Decoded(); !ok || !bytes.Equal(got, msg) {
		t.Fatal("original does not decode")
	}
}
