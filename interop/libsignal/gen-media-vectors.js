#!/usr/bin/env node
// Known-answer vectors for Signal attachments, backed by the incremental MAC
// of @signalapp/libsignal-client 0.90.0 (its incremental_mac module:
// inferChunkSize / everyNthByte / chunkSizeInBytes / DigestingPassThrough /
// ValidatingPassThrough). Writes testdata/vectors/signal-attachment-incremental-mac.json.
//
//   node gen-media-vectors.js [output-dir]
//
// What comes from libsignal: every chunk size and every incremental MAC (and
// each MAC is re-checked with libsignal's ValidatingPassThrough). What this
// script builds itself with node:crypto, following Signal-Android's
// AttachmentCipherOutputStream and PaddingInputStream: the padded plaintext
// (Signal-Desktop's formula in JavaScript floating point), the blob
// IV ‖ AES-256-CBC ‖ HMAC-SHA256 and its digest. Inputs are a fixed byte
// pattern (data[i] = (i * 31 + seed) & 0xff), keys and IVs are random, so a
// regenerated file differs. Test tool only; never shipped.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import * as IM from 'libsignal-client-0.90/dist/incremental_mac.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OUT = path.resolve(process.argv[2] || path.join(HERE, '..', '..', 'testdata', 'vectors'));
const LIB = JSON.parse(fs.readFileSync(path.join(HERE, 'node_modules', 'libsignal-client-0.90', 'package.json'), 'utf8')).version;
const KIB = 1024;
const MIB = 1024 * KIB;

function assert(cond, msg) {
  if (!cond) throw new Error(`gen-media-vectors: ${msg}`);
}

const b64 = (b) => Buffer.from(b).toString('base64');

