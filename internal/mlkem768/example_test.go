package mlkem768_test

import (
	"bytes"
	"crypto/mlkem"
	"crypto/rand"
	"fmt"

	"github.com/interlock-e2ee/interlock/internal/mlkem768"
)

// The ML-KEM Braid's incremental encapsulation: the encapsulator starts from
// the 64-byte header, sends c1 and learns the shared key; when the
// encapsulation-key vector arrives it checks it against the header and
// finishes with c2. The decapsulator recovers the same key from c1 ‖ c2.
func Example() {
	// The decapsulator generates a key pair from a 64-byte seed d ‖ z.
	seed := make([]byte, mlkem768.SeedSize)
	rand.Read(seed)
	kp, err := mlkem768.GenerateKey(seed)
	if err != nil {
		panic(err)
	}
	header, vector := kp.Header(), kp.Vector()

	// The encapsulator has only the header so far.
	m := make([]byte, 32)
	rand.Read(m)
	ct1, st, encKey, err := mlkem768.Encapsulate1(header[:], m)
	if err != nil {
		panic(err)
	}

	// The vector arrives later: check it against the header, then finish.
	if err := mlkem768.CheckHeader(header[:], vector[:]); err != nil {
		panic(err)
	}
	ct2, err := st.Encapsulate2(vector[:])
	if err != nil {
		panic(err)
	}

	decKey, err := mlkem768.Decapsulate(kp.DecapsulationKey[:], ct1, ct2)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(header), len(vector), len(ct1), len(ct2), len(encKey))
	fmt.Println("shared secrets equal:", bytes.Equal(encKey, decKey))

	// c1 ‖ c2 is an ordinary ML-KEM-768 ciphertext.
	std, err := mlkem.NewDecapsulationKey768(seed)
	if err != nil {
		panic(err)
	}
	stdKey, err := std.Decapsulate(append(ct1, ct2...))
	if err != nil {
		panic(err)
	}
	fmt.Println("crypto/mlkem agrees:", bytes.Equal(stdKey, decKey))
	// Output:
	// 64 1152 960 128 32
	// shared secrets equal: true
	// crypto/mlkem agrees: true
}
