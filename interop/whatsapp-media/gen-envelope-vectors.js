#!/usr/bin/env node
// Known-answer vectors for WhatsApp's message padding and waE2E.Message
// encoding from an independent implementation: Baileys (npm "baileys", pinned
// in package.json). Writes testdata/vectors/whatsapp-padding.json and
// testdata/vectors/whatsapp-message.json.
//
//   npm ci --ignore-scripts && node gen-envelope-vectors.js [output-dir]
//
// Padding: Baileys' writeRandomPadMax16 (WhatsApp Web's rule: N = (r & 15) + 1,
// N bytes of value N, so N is 1-16) is called until every N has been drawn for
// each payload; unpadRandomMax16 must give the payload back. Negative cases are
// mutations of its output; for each, what Baileys' (lenient) unpadRandomMax16
// does is recorded next to the rejection a strict receiver gives.
//
// Messages: Baileys' WAProto (protobufjs static code from WhatsApp Web's
// schema) encodes a waE2E.Message for text and each media message with fixed
// field values, so the file's message part is the same on every run; the
// padded form comes from Baileys' encodeWAMessage (random N).
// Baileys has no Messenger/Instagram MessageTransport schema, so there is no
// messenger-transport.json from it. Test tool only; never shipped.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { proto } from 'baileys/WAProto/index.js';
import { encodeWAMessage, unpadRandomMax16, writeRandomPadMax16 } from 'baileys/lib/Utils/generics.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.argv[2] || path.join(HERE, '..', '..', 'testdata', 'vectors'));
const VERSION = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'baileys', 'package.json'), 'utf8')).version;
const SOURCE = `baileys ${VERSION} (npm)`;

function assert(cond, msg) {
  if (!cond) throw new Error(`whatsapp gen-envelope-vectors: ${msg}`);
}

const b64 = (b) => Buffer.from(b).toString('base64');

function pattern(n, seed) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

// baileysUnpad reports what Baileys' unpadRandomMax16 makes of padded.
function baileysUnpad(padded) {
  try {
    return { accepted: true, result: b64(unpadRandomMax16(padded)) };
  } catch (e) {
    return { accepted: false, error: String(e.message) };
  }
}

function paddingVectors() {
  const vectors = [];
  let id = 0;
  const payloads = [Buffer.alloc(0), Buffer.from('hi'), pattern(17, 3), pattern(200, 9)];
  for (const payload of payloads) {
    const seen = new Map();
    for (let tries = 0; seen.size < 16 && tries < 10000; tries++) {
      const padded = writeRandomPadMax16(payload);
      const n = padded.length - payload.length;
      if (!seen.has(n)) seen.set(n, padded);
    }
    assert(seen.size === 16, 'not every N drawn');
    for (const n of [...seen.keys()].sort((a, b) => a - b)) {
      const padded = seen.get(n);
      assert(padded[padded.length - 1] === n, 'last byte is N');
      assert(Buffer.from(unpadRandomMax16(padded)).equals(payload), 'unpad round trip');
      vectors.push({
        id: ++id,
        comment: `${payload.length}-byte payload, N = ${n}${n === 16 ? ' (WhatsApp Web and Baileys draw 1-16; whatsmeow 1-15)' : ''}`,
        payload: b64(payload),
        padded: b64(padded),
        n,
        expect: 'valid',
      });
    }
  }
  // Negative cases: mutations of Baileys output.
  const withN = (n) => Buffer.concat([Buffer.from('payload'), Buffer.alloc(n, n)]);
  const negatives = [
    ['empty input', Buffer.alloc(0)],
    ['N = 0: payload followed by one 0x00', Buffer.concat([Buffer.from('payload'), Buffer.from([0])])],
    ['wrong N: last byte 5, but the fifth byte from the end is 4', Buffer.concat([Buffer.from('payload'), Buffer.from([4, 5, 5, 5, 5])])],
    ['wrong N: a padding byte in the middle changed', (() => { const b = withN(9); b[b.length - 5] ^= 1; return b; })()],
    ['wrong N: last byte 3 after bytes of 2', Buffer.concat([Buffer.from('payload'), Buffer.from([2, 2, 3])])],
    ['truncated: only the last N-1 padding bytes of N = 12 remain', withN(12).subarray(withN(12).length - 11)],
    ['truncated: a single padding byte 16', Buffer.from([16])],
    ['truncated: N = 7 padding cut by one byte at the end', withN(7).subarray(0, withN(7).length - 1)],
  ];
  for (const [comment, padded] of negatives) {
    const v = {
      id: ++id,
      comment,
      padded: b64(padded),
      expect_error: 'invalid_message',
      baileys_unpad: baileysUnpad(padded),
    };
    vectors.push(v);
  }
  return vectors;
}

// Fixed media values, one per field, so the encoding is reproducible.
const media = (seed) => ({
  url: `https://mmg.whatsapp.net/v/t62.7118-24/${seed}_enc?ccb=11-4&oh=01&oe=6800`,
  mimetype: ['image/jpeg', 'video/mp4', 'audio/ogg; codecs=opus', 'application/pdf'][seed % 4],
  fileSha256: pattern(32, seed),
  fileLength: 1000 * seed + 17,
  mediaKey: pattern(32, seed + 100),
  fileEncSha256: pattern(32, seed + 200),
  directPath: `/v/t62.7118-24/${seed}_enc?ccb=11-4&oh=01&oe=6800`,
  mediaKeyTimestamp: 1767225600 + seed,
});

