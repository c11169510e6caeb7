#!/usr/bin/env node
// Interlock issue #15: the Baileys side of the import proof
// (interop/baileys/import_test.go drives it; see README.md here).
//
// Three Baileys clients — A, B and C — each with Baileys' own signal
// repository (makeLibSignalRepository: libsignal-node, npm libsignal 6.0.0,
// and Baileys' group cipher) over Baileys' own useMultiFileAuthState, with
// addTransactionCapability as makeWASocket adds it. No WhatsApp server is
// involved: the ciphertexts are handed over here. A's auth directory is the
// one Interlock imports; B and C stay alive as the live peers Interlock
// continues with.
//
// Protocol: one JSON request per line on stdin, one JSON answer per line on
// stdout ({"ok":true,...} or {"ok":false,"error":"..."}).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import {
    addTransactionCapability, getNextPreKeys, initAuthCreds, useMultiFileAuthState,
} from 'baileys';
import { makeLibSignalRepository } from 'baileys/lib/Signal/libsignal.js';

// libsignal-node logs session changes on the console: keep stdout for the
// protocol.
console.info = console.warn = console.log = console.debug = () => {};
const logger = {
    level: 'silent',
    child() { return logger; },
    trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {},
};

const A_JID = '15550001111:7@s.whatsapp.net';
const B_JID = '15550002222@s.whatsapp.net';      // a phone-number contact, device 0
const C_JID = '987654321012345:3@lid';           // a LID contact, device 3
const D_JID = '15550004444:2@s.whatsapp.net';    // a companion device, device 2
const GROUP = '120363000000000001@g.us';

async function client(dir, me) {
    fs.mkdirSync(dir, { recursive: true });
    const { state, saveCreds } = await useMultiFileAuthState(dir);
    state.creds.me = { id: me, name: path.basename(dir) };
    state.creds.registered = true;
    // Prekeys 1-4 uploaded; 5-6 generated but not yet uploaded.
    const first = await getNextPreKeys(state, 4);
    Object.assign(state.creds, first.update);
    const second = await getNextPreKeys(state, 2);
    state.creds.nextPreKeyId = second.update.nextPreKeyId;
    await saveCreds();
    const keys = addTransactionCapability(state.keys, logger, { maxCommitRetries: 1, delayBetweenTriesMs: 1 });
    const repo = makeLibSignalRepository({ creds: state.creds, keys }, logger);
    const bundle = async (preKeyId) => {
        const { [String(preKeyId)]: pk } = await state.keys.get('pre-key', [String(preKeyId)]);
        const pub = (k) => Buffer.concat([Buffer.from([5]), Buffer.from(k)]);
        return {
            registrationId: state.creds.registrationId,
            identityKey: pub(state.creds.signedIdentityKey.public),
            signedPreKey: {
                keyId: state.creds.signedPreKey.keyId,
                publicKey: pub(state.creds.signedPreKey.keyPair.public),
                signature: Buffer.from(state.creds.signedPreKey.signature),
            },
            preKey: { keyId: preKeyId, publicKey: pub(pk.public) },
        };
    };
    return { me, state, keys, repo, bundle };
}

let peers = null;

const b64 = (b) => Buffer.from(b).toString('base64');
const text = (b) => Buffer.from(b).toString();
const nodeType = (t) => (t === 'pkmsg' ? 3 : 1);

