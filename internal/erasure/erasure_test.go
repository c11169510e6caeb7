package erasure

import (
	"bytes"
	"crypto/rand"
	mrand "math/rand/v2"
	"testing"
)

func TestField(t *testing.T) {
	for a := 1; a < 1<<16; a++ {
		if gfMul(uint16(a), gfInv(uint16(a))) != 1 {
			t.Fatalf("inverse of %d", a)
		}
	}
	// x^16 = x^12 + x^3 + x + 1.
	if got := gfMul(1<<15, 2); got != 0x100b {
		t.Fatalf("x^16 = %#x", got)
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	for range 10000 {
		a, b, c := uint16(r.Uint32()), uint16(r.Uint32()), uint16(r.Uint32())
		if gfMul(a, b^c) != gfMul(a, b)^gfMul(a, c) || gfMul(gfMul(a, b), c) != gfMul(a, gfMul(b, c)) || gfMul(a, b) != gfMul(b, a) {
			t.Fatal("field axioms")
		}
	}
}

// TestAnySubset: for the four message sizes SPQR sends (header ‖ MAC 96,
// ct2 ‖ MAC 160, ct1 960, ek 1152 bytes) and odd sizes, any ⌈len/32⌉
// distinct chunks, systematic or not, in any order, reconstruct the message.
func TestAnySubset(t *testing.T) {
	r := mrand.New(mrand.NewPCG(3, 4))
	for _, size := range []int{0, 2, 10, 32, 96, 160, 960, 1152, 1088, 34} {
		msg := make([]byte, size)
		rand.Read(msg)
		enc, err := NewEncoder(msg)
		if err != nil {
			t.Fatal(err)
		}
		for trial := range 20 {
			need := (size + ChunkSize - 1) / ChunkSize
			idx := r.Perm(need + 60)[:need+trial%3] // a random set, sometimes more than needed
			dec, _ := NewDecoder(size)
			var got []byte
			ok := size == 0
			for i, c := range idx {
				dec.Add(uint16(c), enc.Chunk(uint16(c)))
				if got, ok = dec.Decoded(); ok {
					if size%ChunkSize == 0 && i+1 < need {
						t.Fatalf("size %d: decoded from %d < %d chunks", size, i+1, need)
					}
					break
				}
			}
			if size == 0 {
				got, ok = dec.Decoded()
			}
			if !ok || !bytes.Equal(got, msg) {
				t.Fatalf("size %d, chunks %v: not reconstructed", size, idx)
			}
			// The state survives serialization.
			n, pts, done := dec.State()
			d2, err := RestoreDecoder(n, pts, done)
			if err != nil {
				t.Fatal(err)
			}
			if got2, _ := d2.Decoded(); !bytes.Equal(got2, msg) {
				t.Fatal("restored decoder")
			}
		}
	}
}

func TestSystematicAndNext(t *testing.T) {
	msg := make([]byte, 96)
	rand.Read(msg)
	enc, _ := NewEncoder(msg)
	for i := range 3 {
		idx, c := enc.Next()
		if int(idx) != i {
			t.Fatal("index")
		}
		// Chunk i is bytes 32i…32i+31 of the message.
		if !bytes.Equal(c[:], msg[32*i:32*i+32]) {
			t.Fatalf("chunk %d is not systematic", i)
		}
	}
	// Redundant chunks from an encoder restored mid-way agree.
	n, pts, polys := enc.State()
	e2, err := RestoreEncoder(len(msg), n, pts, polys)
	if err != nil {
		t.Fatal(err)
	}
	_, a := enc.Next()
	_, b := e2.Next()
	if a != b {
		t.Fatal("restored encoder differs")
	}
	n, pts, polys = enc.State()
	if polys == nil || pts != nil {
		t.Fatal("encoder did not switch to polynomials")
	}
	e3, err := RestoreEncoder(len(msg), n, pts, polys)
	if err != nil {
		t.Fatal(err)
	}
	_, a = enc.Next()
	_, b = e3.Next()
	if a != b {
		t.Fatal("restored polynomial encoder differs")
	}
}

func TestErrors(t *testing.T) {
	if _, err := NewEncoder(make([]byte, 3)); err != ErrOddLength {
		t.Fatal(err)
	}
	if _, err := NewDecoder(3); err != ErrOddLength {
		t.Fatal(err)
	}
	if _, err := NewDecoder(MaxMessageSize + 2); err != ErrTooLong {
		t.Fatal(err)
	}
}

// TestIssue20Item9_RestoreBounded: issue #20 item 9. A stored encoder may
// not hold more points or coefficients per lane than the message size its
// caller expects (before, any lane could hold 65,536, and the first
// redundancy chunk interpolated them in O(n²)); a stored decoder may not
// hold more points than Add ever keeps.
func TestIssue20Item9_RestoreBounded(t *testing.T) {
	const size = 1152 // 36 points per lane
	msg := make([]byte, size)
	enc, _ := NewEncoder(msg)
	_, pts, _ := enc.State()
	if _, err := RestoreEncoder(size, 0, pts, nil); err != nil {
		t.Fatalf("honest encoder refused: %v", err)
	}
	big, _ := NewEncoder(make([]byte, 16*2*300)) // 300 points per lane
	_, bigPts, _ := big.State()
	big.Chunk(300) // interpolate
	_, _, bigPolys := big.State()
	short := append([][]byte(nil), pts...)
	short[3] = short[3][:len(short[3])-2]
	for name, c := range map[string]struct{ pts, polys [][]byte }{
		"points beyond the size":       {bigPts, nil},
		"coefficients beyond the size": {nil, bigPolys},
		"one lane short":               {short, nil},
		"both forms":                   {pts, pts},
		"15 lanes":                     {pts[:15], nil},
	} {
		if _, err := RestoreEncoder(size, 0, c.pts, c.polys); err != ErrCorrupt {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
	for _, bad := range []int{-2, 3, MaxMessageSize + 2} {
		if _, err := RestoreEncoder(bad, 0, pts, nil); err != ErrCorrupt {
			t.Errorf("size %d: got %v", bad, err)
		}
	}

	// Decoder: 2·necessary points per lane at most.
	lane := make([]byte, 0, 4*73)
	for x := range 73 {
		lane = append(lane, 0, byte(x), 0, 0)
	}
	lanes := make([][]byte, Lanes)
	for l := range lanes {
		lanes[l] = lane[:4*72]
	}
	if _, err := RestoreDecoder(size/2, lanes, false); err != nil {
		t.Fatalf("72 points refused: %v", err)
	}
	lanes[5] = lane
	if _, err := RestoreDecoder(size/2, lanes, false); err != ErrCorrupt {
		t.Fatalf("73 points: got %v", err)
	}
}
