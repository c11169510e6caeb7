#!/usr/bin/env node
// Sealed sender v2 (multi-recipient) known-answer vectors from
// @signalapp/libsignal-client 0.90.0. Writes
// testdata/vectors/libsignal-sealed-sender-v2.json. The content is random on
// every run; the schema is fixed. Every value is checked with libsignal
// before it is written: the server's split (SealedSenderMultiRecipientMessage
// parse + messageForRecipient) and each recipient's sealedSenderDecryptToUsmc.
//
//   node gen-sealed-v2-vectors.js [output-dir]
//
// This is a test tool. It is not part of Interlock and is never shipped.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as S from 'libsignal-client-0.90';
import SealedSenderMultiRecipientMessage from 'libsignal-client-0.90/dist/SealedSenderMultiRecipientMessage.js';
import { b64, storeKit } from './stores.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.argv[2] || path.join(HERE, '..', '..', 'testdata', 'vectors'));
const LIB = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'libsignal-client-0.90', 'package.json'), 'utf8')).version;
const SOURCE = `@signalapp/libsignal-client ${LIB}`;
const GENERATOR = 'interop/libsignal/gen-sealed-v2-vectors.js';
const kit = storeKit(S, LIB);

function assert(cond, msg) {
  if (!cond) throw new Error(`gen-sealed-v2-vectors: ${msg}`);
}

function u8(buf) {
  const out = new Uint8Array(new ArrayBuffer(buf.length));
  out.set(buf);
  return out;
}

const same = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

// One device with in-memory stores. Devices of one account share `identity`.
class Party {
  constructor(name, device, identity = null) {
    const st = new kit.State();
    st.name = name;
    st.device = device;
    st.registrationId = 1 + crypto.randomInt(0x3ffe);
    st.identity = identity || S.IdentityKeyPair.generate();
    this.st = st;
    this.addr = S.ProtocolAddress.new(name, device);
    this.sessions = new kit.PeerSessionStore(st);
    this.ids = new kit.PeerIdentityStore(st);
    this.prekeys = new kit.PeerPreKeyStore(st);
    this.signed = new kit.PeerSignedPreKeyStore(st);
    this.kybers = new kit.PeerKyberPreKeyStore(st);
    this.senderKeys = new kit.PeerSenderKeyStore(st);
  }

  bundle() {
    const st = this.st;
    const idPriv = st.identity.privateKey;
    const spk = S.PrivateKey.generate();
    const spkSig = idPriv.sign(spk.getPublicKey().serialize());
    st.signedPrekeys.set(1, S.SignedPreKeyRecord.new(1, Date.now(), spk.getPublicKey(), spk, spkSig).serialize());
    const kp = S.KEMKeyPair.generate();
    const kSig = idPriv.sign(kp.getPublicKey().serialize());
    st.kyberPrekeys.set(1, S.KyberPreKeyRecord.new(1, Date.now(), kp, kSig).serialize());
    return S.PreKeyBundle.new(st.registrationId, st.device, null, null, 1, spk.getPublicKey(), spkSig,
      st.identity.publicKey, 1, kp.getPublicKey(), kSig);
  }
}

// "PNI:<uuid>" or "<uuid>" -> 17-byte fixed-width form.
function fixedWidth(serviceId) {
  const pni = serviceId.startsWith('PNI:');
  const u = Buffer.from((pni ? serviceId.slice(4) : serviceId).replace(/-/g, ''), 'hex');
  return Buffer.concat([Buffer.from([pni ? 1 : 0]), u]);
}

const uuid = () => crypto.randomUUID();
// libsignal's canonical service ID string: lowercase UUID, "PNI:" prefix kept.
const canon = (s) => (s.startsWith('PNI:') ? `PNI:${s.slice(4).toLowerCase()}` : s.toLowerCase());

const trustRoot = S.PrivateKey.generate();
const serverKey = S.PrivateKey.generate();
const serverKeyId = 1 + crypto.randomInt(1000);
const serverCert = S.ServerCertificate.new(serverKeyId, serverKey.getPublicKey(), trustRoot);
const now = Date.now();
const expires = now + 30 * 24 * 3600 * 1000;

