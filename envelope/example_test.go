package envelope_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/interlock-e2ee/interlock/envelope"
	"github.com/interlock-e2ee/interlock/media"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/session"
)

// exampleSessions gives Alice a session with Bob: PQXDH (version 4) for
// Signal, or X3DH (version 3, a bundle without a Kyber prekey) for the
// WhatsApp flavour.
func exampleSessions(whatsapp bool) (alice, bob *session.Cipher, aliceAddr, bobAddr session.Address) {
	ctx := context.Background()
	aliceID, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	bobID, _ := prekey.GenerateIdentityKeyPair(rand.Reader)
	bobStore := session.NewMemoryStore(bobID, 2)
	var opts []session.Option
	if whatsapp {
		opts = append(opts, session.WithPolicy(session.AllowX3DH))
	}
	alice = session.NewCipher(session.NewMemoryStore(aliceID, 1), opts...)
	bob = session.NewCipher(bobStore, opts...)
	aliceAddr = session.Address{Name: "9d0652a3-dcc3-4d11-975f-74d61598733f", DeviceID: 1}
	bobAddr = session.Address{Name: "0f3f2c0c-6e4b-4e2a-9b7a-0c5f2b2d7e11", DeviceID: 1}

	spk, _ := prekey.GenerateSignedPreKey(rand.Reader, bobID, 1, time.Now())
	bobStore.StoreSignedPreKey(ctx, &spk)
	var kyber *prekey.KyberPreKeyRecord // none for the whatsapp flavour (X3DH)
	if !whatsapp {
		k, _ := prekey.GenerateKyberPreKey(rand.Reader, bobID, 1, true, time.Now())
		bobStore.StoreKyberPreKey(ctx, &k)
		kyber = &k
	}
	bundle := prekey.NewBundle(2, 1, bobID.PublicKey(), &spk, nil, kyber)
	if err := alice.ProcessBundle(ctx, bobAddr, bundle); err != nil {
		panic(err)
	}
	return alice, bob, aliceAddr, bobAddr
}

// Alice sends Bob a Signal DataMessage inside an Envelope; Bob opens it.
func Example() {
	ctx := context.Background()
	alice, bob, aliceAddr, bobAddr := exampleSessions(false)

	content := &envelope.Content{DataMessage: &envelope.DataMessage{Body: "hello", Timestamp: 1700000000000}}
	env, err := envelope.Seal(ctx, alice, aliceAddr, bobAddr, content, 1700000000000)
	if err != nil {
		panic(err)
	}
	e, _ := envelope.ParseEnvelope(env)
	fmt.Println(e.Type)

	from, got, err := envelope.Open(ctx, bob, env)
	fmt.Println(err, from == aliceAddr, got.DataMessage.Body)
	// Output:
	// PREKEY_MESSAGE
	// <nil> true hello
}

// A device that cannot decrypt a message asks its sender to resend it with a
// DecryptionErrorMessage, sent unencrypted in a PLAINTEXT_CONTENT envelope.
// Open refuses such an envelope (anyone could have written it); the request
// is read with OpenPlaintextContent, which returns nothing but the
// DecryptionErrorMessage, marked unauthenticated.
func ExampleOpenPlaintextContent() {
	ctx := context.Background()
	alice, _, aliceAddr, bobAddr := exampleSessions(false)

	// Alice's message does not decrypt on Bob's device: Bob asks for it again.
	typ, lost, _ := alice.Encrypt(ctx, bobAddr, envelope.PadSignal([]byte("...")))
	dem, _ := session.NewDecryptionErrorMessage(lost, typ, 1700000000000, bobAddr.DeviceID)
	env, err := envelope.SealPlaintextContent(bobAddr, aliceAddr, &envelope.Content{DecryptionErrorMessage: dem.Bytes()}, 1700000000001)
	if err != nil {
		panic(err)
	}

	// Alice receives the envelope.
	_, content, err := envelope.Open(ctx, alice, env)
	fmt.Println(content == nil, errors.Is(err, envelope.ErrUnauthenticatedContent))
	if errors.Is(err, envelope.ErrUnauthenticatedContent) {
		req, err := envelope.OpenPlaintextContent(env)
		if err != nil {
			panic(err) // anything but a lone DecryptionErrorMessage
		}
		// Unauthenticated: resend the message sent at this timestamp, if
		// there is one, and change nothing else on the strength of it.
		fmt.Println(req.From == bobAddr, req.DecryptionErrorMessage.Timestamp, req.DecryptionErrorMessage.DeviceID)
	}
	// Output:
	// true true
	// true 1700000000000 1
}

