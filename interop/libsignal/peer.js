#!/usr/bin/env node
// Conformance peer backed by the official libsignal Node binding
// (@signalapp/libsignal-client). It speaks the JSON-lines protocol of
// docs/peer-protocol.md (version 2): one request per stdin line,
// exactly one response line per request on stdout, diagnostics on stderr.
//
//   node peer.js [--lib 0.90|0.103] [--verbose]
//
// This is a test tool. It is not part of Interlock and is never shipped.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { addrKey, b64, storeKit } from './stores.js';

// Nothing but protocol responses may reach stdout.
console.log = console.error;
console.info = console.error;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LIBS = { '0.90': 'libsignal-client-0.90', '0.103': 'libsignal-client-0.103' };

function parseArgs(argv) {
  const out = { lib: '0.90', verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--lib') out.lib = argv[++i];
    else if (a.startsWith('--lib=')) out.lib = a.slice('--lib='.length);
    else if (a === '--verbose' || a === '-v') out.verbose = true;
    else {
      process.stderr.write(`peer: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  if (!(out.lib in LIBS)) {
    process.stderr.write(`peer: --lib must be one of ${Object.keys(LIBS).join(', ')}\n`);
    process.exit(2);
  }
  return out;
}

const ARGS = parseArgs(process.argv.slice(2));
const S = await import(LIBS[ARGS.lib]);
const LIB_VERSION = (() => {
  try {
    const p = path.join(HERE, 'node_modules', LIBS[ARGS.lib], 'package.json');
    return JSON.parse(fs.readFileSync(p, 'utf8')).version;
  } catch {
    return ARGS.lib;
  }
})();
// From 0.91 on, the 1:1 session functions take the local address too.
const NEEDS_LOCAL_ADDRESS = Number(LIB_VERSION.split('.')[1]) >= 91;
const {
  State,
  PeerSessionStore,
  PeerIdentityStore,
  PeerPreKeyStore,
  PeerSignedPreKeyStore,
  PeerKyberPreKeyStore,
  PeerSenderKeyStore,
} = storeKit(S, LIB_VERSION);

// ---------------------------------------------------------------------------
// libsignal log capture. The binding reports the reason a 1:1 decryption
// failed (for example "message from too far into the future") only in its log;
// the thrown error is a generic "decryption failed". We keep the log lines of
// the current request so the error can be classified precisely.

let opLog = [];
S.initLogger(S.LogLevel.Info, (level, target, file, line, message) => {
  opLog.push(message);
  if (ARGS.verbose) process.stderr.write(`libsignal[${level}] ${target}: ${message}\n`);
});

// ---------------------------------------------------------------------------
// Errors

class PeerError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function fail(kind, message) {
  throw new PeerError(kind, message);
}

const EC = S.ErrorCode;

function classify(err) {
  if (err instanceof PeerError) return { kind: err.kind, message: err.message };
  const msg = String(err && err.message !== undefined ? err.message : err);
  const code = err && typeof err.code === 'number' ? err.code : undefined;
  const r = (kind) => ({ kind, message: msg });
  // A JS error thrown by one of our store callbacks comes back through the binding.
  if (err && err.peerKind) return r(err.peerKind);
  switch (code) {
    case EC.DuplicatedMessage:
      return r('duplicate_message');
    case EC.UntrustedIdentity:
      return r('untrusted_identity');
    case EC.InvalidSession:
    case EC.InvalidSenderKeySession:
      return r('no_session');
    case EC.VerificationFailed:
      return r('invalid_signature');
    case EC.SealedSenderSelfSend:
    case EC.InvalidRegistrationId:
    case EC.InvalidProtocolAddress:
      return r('other');
    default:
      break;
  }
  const m = msg.toLowerCase();
  const logs = opLog.join('\n').toLowerCase();
  if (m.includes('too far into the future')) return r('too_far');
  if (m.includes('decryption failed') && logs.includes('too far into the future')) {
    return { kind: 'too_far', message: `${msg} (libsignal log: message from too far into the future)` };
  }
  if (m.includes('decryption failed') && logs.includes('post-quantum ratchet error: key jump')) {
    return { kind: 'too_far', message: `${msg} (libsignal log: post-quantum ratchet error: Key jump)` };
  }
  if (m.startsWith('message with old counter')) return r('duplicate_message');
  if (m.startsWith('untrusted identity')) return r('untrusted_identity');
  if (/session with .* not found/.test(m) || m.includes('missing sender key state') ||
      m.includes('no session available') || m.includes('invalid sender key session')) {
    return r('no_session');
  }
  if (/invalid (signed |kyber )?prekey identifier/.test(m)) return r('invalid_prekey');
  if (m.includes('base key already used with last-resort kyber prekey')) return r('invalid_prekey');
  // Our store callbacks throw "no <kind> prekey with id N"; the binding wraps that as
  // "error in method call 'loadKyberPreKey': ...".
  if (/error in method call 'load(kyber|signed)?prekey'/.test(m) || /no (signed |kyber )?prekey with id/.test(m)) {
    return r('invalid_prekey');
  }
  if (m.includes('invalid signature') || m.includes('signature validation')) return r('invalid_signature');
  if (m.includes('trust root validation failed')) return r('invalid_signature');
  if (m.startsWith('bad key type') || m.startsWith('bad key length') || m.startsWith('no key type') ||
      m.startsWith('bad kem key') || m.startsWith('unexpected kem key type') ||
      m.includes('invalid key') || m.includes('bad key')) {
    return r('invalid_key');
  }
  if (m.startsWith('invalid ') || m.includes('ciphertext') || m.includes('protobuf') ||
      m.includes('unrecognized message version') || m.includes('sealed sender') ||
      m.includes('mac verification') || m.includes('decryption failed')) {
    return r('invalid_message');
  }
  return r('other');
}

// ---------------------------------------------------------------------------
// Field helpers

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function unb64(s, what) {
  if (typeof s !== 'string' || !B64.test(s)) fail('other', `field ${what}: not standard base64`);
  const b = Buffer.from(s, 'base64');
  const out = new Uint8Array(new ArrayBuffer(b.length));
  out.set(b);
  return out;
}

function need(req, field) {
  if (req[field] === undefined || req[field] === null) fail('other', `missing field ${field}`);
  return req[field];
}

function needInt(obj, field, what = field) {
  const v = obj[field];
  if (!Number.isInteger(v)) fail('other', `field ${what}: integer required`);
  return v;
}

function needBytes(obj, field, what = field) {
  if (obj[field] === undefined || obj[field] === null) fail('other', `missing field ${what}`);
  return unb64(obj[field], what);
}

function needString(obj, field) {
  const v = obj[field];
  if (typeof v !== 'string') fail('other', `field ${field}: string required`);
  return v;
}

function addressOf(req, field = 'address') {
  const a = need(req, field);
  if (typeof a !== 'object' || typeof a.name !== 'string' || !Number.isInteger(a.device)) {
    fail('other', `field ${field}: {name, device} required`);
  }
  try {
    return S.ProtocolAddress.new(a.name, a.device);
  } catch (e) {
    fail('other', `field ${field}: ${e.message}`);
  }
}

function publicKey(bytes) {
  try {
    return S.PublicKey.deserialize(bytes);
  } catch (e) {
    fail('invalid_key', e.message);
  }
}

function kemPublicKey(bytes) {
  try {
    return S.KEMPublicKey.deserialize(bytes);
  } catch (e) {
    fail('invalid_key', e.message);
  }
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidBytes(s, what) {
  if (typeof s !== 'string' || !UUID_RE.test(s)) fail('other', `field ${what}: UUID string required`);
  return new Uint8Array(Buffer.from(s.replace(/-/g, ''), 'hex'));
}

// Minimal protobuf reader: returns the first varint of field `want` in `buf`,
// or the first length-delimited field `want` as bytes.
function pbField(buf, want) {
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new Error('truncated varint');
      const c = buf[i++];
      v |= BigInt(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const wt = key & 7;
    if (wt === 0) {
      const v = varint();
      if (field === want) return Number(v);
    } else if (wt === 2) {
      const len = Number(varint());
      const v = buf.subarray(i, i + len);
      i += len;
      if (field === want) return v;
    } else if (wt === 1) {
      i += 8;
    } else if (wt === 5) {
      i += 4;
    } else {
      throw new Error(`unsupported wire type ${wt}`);
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// The peer

class Peer {
  constructor() {
    this.st = null;
    this.storePath = null;
  }

  bindStores() {
    this.sessions = new PeerSessionStore(this.st);
    this.identityStore = new PeerIdentityStore(this.st);
    this.prekeyStore = new PeerPreKeyStore(this.st);
    this.signedStore = new PeerSignedPreKeyStore(this.st);
    this.kyberStore = new PeerKyberPreKeyStore(this.st);
    this.senderKeyStore = new PeerSenderKeyStore(this.st);
    this.local = S.ProtocolAddress.new(this.st.name, this.st.device);
  }

  persist() {
    if (!this.storePath || !this.st) return;
    const tmp = `${this.storePath}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(this.st.toJSON()));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.storePath);
  }

  load() {
    const j = JSON.parse(fs.readFileSync(this.storePath, 'utf8'));
    this.st = State.fromJSON(j);
    this.bindStores();
  }

  ready() {
    if (!this.st) fail('other', 'peer not initialised: send init first');
  }

  // --- ops -----------------------------------------------------------------

  async init(req) {
    const name = needString(req, 'name');
    const device = needInt(req, 'device');
    if (req.flavour !== undefined && req.flavour !== 'signal') {
      fail('unsupported', `flavour ${JSON.stringify(req.flavour)} not supported by libsignal`);
    }
    if (req.registration_id !== undefined) needInt(req, 'registration_id');
    try {
      S.ProtocolAddress.new(name, device);
    } catch (e) {
      fail('other', `bad address: ${e.message}`);
    }
    this.storePath = req.store === undefined || req.store === null ? null : needString(req, 'store');
    if (this.storePath && fs.existsSync(this.storePath)) {
      this.load();
      if (this.st.name !== name || this.st.device !== device) {
        fail('other', `store ${this.storePath} belongs to ${this.st.name}.${this.st.device}`);
      }
    } else {
      const st = new State();
      st.name = name;
      st.device = device;
      st.registrationId = req.registration_id ?? 1 + Math.floor(Math.random() * 16380);
      st.identity = S.IdentityKeyPair.generate();
      this.st = st;
      this.bindStores();
      this.persist();
    }
    return {
      identity_key: b64(this.st.identity.publicKey.serialize()),
      registration_id: this.st.registrationId,
    };
  }

  async bundle(req) {
    this.ready();
    const oneTime = req.one_time === undefined ? true : Boolean(req.one_time);
    const kyber = req.kyber === undefined ? true : Boolean(req.kyber);
    const st = this.st;
    const idPriv = st.identity.privateKey;
    const now = Date.now();

    const spkId = st.nextIds.signed++;
    const spk = S.PrivateKey.generate();
    const spkPub = spk.getPublicKey();
    const spkSig = idPriv.sign(spkPub.serialize());
    st.signedPrekeys.set(spkId, S.SignedPreKeyRecord.new(spkId, now, spkPub, spk, spkSig).serialize());

    const out = {
      registration_id: st.registrationId,
      device: st.device,
      identity_key: b64(st.identity.publicKey.serialize()),
      signed_prekey_id: spkId,
      signed_prekey: b64(spkPub.serialize()),
      signed_prekey_signature: b64(spkSig),
    };
    if (oneTime) {
      const id = st.nextIds.prekey++;
      const k = S.PrivateKey.generate();
      st.prekeys.set(id, S.PreKeyRecord.new(id, k.getPublicKey(), k).serialize());
      out.prekey_id = id;
      out.prekey = b64(k.getPublicKey().serialize());
    }
    if (kyber) {
      const id = st.nextIds.kyber++;
      const kp = S.KEMKeyPair.generate();
      const pub = kp.getPublicKey().serialize();
      const sig = idPriv.sign(pub);
      st.kyberPrekeys.set(id, S.KyberPreKeyRecord.new(id, now, kp, sig).serialize());
      out.kyber_prekey_id = id;
      out.kyber_prekey = b64(pub);
      out.kyber_prekey_signature = b64(sig);
      if (req.last_resort === true) {
        st.lastResortKyber.add(id);
        return { bundle: out, last_resort: true };
      }
    }
    return { bundle: out };
  }

  async process_bundle(req) {
    this.ready();
    const addr = addressOf(req);
    const b = need(req, 'bundle');
    if (typeof b !== 'object') fail('other', 'field bundle: object required');
    const regId = needInt(b, 'registration_id', 'bundle.registration_id');
    const device = b.device === undefined ? addr.deviceId() : needInt(b, 'device', 'bundle.device');
    const ik = publicKey(needBytes(b, 'identity_key', 'bundle.identity_key'));
    const spkId = needInt(b, 'signed_prekey_id', 'bundle.signed_prekey_id');
    const spk = publicKey(needBytes(b, 'signed_prekey', 'bundle.signed_prekey'));
    const spkSig = needBytes(b, 'signed_prekey_signature', 'bundle.signed_prekey_signature');
    let pkId = null;
    let pk = null;
    if (b.prekey !== undefined && b.prekey !== null) {
      pkId = needInt(b, 'prekey_id', 'bundle.prekey_id');
      pk = publicKey(needBytes(b, 'prekey', 'bundle.prekey'));
    }
    if (b.kyber_prekey === undefined || b.kyber_prekey === null) {
      fail('unsupported', `libsignal-client ${LIB_VERSION} requires a Kyber prekey in every bundle`);
    }
    const kId = needInt(b, 'kyber_prekey_id', 'bundle.kyber_prekey_id');
    const kPub = kemPublicKey(needBytes(b, 'kyber_prekey', 'bundle.kyber_prekey'));
    const kSig = needBytes(b, 'kyber_prekey_signature', 'bundle.kyber_prekey_signature');
    const bundle = S.PreKeyBundle.new(regId, device, pkId, pk, spkId, spk, spkSig, ik, kId, kPub, kSig);
    if (NEEDS_LOCAL_ADDRESS) {
      await S.processPreKeyBundle(bundle, addr, this.local, this.sessions, this.identityStore);
    } else {
      await S.processPreKeyBundle(bundle, addr, this.sessions, this.identityStore);
    }
    return {};
  }

  async encrypt(req) {
    this.ready();
    const addr = addressOf(req);
    const pt = needBytes(req, 'plaintext');
    const ct = NEEDS_LOCAL_ADDRESS
      ? await S.signalEncrypt(pt, addr, this.local, this.sessions, this.identityStore)
      : await S.signalEncrypt(pt, addr, this.sessions, this.identityStore);
    return { type: ct.type(), ciphertext: b64(ct.serialize()) };
  }

  async decryptInner(addr, type, bytes) {
    switch (type) {
      case S.CiphertextMessageType.PreKey: {
        let m;
        try {
          m = S.PreKeySignalMessage.deserialize(bytes);
        } catch (e) {
          fail('invalid_message', e.message);
        }
        return NEEDS_LOCAL_ADDRESS
          ? S.signalDecryptPreKey(m, addr, this.local, this.sessions, this.identityStore,
            this.prekeyStore, this.signedStore, this.kyberStore)
          : S.signalDecryptPreKey(m, addr, this.sessions, this.identityStore,
            this.prekeyStore, this.signedStore, this.kyberStore);
      }
      case S.CiphertextMessageType.Whisper: {
        let m;
        try {
          m = S.SignalMessage.deserialize(bytes);
        } catch (e) {
          fail('invalid_message', e.message);
        }
        return NEEDS_LOCAL_ADDRESS
          ? S.signalDecrypt(m, addr, this.local, this.sessions, this.identityStore)
          : S.signalDecrypt(m, addr, this.sessions, this.identityStore);
      }
      case S.CiphertextMessageType.SenderKey:
        return S.groupDecrypt(addr, this.senderKeyStore, bytes);
      case S.CiphertextMessageType.Plaintext: {
        let m;
        try {
          m = S.PlaintextContent.deserialize(bytes);
        } catch (e) {
          fail('invalid_message', e.message);
        }
        return m.body();
      }
      default:
        fail('invalid_message', `unknown message type ${type}`);
    }
    return undefined;
  }

  async decrypt(req) {
    this.ready();
    const addr = addressOf(req);
    const type = needInt(req, 'type');
    const ct = needBytes(req, 'ciphertext');
    // A refused message changes no state: libsignal may store the session
    // it built before a store callback (markKyberPreKeyUsed) refuses.
    const key = addrKey(addr);
    const had = this.st.sessions.has(key);
    const before = this.st.sessions.get(key);
    const prekeys = new Map(this.st.prekeys);
    let pt;
    try {
      pt = await this.decryptInner(addr, type, ct);
    } catch (e) {
      if (had) this.st.sessions.set(key, before);
      else this.st.sessions.delete(key);
      this.st.prekeys = prekeys;
      throw e;
    }
    return { plaintext: b64(pt) };
  }

  async session(req) {
    this.ready();
    const addr = addressOf(req);
    const rec = await this.sessions.getSession(addr);
    if (!rec || !rec.hasCurrentState()) return { exists: false, version: 0 };
    let version = 0;
    try {
      // RecordStructure.current_session = 1; SessionStructure.session_version = 1.
      const cur = pbField(rec.serialize(), 1);
      if (cur instanceof Uint8Array) version = pbField(cur, 1) ?? 0;
    } catch (e) {
      process.stderr.write(`peer: cannot parse session record: ${e.message}\n`);
    }
    return { exists: true, version };
  }

  async trust(req) {
    this.ready();
    const addr = addressOf(req);
    const key = publicKey(needBytes(req, 'identity_key'));
    this.st.identities.set(addr.name(), key.serialize());
    return {};
  }

  async fingerprint(req) {
    this.ready();
    const version = req.version === undefined ? 2 : needInt(req, 'version');
    const localId = needString(req, 'local_id');
    const remoteId = needString(req, 'remote_id');
    const remoteKey = publicKey(needBytes(req, 'remote_identity_key'));
    let l;
    let r;
    if (version === 2) {
      l = uuidBytes(localId, 'local_id');
      r = uuidBytes(remoteId, 'remote_id');
    } else if (version === 1) {
      l = new Uint8Array(Buffer.from(localId, 'utf8'));
      r = new Uint8Array(Buffer.from(remoteId, 'utf8'));
    } else {
      fail('unsupported', `fingerprint version ${version}`);
    }
    const fp = S.Fingerprint.new(5200, version, l, this.st.identity.publicKey, r, remoteKey);
    return {
      displayable: fp.displayableFingerprint().toString(),
      scannable: b64(fp.scannableFingerprint().toBuffer()),
    };
  }

  async group_distribution(req) {
    this.ready();
    const dist = needString(req, 'distribution_id');
    uuidBytes(dist, 'distribution_id');
    const m = await S.SenderKeyDistributionMessage.create(this.local, dist.toLowerCase(), this.senderKeyStore);
    return { message: b64(m.serialize()) };
  }

  async group_process(req) {
    this.ready();
    const addr = addressOf(req);
    const bytes = needBytes(req, 'message');
    let m;
    try {
      m = S.SenderKeyDistributionMessage.deserialize(bytes);
    } catch (e) {
      fail('invalid_message', e.message);
    }
    await S.processSenderKeyDistributionMessage(addr, m, this.senderKeyStore);
    return {};
  }

  async group_encrypt(req) {
    this.ready();
    const dist = needString(req, 'distribution_id');
    uuidBytes(dist, 'distribution_id');
    const pt = needBytes(req, 'plaintext');
    const ct = await S.groupEncrypt(this.local, dist.toLowerCase(), this.senderKeyStore, pt);
    return { ciphertext: b64(ct.serialize()) };
  }

  async group_decrypt(req) {
    this.ready();
    const addr = addressOf(req);
    const ct = needBytes(req, 'ciphertext');
    const pt = await S.groupDecrypt(addr, this.senderKeyStore, ct);
    return { plaintext: b64(pt) };
  }

  async server_keys(_req) {
    this.ready();
    const trustRoot = S.PrivateKey.generate();
    const serverKey = S.PrivateKey.generate();
    const cert = S.ServerCertificate.new(1, serverKey.getPublicKey(), trustRoot);
    this.st.server = {
      trust_root_private: b64(trustRoot.serialize()),
      server_private: b64(serverKey.serialize()),
      server_certificate: b64(cert.serialize()),
    };
    return {
      trust_root: b64(trustRoot.getPublicKey().serialize()),
      server_certificate: b64(cert.serialize()),
    };
  }

  async sender_certificate(req) {
    this.ready();
    if (!this.st.server) fail('other', 'no server keys: send server_keys first');
    const a = need(req, 'address');
    if (typeof a !== 'object' || typeof a.name !== 'string' || !Number.isInteger(a.device)) {
      fail('other', 'field address: {name, device} required');
    }
    const key = publicKey(needBytes(req, 'identity_key'));
    const expires = needInt(req, 'expires');
    const serverCert = S.ServerCertificate.deserialize(unb64(this.st.server.server_certificate, 'server'));
    const serverKey = S.PrivateKey.deserialize(unb64(this.st.server.server_private, 'server'));
    const cert = S.SenderCertificate.new(a.name, null, a.device, key, expires, serverCert, serverKey);
    return { certificate: b64(cert.serialize()) };
  }

  async sealed_encrypt(req) {
    this.ready();
    const addr = addressOf(req);
    const pt = needBytes(req, 'plaintext');
    let cert;
    try {
      cert = S.SenderCertificate.deserialize(needBytes(req, 'certificate'));
    } catch (e) {
      fail('invalid_message', `sender certificate: ${e.message}`);
    }
    const ct = await S.sealedSenderEncryptMessage(pt, addr, cert, this.sessions, this.identityStore);
    return { ciphertext: b64(ct) };
  }

  async sealed_decrypt(req) {
    this.ready();
    const ct = needBytes(req, 'ciphertext');
    const root = publicKey(needBytes(req, 'trust_root'));
    const now = needInt(req, 'now');
    const usmc = await S.sealedSenderDecryptToUsmc(ct, this.identityStore);
    const cert = usmc.senderCertificate();
    if (!cert.validate(root, now)) {
      if (now > cert.expiration()) fail('invalid_message', 'sealed sender: sender certificate expired');
      fail('invalid_signature', 'sealed sender: trust root validation failed');
    }
    const name = cert.senderUuid();
    const device = cert.senderDeviceId();
    if (name === this.st.name && device === this.st.device) {
      fail('other', 'sealed sender: self send');
    }
    const sender = S.ProtocolAddress.new(name, device);
    const type = usmc.msgType();
    const pt = await this.decryptInner(sender, type, usmc.contents());
    return { plaintext: b64(pt), sender: { name, device }, type };
  }

  async restart(_req) {
    if (this.storePath && fs.existsSync(this.storePath)) {
      this.st = null;
      this.load();
    }
    return {};
  }

  async capabilities(_req) {
    return {
      ops: OPS,
      implementation: `libsignal-client ${LIB_VERSION}`,
      flavours: ['signal'],
      protocol_version: PROTOCOL_VERSION,
    };
  }
}