// kind: 'senderkey' (a SenderKeyMessage with a group ID) or 'plaintext' (a
// PlaintextContent carrying a DecryptionErrorMessage).
async function genVector(id, kind) {
  const alice = new Party(uuid(), 1 + crypto.randomInt(127));
  const cert = S.SenderCertificate.new(alice.st.name, null, alice.st.device, alice.st.identity.publicKey, expires, serverCert, serverKey);

  // Recipients: two devices of one ACI (one identity key), a PNI, a third
  // ACI; and excluded recipients (an ACI and, for the plaintext vector, a PNI).
  const bobName = uuid();
  const bob1 = new Party(bobName, 1);
  const bob2 = new Party(bobName, 2 + crypto.randomInt(126), bob1.st.identity);
  const carol = new Party(`PNI:${uuid()}`, 1);
  const erin = new Party(uuid(), 1 + crypto.randomInt(127));
  const dave = new Party(uuid(), 1); // excluded
  const frank = new Party(`PNI:${uuid()}`, 1); // excluded (plaintext vector only)
  const devices = kind === 'senderkey' ? [bob1, bob2, carol, erin] : [carol, bob2, bob1];
  const excludedParties = kind === 'senderkey' ? [dave] : [dave, frank];
  for (const d of devices) {
    await S.processPreKeyBundle(d.bundle(), d.addr, alice.sessions, alice.ids);
  }

  let inner;
  let hint;
  let groupId = null;
  let plaintext;
  let skdm = null;
  if (kind === 'senderkey') {
    const dist = uuid();
    skdm = await S.SenderKeyDistributionMessage.create(alice.addr, dist, alice.senderKeys);
    plaintext = u8(Buffer.from(`sealed sender v2 group message ${id}`));
    inner = await S.groupEncrypt(alice.addr, dist, alice.senderKeys, plaintext);
    groupId = u8(crypto.randomBytes(32));
    hint = S.ContentHint.Implicit;
  } else {
    const orig = await S.signalEncrypt(u8(Buffer.from('original')), bob1.addr, alice.sessions, alice.ids);
    const dem = S.DecryptionErrorMessage.forOriginal(orig.serialize(), orig.type(), now, alice.st.device);
    const pc = S.PlaintextContent.from(dem);
    plaintext = pc.body();
    inner = S.CiphertextMessage.from(pc);
    hint = S.ContentHint.Resendable;
  }
  const usmc = S.UnidentifiedSenderMessageContent.new(inner, cert, hint, groupId);
  const sent = await S.sealedSenderMultiRecipientEncrypt({
    content: usmc,
    recipients: devices.map((d) => d.addr),
    excludedRecipients: excludedParties.map((p) => S.ServiceId.parseFromServiceIdString(p.st.name)),
    identityStore: alice.ids,
    sessionStore: alice.sessions,
  });
  assert(sent[0] === 0x23, `version byte 0x${sent[0].toString(16)}`);

  // The server's view.
  const parsed = new SealedSenderMultiRecipientMessage(sent);
  const map = parsed.recipientsByServiceIdString();
  const excluded = parsed.excludedRecipientServiceIdStrings();
  const excludedIds = excludedParties.map((p) => canon(p.st.name));
  assert(JSON.stringify([...excluded].sort()) === JSON.stringify([...excludedIds].sort()), `excluded ${excluded}`);

  // Group devices into accounts in order of first appearance.
  const accounts = [];
  for (const d of devices) {
    let a = accounts.find((x) => x.name === d.st.name);
    if (!a) {
      a = { name: d.st.name, identity: d.st.identity, devices: [] };
      accounts.push(a);
    }
    a.devices.push(d);
  }
  assert(Object.keys(map).length === accounts.length, 'recipient count');

  const recipients = [];
  for (const a of accounts) {
    const r = map[canon(a.name)];
    assert(r, `recipient ${a.name} missing from the parsed message`);
    const byDevice = new Map(r.deviceIds.map((dev, i) => [dev, r.registrationIds[i]]));
    assert(byDevice.size === a.devices.length, `device count of ${a.name}`);
    for (const d of a.devices) {
      assert(byDevice.get(d.st.device) === d.st.registrationId, `registration id of ${a.name}.${d.st.device}`);
    }
    const received = parsed.messageForRecipient(r);
    assert(received[0] === 0x22, 'received version byte');
    // Every device of the account opens it to the same content.
    for (const d of a.devices) {
      const back = await S.sealedSenderDecryptToUsmc(received, d.ids);
      assert(same(back.serialize(), usmc.serialize()), 'usmc bytes');
      assert(same(back.contents(), inner.serialize()), 'contents');
    }
    recipients.push({
      service_id: a.name,
      service_id_fixed_width: b64(fixedWidth(a.name)),
      identity_private: b64(a.identity.privateKey.serialize()),
      identity_public: b64(a.identity.publicKey.serialize()),
      devices: a.devices.map((d) => ({ device: d.st.device, registration_id: d.st.registrationId })),
      // libsignal's order (the parsed message's), which the split must match.
      parsed_devices: r.deviceIds.map((dev, i) => ({ device: dev, registration_id: r.registrationIds[i] })),
      excluded: false,
      received: b64(received),
    });
  }
  for (const p of excludedParties) {
    // An excluded recipient has keys but no key material in the message.
    let opened = false;
    try {
      await S.sealedSenderDecryptToUsmc(sent, p.ids);
      opened = true;
    } catch {
      // expected: the 0x23 form is not a received message
    }
    assert(!opened, 'an excluded recipient opened the sent message');
    recipients.push({
      service_id: p.st.name,
      service_id_fixed_width: b64(fixedWidth(p.st.name)),
      identity_private: b64(p.st.identity.privateKey.serialize()),
      identity_public: b64(p.st.identity.publicKey.serialize()),
      devices: [],
      parsed_devices: [],
      excluded: true,
      received: null,
    });
  }

  // The sender-key plaintext through a recipient's group store.
  if (skdm) {
    await S.processSenderKeyDistributionMessage(alice.addr, skdm, bob1.senderKeys);
    const pt = await S.groupDecrypt(alice.addr, bob1.senderKeys, inner.serialize());
    assert(same(pt, plaintext), 'group plaintext');
  }

  const v = {
    id,
    comment: kind === 'senderkey'
      ? 'sealed sender v2 around a SenderKeyMessage (type 7), content hint implicit, with a 32-byte group ID; recipients: one ACI with two devices, a PNI, another ACI; one excluded ACI'
      : 'sealed sender v2 around a PlaintextContent (type 8) carrying a DecryptionErrorMessage, content hint resendable, no group ID; recipients: a PNI and one ACI whose two devices are listed non-adjacently in libsignal\'s input order (PNI, bob device 2, bob device 1); excluded: an ACI and a PNI',
    now,
    sender: {
      name: alice.st.name,
      device: alice.st.device,
      identity_public: b64(alice.st.identity.publicKey.serialize()),
      identity_private: b64(alice.st.identity.privateKey.serialize()),
    },
    recipients,
    sent_message: b64(sent),
    expected: {
      usmc: b64(usmc.serialize()),
      msg_type: usmc.msgType(),
      content_hint: usmc.contentHint(),
      group_id: groupId ? b64(groupId) : null,
      sender_certificate: b64(cert.serialize()),
      sender_certificate_expires: expires,
      contents: b64(inner.serialize()),
      plaintext: b64(plaintext),
      excluded: excludedIds,
    },
  };
  if (skdm) v.expected.sender_key_distribution_message = b64(skdm.serialize());
  return v;
}

