package media

import (
	"bytes"
	"testing"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

// TestWhatsAppVectors: blobs made by Baileys (an independent implementation)
// are reproduced byte for byte and decrypt.
func TestWhatsAppVectors(t *testing.T) {
	var f struct {
		Source  string `json:"source"`
		Vectors []struct {
			ID            int    `json:"id"`
			Kind          string `json:"kind"`
			Info          string `json:"info"`
			MediaKey      []byte `json:"media_key"`
			IV            []byte `json:"iv"`
			CipherKey     []byte `json:"cipher_key"`
			MACKey        []byte `json:"mac_key"`
			Seed          int    `json:"seed"`
			FileLength    uint64 `json:"file_length"`
			FileSHA256    []byte `json:"file_sha256"`
			FileEncSHA256 []byte `json:"file_enc_sha256"`
			MAC           []byte `json:"mac"`
			BlobSize      int64  `json:"blob_size"`
			Blob          []byte `json:"blob"`
		} `json:"vectors"`
	}
	vectortest.Load(t, "whatsapp-media.json", &f)
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range f.Vectors {
		kind, err := ParseKind(v.Kind)
		if err != nil {
			t.Fatalf("vector %d: %v", v.ID, err)
		}
		if kind.Info() != v.Info {
			t.Fatalf("vector %d: info %q, Baileys %q", v.ID, kind.Info(), v.Info)
		}
		keys, err := DeriveWhatsAppKeys(v.MediaKey, kind)
		if err != nil || !bytes.Equal(keys.IV[:], v.IV) || !bytes.Equal(keys.CipherKey[:], v.CipherKey) || !bytes.Equal(keys.MACKey[:], v.MACKey) {
			t.Fatalf("vector %d: key derivation differs (%v)", v.ID, err)
		}
		pt := patterned(int(v.FileLength), byte(v.Seed))
		var blob bytes.Buffer
		info, err := EncryptWhatsAppWithKey(&blob, bytes.NewReader(pt), kind, v.MediaKey)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(info.FileSHA256, v.FileSHA256) || !bytes.Equal(info.FileEncSHA256, v.FileEncSHA256) ||
			int64(blob.Len()) != v.BlobSize || !bytes.Equal(blob.Bytes()[blob.Len()-10:], v.MAC) {
			t.Fatalf("vector %d (%s): re-encryption differs from %s", v.ID, v.Kind, f.Source)
		}
		if v.Blob != nil && !bytes.Equal(v.Blob, blob.Bytes()) {
			t.Fatalf("vector %d: blob differs", v.ID)
		}
		in := blob.Bytes()
		if v.Blob != nil {
			in = v.Blob
		}
		var out bytes.Buffer
		check := &WhatsAppCheck{FileEncSHA256: v.FileEncSHA256, FileSHA256: v.FileSHA256}
		if err := DecryptWhatsApp(&out, bytes.NewReader(in), int64(len(in)), kind, v.MediaKey, check); err != nil || !bytes.Equal(out.Bytes(), pt) {
			t.Fatalf("vector %d: decrypt: %v", v.ID, err)
		}
	}
}

// TestSignalVectors: chunk sizes and incremental MACs computed by libsignal,
// padding buckets computed as Signal-Desktop does.
func TestSignalVectors(t *testing.T) {
	var f struct {
		Source     string `json:"source"`
		ChunkSizes []struct {
			DataSize  int64 `json:"data_size"`
			ChunkSize int   `json:"chunk_size"`
		} `json:"chunk_sizes"`
		IncrementalMACs []struct {
			ID        int    `json:"id"`
			HMACKey   []byte `json:"hmac_key"`
			Length    int    `json:"length"`
			Seed      int    `json:"seed"`
			ChunkSize int    `json:"chunk_size"`
			MAC       []byte `json:"incremental_mac"`
		} `json:"incremental_macs"`
		Attachments []struct {
			ID             int    `json:"id"`
			Key            []byte `json:"key"`
			IV             []byte `json:"iv"`
			Size           int64  `json:"size"`
			Seed           int    `json:"seed"`
			PaddedSize     int64  `json:"padded_size"`
			BlobSize       int64  `json:"blob_size"`
			Digest         []byte `json:"digest"`
			ChunkSize      int    `json:"chunk_size"`
			IncrementalMAC []byte `json:"incremental_mac"`
			Blob           []byte `json:"blob"`
		} `json:"attachments"`
		Padding []struct {
			Size       int64 `json:"size"`
			PaddedSize int64 `json:"padded_size"`
		} `json:"padding"`
	}
	vectortest.Load(t, "signal-attachment-incremental-mac.json", &f)
	if len(f.ChunkSizes) == 0 || len(f.IncrementalMACs) == 0 || len(f.Attachments) == 0 || len(f.Padding) == 0 {
		t.Fatal("empty vector file")
	}
	for _, c := range f.ChunkSizes {
		if got := ChunkSize(c.DataSize); got != c.ChunkSize {
			t.Errorf("ChunkSize(%d) = %d, libsignal %d", c.DataSize, got, c.ChunkSize)
		}
	}
	for _, v := range f.IncrementalMACs {
		m := newIncrementalMAC(v.HMACKey, v.ChunkSize)
		data := patterned(v.Length, byte(v.Seed))
		// Uneven writes, as the streams deliver them.
		for i, step := 0, 1; i < len(data); i, step = i+step, step*3%1000+1 {
			m.Write(data[i:min(len(data), i+step)])
		}
		if got := m.finish(); !bytes.Equal(got, v.MAC) {
			t.Errorf("incremental MAC vector %d: %d bytes, libsignal %d", v.ID, len(got), len(v.MAC))
		}
	}
	for _, p := range f.Padding {
		if got := PaddedSize(p.Size); got != p.PaddedSize {
			t.Errorf("PaddedSize(%d) = %d, Signal-Desktop formula %d", p.Size, got, p.PaddedSize)
		}
	}
	for _, v := range f.Attachments {
		pt := patterned(int(v.Size), byte(v.Seed))
		var blob bytes.Buffer
		info, err := EncryptSignalWithKey(&blob, bytes.NewReader(pt), v.Size, v.Key, v.IV)
		if err != nil {
			t.Fatal(err)
		}
		if PaddedSize(v.Size) != v.PaddedSize || info.BlobSize != v.BlobSize || !bytes.Equal(info.Digest, v.Digest) ||
			info.ChunkSize != v.ChunkSize || !bytes.Equal(info.IncrementalMAC, v.IncrementalMAC) {
			t.Fatalf("attachment vector %d (%d bytes): differs from %s", v.ID, v.Size, f.Source)
		}
		if v.Blob != nil && !bytes.Equal(v.Blob, blob.Bytes()) {
			t.Fatalf("attachment vector %d: blob differs", v.ID)
		}
		var out bytes.Buffer
		check := &SignalCheck{Digest: v.Digest, IncrementalMAC: v.IncrementalMAC, ChunkSize: v.ChunkSize}
		if err := DecryptSignal(&out, bytes.NewReader(blob.Bytes()), int64(blob.Len()), v.Key, v.Size, check); err != nil || !bytes.Equal(out.Bytes(), pt) {
			t.Fatalf("attachment vector %d: decrypt: %v", v.ID, err)
		}
	}
}