function pattern(n, seed) {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

// Feeds data through libsignal's DigestingPassThrough in uneven pieces.
async function libsignalIncrementalMac(key, sizeChoice, data) {
  const digester = new IM.DigestingPassThrough(new Uint8Array(key), sizeChoice);
  const pieces = [];
  for (let i = 0, step = 1; i < data.length; i += step, step = (step * 7 + 13) % 100003 + 1) {
    pieces.push(data.subarray(i, Math.min(data.length, i + step)));
  }
  await pipeline(Readable.from(pieces), digester, new Writable({ write(_c, _e, cb) { cb(); } }));
  return Buffer.from(digester.getFinalDigest());
}

async function libsignalValidates(key, sizeChoice, data, mac) {
  const v = new IM.ValidatingPassThrough(new Uint8Array(key), sizeChoice, new Uint8Array(mac));
  let n = 0;
  try {
    await pipeline(Readable.from([data]), v, new Writable({ write(c, _e, cb) { n += c.length; cb(); } }));
  } catch {
    return false;
  }
  return n === data.length;
}

// Signal-Desktop / Signal-Android padding bucket.
function paddedSize(size) {
  return Math.max(541, Math.floor(1.05 ** Math.ceil(Math.log(size) / Math.log(1.05))));
}

function encryptAttachment(plaintext, key, iv) {
  const padded = Buffer.alloc(Math.max(paddedSize(plaintext.length), plaintext.length));
  plaintext.copy(padded);
  const c = crypto.createCipheriv('aes-256-cbc', key.subarray(0, 32), iv);
  const ct = Buffer.concat([c.update(padded), c.final()]);
  const mac = crypto.createHmac('sha256', key.subarray(32)).update(iv).update(ct).digest();
  return { blob: Buffer.concat([iv, ct, mac]), paddedLength: padded.length };
}

async function main() {
  // 1. Chunk sizes for blob lengths around every boundary.
  const chunkSizes = [];
  for (const n of [0, 1, 1000, MIB, 16 * MIB - 1, 16 * MIB, 16 * MIB + 1, 20 * MIB, 100 * MIB,
    256 * MIB, 512 * MIB - 257, 512 * MIB - 1, 512 * MIB, 512 * MIB + 1, 1024 * MIB, 2 ** 31 - 1]) {
    chunkSizes.push({ data_size: n, chunk_size: IM.chunkSizeInBytes(IM.inferChunkSize(n)) });
  }

  // 2. Incremental MACs of patterned data with explicit chunk sizes.
  const macs = [];
  let id = 0;
  for (const [len, chunk] of [[0, 32], [1, 32], [31, 32], [32, 32], [33, 32], [64, 32], [100, 32],
    [65535, 65536], [65536, 65536], [65537, 65536], [3 * 65536, 65536], [200000, 65536]]) {
    const key = crypto.randomBytes(32);
    const seed = ++id;
    const data = pattern(len, seed);
    const choice = IM.everyNthByte(chunk);
    const mac = await libsignalIncrementalMac(key, choice, data);
    assert(await libsignalValidates(key, choice, data, mac), `validate ${len}/${chunk}`);
    macs.push({
      id, comment: `${len} bytes in ${chunk}-byte chunks${len > 0 && len % chunk === 0 ? ' (ends on a chunk boundary: last MAC repeated)' : ''}`,
      hmac_key: b64(key), length: len, seed, chunk_size: chunk, incremental_mac: b64(mac), expect: 'valid',
    });
  }

  // 3. Whole attachments: padding, blob, digest, inferred chunk size, incremental MAC.
  const attachments = [];
  for (const size of [0, 1, 15, 16, 17, 540, 541, 542, 1000, 65536, 100000, MIB, 17 * 1000 * 1000]) {
    const key = crypto.randomBytes(64);
    const iv = crypto.randomBytes(16);
    const seed = ++id;
    const { blob, paddedLength } = encryptAttachment(pattern(size, seed), key, iv);
    const choice = IM.inferChunkSize(blob.length);
    const chunk = IM.chunkSizeInBytes(choice);
    const mac = await libsignalIncrementalMac(key.subarray(32), choice, blob);
    assert(await libsignalValidates(key.subarray(32), IM.everyNthByte(chunk), blob, mac), `validate attachment ${size}`);
    const v = {
      id, comment: `${size}-byte attachment, padded to ${paddedLength}, ${blob.length}-byte blob, ${chunk}-byte chunks`,
      key: b64(key), iv: b64(iv), size, seed, padded_size: paddedLength, blob_size: blob.length,
      digest: b64(crypto.createHash('sha256').update(blob).digest()),
      chunk_size: chunk, incremental_mac: b64(mac), expect: 'valid',
    };
    if (blob.length <= 2048) v.blob = b64(blob);
    attachments.push(v);
  }

  // 4. Padding buckets around powers of 1.05 (JavaScript float64, as Signal-Desktop).
  const padding = [];
  const seen = new Set();
  for (let k = 120; k <= 440; k += 7) {
    const p = Math.floor(1.05 ** k);
    for (const s of [p - 1, p, p + 1]) {
      if (s > 0 && !seen.has(s)) {
        seen.add(s);
        padding.push({ size: s, padded_size: Math.max(paddedSize(s), s) });
      }
    }
  }
  for (const s of [1, 2, 540, 541, 542, 1000]) padding.push({ size: s, padded_size: paddedSize(s) });

  const out = {
    source: `@signalapp/libsignal-client ${LIB}`,
    generator: 'interop/libsignal/gen-media-vectors.js',
    comment: 'Signal attachment vectors. chunk_sizes: libsignal inferChunkSize → chunkSizeInBytes for a blob length. incremental_macs: libsignal DigestingPassThrough (HMAC-SHA256, running, never reset) over data[i] = (i*31 + seed) & 0xff, re-checked with ValidatingPassThrough. attachments: blob = IV ‖ AES-256-CBC(PKCS#7(plaintext ‖ zeros to padded_size)) ‖ HMAC-SHA256(key[32:], IV ‖ ciphertext) built with node:crypto as Signal-Android does; digest = SHA-256(blob); incremental_mac from libsignal with inferChunkSize(blob_size) and key[32:] over the blob. padding: Signal-Desktop\'s max(541, floor(1.05^ceil(log(size)/log(1.05)))) in JavaScript float64. Keys are random: a regenerated file differs.',
    chunk_sizes: chunkSizes,
    incremental_macs: macs,
    attachments,
    padding,
  };
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, 'signal-attachment-incremental-mac.json');
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
