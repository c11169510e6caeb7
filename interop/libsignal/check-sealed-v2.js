#!/usr/bin/env node
// Checks sealed sender v2 messages with @signalapp/libsignal-client 0.90.0:
// reads a file in the schema of testdata/vectors/libsignal-sealed-sender-v2.json
// (for example one written by `go run ./sealedsender/internal/v2gen -o FILE`),
// and for every vector has libsignal
//   - parse the 0x23 message (SealedSenderMultiRecipientMessage) and list the
//     same recipients, devices, registration IDs and excluded service IDs,
//   - split it for each recipient (messageForRecipient), byte for byte equal
//     to the file's `received`,
//   - open each copy as each device (sealedSenderDecryptToUsmc) to the
//     expected content, validate the sender certificate, decrypt the inner
//     message to the expected plaintext,
//   - refuse copies opened with another recipient's key (excluded ones too).
//
//   node check-sealed-v2.js FILE [--lib 0.90|0.103]
//
// Prints `N passed, M failed` and exits 1 when anything failed.
// This is a test tool. It is not part of Interlock and is never shipped.

import fs from 'node:fs';
import { b64, storeKit } from './stores.js';

const LIBS = { '0.90': 'libsignal-client-0.90', '0.103': 'libsignal-client-0.103' };
const args = process.argv.slice(2);
let lib = '0.90';
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--lib') lib = args[++i];
  else files.push(args[i]);
}
if (files.length !== 1 || !(lib in LIBS)) {
  process.stderr.write('usage: node check-sealed-v2.js FILE [--lib 0.90|0.103]\n');
  process.exit(2);
}
const S = await import(LIBS[lib]);
const { default: SealedSenderMultiRecipientMessage } = await import(`${LIBS[lib]}/dist/SealedSenderMultiRecipientMessage.js`);
const kit = storeKit(S, lib);

const bytes = (s) => {
  const b = Buffer.from(s, 'base64');
  const out = new Uint8Array(new ArrayBuffer(b.length));
  out.set(b);
  return out;
};
const same = (a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
const canon = (s) => (s.startsWith('PNI:') ? `PNI:${s.slice(4).toLowerCase()}` : s.toLowerCase());

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    const r = await fn();
    if (r === false) throw new Error('check returned false');
    passed++;
  } catch (e) {
    failed++;
    process.stderr.write(`FAIL ${name}: ${e && e.message ? e.message : e}\n`);
  }
}
function must(cond, msg) {
  if (!cond) throw new Error(msg);
}

function identityStore(r) {
  const st = new kit.State();
  const priv = S.PrivateKey.deserialize(bytes(r.identity_private));
  st.identity = new S.IdentityKeyPair(priv.getPublicKey(), priv);
  st.registrationId = 1;
  must(same(st.identity.publicKey.serialize(), bytes(r.identity_public)), 'identity private/public mismatch');
  return new kit.PeerIdentityStore(st);
}

const f = JSON.parse(fs.readFileSync(files[0], 'utf8'));
const trustRoot = S.PublicKey.deserialize(bytes(f.trust_root_public));
must(Array.isArray(f.vectors) && f.vectors.length > 0, 'no vectors');

