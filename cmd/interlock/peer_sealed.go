package main

// sealedPeer holds the peer's server keys (server_keys, sender_certificate,
// sealed_* ops).
type sealedPeer struct{}
