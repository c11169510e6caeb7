// In-memory libsignal stores shared by peer.js and gen-vectors.js. State is
// kept as serialized records (Uint8Array) so it can be written to JSON and
// reloaded byte for byte.
//
// This is a test tool. It is not part of Interlock and is never shipped.

export function b64(bytes) {
  return Buffer.from(bytes).toString('base64');
}

export function addrKey(addr) {
  return `${addr.name()}.${addr.deviceId()}`;
}

// storeKit binds the store classes to one loaded libsignal module S.
export function storeKit(S, libVersion) {
  function prekeyMissing(what, id) {
    const e = new Error(`no ${what} with id ${id}`);
    e.peerKind = 'invalid_prekey';
    return e;
  }

  class State {
    constructor() {
      this.name = null;
      this.device = null;
      this.registrationId = 0;
      this.identity = null; // IdentityKeyPair
      this.sessions = new Map(); // "name.device" -> serialized SessionRecord
      this.identities = new Map(); // name -> serialized PublicKey
      this.prekeys = new Map(); // id -> serialized PreKeyRecord
      this.signedPrekeys = new Map();
      this.kyberPrekeys = new Map();
      // Last-resort Kyber prekeys (bundle with last_resort): kept after use;
      // usedKyber remembers "kyberId:signedId:baseKey" of every first message
      // accepted on one, as libsignal's KyberPreKeyStore contract asks.
      this.lastResortKyber = new Set();
      this.usedKyber = new Set();
      this.senderKeys = new Map(); // "name.device/distributionId" -> serialized SenderKeyRecord
      this.server = null; // { trustRoot: b64 private, serverKey: b64 private, cert: b64 }
      this.nextIds = { prekey: 1, signed: 1, kyber: 1 };
    }

    toJSON() {
      const m = (map) => Object.fromEntries([...map].map(([k, v]) => [String(k), b64(v)]));
      return {
        format: 'interlock-libsignal-peer-store/1',
        lib: libVersion,
        name: this.name,
        device: this.device,
        registration_id: this.registrationId,
        identity_key_pair: b64(this.identity.serialize()),
        sessions: m(this.sessions),
        identities: m(this.identities),
        prekeys: m(this.prekeys),
        signed_prekeys: m(this.signedPrekeys),
        kyber_prekeys: m(this.kyberPrekeys),
        last_resort_kyber: [...this.lastResortKyber],
        used_kyber: [...this.usedKyber],
        sender_keys: m(this.senderKeys),
        server: this.server,
        next_ids: this.nextIds,
      };
    }

    static fromJSON(j) {
      const st = new State();
      const bytes = (s) => new Uint8Array(Buffer.from(s, 'base64'));
      const m = (obj, numeric) =>
        new Map(Object.entries(obj || {}).map(([k, v]) => [numeric ? Number(k) : k, bytes(v)]));
      st.name = j.name;
      st.device = j.device;
      st.registrationId = j.registration_id;
      st.identity = S.IdentityKeyPair.deserialize(bytes(j.identity_key_pair));
      st.sessions = m(j.sessions, false);
      st.identities = m(j.identities, false);
      st.prekeys = m(j.prekeys, true);
      st.signedPrekeys = m(j.signed_prekeys, true);
      st.kyberPrekeys = m(j.kyber_prekeys, true);
      st.lastResortKyber = new Set((j.last_resort_kyber || []).map(Number));
      st.usedKyber = new Set(j.used_kyber || []);
      st.senderKeys = m(j.sender_keys, false);
      st.server = j.server || null;
      st.nextIds = j.next_ids || { prekey: 1, signed: 1, kyber: 1 };
      return st;
    }
  }

  class PeerSessionStore extends S.SessionStore {
    constructor(st) {
      super();
      this.st = st;
    }
    async saveSession(addr, record) {
      this.st.sessions.set(addrKey(addr), record.serialize());
    }
    async getSession(addr) {
      const b = this.st.sessions.get(addrKey(addr));
      return b ? S.SessionRecord.deserialize(b) : null;
    }
    async getExistingSessions(addrs) {
      return addrs.map((a) => {
        const b = this.st.sessions.get(addrKey(a));
        if (!b) throw new Error(`no session for ${addrKey(a)}`);
        return S.SessionRecord.deserialize(b);
      });
    }
  }

  class PeerIdentityStore extends S.IdentityKeyStore {
    constructor(st) {
      super();
      this.st = st;
    }
    async getIdentityKey() {
      return this.st.identity.privateKey;
    }
    async getLocalRegistrationId() {
      return this.st.registrationId;
    }
    async saveIdentity(addr, key) {
      const prev = this.st.identities.get(addr.name());
      this.st.identities.set(addr.name(), key.serialize());
      if (prev && !S.PublicKey.deserialize(prev).equals(key)) return S.IdentityChange.ReplacedExisting;
      return S.IdentityChange.NewOrUnchanged;
    }
    async isTrustedIdentity(addr, key, _direction) {
      const prev = this.st.identities.get(addr.name());
      return !prev || S.PublicKey.deserialize(prev).equals(key);
    }
    async getIdentity(addr) {
      const prev = this.st.identities.get(addr.name());
      return prev ? S.PublicKey.deserialize(prev) : null;
    }
  }

  class PeerPreKeyStore extends S.PreKeyStore {
    constructor(st) {
      super();
      this.st = st;
    }
    async savePreKey(id, record) {
      this.st.prekeys.set(id, record.serialize());
    }
    async getPreKey(id) {
      const b = this.st.prekeys.get(id);
      if (!b) throw prekeyMissing('prekey', id);
      return S.PreKeyRecord.deserialize(b);
    }
    async removePreKey(id) {
      this.st.prekeys.delete(id);
    }
  }

  class PeerSignedPreKeyStore extends S.SignedPreKeyStore {
    constructor(st) {
      super();
      this.st = st;
    }
    async saveSignedPreKey(id, record) {
      this.st.signedPrekeys.set(id, record.serialize());
    }
    async getSignedPreKey(id) {
      const b = this.st.signedPrekeys.get(id);
      if (!b) throw prekeyMissing('signed prekey', id);
      return S.SignedPreKeyRecord.deserialize(b);
    }
  }

  class PeerKyberPreKeyStore extends S.KyberPreKeyStore {
    constructor(st) {
      super();
      this.st = st;
    }
    async saveKyberPreKey(id, record) {
      this.st.kyberPrekeys.set(id, record.serialize());
    }
    async getKyberPreKey(id) {
      const b = this.st.kyberPrekeys.get(id);
      if (!b) throw prekeyMissing('kyber prekey', id);
      return S.KyberPreKeyRecord.deserialize(b);
    }
    // A one-time Kyber prekey is gone once used. A last-resort one stays,
    // and a second first message with the same (Kyber prekey, signed
    // prekey, base key) is a replay: refused (libsignal
    // rust/protocol/src/storage/traits.rs, mark_kyber_pre_key_used; the
    // Node binding passes the base key in 0.90 and 0.103 alike).
    async markKyberPreKeyUsed(id, signedPreKeyId, baseKey) {
      if (!this.st.lastResortKyber.has(id)) {
        this.st.kyberPrekeys.delete(id);
        return;
      }
      const used = `${id}:${signedPreKeyId}:${b64(baseKey.serialize())}`;
      if (this.st.usedKyber.has(used)) {
        throw new Error(`base key already used with last-resort kyber prekey ${id}`);
      }
      this.st.usedKyber.add(used);
    }
  }

  class PeerSenderKeyStore extends S.SenderKeyStore {
    constructor(st) {
      super();
      this.st = st;
    }
    async saveSenderKey(sender, distributionId, record) {
      this.st.senderKeys.set(`${addrKey(sender)}/${String(distributionId).toLowerCase()}`, record.serialize());
    }
    async getSenderKey(sender, distributionId) {
      const b = this.st.senderKeys.get(`${addrKey(sender)}/${String(distributionId).toLowerCase()}`);
      return b ? S.SenderKeyRecord.deserialize(b) : null;
    }
  }

  return {
    State,
    PeerSessionStore,
    PeerIdentityStore,
    PeerPreKeyStore,
    PeerSignedPreKeyStore,
    PeerKyberPreKeyStore,
    PeerSenderKeyStore,
  };
}