function messageVectors() {
  const cases = [
    ['text (conversation)', { conversation: 'the view from here ✓' }],
    ['empty text is absent on the wire', {}],
    ['image', { imageMessage: { ...media(1), caption: 'an image', height: 1080, width: 1920 } }],
    ['image without caption or dimensions', { imageMessage: media(5) }],
    ['video with streaming sidecar', { videoMessage: { ...media(2), caption: 'a video', seconds: 42, height: 720, width: 1280, streamingSidecar: pattern(20, 7) } }],
    ['audio, voice note (ptt)', { audioMessage: { ...media(3), seconds: 9, ptt: true, streamingSidecar: pattern(10, 8) } }],
    ['audio, not a voice note', { audioMessage: { ...media(7), seconds: 300 } }],
    ['document with file name and caption', { documentMessage: { ...media(4), fileName: 'report.pdf', caption: 'the report' } }],
    ['document, large file length (above 2^32)', { documentMessage: { ...media(8), fileLength: 5000000000, fileName: 'big.bin' } }],
  ];
  // Parse-only: fields Interlock does not model are dropped; its re-encoding is
  // the message without them (given as "reencoded").
  const parseOnly = [
    ['image with a JPEG thumbnail and context info (not modelled: dropped)', { imageMessage: { ...media(6), caption: 'x', jpegThumbnail: pattern(40, 1), contextInfo: { stanzaId: 'ABCDEF' } } }, (m) => { const c = structuredClone(m); delete c.imageMessage.jpegThumbnail; delete c.imageMessage.contextInfo; return c; }],
    ['text with an extendedTextMessage next to it (dropped)', { conversation: 'hello', extendedTextMessage: { text: 'other' } }, () => ({ conversation: 'hello' })],
  ];
  const vectors = [];
  let id = 0;
  const fieldsOf = (m) => {
    const f = {};
    if (m.conversation !== undefined) f.text = m.conversation;
    for (const [key, kind] of [['imageMessage', 'image'], ['videoMessage', 'video'], ['audioMessage', 'audio'], ['documentMessage', 'document']]) {
      const x = m[key];
      if (!x) continue;
      f.kind = kind;
      const mm = {};
      for (const k of ['url', 'mimetype', 'caption', 'fileName', 'directPath']) if (x[k] !== undefined) mm[k] = x[k];
      for (const k of ['fileSha256', 'mediaKey', 'fileEncSha256', 'streamingSidecar']) if (x[k] !== undefined) mm[k] = b64(x[k]);
      for (const k of ['fileLength', 'mediaKeyTimestamp', 'height', 'width', 'seconds']) if (x[k] !== undefined) mm[k] = x[k];
      if (x.ptt !== undefined) mm.ptt = x.ptt;
      f.media = mm;
    }
    return f;
  };
  const one = (comment, msg, reencodedMsg) => {
    const bytes = Buffer.from(proto.Message.encode(proto.Message.fromObject(msg)).finish());
    const decoded = proto.Message.decode(bytes);
    assert(decoded !== null, 'decode');
    const padded = Buffer.from(encodeWAMessage(proto.Message.fromObject(msg)));
    assert(padded.subarray(0, bytes.length).equals(bytes), 'encodeWAMessage prefix');
    assert(Buffer.from(unpadRandomMax16(padded)).equals(bytes), 'unpad');
    const v = { id: ++id, comment, fields: fieldsOf(reencodedMsg ?? msg), message: b64(bytes), padded: b64(padded) };
    if (reencodedMsg) {
      v.reencoded = b64(proto.Message.encode(proto.Message.fromObject(reencodedMsg)).finish());
      v.parse_only = true;
    }
    vectors.push(v);
  };
  for (const [comment, msg] of cases) one(comment, msg);
  for (const [comment, msg, strip] of parseOnly) one(comment, msg, strip(msg));
  return vectors;
}

function write(name, body) {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, name);
  fs.writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)} (${body.vectors.length} vectors)`);
}

write('whatsapp-padding.json', {
  source: SOURCE,
  generator: 'interop/whatsapp-media/gen-envelope-vectors.js',
  category: 'padding',
  comment: 'WhatsApp `<enc v="2">` plaintext padding: payload ‖ N bytes of value N. Valid vectors: padded = Baileys writeRandomPadMax16(payload) (WhatsApp Web rule, N = (random & 15) + 1, 1-16), drawn until every N appeared; Baileys unpadRandomMax16 gives payload back. A receiver must strip exactly N bytes; a sender given N must produce padded byte for byte. Invalid vectors are mutations of that format that a strict receiver rejects (expect_error); baileys_unpad records what Baileys itself does with them: it only checks N ≤ length, so it accepts N = 0 and padding bytes that differ from N.',
  vectors: paddingVectors(),
});

write('whatsapp-message.json', {
  source: SOURCE,
  generator: 'interop/whatsapp-media/gen-envelope-vectors.js',
  category: 'message',
  comment: 'waE2E.Message (WhatsApp Web schema, field numbers as in Baileys WAProto) encoded by Baileys\' protobufjs static code (fields in field-number order, absent fields not written). fields: the values in Interlock terms (text = conversation 1; kind = image 3 / document 7 / audio 8 / video 9; media fields named as in the schema, bytes base64). message: Baileys\' encoding, which a receiver must parse to fields and an encoder given fields must produce byte for byte. padded: Baileys encodeWAMessage (message ‖ N bytes of N, random N). parse_only vectors carry fields a minimal parser drops; reencoded is Baileys\' encoding of the message without them.',
  vectors: messageVectors(),
});
