// Times the official libsignal Node binding (0.90.0 and 0.103.0) on the
// operations of Interlock's bench/ module, with the in-memory stores of
// stores.js (records kept serialized, as libsignal's own stores do), and
// prints go-bench-like lines that bench/cmd/benchtable merges:
//
//   BenchmarkSetup/pqxdh/libsignal-0.90  N  123 ns/op
//
// Usage: node bench.js [--lib 0.90|0.103|all] [--count N] [--benchtime SECONDS]
//
// Rows: Setup/pqxdh (two parties, bundle, first message both ways),
// SteadyStateV4/{64,1024,65536}B (encrypt + decrypt, one direction),
// PingPongV4 (directions alternate) and Reverse1000 (1,000 messages
// decrypted newest first; one op is the batch). libsignal only speaks
// PQXDH, so its rows are version 4 sessions (with SPQR between two
// libsignal ≥ 0.90 parties). No allocation counts: the JavaScript heap and
// the Rust allocator are not comparable with Go's.
//
// This is a test tool. It is not part of Interlock and is never shipped.

import { storeKit } from './stores.js';

const LIBS = { '0.90': 'libsignal-client-0.90', '0.103': 'libsignal-client-0.103' };

function args(argv) {
  const out = { lib: 'all', count: 1, benchtime: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--lib') out.lib = argv[++i];
    else if (a === '--count') out.count = Number(argv[++i]);
    else if (a === '--benchtime') out.benchtime = Number(argv[++i]);
    else throw new Error(`bench.js: unknown argument ${a}`);
  }
  return out;
}

async function party(S, kit, name, device) {
  const st = new kit.State();
  st.name = name;
  st.device = device;
  st.registrationId = device;
  st.identity = S.IdentityKeyPair.generate();
  const p = {
    st,
    sessions: new kit.PeerSessionStore(st),
    identityStore: new kit.PeerIdentityStore(st),
    prekeyStore: new kit.PeerPreKeyStore(st),
    signedStore: new kit.PeerSignedPreKeyStore(st),
    kyberStore: new kit.PeerKyberPreKeyStore(st),
    addr: S.ProtocolAddress.new(name, device),
  };
  return p;
}

function bundleOf(S, p) {
  const st = p.st;
  const idPriv = st.identity.privateKey;
  const now = Date.now();
  const spk = S.PrivateKey.generate();
  const spkPub = spk.getPublicKey();
  const spkSig = idPriv.sign(spkPub.serialize());
  st.signedPrekeys.set(1, S.SignedPreKeyRecord.new(1, now, spkPub, spk, spkSig).serialize());
  const pk = S.PrivateKey.generate();
  st.prekeys.set(1, S.PreKeyRecord.new(1, pk.getPublicKey(), pk).serialize());
  const kp = S.KEMKeyPair.generate();
  const kSig = idPriv.sign(kp.getPublicKey().serialize());
  st.kyberPrekeys.set(1, S.KyberPreKeyRecord.new(1, now, kp, kSig).serialize());
  return S.PreKeyBundle.new(st.registrationId, st.device, 1, pk.getPublicKey(), 1, spkPub, spkSig,
    st.identity.publicKey, 1, kp.getPublicKey(), kSig);
}

