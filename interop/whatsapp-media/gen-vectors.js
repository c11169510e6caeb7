#!/usr/bin/env node
// Known-answer vectors for WhatsApp media encryption from an independent
// implementation: Baileys (npm "baileys", pinned in package.json), its
// encryptedStream and getMediaKeys helpers. Writes
// testdata/vectors/whatsapp-media.json.
//
//   npm ci && node gen-vectors.js [output-dir]
//
// For each media type and size, Baileys picks a random media key, derives the
// keys, encrypts a patterned plaintext (data[i] = (i * 31 + seed) & 0xff) and
// reports fileSha256, fileEncSha256, fileLength and the 10-byte MAC; the blob
// is read back from its temporary file (and deleted). Small blobs are stored
// whole. Baileys does not compute streaming sidecars, so this file has none.
// Test tool only; never shipped.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encryptedStream, getMediaKeys, hkdfInfoKey } from 'baileys/lib/Utils/messages-media.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.argv[2] || path.join(HERE, '..', '..', 'testdata', 'vectors'));
const VERSION = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'baileys', 'package.json'), 'utf8')).version;

function assert(cond, msg) {
  if (!cond) throw new Error(`whatsapp-media gen-vectors: ${msg}`);
}

const b64 = (b) => Buffer.from(b).toString('base64');

function pattern(n, seed) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

// Baileys media type → Interlock media.Kind name.
const TYPES = [
  ['image', 'image'], ['video', 'video'], ['audio', 'audio'], ['document', 'document'],
  ['md-msg-hist', 'history'], ['md-app-state', 'app-state'], ['thumbnail-link', 'link-thumbnail'],
  ['thumbnail-image', 'image-thumbnail'], ['thumbnail-video', 'video-thumbnail'],
  ['thumbnail-document', 'document-thumbnail'], ['payment-bg-image', 'payment-background'],
  ['sticker', 'image'], ['ptt', 'audio'], ['gif', 'video'],
];
const SIZES = [0, 1, 15, 16, 17, 1000, 65535, 65536, 65537, 300000];

async function main() {
  const vectors = [];
  let id = 0;
  for (const [type, kind] of TYPES) {
    const sizes = ['image', 'video', 'document'].includes(type) ? SIZES : [0, 17, 65537];
    for (const size of sizes) {
      const seed = ++id;
      const plaintext = pattern(size, seed);
      const r = await encryptedStream(plaintext, type);
      const blob = fs.readFileSync(r.encFilePath);
      fs.rmSync(r.encFilePath, { force: true });
      assert(r.fileLength === size, 'length');
      assert(b64(crypto.createHash('sha256').update(blob).digest()) === b64(r.fileEncSha256), 'enc hash');
      assert(b64(blob.subarray(blob.length - 10)) === b64(r.mac), 'mac');
      const keys = await getMediaKeys(r.mediaKey, type);
      const v = {
        id,
        comment: `${type} (${hkdfInfoKey(type)}), ${size}-byte plaintext`,
        baileys_type: type,
        kind,
        info: hkdfInfoKey(type),
        media_key: b64(r.mediaKey),
        iv: b64(keys.iv),
        cipher_key: b64(keys.cipherKey),
        mac_key: b64(keys.macKey),
        seed,
        file_length: r.fileLength,
        file_sha256: b64(r.fileSha256),
        file_enc_sha256: b64(r.fileEncSha256),
        mac: b64(r.mac),
        blob_size: blob.length,
        expect: 'valid',
      };
      if (blob.length <= 2048) v.blob = b64(blob);
      vectors.push(v);
    }
  }
  const out = {
    source: `baileys ${VERSION} (npm)`,
    generator: 'interop/whatsapp-media/gen-vectors.js',
    comment: 'WhatsApp media blobs made by Baileys encryptedStream: keys = HKDF-SHA256(media_key, no salt, info, 112) = iv ‖ cipher_key ‖ mac_key ‖ ref key; blob = AES-256-CBC(PKCS#7(plaintext)) ‖ HMAC-SHA256(mac_key, iv ‖ ciphertext)[:10]; file_enc_sha256 = SHA-256(blob). Plaintext: data[i] = (i*31 + seed) & 0xff, file_length bytes. Encryption is deterministic given media_key, so a test re-encrypts and compares. Media keys are random: a regenerated file differs.',
    vectors,
  };
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, 'whatsapp-media.json');
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)} (${vectors.length} vectors)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
