package mlkem768

import (
	"bytes"
	"crypto/mlkem"
	"testing"
)

func FuzzParseEncapsulationState(f *testing.F) {
	kp, _ := GenerateKey(make([]byte, 64))
	h := kp.Header()
	_, st, _, _ := Encapsulate1(h[:], make([]byte, 32))
	f.Add(st.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseEncapsulationState(b)
		if err != nil {
			if st != nil {
				t.Fatal("state returned with an error")
			}
			return
		}
		// Reserialization is canonical and stable.
		again, err := ParseEncapsulationState(st.Bytes())
		if err != nil || !bytes.Equal(again.Bytes(), st.Bytes()) {
			t.Fatal("round trip")
		}
		v := kp.Vector()
		if c2, err := st.Encapsulate2(v[:]); err != nil || len(c2) != Ciphertext2Size {
			t.Fatal(err)
		}
	})
}

func FuzzEncapsulate2(f *testing.F) {
	kp, _ := GenerateKey(make([]byte, 64))
	h := kp.Header()
	v := kp.Vector()
	f.Add(v[:])
	f.Fuzz(func(t *testing.T, vec []byte) {
		_, st, _, _ := Encapsulate1(h[:], make([]byte, 32))
		c2, err := st.Encapsulate2(vec)
		if err != nil {
			return
		}
		if len(c2) != Ciphertext2Size {
			t.Fatal("length")
		}
		if CheckHeader(h[:], vec) == nil && !bytes.Equal(vec, v[:]) {
			t.Fatal("a different vector matches the header")
		}
	})
}

func FuzzDecapsulate(f *testing.F) {
	seed := bytes.Repeat([]byte{3}, 64)
	kp, _ := GenerateKey(seed)
	ref, _ := mlkem.NewDecapsulationKey768(seed)
	h := kp.Header()
	c1, st, _, _ := Encapsulate1(h[:], make([]byte, 32))
	v := kp.Vector()
	c2, _ := st.Encapsulate2(v[:])
	f.Add(append(c1, c2...))
	f.Fuzz(func(t *testing.T, ct []byte) {
		if len(ct) != CiphertextSize {
			if _, err := Decapsulate(kp.DecapsulationKey[:], ct[:min(len(ct), Ciphertext1Size)], nil); err == nil {
				t.Fatal("short ciphertext accepted")
			}
			return
		}
		got, err := Decapsulate(kp.DecapsulationKey[:], ct[:Ciphertext1Size], ct[Ciphertext1Size:])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ref.Decapsulate(ct)
		if !bytes.Equal(got, want) {
			t.Fatal("differs from crypto/mlkem")
		}
	})
}

func FuzzDecapsulationKey(f *testing.F) {
	kp, _ := GenerateKey(make([]byte, 64))
	f.Add(kp.DecapsulationKey[:])
	f.Fuzz(func(t *testing.T, dk []byte) {
		_, _ = Decapsulate(dk, make([]byte, Ciphertext1Size), make([]byte, Ciphertext2Size))
	})
}
