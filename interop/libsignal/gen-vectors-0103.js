#!/usr/bin/env node
// A recorded PQXDH + SPQR conversation from @signalapp/libsignal-client
// 0.103.0, in the schema of libsignal-pqxdh-session.json (gen-vectors.js,
// 0.90.0). Writes testdata/vectors/libsignal-0103-pqxdh-session.json. The
// content is random on every run; the schema is fixed.
//
//   node gen-vectors-0103.js [output-dir]
//
// 0.103 differs from 0.90 in the API (processPreKeyBundle, signalEncrypt,
// signalDecrypt and signalDecryptPreKey take the local address after the
// remote one) and on the wire: messages carry `addresses` (SignalMessage
// field 6, 36 bytes: sender service ID in fixed-width form 0x00 || UUID,
// sender device (1 byte), recipient service ID, recipient device), so both
// parties are named by ACI UUIDs. The generator records which messages carry
// the field and checks its layout.
//
// This is a test tool. It is not part of Interlock and is never shipped.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as S from 'libsignal-client-0.103';
import { b64, storeKit } from './stores.js';
import { assert, u8, pbFields, parsePreKeyMessage, parseSignalMessage, x25519, hkdf, hmac, pqxdhConfirms, bobReplyConfirms } from './vectorkit.js';

const require = createRequire(import.meta.url);
const kyber = require('crystals-kyber');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.argv[2] || path.join(HERE, '..', '..', 'testdata', 'vectors'));
const LIB = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'libsignal-client-0.103', 'package.json'), 'utf8')).version;
const SOURCE = `@signalapp/libsignal-client ${LIB}`;
const GENERATOR = 'interop/libsignal/gen-vectors-0103.js';
const kit = storeKit(S, LIB);