function conversation(S, needsLocal) {
  const enc = (from, to, pt) => needsLocal
    ? S.signalEncrypt(pt, to.addr, from.addr, from.sessions, from.identityStore)
    : S.signalEncrypt(pt, to.addr, from.sessions, from.identityStore);
  const dec = (to, from, ct) => {
    if (ct.type() === S.CiphertextMessageType.PreKey) {
      const m = S.PreKeySignalMessage.deserialize(ct.serialize());
      return needsLocal
        ? S.signalDecryptPreKey(m, from.addr, to.addr, to.sessions, to.identityStore, to.prekeyStore, to.signedStore, to.kyberStore)
        : S.signalDecryptPreKey(m, from.addr, to.sessions, to.identityStore, to.prekeyStore, to.signedStore, to.kyberStore);
    }
    const m = S.SignalMessage.deserialize(ct.serialize());
    return needsLocal
      ? S.signalDecrypt(m, from.addr, to.addr, to.sessions, to.identityStore)
      : S.signalDecrypt(m, from.addr, to.sessions, to.identityStore);
  };
  const processBundle = (a, b, bundle) => needsLocal
    ? S.processPreKeyBundle(bundle, b.addr, a.addr, a.sessions, a.identityStore)
    : S.processPreKeyBundle(bundle, b.addr, a.sessions, a.identityStore);
  return { enc, dec, processBundle };
}

async function measure(name, benchtime, fn) {
  // Warm up, then grow n until one batch takes benchtime (as go test does).
  await fn(1);
  let n = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    await fn(n);
    const ns = Number(process.hrtime.bigint() - t0);
    if (ns >= benchtime * 1e9 || n >= 1e9) {
      console.log(`Benchmark${name}-1\t${n}\t${(ns / n).toFixed(0)} ns/op`);
      return;
    }
    n = Math.max(n + 1, Math.min(100 * n, Math.ceil((n * benchtime * 1e9 * 1.2) / Math.max(ns, 1))));
  }
}

async function run(ver, count, benchtime) {
  const S = await import(LIBS[ver]);
  const kit = storeKit(S, ver);
  const needsLocal = Number(ver.split('.')[1]) >= 91;
  const c = conversation(S, needsLocal);
  const tag = `libsignal-${ver}`;

  const established = async () => {
    const a = await party(S, kit, 'alice', 1);
    const b = await party(S, kit, 'bob', 2);
    await c.processBundle(a, b, bundleOf(S, b));
    await c.dec(b, a, await c.enc(a, b, Buffer.from('hello')));
    await c.dec(a, b, await c.enc(b, a, Buffer.from('hi')));
    return [a, b];
  };

  for (let i = 0; i < count; i++) {
    await measure(`Setup/pqxdh/${tag}`, benchtime, async (n) => {
      for (let j = 0; j < n; j++) {
        const a = await party(S, kit, 'alice', 1);
        const b = await party(S, kit, 'bob', 2);
        await c.processBundle(a, b, bundleOf(S, b));
        await c.dec(b, a, await c.enc(a, b, Buffer.from('hello')));
      }
    });
    for (const size of [64, 1024, 65536]) {
      const [a, b] = await established();
      const msg = Buffer.alloc(size);
      await measure(`SteadyStateV4/${size}B/${tag}`, benchtime, async (n) => {
        for (let j = 0; j < n; j++) await c.dec(b, a, await c.enc(a, b, msg));
      });
    }
    {
      const p = await established();
      const msg = Buffer.alloc(64);
      let from = 0;
      await measure(`PingPongV4/${tag}`, benchtime, async (n) => {
        for (let j = 0; j < n; j++) {
          await c.dec(p[1 - from], p[from], await c.enc(p[from], p[1 - from], msg));
          from = 1 - from;
        }
      });
    }
    {
      const msg = Buffer.alloc(64);
      await measure(`Reverse1000/${tag}`, benchtime, async (n) => {
        for (let j = 0; j < n; j++) {
          const [a, b] = await established(); // as in Go, set-up inside the op is small next to 2,000 messages
          const cts = [];
          for (let k = 0; k < 1000; k++) cts.push(await c.enc(a, b, msg));
          for (let k = cts.length - 1; k >= 0; k--) await c.dec(b, a, cts[k]);
        }
      });
    }
  }
}

const A = args(process.argv.slice(2));
console.log('goos: ' + process.platform);
console.log('pkg: interop/libsignal (node ' + process.version + ')');
for (const ver of A.lib === 'all' ? Object.keys(LIBS) : [A.lib]) {
  await run(ver, A.count, A.benchtime);
}
