//go:build !amd64 || purego

package kem

// cleanUpper is a no-op: only circl's amd64 assembly leaves AVX state dirty.
func cleanUpper() {}
