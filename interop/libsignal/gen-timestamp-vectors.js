#!/usr/bin/env node
// Stored time fields as libsignal's own serializer writes them, from
// @signalapp/libsignal-client 0.90.0 and 0.103.0. Writes
// testdata/vectors/libsignal-record-timestamps.json (issue #20 item 16).
//
//   node gen-timestamp-vectors.js [output-dir]
//
// For each release:
//   - a session record of an unanswered session: Alice processes Bob's
//     bundle at a fixed `now` (with a millisecond part) and never hears
//     back. The generator decodes PendingPreKey.timestamp
//     (RecordStructure 1 -> SessionStructure 9 -> field 4) and checks it is
//     whole SECONDS, then asks libsignal itself to encrypt with copies of
//     the record at instants around the 30-day limit
//     (MAX_UNACKNOWLEDGED_SESSION_AGE) and records which succeed;
//   - a signed prekey record and a Kyber prekey record made with a fixed
//     timestamp: their `timestamp` field (5, fixed64) is MILLISECONDS.
//
// Keys are random on every run; the times and the schema are fixed.
//
// This is a test tool. It is not part of Interlock and is never shipped.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as S090 from 'libsignal-client-0.90';
import * as S0103 from 'libsignal-client-0.103';
import { b64, storeKit } from './stores.js';
import { assert, pbFields } from './vectorkit.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.argv[2] || path.join(HERE, '..', '..', 'testdata', 'vectors'));
const GENERATOR = 'interop/libsignal/gen-timestamp-vectors.js';
const FILE = 'libsignal-record-timestamps.json';

const version = (dir) =>
  JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', dir, 'package.json'), 'utf8')).version;

// 2025-03-14T15:09:26.535Z: a millisecond part shows the truncation to seconds.
const CREATED_MS = Date.UTC(2025, 2, 14, 15, 9, 26, 535);
const SIGNED_PREKEY_MS = CREATED_MS - 86_400_000 + 123;
const KYBER_PREKEY_MS = CREATED_MS - 2 * 86_400_000 + 456;
const DAY_MS = 86_400_000;
const MAX_AGE_MS = 30 * DAY_MS; // libsignal's MAX_UNACKNOWLEDGED_SESSION_AGE

// Field n of a protobuf message: a Number for a varint, bytes otherwise.
function field(buf, n) {
  const v = pbFields(buf).get(n);
  assert(v !== undefined, `field ${n} missing`);
  return v;
}

// A fixed64 field as a Number (timestamps fit in 2^53).
function fixed64(buf, n) {
  const v = field(buf, n);
  assert(v.length === 8, `field ${n} is not fixed64`);
  return Number(Buffer.from(v).readBigUInt64LE(0));
}

