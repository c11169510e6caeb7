package media_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/interlock-e2ee/interlock/media"
)

// A WhatsApp image and a Signal attachment, encrypted and decrypted as
// streams; the metadata goes into the message that points at the blob.
func Example() {
	photo := strings.Repeat("not really a JPEG ", 100)

	var waBlob bytes.Buffer
	wa, _ := media.EncryptWhatsApp(rand.Reader, &waBlob, strings.NewReader(photo), media.Image)
	var waOut bytes.Buffer
	err := media.DecryptWhatsApp(&waOut, bytes.NewReader(waBlob.Bytes()), int64(waBlob.Len()),
		media.Image, wa.MediaKey, &media.WhatsAppCheck{FileEncSHA256: wa.FileEncSHA256, FileSHA256: wa.FileSHA256})
	fmt.Println(err, wa.FileLength, waOut.String() == photo)

	var sigBlob bytes.Buffer
	sig, _ := media.EncryptSignal(rand.Reader, &sigBlob, strings.NewReader(photo), int64(len(photo)))
	var sigOut bytes.Buffer
	err = media.DecryptSignal(&sigOut, bytes.NewReader(sigBlob.Bytes()), sig.BlobSize, sig.Key, sig.Size,
		&media.SignalCheck{Digest: sig.Digest, IncrementalMAC: sig.IncrementalMAC, ChunkSize: sig.ChunkSize})
	fmt.Println(err, media.PaddedSize(sig.Size), sigOut.String() == photo)

	sigBlob.Bytes()[40] ^= 1 // tampering is caught before any output
	err = media.DecryptSignal(&sigOut, bytes.NewReader(sigBlob.Bytes()), sig.BlobSize, sig.Key, sig.Size, nil)
	fmt.Println(err)
	// Output:
	// <nil> 1800 true
	// <nil> 1832 true
	// media: invalid MAC
}
