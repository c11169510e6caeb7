package main

// groupPeer holds the peer's sender-key state (group_* ops).
type groupPeer struct{}