// Signal: a text with an image. The image is encrypted as a Signal
// attachment (package media), the blob goes to the CDN, and the pointer
// (key, size, digest, incremental MAC) travels in the DataMessage.
func ExampleSeal_signal() {
	ctx := context.Background()
	alice, bob, aliceAddr, bobAddr := exampleSessions(false)

	// Alice encrypts the image and sends the pointer with a caption.
	image := bytes.Repeat([]byte("\x89PNG pixels "), 1000)
	var blob bytes.Buffer // uploaded to the CDN in real life
	info, err := media.EncryptSignal(rand.Reader, &blob, bytes.NewReader(image), int64(len(image)))
	if err != nil {
		panic(err)
	}
	pointer, _ := envelope.NewAttachmentPointer(info)
	pointer.CDNKey, pointer.CDNNumber, pointer.ContentType = "cdn-key-from-upload", 3, "image/png"
	content := &envelope.Content{DataMessage: &envelope.DataMessage{
		Body: "the view from here", Timestamp: 1700000000000, Attachments: []envelope.AttachmentPointer{pointer},
	}}
	env, err := envelope.Seal(ctx, alice, aliceAddr, bobAddr, content, 1700000000000)
	if err != nil {
		panic(err)
	}

	// Bob opens the envelope, fetches the blob and decrypts it with the
	// pointer: digest, MAC and incremental MAC are checked before any output.
	_, got, err := envelope.Open(ctx, bob, env)
	if err != nil {
		panic(err)
	}
	p := got.DataMessage.Attachments[0]
	var out bytes.Buffer
	err = media.DecryptSignal(&out, bytes.NewReader(blob.Bytes()), int64(blob.Len()), p.Key, int64(p.Size), p.SignalCheck())
	fmt.Println(got.DataMessage.Body, p.ContentType, p.Size, blob.Len())
	fmt.Println(err, bytes.Equal(out.Bytes(), image))
	// Output:
	// the view from here image/png 12000 12352
	// <nil> true
}

// WhatsApp: a version 3 (X3DH) session, WhatsApp's plaintext padding, and an
// image message whose media key, hashes and length come from package media.
func ExampleSealWhatsApp() {
	ctx := context.Background()
	alice, bob, aliceAddr, bobAddr := exampleSessions(true)

	image := bytes.Repeat([]byte("\x89PNG pixels "), 1000)
	var blob bytes.Buffer // uploaded to WhatsApp's media servers in real life
	info, err := media.EncryptWhatsApp(rand.Reader, &blob, bytes.NewReader(image), media.Image)
	if err != nil {
		panic(err)
	}
	msg, _ := envelope.NewWhatsAppMediaMessage(media.Image, info)
	msg.Media.MimeType, msg.Media.Caption, msg.Media.DirectPath = "image/png", "the view from here", "/v/t62.7118-24/example"
	encType, ciphertext, err := envelope.SealWhatsApp(ctx, rand.Reader, alice, bobAddr, msg)
	if err != nil {
		panic(err)
	}

	got, err := envelope.OpenWhatsApp(ctx, bob, aliceAddr, encType, ciphertext)
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	err = media.DecryptWhatsApp(&out, bytes.NewReader(blob.Bytes()), int64(blob.Len()), got.Kind.Kind(), got.Media.MediaKey, got.Media.WhatsAppCheck())
	fmt.Println(encType, got.Kind.Kind(), got.Media.Caption, got.Media.FileLength, blob.Len())
	fmt.Println(err, bytes.Equal(out.Bytes(), image))
	// Output:
	// pkmsg image the view from here 12000 12026
	// <nil> true
}
