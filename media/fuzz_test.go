package media

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecryptWhatsApp: arbitrary blobs, keys, kinds and sidecars never panic,
// and nothing is written unless the blob authenticates.
func FuzzDecryptWhatsApp(f *testing.F) {
	key := bytes.Repeat([]byte{7}, MediaKeySize)
	for _, n := range []int{0, 1, 16, 100, 70000} {
		var blob bytes.Buffer
		info, _ := EncryptWhatsAppWithKey(&blob, bytes.NewReader(patterned(n, 1)), Video, key)
		f.Add(blob.Bytes(), key, uint8(Video), info.StreamingSidecar)
	}
	f.Add([]byte{}, key, uint8(Image), []byte(nil))
	f.Fuzz(func(t *testing.T, blob, key []byte, kind uint8, side []byte) {
		var w failWriter
		check := &WhatsAppCheck{StreamingSidecar: side}
		err := DecryptWhatsApp(&w, bytes.NewReader(blob), int64(len(blob)), Kind(kind), key, check)
		if err != nil && w.wrote {
			t.Fatalf("wrote output and failed: %v", err)
		}
		if err == nil {
			// An authentic blob re-encrypts to itself.
			var again bytes.Buffer
			var out bytes.Buffer
			if err := DecryptWhatsApp(&out, bytes.NewReader(blob), int64(len(blob)), Kind(kind), key, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := EncryptWhatsAppWithKey(&again, &out, Kind(kind), key); err != nil || !bytes.Equal(again.Bytes(), blob) {
				t.Fatalf("round trip differs: %v", err)
			}
		}
	})
}

// FuzzDecryptSignal: arbitrary blobs, keys, sizes and incremental MACs never
// panic, and nothing is written unless the blob authenticates.
func FuzzDecryptSignal(f *testing.F) {
	key := bytes.Repeat([]byte{9}, SignalKeySize)
	iv := bytes.Repeat([]byte{1}, 16)
	for _, n := range []int{0, 1, 600, 70000} {
		var blob bytes.Buffer
		info, _ := EncryptSignalWithKey(&blob, bytes.NewReader(patterned(n, 2)), int64(n), key, iv)
		f.Add(blob.Bytes(), key, int64(n), info.IncrementalMAC, uint32(info.ChunkSize))
	}
	f.Add([]byte{}, key, int64(-1), []byte(nil), uint32(0))
	f.Fuzz(func(t *testing.T, blob, key []byte, size int64, inc []byte, chunk uint32) {
		var w failWriter
		check := &SignalCheck{IncrementalMAC: inc, ChunkSize: int(chunk % (1 << 22))}
		err := DecryptSignal(&w, bytes.NewReader(blob), int64(len(blob)), key, size, check)
		if err != nil && w.wrote {
			t.Fatalf("wrote output and failed: %v", err)
		}
		if err != nil && !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalidSize) &&
			!errors.Is(err, ErrInvalidMAC) && !errors.Is(err, ErrInvalidIncrementalMAC) && !errors.Is(err, ErrInvalidPadding) {
			t.Fatalf("unexpected error class: %v", err)
		}
	})
}
