#!/usr/bin/env node
// Interlock issue #15: the Baileys side of the import proof
// (interop/baileys/import_test.go drives it; see README.md here).
//
// Account A is a Baileys client: libsignal-node (npm libsignal 6.0.0, the
// WhiskeySockets fork Baileys uses) over a store that writes A's auth
// directory in the layout of Baileys' useMultiFileAuthState — creds.json,
// session-<user>.<device>.json, identity-key-…, pre-key-<id>.json,
// sender-key-<group>--<user>--<device>.json, with BufferJSON's
// {"type":"Buffer","data":"<base64>"} — and Baileys' group-cipher record
// format. Peers B and C are further libsignal-node instances (in memory),
// the live peers Interlock continues with after the import. The layout and
// formats were checked against Baileys' src/Utils/use-multi-file-auth-state.ts,
// src/Utils/generics.ts, src/Signal/libsignal.ts and src/Signal/Group/*
// (read, not copied: this is an independent implementation).
//
// Protocol: one JSON request per line on stdin, one JSON answer per line on
// stdout ({"ok":true,...} or {"ok":false,"error":"..."}).
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const nodeCrypto = require('crypto');
const libsignal = require('libsignal');
const { curve, crypto } = libsignal;

// Silence libsignal-node's console chatter (it logs session changes).
console.info = console.warn = console.log = () => {};

// ---- Baileys' BufferJSON and file naming ----

