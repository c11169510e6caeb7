package erasure

import (
	"bytes"
	"testing"
)

// FuzzDecoder feeds arbitrary chunks (2-byte index ‖ 32 bytes each) to a
// decoder: it never panics, holds a bounded number of points, and when the
// chunks are honest chunks of a message it returns that message.
func FuzzDecoder(f *testing.F) {
	f.Add(uint16(96), []byte{0, 5}, true)
	f.Add(uint16(1152), bytes.Repeat([]byte{0, 1, 0xff, 0xff}, 40), false)
	f.Fuzz(func(t *testing.T, size uint16, stream []byte, honest bool) {
		size &^= 1
		msg := bytes.Repeat([]byte{0xa5, 0x3c, 7}, int(size)/3+1)[:size]
		enc, _ := NewEncoder(msg)
		dec, err := NewDecoder(int(size))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+2 <= len(stream); i += 2 {
			idx := uint16(stream[i])<<8 | uint16(stream[i+1])
			var data [ChunkSize]byte
			if honest {
				data = enc.Chunk(idx % 300)
				idx %= 300
			} else {
				copy(data[:], stream[i:])
			}
			dec.Add(idx, data)
			for l := range Lanes {
				if len(dec.points[l]) > 2*dec.necessary(l) {
					t.Fatal("unbounded points")
				}
			}
			got, ok := dec.Decoded()
			if ok && honest && !bytes.Equal(got, msg) {
				t.Fatal("honest chunks decoded to a different message")
			}
			if ok && len(got) != int(size) {
				t.Fatal("length")
			}
		}
	})
}

// FuzzRestoreDecoder: serialized decoder state from storage never panics.
func FuzzRestoreDecoder(f *testing.F) {
	f.Add(uint32(48), []byte{0, 0, 1, 2, 0, 1, 3, 4}, uint8(16))
	f.Fuzz(func(t *testing.T, need uint32, lane []byte, lanes uint8) {
		pts := make([][]byte, lanes%20)
		for i := range pts {
			pts[i] = lane
		}
		d, err := RestoreDecoder(need, pts, false)
		if err != nil {
			return
		}
		d.Decoded()
		n, p, _ := d.State()
		if _, err := RestoreDecoder(n, p, false); err != nil {
			t.Fatal("round trip")
		}
	})
}

// FuzzRestoreEncoder: a serialized encoder never panics, and one that
// restores holds exactly the points of a message of the size asked for, so
// its first redundancy chunk costs at most that message's interpolation
// (issue #20 item 9).
func FuzzRestoreEncoder(f *testing.F) {
	f.Add(uint16(32), uint32(3), []byte{0, 1, 0, 2}, true)
	f.Add(uint16(64), uint32(1), []byte{0, 1, 0, 2}, false)
	f.Fuzz(func(t *testing.T, size uint16, idx uint32, lane []byte, asPolys bool) {
		lanes := make([][]byte, Lanes)
		for i := range lanes {
			lanes[i] = lane
		}
		var e *Encoder
		var err error
		if asPolys {
			e, err = RestoreEncoder(int(size), idx, nil, lanes)
		} else {
			e, err = RestoreEncoder(int(size), idx, lanes, nil)
		}
		if err != nil {
			return
		}
		if e.Len() != int(size) {
			t.Fatalf("restored an encoder of %d bytes for a %d-byte message", e.Len(), size)
		}
		e.Next()
		e.Chunk(1000)
	})
}