const vectors = [await genVector(1, 'senderkey'), await genVector(2, 'plaintext')];
fs.mkdirSync(OUT, { recursive: true });
const file = path.join(OUT, 'libsignal-sealed-sender-v2.json');
fs.writeFileSync(file, `${JSON.stringify({
  source: SOURCE,
  generator: GENERATOR,
  category: 'sealed-sender-v2',
  comment: 'Sealed sender v2 (multi-recipient). sent_message is the 0x23 SealedSenderMultiRecipientMessage that libsignal\'s sealedSenderMultiRecipientEncrypt produced for `recipients` (service_id is libsignal\'s string form: a UUID for an ACI, "PNI:" + UUID for a PNI; the sender had a session with every listed device, whose registration ID is recorded). For each non-excluded recipient, `received` is libsignal\'s server split (SealedSenderMultiRecipientMessage parse + messageForRecipient: 0x22 || C || AT || E.pub || ciphertext), the same for every device of the account; parsed_devices is the device list libsignal parsed (its order). Every device opened `received` with sealedSenderDecryptToUsmc (identity_private) to expected.usmc, whose contents are expected.contents; plaintext is the inner message\'s plaintext (the sender-key one decrypts with expected.sender_key_distribution_message). Excluded recipients (excluded: true) are listed in the message with no key material: they receive nothing. The sender certificate validates against trust_root_public at `now` (ms). Private keys: 32-byte Curve25519 scalars as libsignal serializes them.',
  trust_root_private: b64(trustRoot.serialize()),
  trust_root_public: b64(trustRoot.getPublicKey().serialize()),
  server_key_id: serverKeyId,
  server_private: b64(serverKey.serialize()),
  server_certificate: b64(serverCert.serialize()),
  vectors,
}, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), file)} (${vectors.length} vectors)`);
