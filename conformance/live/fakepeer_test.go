package live

// A fake peer for the driver's own tests: it speaks the peer protocol with a
// deliberately trivial, insecure "cipher" (SHA-256 keystream and an 8-byte
// SHA-256 tag) over the real message layouts, so that the driver's plumbing,
// scenarios and error handling can be exercised without a Signal library.
// The test binary re-executes itself as the fake peer (see TestMain).
//
// Environment: FAKE_FLAVOURS ("" = none declared, else a comma list),
// FAKE_MODE ("", crash, hang, badline, exit1, refuse).

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

type fakeState struct {
	base      []byte
	key       [32]byte
	sendChain uint64 // a new chain after every received message, as in a ratchet
	sendIdx   uint64
	received  bool
	seen      map[uint64]bool
	maxSeen   map[uint64]int64 // per chain
	acked     bool
	preKeyID  *int64
	version   int
	initiator bool
}

type fakePeer struct {
	name     string
	device   int
	ik       []byte
	regID    int
	declared bool
	mode     string
	trusted  map[string][]byte
	sessions map[string][]*fakeState // current first
	preKeys  map[int64]bool          // unused one-time prekey ids
	nextPK   int64
}

type fakeErr struct{ kind, msg string }

func ferr(kind, format string, args ...any) *fakeErr {
	return &fakeErr{kind, fmt.Sprintf(format, args...)}
}

func fakeRandom(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func fakeKey() []byte { return append([]byte{0x05}, fakeRandom(32)...) }

// fakeSignature stands in for XEdDSA: a hash of the identity key and the
// signed key, which every fake can recompute.
func fakeSignature(identity, key []byte) []byte {
	a := sha256.Sum256(append(append([]byte("fake-sig"), identity...), key...))
	b := sha256.Sum256(a[:])
	return append(a[:], b[:]...)
}

func fakeMain() {
	f := &fakePeer{mode: os.Getenv("FAKE_MODE"), trusted: map[string][]byte{},
		sessions: map[string][]*fakeState{}, preKeys: map[int64]bool{}, nextPK: 1}
	fl := os.Getenv("FAKE_FLAVOURS")
	f.declared = fl != ""
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req map[string]json.RawMessage
			if json.Unmarshal(line, &req) != nil {
				fmt.Fprintln(os.Stderr, "fake: bad request")
				os.Exit(2)
			}
			var id int
			json.Unmarshal(req["id"], &id)
			var op string
			json.Unmarshal(req["op"], &op)
			resp := map[string]any{}
			if e := f.handle(op, req, resp, fl); e != nil {
				resp = map[string]any{"ok": false, "error": map[string]string{"kind": e.kind, "message": e.msg}}
			} else {
				resp["ok"] = true
			}
			resp["id"] = id
			b, _ := json.Marshal(resp)
			out.Write(b)
			out.WriteByte('\n')
			out.Flush()
		}
		if err != nil {
			break
		}
	}
	if f.mode == "exit1" {
		os.Exit(1)
	}
	os.Exit(0)
}

func field[T any](req map[string]json.RawMessage, name string) (T, bool) {
	var v T
	raw, ok := req[name]
	if !ok {
		return v, false
	}
	return v, json.Unmarshal(raw, &v) == nil
}

func addrKey(a Address) string { return fmt.Sprintf("%s.%d", a.Name, a.Device) }

