// Package fanout sends one message to many devices: the group send path
// that composes 1:1 sessions (package session), sender keys (package group)
// and, for the signal flavour, sealed sender v2 (package sealedsender).
//
// A Sender does what Signal's and WhatsApp's clients do for a group
// message:
//
//  1. create our sender-key chain for the group if there is none
//     (group.Cipher.CreateDistributionMessage);
//  2. find the member devices that do not hold the chain yet, from a
//     DistributionStore (the equivalent of Signal's sender-key "shared
//     with" table and WhatsApp's participant "sender key distributed"
//     flag), and encrypt the distribution message for exactly those, in
//     one batch (session.Cipher.EncryptMany: one store round trip, the
//     devices encrypted in parallel, bundles for cold devices processed in
//     the same call);
//  3. encrypt the message once with the sender key (group.Cipher.Encrypt).
//
// Once the server has accepted the distribution messages the application
// calls Delivered, which records the devices as holding the chain. Removing
// a member calls Rotate: the next Send starts a new chain and distributes it
// to the remaining devices only. Device-list changes surface as
// *session.DeviceMismatchError (Signal's 409/410 shape).
//
// # Security considerations
//
// The shared set is keyed by chain ID, so a rotation never inherits it: a
// new chain goes to every current member device, and never to a device that
// is not listed. Rotate must follow every member removal, or the removed
// member keeps reading. A device holds a chain only over the 1:1 session it
// was sent over (SharedDevice.Session, the session's base key): a device
// with any new session since — a bundle in the send, or a re-installed
// device that wrote first with a PreKeySignalMessage — is sent the
// distribution message again, since a re-installation has lost it (issue
// #20 item 8). Devices are trusted as package session decides: in the
// signal flavour a device the server adds to an account with another
// identity key fails the send with ErrUntrustedIdentity before the sender
// key goes anywhere (issue #20 item 10). A Sender must be the only writer of our own sender-key
// records: it serialises Send and Rotate per chain.
package fanout
