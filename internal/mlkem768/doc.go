// Package mlkem768 is ML-KEM-768 (FIPS 203) with the incremental
// encapsulation that SPQR's ML-KEM Braid needs: the encapsulator starts from
// the 64-byte header ρ ‖ H(ek) alone and produces the first ciphertext part
// c1 (the compressed u, 960 bytes) and the shared key; when the
// encapsulation-key vector ByteEncode12(t̂) (1152 bytes) arrives later it
// finishes with c2 (the compressed v, 128 bytes). c1 ‖ c2 is an ordinary
// ML-KEM-768 ciphertext, and the key is ML-KEM.Encaps's.
//
// crypto/mlkem offers no such split and loads decapsulation keys only from
// their seed, while SPQR stores the 2400-byte expanded key; hence this
// package. It is checked against crypto/mlkem (key generation from d ‖ z,
// derandomized encapsulation with crypto/mlkem/mlkemtest, decapsulation with
// implicit rejection) on random inputs and on an accumulated digest.
//
// Specifications:
//   - FIPS 203, Module-Lattice-Based Key-Encapsulation Mechanism Standard:
//     Algorithms 5–18; Section 7 (input checking).
//   - The ML-KEM Braid (Signal, 2025), Section 2 (incremental KEM: the
//     header, the encapsulation key and the two ciphertext parts).
//   - The byte layouts of the header (ρ ‖ H(ek)), of the vector, of c1/c2
//     and of the stored EncapsulationState are those of libcrux-ml-kem's
//     incremental API as SparsePostQuantumRatchet v1.5 uses it.
//
// # Security considerations
//
// Arithmetic is on reduced uint16 values with no secret-dependent branches
// or table lookups; the re-encryption check in Decapsulate is constant time
// and rejects implicitly (FIPS 203, Algorithm 18). The incremental split is
// not a FIPS 203 interface: Encapsulate1 commits to H(ek) from the header,
// so the encapsulator must check the vector against the header (CheckHeader)
// before Encapsulate2, as the Braid does. Every decoder checks lengths and
// canonical encodings and never panics on untrusted input.
package mlkem768