function replacer(k, value) {
    if (Buffer.isBuffer(value) || value instanceof Uint8Array || (value && value.type === 'Buffer')) {
        return { type: 'Buffer', data: Buffer.from(value.data || value).toString('base64') };
    }
    return value;
}
function reviver(_, value) {
    if (value && typeof value === 'object' && value.type === 'Buffer' && typeof value.data === 'string') {
        return Buffer.from(value.data, 'base64');
    }
    return value;
}
const fixFileName = (f) => f.replace(/\//g, '__').replace(/:/g, '-');

class MultiFileStore {
    constructor(dir) { this.dir = dir; fs.mkdirSync(dir, { recursive: true }); }
    file(name) { return path.join(this.dir, fixFileName(name)); }
    write(name, value) { fs.writeFileSync(this.file(name), JSON.stringify(value, replacer)); }
    read(name) {
        try { return JSON.parse(fs.readFileSync(this.file(name), 'utf-8'), reviver); } catch { return null; }
    }
    remove(name) { try { fs.unlinkSync(this.file(name)); } catch {} }
    get(type, id) { return this.read(`${type}-${id}.json`); }
    set(type, id, value) { value ? this.write(`${type}-${id}.json`, value) : this.remove(`${type}-${id}.json`); }
}

const signalPub = (pub) => (pub.length === 33 ? Buffer.from(pub) : Buffer.concat([Buffer.from([5]), pub]));
// Baileys' Curve.generateKeyPair: the public key without the type byte.
function baileysKeyPair() {
    const { pubKey, privKey } = curve.generateKeyPair();
    return { private: Buffer.from(privKey), public: Buffer.from(pubKey.slice(1)) };
}

// A's Baileys storage (the signalStorage of Baileys' libsignal.ts, over the
// multi-file store).
function baileysStorage(store, creds) {
    return {
        async loadSession(id) {
            const s = store.get('session', id);
            return s ? libsignal.SessionRecord.deserialize(s) : null;
        },
        async storeSession(id, rec) { store.set('session', id, rec.serialize()); },
        isTrustedIdentity() { return true; },
        async loadPreKey(id) {
            const k = store.get('pre-key', String(id));
            return k ? { privKey: Buffer.from(k.private), pubKey: Buffer.from(k.public) } : undefined;
        },
        async removePreKey(id) { store.set('pre-key', String(id), null); },
        loadSignedPreKey() {
            const k = creds.signedPreKey;
            return { privKey: Buffer.from(k.keyPair.private), pubKey: Buffer.from(k.keyPair.public) };
        },
        getOurRegistrationId() { return creds.registrationId; },
        getOurIdentity() {
            return { privKey: Buffer.from(creds.signedIdentityKey.private), pubKey: signalPub(creds.signedIdentityKey.public) };
        },
    };
}

// A plain in-memory libsignal-node storage for the peers.
function memoryStorage(identity, registrationId, signedPreKey, preKeys) {
    const sessions = new Map();
    return {
        identity, registrationId, signedPreKey, preKeys,
        async loadSession(id) { const s = sessions.get(id); return s ? libsignal.SessionRecord.deserialize(s) : null; },
        async storeSession(id, rec) { sessions.set(id, rec.serialize()); },
        isTrustedIdentity() { return true; },
        async loadPreKey(id) { const k = preKeys.get(id); return k ? k.keyPair : undefined; },
        async removePreKey(id) { preKeys.delete(id); },
        loadSignedPreKey() { return signedPreKey.keyPair; },
        getOurRegistrationId() { return registrationId; },
        getOurIdentity() { return identity; },
    };
}

function newPeer(name, addr) {
    const identity = libsignal.keyhelper.generateIdentityKeyPair();
    const reg = libsignal.keyhelper.generateRegistrationId();
    const spk = libsignal.keyhelper.generateSignedPreKey(identity, 1);
    const pk = libsignal.keyhelper.generatePreKey(31);
    const st = memoryStorage(identity, reg, spk, new Map([[31, pk]]));
    return {
        name, addr, st, groups: new Map(),
        bundle() {
            return {
                identityKey: identity.pubKey, registrationId: reg,
                signedPreKey: { keyId: 1, publicKey: spk.keyPair.pubKey, signature: spk.signature },
                preKey: { keyId: 31, publicKey: pk.keyPair.pubKey },
            };
        },
    };
}

// ---- Baileys' group cipher format (src/Signal/Group), reimplemented ----
// Records: an array of states {senderKeyId, senderChainKey {iteration, seed},
// senderSigningKey {public, private}, senderMessageKeys [{iteration, seed}]},
// newest last, JSON.stringify'd (Buffers as {"type":"Buffer","data":[…]}),
// stored as a Buffer of that text.

function varint(n) {
    const out = [];
    n = Number(n);
    while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); }
    out.push(n);
    return Buffer.from(out);
}
function pbField(num, v) {
    if (Buffer.isBuffer(v)) return Buffer.concat([varint(num << 3 | 2), varint(v.length), v]);
    return Buffer.concat([varint(num << 3), varint(v)]);
}
function pbParse(b) {
    const out = {};
    let i = 0;
    const rd = () => { let n = 0, m = 1, x; do { x = b[i++]; n += (x & 0x7f) * m; m *= 128; } while (x & 0x80); return n; };
    while (i < b.length) {
        const tag = rd(), num = tag >> 3, wt = tag & 7;
        if (wt === 0) out[num] = rd();
        else if (wt === 2) { const l = rd(); out[num] = b.slice(i, i + l); i += l; }
        else throw new Error('wire type ' + wt);
    }
    return out;
}
const hmac = (key, byte) => crypto.calculateMAC(Buffer.from(key), Buffer.from([byte]));
function msgKeys(seed) {
    const d = crypto.deriveSecrets(Buffer.from(seed), Buffer.alloc(32), Buffer.from('WhisperGroup'));
    return { iv: d[0].slice(0, 16), key: Buffer.concat([d[0].slice(16), d[1].slice(0, 16)]) };
}
const seedOf = (s) => Buffer.from(s.data !== undefined ? s.data : s);

function senderKeyFor(state, iteration) {
    let it = state.senderChainKey.iteration, ck = seedOf(state.senderChainKey.seed);
    if (it > iteration) {
        const i = state.senderMessageKeys.findIndex((k) => k.iteration === iteration);
        if (i < 0) throw new Error(`old counter ${it} ${iteration}`);
        const k = state.senderMessageKeys.splice(i, 1)[0];
        return seedOf(k.seed);
    }
    if (iteration - it > 2000) throw new Error('over 2000 messages into the future');
    while (it < iteration) {
        state.senderMessageKeys.push({ iteration: it, seed: hmac(ck, 1) });
        ck = hmac(ck, 2); it++;
    }
    state.senderChainKey = { iteration: it + 1, seed: hmac(ck, 2) };
    return hmac(ck, 1);
}

