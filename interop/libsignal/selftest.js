#!/usr/bin/env node
// Self-test of peer.js: spawns two peers and drives them through the peer
// protocol. Prints "N passed, M failed" and exits non-zero on any failure.
//
//   node selftest.js                 # 0.90<->0.90, 0.103<->0.103, and the cross pairs
//   node selftest.js --lib 0.90      # one version only
//   node selftest.js --cross         # only 0.90<->0.103 in both directions

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PEER = path.join(HERE, 'peer.js');

class Peer {
  constructor(lib, label) {
    this.lib = lib;
    this.label = label;
    this.nextId = 1;
    this.waiting = [];
    this.proc = spawn(process.execPath, [PEER, '--lib', lib], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.stderr = '';
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    readline.createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const w = this.waiting.shift();
      if (!w) {
        console.error(`${label}: unexpected output ${line}`);
        return;
      }
      try {
        w.resolve(JSON.parse(line));
      } catch (e) {
        w.reject(new Error(`${label}: bad response line ${line}`));
      }
    });
    this.exited = new Promise((res) => this.proc.on('exit', (code) => res(code)));
  }

  raw(line) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.proc.stdin.write(`${line}\n`);
    });
  }

  async req(op, fields = {}) {
    const id = this.nextId++;
    const res = await this.raw(JSON.stringify({ id, op, ...fields }));
    if (res.id !== id) throw new Error(`${this.label}: response id ${res.id} != ${id}`);
    return res;
  }

  async ok(op, fields = {}) {
    const res = await this.req(op, fields);
    if (!res.ok) throw new Error(`${this.label}: ${op} failed: ${JSON.stringify(res.error)}`);
    return res;
  }

  async close() {
    this.proc.stdin.end();
    return this.exited;
  }
}

const b64 = (s) => Buffer.from(s).toString('base64');
const unb64 = (s) => Buffer.from(s, 'base64');