for (const v of f.vectors) {
  const tag = `vector ${v.id}`;
  const e = v.expected;
  const sent = bytes(v.sent_message);
  let parsed = null;
  await check(`${tag}: parse`, () => {
    must(sent[0] === 0x23, `version byte 0x${sent[0].toString(16)}`);
    parsed = new SealedSenderMultiRecipientMessage(sent);
  });
  if (!parsed) continue;
  const map = parsed.recipientsByServiceIdString();
  const live = v.recipients.filter((r) => !r.excluded);
  const excluded = v.recipients.filter((r) => r.excluded);

  await check(`${tag}: recipient set`, () => {
    const want = live.map((r) => canon(r.service_id)).sort();
    const got = Object.keys(map).sort();
    must(JSON.stringify(got) === JSON.stringify(want), `recipients ${got}, want ${want}`);
  });
  await check(`${tag}: excluded set`, () => {
    const got = [...parsed.excludedRecipientServiceIdStrings()].sort();
    const want = excluded.map((r) => canon(r.service_id)).sort();
    must(JSON.stringify(got) === JSON.stringify(want), `excluded ${got}, want ${want}`);
    must(JSON.stringify([...(e.excluded || [])].map(canon).sort()) === JSON.stringify(want), 'expected.excluded');
  });

  const copies = [];
  for (const r of live) {
    const who = `${tag} ${r.service_id}`;
    const pr = map[canon(r.service_id)];
    if (!pr) continue; // counted by "recipient set"
    await check(`${who}: devices and registration IDs`, () => {
      const got = pr.deviceIds.map((d, i) => `${d}:${pr.registrationIds[i]}`).sort();
      const want = r.devices.map((d) => `${d.device}:${d.registration_id}`).sort();
      must(JSON.stringify(got) === JSON.stringify(want), `devices ${got}, want ${want}`);
    });
    const received = parsed.messageForRecipient(pr);
    copies.push({ r, received });
    await check(`${who}: split equals the expected received message`, () => {
      must(same(received, bytes(r.received)), `libsignal's split ${b64(received).slice(0, 40)}… differs`);
    });
    // Each device holds the account's identity key; open the expected copy.
    for (const d of r.devices) {
      await check(`${who}.${d.device}: sealedSenderDecryptToUsmc`, async () => {
        const usmc = await S.sealedSenderDecryptToUsmc(bytes(r.received), identityStore(r));
        must(same(usmc.serialize(), bytes(e.usmc)), 'usmc bytes differ');
        must(same(usmc.contents(), bytes(e.contents)), 'contents differ');
        must(usmc.msgType() === e.msg_type, `msg type ${usmc.msgType()}`);
        must(usmc.contentHint() === e.content_hint, `content hint ${usmc.contentHint()}`);
        const gid = usmc.groupId();
        must(e.group_id ? gid && same(gid, bytes(e.group_id)) : !gid || gid.length === 0, 'group id');
        const cert = usmc.senderCertificate();
        must(cert.validate(trustRoot, v.now), 'sender certificate does not validate');
        must(cert.senderUuid() === v.sender.name && cert.senderDeviceId() === v.sender.device, 'sender address');
        must(same(cert.key().serialize(), bytes(v.sender.identity_public)), 'sender key');
        must(same(cert.serialize(), bytes(e.sender_certificate)), 'certificate bytes');
      });
    }
  }

  await check(`${tag}: inner message plaintext`, async () => {
    const contents = bytes(e.contents);
    if (e.msg_type === S.CiphertextMessageType.SenderKey) {
      const st = new kit.State();
      const store = new kit.PeerSenderKeyStore(st);
      const from = S.ProtocolAddress.new(v.sender.name, v.sender.device);
      await S.processSenderKeyDistributionMessage(from,
        S.SenderKeyDistributionMessage.deserialize(bytes(e.sender_key_distribution_message)), store);
      must(same(await S.groupDecrypt(from, store, contents), bytes(e.plaintext)), 'group plaintext');
    } else if (e.msg_type === S.CiphertextMessageType.Plaintext) {
      const pc = S.PlaintextContent.deserialize(contents);
      must(same(pc.body(), bytes(e.plaintext)), 'plaintext content body');
      S.DecryptionErrorMessage.extractFromSerializedBody(pc.body());
    } else {
      throw new Error(`no plaintext check for type ${e.msg_type}`);
    }
  });

  // Nobody opens another account's copy; the unsplit 0x23 message opens for nobody.
  await check(`${tag}: copies are bound to their recipient`, async () => {
    for (const other of v.recipients) {
      const ids = identityStore(other);
      for (const { r, received } of copies) {
        if (r === other) continue;
        let opened = false;
        try {
          await S.sealedSenderDecryptToUsmc(received, ids);
          opened = true;
        } catch {
          // expected
        }
        must(!opened, `${other.service_id} opened the copy for ${r.service_id}`);
      }
      let opened = false;
      try {
        await S.sealedSenderDecryptToUsmc(sent, ids);
        opened = true;
      } catch {
        // expected
      }
      must(!opened, `${other.service_id} opened the unsplit message`);
    }
  });
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