const group = {
    create() {
        const kp = curve.generateKeyPair();
        return [{
            senderKeyId: nodeCrypto.randomInt(2147483647),
            senderChainKey: { iteration: 0, seed: nodeCrypto.randomBytes(32) },
            senderSigningKey: { public: Buffer.from(kp.pubKey), private: Buffer.from(kp.privKey) },
            senderMessageKeys: [],
        }];
    },
    skdm(rec) {
        const s = rec[rec.length - 1];
        const body = Buffer.concat([pbField(1, s.senderKeyId), pbField(2, s.senderChainKey.iteration),
            pbField(3, seedOf(s.senderChainKey.seed)), pbField(4, signalPub(seedOf(s.senderSigningKey.public)))]);
        return Buffer.concat([Buffer.from([0x33]), body]);
    },
    process(rec, skdm) {
        const m = pbParse(skdm.slice(1));
        rec.push({
            senderKeyId: m[1] || 0, senderChainKey: { iteration: m[2] || 0, seed: Buffer.from(m[3]) },
            senderSigningKey: { public: Buffer.from(m[4]), private: Buffer.alloc(0) }, senderMessageKeys: [],
        });
        if (rec.length > 5) rec.shift();
        return rec;
    },
    // Baileys' GroupCipher.encrypt uses iteration 0, then the chain's
    // iteration + 1 (keeping a skipped key for the one in between).
    encrypt(rec, pt) {
        const s = rec[rec.length - 1];
        const it = s.senderChainKey.iteration;
        const target = it === 0 ? 0 : it + 1;
        const { iv, key } = msgKeys(senderKeyFor(s, target));
        const body = Buffer.concat([pbField(1, s.senderKeyId), pbField(2, target), pbField(3, crypto.encrypt(key, Buffer.from(pt), iv))]);
        const signed = Buffer.concat([Buffer.from([0x33]), body]);
        return Buffer.concat([signed, Buffer.from(curve.calculateSignature(seedOf(s.senderSigningKey.private), signed))]);
    },
    decrypt(rec, ct) {
        const signed = ct.slice(0, ct.length - 64), sig = ct.slice(ct.length - 64);
        const m = pbParse(signed.slice(1));
        const s = rec.find((x) => x.senderKeyId === (m[1] || 0));
        if (!s) throw new Error('no sender-key state ' + m[1]);
        if (!curve.verifySignature(signalPub(seedOf(s.senderSigningKey.public)), signed, sig)) throw new Error('bad signature');
        const { iv, key } = msgKeys(senderKeyFor(s, m[2] || 0));
        return crypto.decrypt(key, m[3] || Buffer.alloc(0), iv);
    },
    // What Baileys' storeSenderKey writes: a Buffer of JSON.stringify(states).
    toStored: (rec) => Buffer.from(JSON.stringify(rec), 'utf-8'),
    fromStored: (b) => (b ? JSON.parse(Buffer.from(b).toString('utf-8')) : []),
};

// ---- The scenario ----

const A_JID = '15550001111:7@s.whatsapp.net';
const A_ADDR = new libsignal.ProtocolAddress('15550001111', 7);
const GROUP = '120363000000000001@g.us';
const B_ADDR = '15550002222.0';        // a phone-number contact, device 0
const C_ADDR = '987654321012345_1.3';  // a LID contact (domain 1), device 3

let st = null;