let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.error(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.error(`FAIL ${name}: ${e.message}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function expectKind(p, op, fields, kind) {
  const r = await p.req(op, fields);
  assert(!r.ok, `${op} unexpectedly succeeded`);
  assert(r.error.kind === kind, `${op}: kind ${r.error.kind} (${r.error.message}), want ${kind}`);
  return r;
}

async function send(from, to, text) {
  const e = await from.ok('encrypt', { address: to.addr, plaintext: b64(text) });
  const d = await to.ok('decrypt', { address: from.addr, type: e.type, ciphertext: e.ciphertext });
  assert(unb64(d.plaintext).toString() === text, 'plaintext mismatch');
  return e;
}

async function pair(libA, libB) {
  const tag = `${libA}->${libB}`;
  const A = new Peer(libA, `A(${libA})`);
  const B = new Peer(libB, `B(${libB})`);
  A.addr = { name: crypto.randomUUID(), device: 1 };
  B.addr = { name: crypto.randomUUID(), device: 2 };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lsp-'));
  try {
    await check(`${tag} capabilities`, async () => {
      const c = await A.ok('capabilities');
      assert(c.ops.includes('sealed_decrypt') && c.implementation.startsWith('libsignal-client'), 'caps');
    });
    await check(`${tag} init`, async () => {
      A.init = await A.ok('init', { ...A.addr, registration_id: 1234 });
      B.init = await B.ok('init', { ...B.addr, store: path.join(tmp, 'b.json') });
      assert(A.init.registration_id === 1234, 'registration id not honoured');
      assert(unb64(A.init.identity_key).length === 33, 'identity key length');
    });
    let established = false;
    await check(`${tag} bundle + process_bundle`, async () => {
      const { bundle } = await B.ok('bundle', {});
      assert(bundle.kyber_prekey && bundle.prekey, 'bundle lacks fields');
      await A.ok('process_bundle', { address: B.addr, bundle });
      const s = await A.ok('session', { address: B.addr });
      assert(s.exists && s.version === 4, `session ${JSON.stringify(s)}`);
      established = true;
    });
    if (!established) return;
    let firstType = 0;
    await check(`${tag} 5 messages A->B`, async () => {
      for (let i = 0; i < 5; i++) {
        const e = await send(A, B, `a->b ${i}`);
        if (i === 0) firstType = e.type;
      }
      assert(firstType === 3, `first message type ${firstType}`);
    });
    await check(`${tag} 5 messages B->A`, async () => {
      for (let i = 0; i < 5; i++) {
        const e = await send(B, A, `b->a ${i}`);
        assert(e.type === 2, `type ${e.type}`);
      }
      const s = await B.ok('session', { address: A.addr });
      assert(s.exists && s.version === 4, `B session ${JSON.stringify(s)}`);
    });
    await check(`${tag} duplicate -> duplicate_message`, async () => {
      const e = await A.ok('encrypt', { address: B.addr, plaintext: b64('dup') });
      await B.ok('decrypt', { address: A.addr, type: e.type, ciphertext: e.ciphertext });
      await expectKind(B, 'decrypt', { address: A.addr, type: e.type, ciphertext: e.ciphertext },
        'duplicate_message');
    });
    await check(`${tag} tampered -> invalid_message, then continues`, async () => {
      const e = await A.ok('encrypt', { address: B.addr, plaintext: b64('tamper me') });
      const bad = unb64(e.ciphertext);
      bad[bad.length - 20] ^= 0x01; // inside the AES-CBC body
      await expectKind(B, 'decrypt', { address: A.addr, type: e.type, ciphertext: b64(bad) }, 'invalid_message');
      const d = await B.ok('decrypt', { address: A.addr, type: e.type, ciphertext: e.ciphertext });
      assert(unb64(d.plaintext).toString() === 'tamper me', 'original after tamper');
      await send(B, A, 'after tamper');
      await send(A, B, 'after tamper 2');
    });
    await check(`${tag} out of order`, async () => {
      const es = [];
      for (let i = 0; i < 4; i++) es.push(await A.ok('encrypt', { address: B.addr, plaintext: b64(`ooo ${i}`) }));
      for (const i of [2, 0, 3, 1]) {
        const d = await B.ok('decrypt', { address: A.addr, type: es[i].type, ciphertext: es[i].ciphertext });
        assert(unb64(d.plaintext).toString() === `ooo ${i}`, 'ooo plaintext');
      }
    });
    await check(`${tag} restart with store keeps B's state`, async () => {
      await B.ok('restart');
      await send(A, B, 'after restart');
      await send(B, A, 'after restart back');
    });
    await check(`${tag} group round-trip`, async () => {
      const dist = crypto.randomUUID();
      const m = await A.ok('group_distribution', { distribution_id: dist });
      await B.ok('group_process', { address: A.addr, message: m.message });
      for (let i = 0; i < 3; i++) {
        const g = await A.ok('group_encrypt', { distribution_id: dist, plaintext: b64(`group ${i}`) });
        const d = await B.ok('group_decrypt', { address: A.addr, ciphertext: g.ciphertext });
        assert(unb64(d.plaintext).toString() === `group ${i}`, 'group plaintext');
      }
      const g = await A.ok('group_encrypt', { distribution_id: dist, plaintext: b64('again') });
      await B.ok('group_decrypt', { address: A.addr, ciphertext: g.ciphertext });
      await expectKind(B, 'group_decrypt', { address: A.addr, ciphertext: g.ciphertext }, 'duplicate_message');
      const other = crypto.randomUUID();
      await expectKind(A, 'group_encrypt', { distribution_id: other, plaintext: b64('x') }, 'no_session');
      await A.ok('group_distribution', { distribution_id: other }); // never delivered to B
      const g2 = await A.ok('group_encrypt', { distribution_id: other, plaintext: b64('x') });
      await expectKind(B, 'group_decrypt', { address: A.addr, ciphertext: g2.ciphertext }, 'no_session');
    });
    await check(`${tag} sealed sender round-trip`, async () => {
      const sk = await A.ok('server_keys');
      const now = Date.now();
      const cert = await A.ok('sender_certificate', {
        address: A.addr, identity_key: A.init.identity_key, expires: now + 3600_000,
      });
      const s = await A.ok('sealed_encrypt', { address: B.addr, plaintext: b64('sealed hi'), certificate: cert.certificate });
      const d = await B.ok('sealed_decrypt', { ciphertext: s.ciphertext, trust_root: sk.trust_root, now });
      assert(unb64(d.plaintext).toString() === 'sealed hi', 'sealed plaintext');
      assert(d.sender.name === A.addr.name && d.sender.device === A.addr.device, `sender ${JSON.stringify(d.sender)}`);
      assert(d.type === 2, `inner type ${d.type}`);
      const s2 = await A.ok('sealed_encrypt', { address: B.addr, plaintext: b64('late'), certificate: cert.certificate });
      await expectKind(B, 'sealed_decrypt', { ciphertext: s2.ciphertext, trust_root: sk.trust_root, now: now + 7200_000 },
        'invalid_message');
      const wrongRoot = (await B.ok('server_keys')).trust_root;
      await expectKind(B, 'sealed_decrypt', { ciphertext: s2.ciphertext, trust_root: wrongRoot, now }, 'invalid_signature');
      const d2 = await B.ok('sealed_decrypt', { ciphertext: s2.ciphertext, trust_root: sk.trust_root, now });
      assert(unb64(d2.plaintext).toString() === 'late', 'sealed after rejects');
    });
    await check(`${tag} sealed sender group message`, async () => {
      const dist = crypto.randomUUID();
      const m = await B.ok('group_distribution', { distribution_id: dist });
      await A.ok('group_process', { address: B.addr, message: m.message });
      const sk = await B.ok('server_keys');
      const now = Date.now();
      const cert = await B.ok('sender_certificate', { address: B.addr, identity_key: B.init.identity_key, expires: now + 1000 });
      // A sealed group message needs the raw USMC path, which the protocol does not expose;
      // check instead that a sealed 1:1 message from B reaches A with its type.
      const s = await B.ok('sealed_encrypt', { address: A.addr, plaintext: b64('b sealed'), certificate: cert.certificate });
      const d = await A.ok('sealed_decrypt', { ciphertext: s.ciphertext, trust_root: sk.trust_root, now });
      assert(d.type === 2 && unb64(d.plaintext).toString() === 'b sealed', 'b sealed');
    });
    await check(`${tag} fingerprint v2 and v1 agree`, async () => {
      for (const version of [2, 1]) {
        const ids = version === 2 ? [A.addr.name, B.addr.name] : ['+14155550100', '+14155550101'];
        const fa = await A.ok('fingerprint', { version, local_id: ids[0], remote_id: ids[1], remote_identity_key: B.init.identity_key });
        const fb = await B.ok('fingerprint', { version, local_id: ids[1], remote_id: ids[0], remote_identity_key: A.init.identity_key });
        assert(/^\d{60}$/.test(fa.displayable), `displayable ${fa.displayable}`);
        assert(fa.displayable === fb.displayable, `v${version} displayable differs`);
        assert(fa.scannable !== fb.scannable, 'scannable should be side-specific');
      }
    });
    await check(`${tag} bundle without kyber -> unsupported`, async () => {
      const { bundle } = await B.ok('bundle', { kyber: false, one_time: false });
      assert(bundle.kyber_prekey === undefined && bundle.prekey === undefined, 'fields present');
      await expectKind(A, 'process_bundle', { address: B.addr, bundle }, 'unsupported');
    });
    await check(`${tag} bundle without one-time prekey`, async () => {
      const C = new Peer(libA, 'C');
      try {
        const caddr = { name: crypto.randomUUID(), device: 3 };
        await C.ok('init', caddr);
        const { bundle } = await B.ok('bundle', { one_time: false });
        await C.ok('process_bundle', { address: B.addr, bundle });
        const e = await C.ok('encrypt', { address: B.addr, plaintext: b64('no opk') });
        const d = await B.ok('decrypt', { address: caddr, type: e.type, ciphertext: e.ciphertext });
        assert(unb64(d.plaintext).toString() === 'no opk', 'no opk plaintext');
        // Replaying the PreKeySignalMessage after the Kyber prekey was used.
        await expectKind(B, 'decrypt', { address: caddr, type: e.type, ciphertext: e.ciphertext }, 'duplicate_message');
      } finally {
        await C.close();
      }
    });
    await check(`${tag} reused bundle -> invalid_prekey`, async () => {
      const C = new Peer(libA, 'C');
      const D = new Peer(libA, 'D');
      try {
        const caddr = { name: crypto.randomUUID(), device: 1 };
        const daddr = { name: crypto.randomUUID(), device: 1 };
        await C.ok('init', caddr);
        await D.ok('init', daddr);
        const { bundle } = await B.ok('bundle', {});
        await C.ok('process_bundle', { address: B.addr, bundle });
        await D.ok('process_bundle', { address: B.addr, bundle });
        const ec = await C.ok('encrypt', { address: B.addr, plaintext: b64('c') });
        const ed = await D.ok('encrypt', { address: B.addr, plaintext: b64('d') });
        await B.ok('decrypt', { address: caddr, type: ec.type, ciphertext: ec.ciphertext });
        await expectKind(B, 'decrypt', { address: daddr, type: ed.type, ciphertext: ed.ciphertext }, 'invalid_prekey');
      } finally {
        await C.close();
        await D.close();
      }
    });
    await check(`${tag} identity change -> untrusted_identity, trust fixes it`, async () => {
      const A2 = new Peer(libA, 'A2');
      try {
        const i2 = await A2.ok('init', A.addr); // same name, new identity
        const { bundle } = await B.ok('bundle', {});
        await A2.ok('process_bundle', { address: B.addr, bundle });
        const e = await A2.ok('encrypt', { address: B.addr, plaintext: b64('new me') });
        await expectKind(B, 'decrypt', { address: A.addr, type: e.type, ciphertext: e.ciphertext }, 'untrusted_identity');
        // A bundle from B seen by A2 is fine; B's view of A changed. Old A's bundle for B:
        await B.ok('trust', { address: A.addr, identity_key: i2.identity_key });
        const d = await B.ok('decrypt', { address: A.addr, type: e.type, ciphertext: e.ciphertext });
        assert(unb64(d.plaintext).toString() === 'new me', 'after trust');
        // Now the old A is the stranger.
        const old = await A.ok('encrypt', { address: B.addr, plaintext: b64('old me') });
        await expectKind(B, 'decrypt', { address: A.addr, type: old.type, ciphertext: old.ciphertext }, 'untrusted_identity');
      } finally {
        await A2.close();
      }
    });
    await check(`${tag} bad requests answered, not fatal`, async () => {
      const r1 = await A.raw('{not json');
      assert(!r1.ok && r1.error.kind === 'other', 'bad json');
      const r2 = await A.req('encrypt', {});
      assert(!r2.ok && r2.error.kind === 'other', `missing fields: ${JSON.stringify(r2)}`);
      const r3 = await A.req('frobnicate', {});
      assert(!r3.ok && r3.error.kind === 'unsupported', 'unsupported');
      const r4 = await A.req('decrypt', { address: B.addr, type: 2, ciphertext: b64('xx') });
      assert(!r4.ok && r4.error.kind === 'invalid_message', `garbage ciphertext: ${JSON.stringify(r4.error)}`);
      const r5 = await A.req('process_bundle', { address: B.addr, bundle: { registration_id: 1, identity_key: b64('abc') } });
      assert(!r5.ok, 'bad bundle');
    });
  } finally {
    const [ca, cb] = await Promise.all([A.close(), B.close()]);
    await check(`${tag} peers exit 0 at EOF`, async () => {
      assert(ca === 0 && cb === 0, `exit codes ${ca} ${cb}; stderr A: ${A.stderr.slice(-500)} B: ${B.stderr.slice(-500)}`);
    });
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
let pairs = [['0.90', '0.90'], ['0.103', '0.103'], ['0.90', '0.103'], ['0.103', '0.90']];
if (argv[0] === '--lib') pairs = [[argv[1], argv[1]]];
if (argv[0] === '--cross') pairs = [['0.90', '0.103'], ['0.103', '0.90']];
for (const [a, b] of pairs) await pair(a, b);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