// The version of docs/peer-protocol.md this peer implements: bundle's
// last_resort included; of version 3 it offers no adversary mode
// (capabilities lists none, so no driver sends encrypt's pq_ratchet).
const PROTOCOL_VERSION = 3;

const OPS = [
  'init', 'bundle', 'process_bundle', 'encrypt', 'decrypt', 'session', 'trust', 'fingerprint',
  'group_distribution', 'group_process', 'group_encrypt', 'group_decrypt', 'server_keys',
  'sender_certificate', 'sealed_encrypt', 'sealed_decrypt', 'restart', 'capabilities',
];
const READ_ONLY = new Set(['session', 'fingerprint', 'capabilities', 'restart', 'init']);

// ---------------------------------------------------------------------------
// Main loop: strictly sequential, one response per line, in order.

const peer = new Peer();

function write(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    const m = /"id"\s*:\s*(-?\d+)/.exec(line);
    return { id: m ? Number(m[1]) : null, ok: false, error: { kind: 'other', message: `bad JSON: ${e.message}` } };
  }
  if (req === null || typeof req !== 'object' || Array.isArray(req)) {
    return { id: null, ok: false, error: { kind: 'other', message: 'request must be a JSON object' } };
  }
  const id = req.id === undefined ? null : req.id;
  const op = req.op;
  opLog = [];
  try {
    if (typeof op !== 'string') fail('other', 'missing field op');
    if (!OPS.includes(op)) fail('unsupported', `op ${op} not implemented`);
    let res;
    try {
      res = await peer[op](req);
    } finally {
      if (!READ_ONLY.has(op)) peer.persist();
    }
    return { id, ok: true, ...res };
  } catch (err) {
    const { kind, message } = classify(err);
    if (ARGS.verbose || kind === 'other') {
      process.stderr.write(`peer: ${op} failed (${kind}): ${err && err.stack ? err.stack : err}\n`);
    }
    return { id, ok: false, error: { kind, message } };
  }
}

const queue = [];
let draining = false;
let closed = false;

function finish() {
  try {
    peer.persist();
  } catch (e) {
    process.stderr.write(`peer: final persist failed: ${e.message}\n`);
  }
  process.stdout.write('', () => process.exit(0));
}

async function drain() {
  if (draining) return;
  draining = true;
  while (queue.length > 0) {
    const line = queue.shift();
    if (line.trim() === '') continue;
    write(await handle(line));
  }
  draining = false;
  if (closed) finish();
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
rl.on('line', (line) => {
  queue.push(line);
  drain();
});
rl.on('close', () => {
  closed = true;
  if (!draining) finish();
});
process.on('unhandledRejection', (e) => {
  process.stderr.write(`peer: unhandled rejection: ${e && e.stack ? e.stack : e}\n`);
});
