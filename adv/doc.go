// Package adv verifies WhatsApp's Advanced Device Verification (ADV)
// signatures: the account's signature over each companion device's
// identity (ADVSignedDeviceIdentity) and over the account's device list
// (ADVSignedKeyIndexList). In the `whatsapp` flavour every device has its
// own identity key; what vouches for a companion device is the account
// key — the primary device's (device 0's) identity key — signing it.
//
// Formats (proto2, hand-parsed):
//
//	ADVSignedDeviceIdentity {details 1, account_signature_key 2,
//	    account_signature 3, device_signature 4}
//	ADVDeviceIdentity {raw_id 1, timestamp 2, key_index 3,
//	    account_type 4, device_type 5}
//	ADVSignedKeyIndexList {details 1, account_signature 2,
//	    account_signature_key 3}
//	ADVKeyIndexList {raw_id 1, timestamp 2, current_index 3,
//	    valid_indexes 4 (packed), account_type 5}
//
// Signatures are XEdDSA over a two-byte prefix and the message:
//
//	account signature (account key): [6,0] ‖ details ‖ device key (32 bytes)
//	device signature (device key):    [6,1] ‖ details ‖ device key ‖ account key
//	key-index list (account key):     [6,2] ‖ details
//
// with [6,5] and [6,6] in place of [6,0] and [6,1] for a HOSTED device
// (ADVDeviceIdentity.device_type = 1), as WhatsApp's clients and whatsmeow
// check them.
//
// With a session.IdentityStore pinning identities per device
// (session.PerDevice), Vouch verifies a companion's signed identity against
// the pinned account key and then trusts the device's key; until then the
// session.Cipher refuses the device with session.ErrUnverifiedDevice.
//
// # Security considerations
//
// The account key is never taken from the message: a signed identity or
// list carrying an account_signature_key is accepted only when that key
// equals the account key the caller pinned, so a server cannot vouch for a
// device with a key of its own. Parsers bound their input (MaxSize), never
// panic, and reject duplicate or malformed fields; a device whose key index
// the (verified) device list does not hold is refused.
package adv