async function setup(dir, peersDir) {
    const A = await client(dir, A_JID);
    const B = await client(path.join(peersDir, 'B'), B_JID);
    const C = await client(path.join(peersDir, 'C'), C_JID);
    const D = await client(path.join(peersDir, 'D'), D_JID);
    // Files A's directory also holds that carry no Signal-protocol state,
    // written through the same store (the socket writes them in use).
    await A.state.keys.set({
        'app-state-sync-key': { 'AAAAAF/x': { keyData: Buffer.alloc(32, 1), timestamp: '1700000000' } },
        'app-state-sync-version': { regular_high: { version: 3, hash: Buffer.alloc(128, 2), indexValueMap: {} } },
        'lid-mapping': { '15550009999': '888777666555444', '888777666555444_reverse': '15550009999' },
        'device-list': { '15550002222': ['0'] },
        'sender-key-memory': { [GROUP]: { [B_JID]: true } },
    });
    const expect = (got, want) => { if (text(got) !== want) throw new Error(`got ${text(got)}, want ${want}`); };
    const send = async (from, to, data) => ({ ...(await from.repo.encryptMessage({ jid: to.me, data: Buffer.from(data) })), data });
    const recv = (to, from, m) => to.repo.decryptMessage({ jid: from.me, type: m.type, ciphertext: m.ciphertext });
    const pending = [];
    const keep = (m) => pending.push({ from: 'B', type: nodeType(m.type), ct: b64(m.ciphertext), pt: m.data });

    // B starts with A on A's prekey 2; A answers; B sends five, A reads the
    // first and the fourth.
    await B.repo.injectE2ESession({ jid: A_JID, session: await A.bundle(2) });
    const b0 = await send(B, A, 'b0: hello A');
    expect(await recv(A, B, b0), b0.data);
    const a0 = await send(A, B, 'a0: hello B');
    expect(await recv(B, A, a0), a0.data);
    const bm = [];
    for (let i = 1; i <= 5; i++) bm.push(await send(B, A, `b${i}: chain one`));
    expect(await recv(A, B, bm[0]), bm[0].data);
    expect(await recv(A, B, bm[3]), bm[3].data);
    // A answers; on B's next chain A reads only the third message: chain
    // one is closed with keys pending, chain two has keys pending too.
    const a1 = await send(A, B, 'a1: got 1 and 4');
    expect(await recv(B, A, a1), a1.data);
    const bn = [];
    for (let i = 6; i <= 9; i++) bn.push(await send(B, A, `b${i}: chain two`));
    expect(await recv(A, B, bn[2]), bn[2].data);
    [bm[1], bm[2], bm[4], bn[0], bn[1], bn[3]].forEach(keep);

    // A starts with C and sends two PreKeyWhisperMessages C has not received.
    await A.repo.injectE2ESession({ jid: C_JID, session: await C.bundle(1) });
    const unanswered = [];
    for (let i = 1; i <= 2; i++) {
        const m = await send(A, C, `c${i}: unanswered`);
        if (m.type !== 'pkmsg') throw new Error('A → C is not a pkmsg');
        unanswered.push({ type: 3, ct: b64(m.ciphertext), pt: m.data });
    }

    // D starts with A (prekey 3) and A answers; D's d1 is in flight when D
    // re-keys (a new session on prekey 1), which A reads and answers: A's
    // first session with D is archived with d1 pending on it.
    await D.repo.injectE2ESession({ jid: A_JID, session: await A.bundle(3) });
    const d0 = await send(D, A, 'd0: hello A');
    expect(await recv(A, D, d0), d0.data);
    const ad0 = await send(A, D, 'ad0: hello D');
    expect(await recv(D, A, ad0), ad0.data);
    const d1 = await send(D, A, 'd1: on the first session');
    await D.repo.injectE2ESession({ jid: A_JID, session: await A.bundle(1) });
    const d2 = await send(D, A, 'd2: on the second session');
    if (d2.type !== 'pkmsg') throw new Error('D did not re-key');
    expect(await recv(A, D, d2), d2.data);
    const ad1 = await send(A, D, 'ad1: got d2');
    expect(await recv(D, A, ad1), ad1.data);
    pending.push({ from: 'D', type: nodeType(d1.type), ct: b64(d1.ciphertext), pt: d1.data });

    // The group: B's sender key at A — A read g1 and g3, g2 and g4 are in
    // flight — and A's own sender key at B (two messages sent).
    const gb = [];
    for (let i = 1; i <= 4; i++) {
        const data = `g${i} from B`;
        gb.push({ data, ...(await B.repo.encryptGroupMessage({ group: GROUP, meId: B_JID, data: Buffer.from(data) })) });
    }
    await A.repo.processSenderKeyDistributionMessage({
        item: { groupId: GROUP, axolotlSenderKeyDistributionMessage: gb[0].senderKeyDistributionMessage }, authorJid: B_JID,
    });
    for (const i of [0, 2]) expect(await A.repo.decryptGroupMessage({ group: GROUP, authorJid: B_JID, msg: gb[i].ciphertext }), gb[i].data);
    for (const i of [1, 3]) pending.push({ from: 'B', group: GROUP, type: 0, ct: b64(gb[i].ciphertext), pt: gb[i].data });
    for (let i = 1; i <= 2; i++) {
        const data = `ga${i} from A`;
        const m = await A.repo.encryptGroupMessage({ group: GROUP, meId: A_JID, data: Buffer.from(data) });
        if (i === 1) {
            await B.repo.processSenderKeyDistributionMessage({
                item: { groupId: GROUP, axolotlSenderKeyDistributionMessage: m.senderKeyDistributionMessage }, authorJid: A_JID,
            });
        }
        expect(await B.repo.decryptGroupMessage({ group: GROUP, authorJid: A_JID, msg: m.ciphertext }), data);
    }
    peers = { B, C, D };
    return {
        me: A_JID, group: GROUP, pending, unanswered,
        addrB: A.repo.jidToSignalProtocolAddress(B_JID), addrC: A.repo.jidToSignalProtocolAddress(C_JID),
        addrD: A.repo.jidToSignalProtocolAddress(D_JID),
    };
}

async function handle(req) {
    switch (req.op) {
    case 'setup':
        return setup(req.dir, req.peers);
    case 'encrypt': { // a peer → A
        const m = await peers[req.peer].repo.encryptMessage({ jid: A_JID, data: Buffer.from(req.pt) });
        return { type: nodeType(m.type), ct: b64(m.ciphertext) };
    }
    case 'decrypt': { // A → a peer
        const pt = await peers[req.peer].repo.decryptMessage({
            jid: A_JID, type: req.type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(req.ct, 'base64'),
        });
        return { pt: text(pt) };
    }
    case 'groupEncrypt': { // B → the group
        const m = await peers.B.repo.encryptGroupMessage({ group: GROUP, meId: B_JID, data: Buffer.from(req.pt) });
        return { ct: b64(m.ciphertext) };
    }
    case 'groupDecrypt': { // A → the group, read by B
        const pt = await peers.B.repo.decryptGroupMessage({ group: GROUP, authorJid: A_JID, msg: Buffer.from(req.ct, 'base64') });
        return { pt: text(pt) };
    }
    default:
        throw new Error('unknown op ' + req.op);
    }
}

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on('line', (line) => {
    queue = queue.then(async () => {
        let out;
        try {
            out = { ok: true, ...(await handle(JSON.parse(line))) };
        } catch (e) {
            out = { ok: false, error: String((e && e.stack) || e) };
        }
        process.stdout.write(JSON.stringify(out) + '\n');
    });
});