function write(name, obj) {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, name);
  fs.writeFileSync(file, `${JSON.stringify(obj, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

// ---------------------------------------------------------------------------
// Two libsignal 0.103 parties with in-memory stores.

class Party {
  constructor(name, device) {
    const st = new kit.State();
    st.name = name;
    st.device = device;
    st.registrationId = 1 + crypto.randomInt(16380);
    st.identity = S.IdentityKeyPair.generate();
    this.st = st;
    this.addr = S.ProtocolAddress.new(name, device);
    this.sessions = new kit.PeerSessionStore(st);
    this.ids = new kit.PeerIdentityStore(st);
    this.prekeys = new kit.PeerPreKeyStore(st);
    this.signed = new kit.PeerSignedPreKeyStore(st);
    this.kybers = new kit.PeerKyberPreKeyStore(st);
  }

  makeBundle({ oneTime = true } = {}) {
    const st = this.st;
    const idPriv = st.identity.privateKey;
    const rec = { signedPrekeyId: 1 + crypto.randomInt(0xfffff), kyberPrekeyId: 1 + crypto.randomInt(0xfffff) };
    const spk = S.PrivateKey.generate();
    rec.signedPrekey = spk;
    rec.signedPrekeySignature = idPriv.sign(spk.getPublicKey().serialize());
    st.signedPrekeys.set(rec.signedPrekeyId,
      S.SignedPreKeyRecord.new(rec.signedPrekeyId, Date.now(), spk.getPublicKey(), spk, rec.signedPrekeySignature).serialize());
    if (oneTime) {
      rec.prekeyId = 1 + crypto.randomInt(0xfffff);
      rec.prekey = S.PrivateKey.generate();
      st.prekeys.set(rec.prekeyId, S.PreKeyRecord.new(rec.prekeyId, rec.prekey.getPublicKey(), rec.prekey).serialize());
    }
    const kp = S.KEMKeyPair.generate();
    rec.kyber = kp;
    rec.kyberSignature = idPriv.sign(kp.getPublicKey().serialize());
    st.kyberPrekeys.set(rec.kyberPrekeyId,
      S.KyberPreKeyRecord.new(rec.kyberPrekeyId, Date.now(), kp, rec.kyberSignature).serialize());
    rec.bundle = S.PreKeyBundle.new(st.registrationId, st.device,
      oneTime ? rec.prekeyId : null, oneTime ? rec.prekey.getPublicKey() : null,
      rec.signedPrekeyId, spk.getPublicKey(), rec.signedPrekeySignature,
      st.identity.publicKey, rec.kyberPrekeyId, kp.getPublicKey(), rec.kyberSignature);
    return rec;
  }

  async process(other, rec) {
    await S.processPreKeyBundle(rec.bundle, other.addr, this.addr, this.sessions, this.ids);
  }

  async encrypt(other, pt) {
    const m = await S.signalEncrypt(pt, other.addr, this.addr, this.sessions, this.ids);
    return { type: m.type(), ciphertext: m.serialize() };
  }

  async decrypt(other, type, ct) {
    if (type === 3) {
      return S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(ct), other.addr, this.addr, this.sessions, this.ids,
        this.prekeys, this.signed, this.kybers);
    }
    return S.signalDecrypt(S.SignalMessage.deserialize(ct), other.addr, this.addr, this.sessions, this.ids);
  }

  bobSecrets(rec) {
    return {
      identityPrivate: Buffer.from(this.st.identity.privateKey.serialize()),
      identityPublic: Buffer.from(this.st.identity.publicKey.serialize()),
      signedPrekeyPrivate: Buffer.from(rec.signedPrekey.serialize()),
      prekeyPrivate: rec.prekey ? Buffer.from(rec.prekey.serialize()) : undefined,
    };
  }
}

const uuid = () => crypto.randomUUID();

function innerOf(type, ct) {
  return type === 3 ? parsePreKeyMessage(ct).message : ct;
}

// Expected `addresses` value: sender ACI (0x00 || UUID) || device || recipient ACI || device.
function addressesOf(from, to) {
  const sid = (name) => Buffer.concat([Buffer.from([0]), Buffer.from(name.replace(/-/g, ''), 'hex')]);
  return Buffer.concat([sid(from.st.name), Buffer.from([from.st.device]), sid(to.st.name), Buffer.from([to.st.device])]);
}

async function genSession() {
  const alice = new Party(uuid(), 1 + crypto.randomInt(127));
  const bob = new Party(uuid(), 1 + crypto.randomInt(127));
  const rec = bob.makeBundle({ oneTime: true });
  await alice.process(bob, rec);
  const transcript = [];
  const text = (s) => u8(Buffer.from(s));
  const entry = (role, m, pt) => {
    const sm = parseSignalMessage(innerOf(m.type, m.ciphertext));
    const e = { from: role, type: m.type, counter: sm.counter, plaintext: b64(pt), ciphertext: b64(m.ciphertext) };
    if (sm.addresses !== undefined) e.addresses = b64(sm.addresses);
    return e;
  };
  const deliver = async (from, to, role, m, pt) => {
    const out = await to.decrypt(from, m.type, m.ciphertext);
    assert(Buffer.compare(Buffer.from(out), Buffer.from(pt)) === 0, 'transcript plaintext');
    transcript.push(entry(role, m, pt));
  };
  for (let i = 0; i < 2; i++) {
    const pt = text(`alice prekey message ${i + 1}`);
    await deliver(alice, bob, 'initiator', await alice.encrypt(bob, pt), pt);
    assert(transcript.at(-1).type === 3, 'expected a PreKeySignalMessage');
  }
  const bobRecordAfterPrekeys = Buffer.from((await bob.sessions.getSession(alice.addr)).serialize());
  for (let i = 0; i < 2; i++) {
    const pt = text(`bob reply ${i + 1}`);
    const m = await bob.encrypt(alice, pt);
    assert(m.type === 2, 'expected a SignalMessage');
    const out = await alice.decrypt(bob, 2, m.ciphertext);
    assert(Buffer.compare(Buffer.from(out), Buffer.from(pt)) === 0, 'reply plaintext');
    transcript.push(entry('responder', m, pt));
  }
  const later = [];
  for (let i = 0; i < 4; i++) {
    const pt = text(`alice message ${i + 1} of 4`);
    later.push({ m: await alice.encrypt(bob, pt), pt });
  }
  for (const i of [2, 0, 3, 1]) await deliver(alice, bob, 'initiator', later[i].m, later[i].pt);

  // The `addresses` field: which messages carry it, and its layout.
  const carrying = [];
  transcript.forEach((t, i) => {
    if (t.addresses === undefined) return;
    carrying.push(i);
    const [from, to] = t.from === 'initiator' ? [alice, bob] : [bob, alice];
    assert(Buffer.compare(Buffer.from(t.addresses, 'base64'), addressesOf(from, to)) === 0,
      `message ${i}: addresses field is not sender ACI || device || recipient ACI || device`);
  });

  // Bob's first generated ratchet key pair, from his session record
  // (RecordStructure.current_session 1 -> SessionStructure.sender_chain 6 ->
  // Chain.sender_ratchet_key(_private) 1/2).
  const sessionFields = pbFields(pbFields(bobRecordAfterPrekeys).get(1));
  const chain = pbFields(sessionFields.get(6));
  const ratchetPriv = S.PrivateKey.deserialize(u8(Buffer.from(chain.get(2))));
  const ratchetPub = Buffer.from(chain.get(1));
  assert(Buffer.compare(Buffer.from(ratchetPriv.getPublicKey().serialize()), ratchetPub) === 0, 'ratchet key pair');
  for (const t of transcript.slice(2, 4)) {
    const m = parseSignalMessage(u8(Buffer.from(t.ciphertext, 'base64')));
    assert(Buffer.compare(Buffer.from(m.ratchetKey), ratchetPub) === 0, "Bob's replies use the extracted ratchet key");
  }
  assert(sessionFields.get(1) === 4, 'session version 4');

  const kyberSecret = rec.kyber.getSecretKey().serialize();
  const kyberPublic = rec.kyber.getPublicKey().serialize();
  // Confirm the recorded keys: with the decapsulated Kyber secret, Bob's
  // secrets must authenticate Alice's first message (possible only for the
  // round-3 Kyber key type 0x08, which crystals-kyber implements).
  let kemConfirmed = 'not checked';
  if (kyberSecret[0] === 8) {
    const first = parsePreKeyMessage(Buffer.from(transcript[0].ciphertext, 'base64'));
    const ss = Buffer.from(kyber.Decrypt1024(Array.from(first.kyberCiphertext.subarray(1)), Array.from(kyberSecret.subarray(1))));
    const ok = pqxdhConfirms(bob.bobSecrets(rec), Buffer.from(alice.st.identity.publicKey.serialize()), first, ss);
    const pq = Buffer.from(parseSignalMessage(first.message).pqRatchet);
    kemConfirmed = ok ? 'confirmed (unsalted message keys, as in 0.90)'
      : `NOT reproduced by the unsalted 0.90-style recomputation: unlike 0.90 (SPQR index 0, empty), the first PreKeySignalMessage carries a ${pq.length}-byte pq_ratchet starting ${pq.subarray(0, 5).toString('hex')}, so its message keys presumably take an SPQR salt (libsignal itself decrypted every message)`;
  }

  const ik = bob.st.identity;
  const responder = {
    name: bob.st.name,
    device: bob.st.device,
    registration_id: bob.st.registrationId,
    identity_private: b64(ik.privateKey.serialize()),
    identity_public: b64(ik.publicKey.serialize()),
    signed_prekey_id: rec.signedPrekeyId,
    signed_prekey_private: b64(rec.signedPrekey.serialize()),
    signed_prekey_public: b64(rec.signedPrekey.getPublicKey().serialize()),
    signed_prekey_signature: b64(rec.signedPrekeySignature),
    prekey_id: rec.prekeyId,
    prekey_private: b64(rec.prekey.serialize()),
    prekey_public: b64(rec.prekey.getPublicKey().serialize()),
    ratchet_private: b64(ratchetPriv.serialize()),
    ratchet_public: b64(ratchetPub),
    kyber_prekey_id: rec.kyberPrekeyId,
    kyber_secret: b64(kyberSecret),
    kyber_public: b64(kyberPublic),
    kyber_signature: b64(rec.kyberSignature),
  };
  write('libsignal-0103-pqxdh-session.json', {
    source: SOURCE,
    generator: GENERATOR,
    comment: `A PQXDH (message version 4) conversation between two libsignal ${LIB} parties, bundle with a one-time prekey; same schema and transcript shape as libsignal-pqxdh-session.json (0.90.0): all of the responder's (Bob's) private prekey material; the transcript in the order the responder processes it: two PreKeySignalMessages from Alice (type 3), two replies from Bob (type 2; Alice decrypted them; ratchet_private/ratchet_public is the fresh ratchet key pair Bob drew on Alice's first message, taken from his session record: injected as Bob's first generated key, his replies are fully determined), then four SignalMessages from Alice delivered out of order (3rd, 1st, 4th, 2nd). counter is the SignalMessage counter. Both parties are named by ACI UUIDs because libsignal ${LIB} writes an \`addresses\` field (SignalMessage field 6, 36 bytes: sender service ID fixed-width 0x00 || UUID, sender device (1 byte), recipient service ID, recipient device) into messages: entries that carry it have \`addresses\` (base64); here it appears in transcript entries ${JSON.stringify(carrying)} (0-based), and the generator checked its layout (in this run only the PreKeySignalMessages carry it; the replies and later SignalMessages do not). The field is part of the serialized SignalMessage and therefore of the MAC input: a responder must accept it to authenticate those messages. Kyber key type 0x${kyberSecret[0].toString(16).padStart(2, '0')} (kyber_secret = type || secret key); PQXDH recomputation of the first message's MAC from the recorded keys: ${kemConfirmed}. SPQR runs in every message (pq_ratchet field 5).`,
    responder,
    initiator: {
      name: alice.st.name,
      device: alice.st.device,
      registration_id: alice.st.registrationId,
      identity_public: b64(alice.st.identity.publicKey.serialize()),
      identity_private: b64(alice.st.identity.privateKey.serialize()),
    },
    transcript,
  });
  return { entries: transcript.length, carrying };
}

console.log(JSON.stringify(await genSession()));