func (f *fakePeer) handle(op string, req map[string]json.RawMessage, resp map[string]any, flavours string) *fakeErr {
	switch op {
	case "capabilities":
		resp["ops"] = []string{"init", "bundle", "process_bundle", "encrypt", "decrypt", "session", "trust", "restart", "capabilities"}
		resp["implementation"] = "fake"
		if f.declared {
			resp["flavours"] = strings.Split(flavours, ",")
		}
		return nil
	case "init":
		fl, has := field[string](req, "flavour")
		if has != f.declared {
			return ferr("other", "flavour field present=%v but flavours declared=%v", has, f.declared)
		}
		if has && !strings.Contains(flavours, fl) {
			return ferr("unsupported", "flavour %s", fl)
		}
		f.name, _ = field[string](req, "name")
		f.device, _ = field[int](req, "device")
		f.ik = fakeKey()
		f.regID = 1 + int(binary.BigEndian.Uint16(fakeRandom(2))%16000)
		resp["identity_key"] = f.ik
		resp["registration_id"] = f.regID
		return nil
	case "restart":
		return ferr("unsupported", "the fake peer has no durable store")
	}
	if f.ik == nil {
		return ferr("other", "not initialised")
	}
	switch op {
	case "bundle":
		oneTime, ok := field[bool](req, "one_time")
		if !ok {
			oneTime = true
		}
		kyber, ok := field[bool](req, "kyber")
		if !ok {
			kyber = true
		}
		spk := fakeKey()
		b := map[string]any{"registration_id": f.regID, "device": f.device, "identity_key": f.ik,
			"signed_prekey_id": 1, "signed_prekey": spk, "signed_prekey_signature": fakeSignature(f.ik, spk)}
		if oneTime {
			id := f.nextPK
			f.nextPK++
			f.preKeys[id] = true
			b["prekey_id"], b["prekey"] = id, fakeKey()
		}
		if kyber {
			kpk := append([]byte{0x08}, fakeRandom(1568)...)
			b["kyber_prekey_id"], b["kyber_prekey"], b["kyber_prekey_signature"] = 7, kpk, fakeSignature(f.ik, kpk)
		}
		resp["bundle"] = b
		return nil
	case "process_bundle":
		addr, _ := field[Address](req, "address")
		b, _ := field[BundleFields](req, "bundle")
		// The fake signs with a hash a fake can check (adversarial/forged-bundle).
		if !bytes.Equal(b.SignedPreKeySignature, fakeSignature(b.IdentityKey, b.SignedPreKey)) ||
			(b.KyberPreKeyID != nil && !bytes.Equal(b.KyberPreKeySignature, fakeSignature(b.IdentityKey, b.KyberPreKey))) {
			return ferr("invalid_key", "bad prekey signature")
		}
		if t, ok := f.trusted[addr.Name]; ok && !bytes.Equal(t, b.IdentityKey) {
			return ferr("untrusted_identity", "identity changed")
		}
		if b.KyberPreKeyID == nil {
			for _, old := range f.sessions[addrKey(addr)] {
				if old.version == 4 {
					return ferr("unsupported", "no X3DH for a device that spoke version 4")
				}
			}
		}
		f.trusted[addr.Name] = b.IdentityKey
		st := &fakeState{base: fakeKey(), seen: map[uint64]bool{}, maxSeen: map[uint64]int64{}, preKeyID: b.PreKeyID, version: 3, initiator: true}
		if b.KyberPreKeyID != nil {
			st.version = 4
		}
		st.key = fakeSessionKey(f.ik, b.IdentityKey, st.base)
		f.sessions[addrKey(addr)] = append([]*fakeState{st}, f.sessions[addrKey(addr)]...)
		return nil
	case "session":
		addr, _ := field[Address](req, "address")
		ss := f.sessions[addrKey(addr)]
		resp["exists"], resp["version"] = len(ss) > 0, 0
		if len(ss) > 0 {
			resp["version"] = ss[0].version
		}
		return nil
	case "trust":
		addr, _ := field[Address](req, "address")
		ik, _ := field[[]byte](req, "identity_key")
		f.trusted[addr.Name] = ik
		return nil
	case "encrypt":
		addr, _ := field[Address](req, "address")
		pt, _ := field[[]byte](req, "plaintext")
		ss := f.sessions[addrKey(addr)]
		if len(ss) == 0 {
			return ferr("no_session", "no session")
		}
		st := ss[0]
		remote := f.trusted[addr.Name]
		sm := fakeSignalMessage(st, f.ik, remote, pt)
		if st.initiator && !st.acked {
			var body []byte
			body = pbVarint(body, 5, uint64(f.regID))
			if st.preKeyID != nil {
				body = pbVarint(body, 1, uint64(*st.preKeyID))
			}
			body = pbVarint(body, 6, 1)
			body = pbBytes(body, 2, st.base)
			body = pbBytes(body, 3, f.ik)
			body = pbBytes(body, 4, sm)
			resp["type"], resp["ciphertext"] = 3, append([]byte{byte(st.version<<4 | 4)}, body...)
		} else {
			resp["type"], resp["ciphertext"] = 2, sm
		}
		return nil
	case "decrypt":
		switch f.mode {
		case "crash":
			fmt.Fprintln(os.Stderr, "fake peer crashing on purpose")
			os.Exit(3)
		case "hang":
			time.Sleep(time.Hour)
		case "badline":
			fmt.Println("this is not json")
		case "refuse":
			return ferr("invalid_message", "refusing every message (no SPQR)")
		}
		addr, _ := field[Address](req, "address")
		typ, _ := field[int](req, "type")
		ct, _ := field[[]byte](req, "ciphertext")
		pt, e := f.decrypt(addr, typ, ct)
		if e != nil {
			return e
		}
		resp["plaintext"] = pt
		return nil
	}
	return ferr("unsupported", "op %s", op)
}