async function gen(S, lib, newApi) {
  const kit = storeKit(S, lib);
  const source = `@signalapp/libsignal-client ${lib}`;
  const party = (name, device) => {
    const st = new kit.State();
    st.name = name;
    st.device = device;
    st.registrationId = 1 + crypto.randomInt(16380);
    st.identity = S.IdentityKeyPair.generate();
    return {
      st,
      addr: S.ProtocolAddress.new(name, device),
      sessions: new kit.PeerSessionStore(st),
      ids: new kit.PeerIdentityStore(st),
    };
  };
  const alice = party(crypto.randomUUID(), 1);
  const bob = party(crypto.randomUUID(), 2);

  // Bob's bundle, with his prekey records made at fixed instants.
  const idPriv = bob.st.identity.privateKey;
  const spk = S.PrivateKey.generate();
  const spkSig = idPriv.sign(spk.getPublicKey().serialize());
  const spkRecord = S.SignedPreKeyRecord.new(7, SIGNED_PREKEY_MS, spk.getPublicKey(), spk, spkSig).serialize();
  const kp = S.KEMKeyPair.generate();
  const kyberSig = idPriv.sign(kp.getPublicKey().serialize());
  const kyberRecord = S.KyberPreKeyRecord.new(9, KYBER_PREKEY_MS, kp, kyberSig).serialize();
  const opk = S.PrivateKey.generate();
  const bundle = S.PreKeyBundle.new(bob.st.registrationId, bob.st.device, 5, opk.getPublicKey(),
    7, spk.getPublicKey(), spkSig, bob.st.identity.publicKey, 9, kp.getPublicKey(), kyberSig);

  // SignedPreKeyRecordStructure / KyberPreKeyRecordStructure: timestamp is
  // field 5, fixed64.
  const spkStored = fixed64(Buffer.from(spkRecord), 5);
  const kyberStored = fixed64(Buffer.from(kyberRecord), 5);
  assert(spkStored === SIGNED_PREKEY_MS, `signed prekey timestamp ${spkStored}, want ms ${SIGNED_PREKEY_MS}`);
  assert(kyberStored === KYBER_PREKEY_MS, `Kyber prekey timestamp ${kyberStored}, want ms ${KYBER_PREKEY_MS}`);
  assert(S.SignedPreKeyRecord.deserialize(spkRecord).timestamp() === SIGNED_PREKEY_MS, 'signed prekey timestamp() round trip');
  assert(S.KyberPreKeyRecord.deserialize(kyberRecord).timestamp() === KYBER_PREKEY_MS, 'Kyber prekey timestamp() round trip');

  // Alice starts the session at CREATED_MS and never hears back.
  const created = new Date(CREATED_MS);
  if (newApi) await S.processPreKeyBundle(bundle, bob.addr, alice.addr, alice.sessions, alice.ids, created);
  else await S.processPreKeyBundle(bundle, bob.addr, alice.sessions, alice.ids, created);
  const record = Buffer.from(alice.st.sessions.get(`${bob.st.name}.${bob.st.device}`));
  const current = field(record, 1);
  const pending = field(Buffer.from(current), 9);
  const stored = field(Buffer.from(pending), 4);
  assert(stored === Math.floor(CREATED_MS / 1000), `pending timestamp ${stored}, want seconds ${Math.floor(CREATED_MS / 1000)}`);

  // libsignal's own verdict, each on a fresh copy of the record.
  const probes = [];
  for (const [what, at] of [
    ['at creation', CREATED_MS],
    ['29 days later', CREATED_MS + 29 * DAY_MS],
    ['30 days after the stored second', stored * 1000 + MAX_AGE_MS],
    ['30 days and 1 s after the stored second', stored * 1000 + MAX_AGE_MS + 1000],
    ['31 days later', CREATED_MS + 31 * DAY_MS],
  ]) {
    alice.st.sessions.set(`${bob.st.name}.${bob.st.device}`, new Uint8Array(record));
    const pt = new Uint8Array(Buffer.from('probe'));
    let result;
    try {
      const m = newApi
        ? await S.signalEncrypt(pt, bob.addr, alice.addr, alice.sessions, alice.ids, new Date(at))
        : await S.signalEncrypt(pt, bob.addr, alice.sessions, alice.ids, new Date(at));
      assert(m.type() === 3, 'an unanswered session encrypts PreKeySignalMessages');
      result = 'valid';
    } catch (e) {
      assert(/session/i.test(String(e.message)), `unexpected error ${e.message}`);
      result = 'no_session';
    }
    probes.push({ comment: what, now_ms: at, expect: result });
  }
  const verdicts = probes.map((p) => p.expect).join(',');
  assert(verdicts === 'valid,valid,valid,no_session,no_session', `libsignal's expiry verdicts ${verdicts}`);

  const tag = `libsignal-${lib}`;
  return [
    {
      id: `${tag}-unanswered-session`,
      source,
      comment: `libsignal ${lib}: Alice's SessionRecord after processPreKeyBundle(now = created_ms) of Bob's bundle (one-time, signed and Kyber prekeys; session version 4), before any answer. pending_timestamp is the value of SessionStructure.pending_pre_key.timestamp as libsignal wrote it: whole seconds since the epoch (created_ms / 1000, truncated). encrypt lists libsignal's own signalEncrypt result for a copy of this record at now_ms: valid, or no_session once stored second + 30 days < now (MAX_UNACKNOWLEDGED_SESSION_AGE).`,
      kind: 'unanswered-session',
      remote: { name: bob.st.name, device: bob.st.device, registration_id: bob.st.registrationId },
      remote_identity_public: b64(bob.st.identity.publicKey.serialize()),
      created_ms: CREATED_MS,
      pending_timestamp: stored,
      record: b64(record),
      encrypt: probes,
    },
    {
      id: `${tag}-signed-prekey`,
      source,
      comment: `libsignal ${lib}: SignedPreKeyRecord.new(id 7, timestamp_ms, …).serialize(); SignedPreKeyRecordStructure.timestamp (field 5, fixed64) holds milliseconds, stored_timestamp is the decoded field.`,
      kind: 'signed-prekey',
      timestamp_ms: SIGNED_PREKEY_MS,
      stored_timestamp: spkStored,
      record: b64(spkRecord),
    },
    {
      id: `${tag}-kyber-prekey`,
      source,
      comment: `libsignal ${lib}: KyberPreKeyRecord.new(id 9, timestamp_ms, …).serialize(); KyberPreKeyRecordStructure.timestamp (field 5, fixed64) holds milliseconds, stored_timestamp is the decoded field.`,
      kind: 'kyber-prekey',
      timestamp_ms: KYBER_PREKEY_MS,
      stored_timestamp: kyberStored,
      record: b64(kyberRecord),
    },
  ];
}

const l090 = version('libsignal-client-0.90');
const l0103 = version('libsignal-client-0.103');
const vectors = [...(await gen(S090, l090, false)), ...(await gen(S0103, l0103, true))];
fs.mkdirSync(OUT, { recursive: true });
const file = path.join(OUT, FILE);
fs.writeFileSync(file, `${JSON.stringify({
  source: [`@signalapp/libsignal-client ${l090}`, `@signalapp/libsignal-client ${l0103}`],
  generator: GENERATOR,
  category: 'record-time',
  comment: 'The units of the time fields of stored records, as libsignal\'s own serializer writes them (issue #20 item 16): the unanswered-session timestamp (SessionStructure.PendingPreKey.timestamp) is in SECONDS, the signed and Kyber prekey timestamps are in MILLISECONDS. Each vector has a source (the libsignal release), the record (base64), the instant given to libsignal and the decoded stored value; unanswered-session vectors also list libsignal\'s own encrypt verdicts around the 30-day limit, which an implementation reading the record must reproduce. Keys are random per run; times are fixed.',
  vectors,
}, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)} (${vectors.length} vectors)`);
