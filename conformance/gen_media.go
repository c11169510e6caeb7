package conformance

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"

	"github.com/interlock-e2ee/interlock/media"
)

// rawCBCBlob is cbcBlob without PKCS#7: plaintext must be whole blocks. It
// makes blobs whose MAC is valid but whose padding is not.
func rawCBCBlob(cipherKey, macKey, iv, plaintext []byte, macLen int, withIV bool) []byte {
	block, _ := aes.NewCipher(cipherKey)
	ct := bytes.Clone(plaintext)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	m := hmac.New(sha256.New, macKey)
	m.Write(iv)
	m.Write(ct)
	var blob []byte
	if withIV {
		blob = append(blob, iv...)
	}
	return append(append(blob, ct...), m.Sum(nil)[:macLen]...)
}

func genMedia() ([]any, error) {
	rnd := NewDeterministicReader("interlock-media")
	var out []any
	add := func(v mediaVector, want string) error {
		got, err := v.decrypt(Interlock{})
		if k := (Interlock{}).Kind(err); k != want || (want == "" && !bytes.Equal(got, v.Plaintext)) {
			return fmt.Errorf("conformance: generator: media %q%s: kind %q (%v), want %q", v.Comment, v.Mutation, k, err, want)
		}
		v.ID = len(out) + 1
		if want != "" {
			v.ExpectError, v.Plaintext = want, nil
		}
		out = append(out, v)
		return nil
	}
	mut := func(v mediaVector, mutation string, f func(*mediaVector)) mediaVector {
		v.Comment, v.Mutation = "", mutation
		v.Blob = bytes.Clone(v.Blob)
		f(&v)
		return v
	}
	type check struct {
		v    mediaVector
		want string
	}

	// Signal attachment.
	pt := []byte("an attachment of a few dozen bytes, padded to 541 before encryption")
	var blob bytes.Buffer
	info, err := media.EncryptSignal(rnd, &blob, bytes.NewReader(pt), int64(len(pt)))
	if err != nil {
		return nil, err
	}
	sig := mediaVector{Format: "signal", Comment: "Signal attachment: digest and incremental MAC checked",
		Blob: bytes.Clone(blob.Bytes()), Plaintext: pt, Key: info.Key, Size: info.Size, Digest: info.Digest, IncrementalMAC: info.IncrementalMAC, ChunkSize: info.ChunkSize}
	n := len(sig.Blob)
	padded := make([]byte, (media.PaddedSize(int64(len(pt)))/16+1)*16) // zeros: the last byte is not PKCS#7
	copy(padded, pt)
	badPad := rawCBCBlob(info.Key[:32], info.Key[32:], sig.Blob[:16], padded, 32, true)
	checks := []check{
		{sig, ""},
		{mut(sig, "", func(v *mediaVector) {
			v.Comment = "the same without digest and incremental MAC (the MAC alone authenticates)"
			v.Digest, v.IncrementalMAC, v.ChunkSize = nil, nil, 0
		}), ""},
		{mut(sig, "signal: IV byte flipped", func(v *mediaVector) { v.Blob[0] ^= 1 }), "invalid_message"},
		{mut(sig, "signal: ciphertext byte flipped", func(v *mediaVector) { v.Blob[40] ^= 1 }), "invalid_message"},
		{mut(sig, "signal: last ciphertext byte flipped", func(v *mediaVector) { v.Blob[n-33] ^= 1 }), "invalid_message"},
		{mut(sig, "signal: last MAC byte flipped", func(v *mediaVector) { v.Blob[n-1] ^= 0x80 }), "invalid_message"},
		{mut(sig, "signal: MAC byte flipped, digest and incremental MAC not given", func(v *mediaVector) {
			v.Blob[n-1] ^= 0x80
			v.Digest, v.IncrementalMAC, v.ChunkSize = nil, nil, 0
		}), "invalid_message"},
		{mut(sig, "signal: truncated by one byte", func(v *mediaVector) { v.Blob = v.Blob[:n-1] }), "invalid_message"},
		{mut(sig, "signal: truncated by one block", func(v *mediaVector) { v.Blob = v.Blob[:n-16] }), "invalid_message"},
		{mut(sig, "signal: a byte appended", func(v *mediaVector) { v.Blob = append(v.Blob, 0) }), "invalid_message"},
		{mut(sig, "signal: digest flipped", func(v *mediaVector) { v.Digest = flip(v.Digest, 0, 1) }), "invalid_message"},
		{mut(sig, "signal: incremental MAC flipped", func(v *mediaVector) { v.IncrementalMAC = flip(v.IncrementalMAC, 0, 1) }), "invalid_message"},
		{mut(sig, "signal: HMAC half of the key flipped", func(v *mediaVector) { v.Key = flip(v.Key, 40, 1) }), "invalid_message"},
		{mut(sig, "signal: key of 63 bytes", func(v *mediaVector) { v.Key = v.Key[:63] }), "invalid_key"},
		{mut(sig, "signal: size larger than the padded plaintext", func(v *mediaVector) { v.Size = int64(n) }), "invalid_message"},
		{mut(sig, "signal: valid MAC over a last block with bad padding", func(v *mediaVector) {
			v.Blob = badPad
			v.Digest, v.IncrementalMAC, v.ChunkSize = nil, nil, 0
		}), "invalid_message"},
	}

	// WhatsApp media.
	wpt := []byte("a WhatsApp image, a few dozen bytes long")
	blob.Reset()
	winfo, err := media.EncryptWhatsApp(rnd, &blob, bytes.NewReader(wpt), media.Image)
	if err != nil {
		return nil, err
	}
	wa := mediaVector{Format: "whatsapp", Comment: "WhatsApp image: file_enc_sha256 and file_sha256 checked", Blob: bytes.Clone(blob.Bytes()), Plaintext: wpt,
		Info: media.Image.Info(), MediaKey: winfo.MediaKey, FileEncSHA256: winfo.FileEncSHA256, FileSHA256: winfo.FileSHA256}
	wn := len(wa.Blob)
	keys, err := media.DeriveWhatsAppKeys(winfo.MediaKey, media.Image)
	if err != nil {
		return nil, err
	}
	wpad := make([]byte, 48)
	copy(wpad, wpt)
	wBadPad := rawCBCBlob(keys.CipherKey[:], keys.MACKey[:], keys.IV[:], wpad, 10, false)
	checks = append(checks, []check{
		{wa, ""},
		{mut(wa, "", func(v *mediaVector) {
			v.Comment = "the same without hashes (the MAC alone authenticates)"
			v.FileEncSHA256, v.FileSHA256 = nil, nil
		}), ""},
		{mut(wa, "whatsapp: first ciphertext byte flipped", func(v *mediaVector) { v.Blob[0] ^= 1 }), "invalid_message"},
		{mut(wa, "whatsapp: last ciphertext byte flipped", func(v *mediaVector) { v.Blob[wn-11] ^= 1 }), "invalid_message"},
		{mut(wa, "whatsapp: last MAC byte flipped, no hashes given", func(v *mediaVector) {
			v.Blob[wn-1] ^= 0x80
			v.FileEncSHA256, v.FileSHA256 = nil, nil
		}), "invalid_message"},
		{mut(wa, "whatsapp: truncated by one byte", func(v *mediaVector) { v.Blob = v.Blob[:wn-1] }), "invalid_message"},
		{mut(wa, "whatsapp: MAC removed", func(v *mediaVector) { v.Blob = v.Blob[:wn-10] }), "invalid_message"},
		{mut(wa, "whatsapp: file_enc_sha256 flipped", func(v *mediaVector) { v.FileEncSHA256 = flip(v.FileEncSHA256, 0, 1) }), "invalid_message"},
		{mut(wa, "whatsapp: file_sha256 flipped", func(v *mediaVector) { v.FileSHA256 = flip(v.FileSHA256, 0, 1) }), "invalid_message"},
		{mut(wa, "whatsapp: decrypted as a video (another HKDF info)", func(v *mediaVector) { v.Info = media.Video.Info(); v.FileEncSHA256 = nil }), "invalid_message"},
		{mut(wa, "whatsapp: media key flipped", func(v *mediaVector) { v.MediaKey = flip(v.MediaKey, 0, 1); v.FileEncSHA256 = nil }), "invalid_message"},
		{mut(wa, "whatsapp: media key of 31 bytes", func(v *mediaVector) { v.MediaKey = v.MediaKey[:31] }), "invalid_key"},
		{mut(wa, "whatsapp: unknown HKDF info", func(v *mediaVector) { v.Info = "WhatsApp Unknown Keys" }), "invalid_key"},
		{mut(wa, "whatsapp: valid MAC over a last block with bad padding", func(v *mediaVector) {
			v.Blob = wBadPad
			v.FileEncSHA256, v.FileSHA256 = nil, nil
		}), "invalid_message"},
	}...)
	for _, c := range checks {
		if err := add(c.v, c.want); err != nil {
			return nil, err
		}
	}
	return out, nil
}