func fakeSessionKey(ik1, ik2, base []byte) [32]byte {
	// Order-independent in the identities, bound to the base key.
	a, b := ik1, ik2
	if bytes.Compare(a, b) > 0 {
		a, b = b, a
	}
	return sha256.Sum256(bytes.Join([][]byte{a, b, base}, nil))
}

func fakeStream(key [32]byte, ctr uint64, data []byte) []byte {
	out := make([]byte, len(data))
	for i := range data {
		if i%32 == 0 {
			var blk [48]byte
			copy(blk[:], key[:])
			binary.BigEndian.PutUint64(blk[32:], ctr)
			binary.BigEndian.PutUint64(blk[40:], uint64(i/32))
			h := sha256.Sum256(blk[:])
			copy(out[i:], xorBytes(data[i:min(i+32, len(data))], h[:]))
		}
	}
	return out
}

func xorBytes(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

func fakeTag(key [32]byte, sender, receiver, data []byte) []byte {
	h := sha256.Sum256(bytes.Join([][]byte{key[:], sender, receiver, data}, nil))
	return h[:8]
}

func fakeSignalMessage(st *fakeState, me, them, pt []byte) []byte {
	if st.received {
		st.sendChain++
		st.sendIdx, st.received = 0, false
	}
	ctr := st.sendChain<<20 | st.sendIdx
	st.sendIdx++
	var body []byte
	rk := st.base
	if os.Getenv("FAKE_MODE") != "static-ratchet" {
		h := sha256.Sum256(append(append(append([]byte(nil), st.base...), me...), byte(st.sendChain)))
		rk = append([]byte{0x05}, h[:]...)
	}
	body = pbBytes(body, 1, rk)
	body = pbBytes(body, 7, st.base) // the fake's session lookup
	body = pbVarint(body, 2, ctr)
	body = pbVarint(body, 3, 0)
	body = pbBytes(body, 4, fakeStream(st.key, ctr, pt))
	m := append([]byte{byte(st.version<<4 | 4)}, body...)
	return append(m, fakeTag(st.key, me, them, m)...)
}

func pbVarint(b []byte, num int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(num)<<3)
	return binary.AppendUvarint(b, v)
}