async function setup(dir) {
    const store = new MultiFileStore(dir);
    const identity = baileysKeyPair();
    const spk = baileysKeyPair();
    const creds = {
        noiseKey: baileysKeyPair(), pairingEphemeralKeyPair: baileysKeyPair(),
        signedIdentityKey: identity,
        signedPreKey: { keyPair: spk, signature: Buffer.from(curve.calculateSignature(identity.private, signalPub(spk.public))), keyId: 1 },
        registrationId: libsignal.keyhelper.generateRegistrationId(),
        advSecretKey: nodeCrypto.randomBytes(32).toString('base64'),
        processedHistoryMessages: [], nextPreKeyId: 6, firstUnuploadedPreKeyId: 4, accountSyncCounter: 0,
        accountSettings: { unarchiveChats: false }, registered: true,
        me: { id: A_JID, lid: '111222333444555:7@lid', name: 'A' },
    };
    store.write('creds.json', creds);
    for (let id = 1; id <= 5; id++) store.set('pre-key', String(id), baileysKeyPair());
    // Files useMultiFileAuthState also holds, which carry no Signal state.
    store.set('app-state-sync-key', 'AAAAAF/x', { keyData: nodeCrypto.randomBytes(32), timestamp: '1700000000' });
    store.set('app-state-sync-version', 'regular_high', { version: 3, hash: nodeCrypto.randomBytes(128), indexValueMap: {} });
    store.set('lid-mapping', '15550002222', '888777666555444');
    store.set('device-list', '15550002222', ['0']);
    store.set('sender-key-memory', GROUP, { '15550002222:0@s.whatsapp.net': true });

    const A = baileysStorage(store, creds);
    const aBundle = (preKeyId) => {
        const k = store.get('pre-key', String(preKeyId));
        return {
            identityKey: signalPub(identity.public), registrationId: creds.registrationId,
            signedPreKey: { keyId: 1, publicKey: signalPub(spk.public), signature: creds.signedPreKey.signature },
            preKey: { keyId: preKeyId, publicKey: signalPub(k.public) },
        };
    };
    const B = newPeer('B', B_ADDR), C = newPeer('C', C_ADDR);
    const peers = { B, C };
    const cipher = (s, addr) => new libsignal.SessionCipher(s, typeof addr === 'string' ? libsignal.ProtocolAddress.from(addr) : addr);
    const aDecrypt = async (from, m) => {
        const c = cipher(A, from);
        if (m.type === 3) {
            // Baileys' decryptMessage saves the sender's identity from a pkmsg.
            store.set('identity-key', from, pbParse(m.body.slice(1))[3]);
            return c.decryptPreKeyWhisperMessage(m.body);
        }
        return c.decryptWhisperMessage(m.body);
    };
    const pending = [];
    const enc = async (s, addr, text) => { const m = await cipher(s, addr).encrypt(Buffer.from(text)); return { type: m.type, body: Buffer.from(m.body, 'binary'), text }; };
    const expect = (pt, text) => { if (Buffer.from(pt).toString() !== text) throw new Error(`got ${pt}, want ${text}`); };

    // B starts with A (A's prekey 2), A answers; B sends five, A reads 1 and 4.
    await new libsignal.SessionBuilder(B.st, A_ADDR).initOutgoing(aBundle(2));
    const b0 = await enc(B.st, A_ADDR, 'b0: hello A');
    expect(await aDecrypt(B_ADDR, b0), b0.text);
    expect(await cipher(B.st, A_ADDR).decryptWhisperMessage((await enc(A, B_ADDR, 'a0: hello B')).body), 'a0: hello B');
    const bm = [];
    for (let i = 1; i <= 5; i++) bm.push(await enc(B.st, A_ADDR, `b${i}: chain one`));
    expect(await aDecrypt(B_ADDR, bm[0]), bm[0].text);
    expect(await aDecrypt(B_ADDR, bm[3]), bm[3].text);
    // A answers; B's next chain: A reads only its last message, then B
    // sends one more nobody reads: chain one is closed with keys pending.
    expect(await cipher(B.st, A_ADDR).decryptWhisperMessage((await enc(A, B_ADDR, 'a1: got 1 and 4')).body), 'a1: got 1 and 4');
    const bn = [];
    for (let i = 6; i <= 9; i++) bn.push(await enc(B.st, A_ADDR, `b${i}: chain two`));
    expect(await aDecrypt(B_ADDR, bn[2]), bn[2].text);
    for (const m of [bm[1], bm[2], bm[4], bn[0], bn[1], bn[3]]) pending.push({ from: 'B', addr: B_ADDR, type: m.type, ct: m.body.toString('base64'), pt: m.text });

    // A starts with C (C's bundle) and sends two PreKeyWhisperMessages C has
    // not received: unanswered.
    await new libsignal.SessionBuilder(A, libsignal.ProtocolAddress.from(C_ADDR)).initOutgoing(C.bundle());
    const unanswered = [];
    for (let i = 1; i <= 2; i++) {
        const m = await enc(A, C_ADDR, `c${i}: unanswered`);
        if (m.type !== 3) throw new Error('A → C is not a pkmsg');
        unanswered.push({ type: m.type, ct: m.body.toString('base64'), pt: m.text });
    }

    // The group: B's sender key at A (A read g1 and g3; g2 pending, g4 in
    // flight), and A's own sender key at B (two messages sent).
    const bGroup = group.create();
    let aHasB = group.process(group.fromStored(store.get('sender-key', `${GROUP}::15550002222::0`)), group.skdm(bGroup));
    const gm = [];
    for (let i = 1; i <= 4; i++) gm.push({ text: `g${i} from B`, ct: group.encrypt(bGroup, `g${i} from B`) });
    expect(group.decrypt(aHasB, gm[0].ct), gm[0].text);
    expect(group.decrypt(aHasB, gm[2].ct), gm[2].text);
    store.set('sender-key', `${GROUP}::15550002222::0`, group.toStored(aHasB));
    for (const m of [gm[1], gm[3]]) pending.push({ from: 'B', addr: B_ADDR, group: GROUP, type: 0, ct: m.ct.toString('base64'), pt: m.text });
    const aGroup = group.create();
    store.set('sender-key', `${GROUP}::15550001111::7`, group.toStored(aGroup));
    B.groups.set('A', group.process([], group.skdm(aGroup)));
    for (let i = 1; i <= 2; i++) {
        const rec = group.fromStored(store.get('sender-key', `${GROUP}::15550001111::7`));
        const ct = group.encrypt(rec, `ga${i} from A`);
        store.set('sender-key', `${GROUP}::15550001111::7`, group.toStored(rec));
        expect(group.decrypt(B.groups.get('A'), ct), `ga${i} from A`);
    }
    B.groups.set('self', bGroup);
    st = { peers };
    return { me: A_JID, group: GROUP, pending, unanswered, addrB: B_ADDR, addrC: C_ADDR };
}

