package session

import (
	"bytes"
	"fmt"

	"github.com/interlock-e2ee/interlock/proto/signalpb"
	"github.com/interlock-e2ee/interlock/ratchet"
	"google.golang.org/protobuf/proto"
)

// SetWorkHook makes every decryption of a SignalMessage report the Double
// Ratchet derivations it spent to f (the message of a PreKeySignalMessage
// too, once per decryption of it), until the returned function restores
// the previous hook. Not safe to call while messages are being decrypted.
func SetWorkHook(f func(ratchet.Work)) (restore func()) {
	old := workHook
	workHook = f
	return func() { workHook = old }
}

// CheckRecordCodec compares the hand-written record codec (record_codec.go)
// with the generated protobuf code on b: whatever the fast parser accepts,
// proto.Unmarshal parses to an equal message (the record and every archived
// state), and a record that loads marshals to the bytes proto.Marshal
// writes.
func CheckRecordCodec(b []byte) error {
	if pb, ok := parseRecordFast(b); ok {
		var slow signalpb.RecordStructure
		if err := proto.Unmarshal(b, &slow); err != nil {
			return fmt.Errorf("fast parser accepted what proto.Unmarshal refuses: %v", err)
		}
		if !proto.Equal(pb, &slow) {
			return fmt.Errorf("fast parse %v differs from proto.Unmarshal %v", pb, &slow)
		}
		for i, raw := range slow.PreviousSessions {
			if err := checkStateCodec(raw); err != nil {
				return fmt.Errorf("archived state %d: %w", i, err)
			}
		}
	}
	r, err := UnmarshalRecord(b)
	if err != nil || r.Normalize() != nil {
		return nil
	}
	fast, err := r.Marshal()
	if err != nil {
		return err
	}
	slow, err := r.marshalProto()
	if err != nil {
		return err
	}
	if !bytes.Equal(fast, slow) {
		return fmt.Errorf("Marshal %x\nproto.Marshal %x", fast, slow)
	}
	return nil
}

func checkStateCodec(b []byte) error {
	pb, ok := parseStateFast(b)
	if !ok {
		return nil
	}
	var slow signalpb.SessionStructure
	if err := proto.Unmarshal(b, &slow); err != nil {
		return fmt.Errorf("fast parser accepted what proto.Unmarshal refuses: %v", err)
	}
	if !proto.Equal(pb, &slow) {
		return fmt.Errorf("fast parse %v differs from proto.Unmarshal %v", pb, &slow)
	}
	return nil
}

// FastParses reports whether the hand-written parser takes b (the record and
// every archived state) without falling back to proto.Unmarshal.
func FastParses(b []byte) bool {
	pb, ok := parseRecordFast(b)
	if !ok {
		return false
	}
	for _, raw := range pb.PreviousSessions {
		if _, ok := parseStateFast(raw); !ok {
			return false
		}
	}
	return true
}
