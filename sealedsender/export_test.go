package sealedsender

// Unchecked sealing, for tests that forge messages whose certificate names
// another identity than the one that sealed them.
var (
	SealV1 = sealV1
	SealV2 = sealV2
)
