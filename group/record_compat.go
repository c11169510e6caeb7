package group

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
)

// Records written by other implementations (issue #15 item 1).
//
// UnmarshalRecord reads, besides libsignal's SenderKeyRecordStructure:
//
//   - go.mau.fi/libsignal's records, which both of its serializers (the
//     "protobuf" one whatsmeow uses included) write as JSON of its
//     SenderKeyStructure {SenderKeyStates}: a record that begins with '{' is
//     read in that form (a state's KeyID is the chain ID; a skipped key's
//     Seed is kept, its IV and CipherKey, derived from the seed, are checked
//     against it);
//   - a receiving state whose private signing key is 32 zero bytes: go.mau.fi
//     writes that for a chain it only receives on; it is read as no private
//     key;
//   - a raw 32-byte public signing key without the 0x05 type byte.
//
// Marshal writes libsignal's form. A field that cannot be read is an error
// naming it (ErrInvalidRecord).

// normalizeStatePB rewrites the forms libsignal does not write into the
// ones it does before stateFromProto checks them.
func normalizeStatePB(st *signalpb.SenderKeyStateStructure) {
	sk := st.GetSenderSigningKey()
	if sk == nil {
		return
	}
	if len(sk.Public) == 32 {
		sk.Public = append([]byte{0x05}, sk.Public...)
	}
	if len(sk.Private) == 32 && allZero(sk.Private) {
		sk.Private = nil
	}
}

func allZero(b []byte) bool {
	var acc byte
	for _, x := range b {
		acc |= x
	}
	return acc == 0
}

// mauRecord is go.mau.fi/libsignal's SenderKeyStructure in its JSON form.
type mauRecord struct {
	SenderKeyStates []*struct {
		Keys []*struct {
			Iteration uint32
			IV        []byte
			CipherKey []byte
			Seed      []byte
		}
		KeyID          uint32
		SenderChainKey *struct {
			Iteration uint32
			ChainKey  []byte
		}
		SigningKeyPrivate []byte
		SigningKeyPublic  []byte
	}
}

// mauToProto converts go.mau.fi's JSON record into libsignal's layout.
func mauToProto(b []byte) (*signalpb.SenderKeyRecordStructure, error) {
	var mr mauRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mr); err != nil {
		return nil, fmt.Errorf("%w: go.mau.fi JSON record: %v", ErrInvalidRecord, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: go.mau.fi JSON record: trailing data", ErrInvalidRecord)
	}
	if len(mr.SenderKeyStates) > MaxSenderKeyStates {
		return nil, fmt.Errorf("%w: %d states", ErrInvalidRecord, len(mr.SenderKeyStates))
	}
	pb := &signalpb.SenderKeyRecordStructure{}
	for i, ms := range mr.SenderKeyStates {
		if ms == nil {
			return nil, fmt.Errorf("%w: state %d is null", ErrInvalidRecord, i)
		}
		if len(ms.Keys) > MaxMessageKeys {
			return nil, fmt.Errorf("%w: state %d: %d skipped message keys", ErrInvalidRecord, i, len(ms.Keys))
		}
		st := &signalpb.SenderKeyStateStructure{
			MessageVersion:   Version,
			ChainId:          ms.KeyID,
			SenderSigningKey: &signalpb.SenderKeyStateStructure_SenderSigningKey{Public: ms.SigningKeyPublic, Private: ms.SigningKeyPrivate},
		}
		if ck := ms.SenderChainKey; ck != nil {
			st.SenderChainKey = &signalpb.SenderKeyStateStructure_SenderChainKey{Iteration: ck.Iteration, Seed: ck.ChainKey}
		}
		for j, k := range ms.Keys {
			if k == nil || len(k.Seed) != ChainKeySize {
				return nil, fmt.Errorf("%w: state %d: skipped message key %d has no 32-byte seed", ErrInvalidRecord, i, j)
			}
			if len(k.IV) > 0 || len(k.CipherKey) > 0 {
				var seed [ChainKeySize]byte
				copy(seed[:], k.Seed)
				iv, ck, err := messageKeys(&seed)
				if err != nil || !bytes.Equal(iv, k.IV) || !bytes.Equal(ck, k.CipherKey) {
					return nil, fmt.Errorf("%w: state %d: skipped message key %d: IV and cipher key do not match its seed", ErrInvalidRecord, i, j)
				}
			}
			st.SenderMessageKeys = append(st.SenderMessageKeys, &signalpb.SenderKeyStateStructure_SenderMessageKey{Iteration: k.Iteration, Seed: k.Seed})
		}
		pb.SenderKeyStates = append(pb.SenderKeyStates, st)
	}
	return pb, nil
}