func pbBytes(b []byte, num int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(num)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// open authenticates and decrypts a SignalMessage with st without changing
// st unless it succeeds.
func (f *fakePeer) open(st *fakeState, remote, sm []byte) ([]byte, *fakeErr) {
	if len(sm) < 10 || (sm[0]>>4 != 3 && sm[0]>>4 != 4) {
		return nil, ferr("invalid_message", "bad SignalMessage")
	}
	m, tag := sm[:len(sm)-8], sm[len(sm)-8:]
	if !bytes.Equal(tag, fakeTag(st.key, remote, f.ik, m)) {
		return nil, ferr("invalid_message", "bad tag")
	}
	ctr, ok1 := fieldVarint(m[1:], 2)
	body, ok2 := fieldBytes(m[1:], 4)
	if !ok1 || !ok2 {
		return nil, ferr("invalid_message", "missing fields")
	}
	if st.seen[ctr] {
		return nil, ferr("duplicate_message", "counter %d already used", ctr)
	}
	chain, idx := ctr>>20, int64(ctr&(1<<20-1))
	top, ok := st.maxSeen[chain]
	if !ok {
		top = -1
	}
	if idx > top+2000 {
		return nil, ferr("too_far", "counter %d too far ahead", idx)
	}
	st.seen[ctr] = true
	st.maxSeen[chain] = max(top, idx)
	st.received = true
	return fakeStream(st.key, ctr, body), nil
}

func (f *fakePeer) promote(k string, st *fakeState) {
	ss := []*fakeState{st}
	for _, s := range f.sessions[k] {
		if s != st {
			ss = append(ss, s)
		}
	}
	f.sessions[k] = ss
}

func (f *fakePeer) decrypt(addr Address, typ int, ct []byte) ([]byte, *fakeErr) {
	k := addrKey(addr)
	switch typ {
	case 2:
		if len(f.sessions[k]) == 0 {
			return nil, ferr("no_session", "no session with %s", k)
		}
		if len(ct) < 10 {
			return nil, ferr("invalid_message", "too short")
		}
		base, ok := fieldBytes(ct[1:len(ct)-8], 7)
		if !ok {
			return nil, ferr("invalid_message", "malformed")
		}
		for _, st := range f.sessions[k] {
			if bytes.Equal(st.base, base) {
				pt, e := f.open(st, f.trusted[addr.Name], ct)
				if e != nil {
					return nil, e
				}
				st.acked = true
				f.promote(k, st)
				return pt, nil
			}
		}
		return nil, ferr("invalid_message", "no matching session state")
	case 3:
		if len(ct) < 2 || (ct[0]>>4 != 3 && ct[0]>>4 != 4) {
			return nil, ferr("invalid_message", "bad PreKeySignalMessage")
		}
		b := ct[1:]
		if _, err := parseProto(b); err != nil {
			return nil, ferr("invalid_message", "malformed")
		}
		ik, ok1 := fieldBytes(b, 3)
		base, ok2 := fieldBytes(b, 2)
		sm, ok3 := fieldBytes(b, 4)
		spk, ok4 := fieldVarint(b, 6)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, ferr("invalid_message", "missing fields")
		}
		if len(ik) != 33 || ik[0] != 5 || len(base) != 33 || base[0] != 5 {
			return nil, ferr("invalid_key", "bad key")
		}
		if t, ok := f.trusted[addr.Name]; ok && !bytes.Equal(t, ik) {
			return nil, ferr("untrusted_identity", "identity changed")
		}
		if inner, ok := fieldBytes(sm[1:max(1, len(sm)-8)], 7); len(sm) < 10 || !ok || !bytes.Equal(inner, base) {
			return nil, ferr("invalid_message", "inner message does not match")
		}
		for _, st := range f.sessions[k] {
			if bytes.Equal(st.base, base) {
				pt, e := f.open(st, ik, sm)
				if e != nil {
					return nil, e
				}
				f.promote(k, st)
				return pt, nil
			}
		}
		if spk != 1 {
			return nil, ferr("invalid_prekey", "unknown signed prekey %d", spk)
		}
		pk, hasPK := fieldVarint(b, 1)
		if hasPK && !f.preKeys[int64(pk)] {
			return nil, ferr("invalid_prekey", "unknown one-time prekey %d", pk)
		}
		st := &fakeState{base: base, seen: map[uint64]bool{}, maxSeen: map[uint64]int64{}, acked: true, version: int(ct[0] >> 4)}
		st.key = fakeSessionKey(f.ik, ik, base)
		pt, e := f.open(st, ik, sm)
		if e != nil {
			return nil, e
		}
		delete(f.preKeys, int64(pk))
		f.trusted[addr.Name] = ik
		f.sessions[k] = append([]*fakeState{st}, f.sessions[k]...)
		return pt, nil
	}
	return nil, ferr("invalid_message", "unknown type %d", typ)
}
