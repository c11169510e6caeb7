// Byte-level helpers shared by the vector generators (gen-vectors.js for
// libsignal 0.90, gen-vectors-0103.js for 0.103): a protobuf field walker,
// SignalMessage / PreKeySignalMessage parsers, and an independent PQXDH +
// Double Ratchet recomputation on node:crypto that confirms recorded
// secrets. Nothing here depends on a libsignal version.
import crypto from 'node:crypto';

export function assert(cond, msg) {
  if (!cond) throw new Error(`vector generator: ${msg}`);
}

export function u8(buf) {
  const out = new Uint8Array(new ArrayBuffer(buf.length));
  out.set(buf);
  return out;
}


// ---------------------------------------------------------------------------
// Protobuf reading (just enough to pull fields out of libsignal's messages)

export function pbFields(buf) {
  const out = new Map();
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const c = buf[i++];
      assert(c !== undefined, 'truncated varint');
      v |= BigInt(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wt = key & 7;
    let v;
    if (wt === 0) v = Number(varint());
    else if (wt === 2) {
      const len = Number(varint());
      v = buf.subarray(i, i + len);
      i += len;
    } else if (wt === 1) {
      v = buf.subarray(i, i + 8);
      i += 8;
    } else if (wt === 5) {
      v = buf.subarray(i, i + 4);
      i += 4;
    } else throw new Error(`wire type ${wt}`);
    out.set(field, v);
  }
  return out;
}

// PreKeySignalMessage = version || protobuf; returns the fields and the inner SignalMessage.
export function parsePreKeyMessage(bytes) {
  const f = pbFields(bytes.subarray(1));
  return {
    preKeyId: f.get(1),
    baseKey: f.get(2),
    identityKey: f.get(3),
    message: f.get(4),
    registrationId: f.get(5),
    signedPreKeyId: f.get(6),
    kyberPreKeyId: f.get(7),
    kyberCiphertext: f.get(8),
  };
}

// SignalMessage = version || protobuf || mac(8)
export function parseSignalMessage(bytes) {
  const body = bytes.subarray(1, bytes.length - 8);
  const f = pbFields(body);
  return {
    version: bytes[0],
    ratchetKey: f.get(1),
    counter: f.get(2) ?? 0,
    previousCounter: f.get(3) ?? 0,
    ciphertext: f.get(4),
    pqRatchet: f.get(5) ?? new Uint8Array(0),
    addresses: f.get(6), // libsignal >= 0.91: sender/recipient service IDs and devices
    mac: bytes.subarray(bytes.length - 8),
    macInput: bytes.subarray(0, bytes.length - 8),
  };
}

// ---------------------------------------------------------------------------
// Independent PQXDH arithmetic (node:crypto) used only to confirm Kyber shared
// secrets: recompute Bob's receiving chain from his private keys and check the
// MAC of Alice's first message.

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

export function x25519(priv32, pub33) {
  assert(pub33.length === 33 && pub33[0] === 5, 'public key form');
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([X25519_PKCS8, priv32]), format: 'der', type: 'pkcs8' });
  const publicKey = crypto.createPublicKey({ key: Buffer.concat([X25519_SPKI, pub33.subarray(1)]), format: 'der', type: 'spki' });
  return crypto.diffieHellman({ privateKey, publicKey });
}

export function hkdf(ikm, salt, info, len) {
  return Buffer.from(crypto.hkdfSync('sha256', ikm, salt, Buffer.from(info), len));
}

export function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data).digest();
}

// Returns true if Alice's first PreKeySignalMessage authenticates under the
// Kyber shared secret `ss`, given Bob's private keys.
export function pqxdhConfirms(bob, alicePub, pkm, ss) {
  const parts = [Buffer.alloc(32, 0xff),
    x25519(bob.signedPrekeyPrivate, alicePub), // DH(IKa, SPKb)
    x25519(bob.identityPrivate, pkm.baseKey), // DH(EKa, IKb)
    x25519(bob.signedPrekeyPrivate, pkm.baseKey)]; // DH(EKa, SPKb)
  if (pkm.preKeyId !== undefined) parts.push(x25519(bob.prekeyPrivate, pkm.baseKey));
  parts.push(Buffer.from(ss));
  const secrets = hkdf(Buffer.concat(parts), Buffer.alloc(0), 'WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024', 96);
  const rootKey = secrets.subarray(0, 32);
  const m = parseSignalMessage(pkm.message);
  const step = hkdf(x25519(bob.signedPrekeyPrivate, m.ratchetKey), rootKey, 'WhisperRatchet', 64);
  let chainKey = step.subarray(32, 64);
  for (let i = 0; i < m.counter; i++) chainKey = hmac(chainKey, Buffer.from([2]));
  const seed = hmac(chainKey, Buffer.from([1]));
  const keys = hkdf(seed, Buffer.alloc(0), 'WhisperMessageKeys', 80);
  const macKey = keys.subarray(32, 64);
  const mac = hmac(macKey, Buffer.concat([alicePub, bob.identityPublic, m.macInput])).subarray(0, 8);
  return Buffer.compare(mac, Buffer.from(m.mac)) === 0;
}

// Recomputes the MAC key of Bob's reply number `counter` (no SPQR salt) from
// his recorded keys and checks the reply's MAC.
export function bobReplyConfirms(bob, alicePub, pkm, ss, ratchetPriv, replyBytes) {
  const parts = [Buffer.alloc(32, 0xff),
    x25519(bob.signedPrekeyPrivate, alicePub),
    x25519(bob.identityPrivate, pkm.baseKey),
    x25519(bob.signedPrekeyPrivate, pkm.baseKey)];
  if (pkm.preKeyId !== undefined) parts.push(x25519(bob.prekeyPrivate, pkm.baseKey));
  parts.push(Buffer.from(ss));
  const rk0 = hkdf(Buffer.concat(parts), Buffer.alloc(0), 'WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024', 96).subarray(0, 32);
  const aliceRatchet = parseSignalMessage(pkm.message).ratchetKey;
  const rk1 = hkdf(x25519(bob.signedPrekeyPrivate, aliceRatchet), rk0, 'WhisperRatchet', 64).subarray(0, 32);
  let ck = hkdf(x25519(ratchetPriv, aliceRatchet), rk1, 'WhisperRatchet', 64).subarray(32, 64);
  const r = parseSignalMessage(replyBytes);
  for (let i = 0; i < r.counter; i++) ck = hmac(ck, Buffer.from([2]));
  const keys = hkdf(hmac(ck, Buffer.from([1])), Buffer.alloc(0), 'WhisperMessageKeys', 80);
  const mac = hmac(keys.subarray(32, 64), Buffer.concat([bob.identityPublic, alicePub, r.macInput])).subarray(0, 8);
  return Buffer.compare(mac, Buffer.from(r.mac)) === 0;
}
