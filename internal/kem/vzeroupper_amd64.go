//go:build amd64 && !purego

package kem

import "golang.org/x/sys/cpu"

// circl's Kyber runs AVX2 assembly (the NTT and the four-way Keccak) on
// CPUs that have it and returns without VZEROUPPER, leaving the upper halves
// of the YMM registers dirty. Until something clears them, legacy-SSE
// instructions pay for it; SHA-NI, which crypto/sha256 uses, is hit hardest
// on recent Intel cores (an HKDF-SHA256 after a Kyber encapsulation
// went from 3 µs to 90 µs on a Sapphire Rapids VM). cleanUpper clears them
// after every call into circl's Kyber, as compilers do at the end of AVX
// code; see the package documentation.
var hasAVX2 = cpu.X86.HasAVX2

// vzeroupper executes VZEROUPPER. Only call it when hasAVX2.
//
//go:noescape
func vzeroupper()

// cleanUpper clears the upper halves of the vector registers after AVX2 code.
func cleanUpper() {
	if hasAVX2 {
		vzeroupper()
	}
}