async function handle(req) {
    switch (req.op) {
    case 'setup':
        return setup(req.dir);
    case 'encrypt': { // a peer → A
        const p = st.peers[req.peer];
        const m = await new libsignal.SessionCipher(p.st, A_ADDR).encrypt(Buffer.from(req.pt));
        return { type: m.type, ct: Buffer.from(m.body, 'binary').toString('base64') };
    }
    case 'decrypt': { // A → a peer
        const p = st.peers[req.peer];
        const c = new libsignal.SessionCipher(p.st, A_ADDR);
        const body = Buffer.from(req.ct, 'base64');
        const pt = req.type === 3 ? await c.decryptPreKeyWhisperMessage(body) : await c.decryptWhisperMessage(body);
        return { pt: Buffer.from(pt).toString() };
    }
    case 'groupEncrypt': // B → the group
        return { ct: group.encrypt(st.peers.B.groups.get('self'), req.pt).toString('base64') };
    case 'groupDecrypt': // A → the group, read by B
        return { pt: Buffer.from(group.decrypt(st.peers.B.groups.get('A'), Buffer.from(req.ct, 'base64'))).toString() };
    default:
        throw new Error('unknown op ' + req.op);
    }
}

const rl = readline.createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
    chain = chain.then(async () => {
        let out;
        try {
            out = Object.assign({ ok: true }, await handle(JSON.parse(line)));
        } catch (e) {
            out = { ok: false, error: String(e && e.stack || e) };
        }
        process.stdout.write(JSON.stringify(out) + '\n');
    });
});
