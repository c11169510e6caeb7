package erasure_test

import (
	"bytes"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/erasure"
)

// A 96-byte message travels as 32-byte chunks; any three distinct chunks
// recover it, whichever were lost.
func Example() {
	msg := bytes.Repeat([]byte("ML-KEM Braid header chunk, 32 B!"), 3)

	enc, err := erasure.NewEncoder(msg)
	if err != nil {
		panic(err)
	}
	// Send six chunks: 0–2 are the message itself, 3–5 redundancy.
	var sent [][erasure.ChunkSize]byte
	for range 6 {
		idx, chunk := enc.Next()
		if int(idx) != len(sent) {
			panic("unexpected chunk index")
		}
		sent = append(sent, chunk)
	}
	fmt.Println("systematic:", bytes.Equal(sent[0][:], msg[:erasure.ChunkSize]))

	// Chunks 0 and 2 are lost; 5, 1 and 3 arrive, in that order.
	dec, err := erasure.NewDecoder(len(msg))
	if err != nil {
		panic(err)
	}
	for _, idx := range []uint16{5, 1, 3} {
		_, done := dec.Decoded()
		fmt.Printf("before chunk %d: decoded %v\n", idx, done)
		dec.Add(idx, sent[idx])
	}
	got, done := dec.Decoded()
	fmt.Println("decoded:", done, bytes.Equal(got, msg))
	// Output:
	// systematic: true
	// before chunk 5: decoded false
	// before chunk 1: decoded false
	// before chunk 3: decoded false
	// decoded: true true
}
