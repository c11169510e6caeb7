package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"
)

type device struct {
	Device         uint32 `json:"device"`
	RegistrationID uint32 `json:"registration_id"`
}

type recipient struct {
	ServiceID       string   `json:"service_id"`
	ServiceIDFixed  []byte   `json:"service_id_fixed_width"`
	IdentityPrivate []byte   `json:"identity_private"`
	IdentityPublic  []byte   `json:"identity_public"`
	Devices         []device `json:"devices"`
	ParsedDevices   []device `json:"parsed_devices"`
	Excluded        bool     `json:"excluded"`
	Received        []byte   `json:"received"`
}

type sender struct {
	Name            string `json:"name"`
	Device          uint32 `json:"device"`
	IdentityPublic  []byte `json:"identity_public"`
	IdentityPrivate []byte `json:"identity_private"`
}

type expected struct {
	USMC                         []byte   `json:"usmc"`
	MsgType                      int      `json:"msg_type"`
	ContentHint                  uint32   `json:"content_hint"`
	GroupID                      []byte   `json:"group_id"`
	SenderCertificate            []byte   `json:"sender_certificate"`
	SenderCertificateExpires     int64    `json:"sender_certificate_expires"`
	Contents                     []byte   `json:"contents"`
	Plaintext                    []byte   `json:"plaintext"`
	Excluded                     []string `json:"excluded"`
	SenderKeyDistributionMessage []byte   `json:"sender_key_distribution_message,omitempty"`
}

type vector struct {
	ID          int         `json:"id"`
	Comment     string      `json:"comment"`
	Now         int64       `json:"now"`
	Sender      sender      `json:"sender"`
	Recipients  []recipient `json:"recipients"`
	SentMessage []byte      `json:"sent_message"`
	Expected    expected    `json:"expected"`
}

type file struct {
	Source            string   `json:"source"`
	Generator         string   `json:"generator"`
	Category          string   `json:"category"`
	Comment           string   `json:"comment"`
	TrustRootPrivate  []byte   `json:"trust_root_private"`
	TrustRootPublic   []byte   `json:"trust_root_public"`
	ServerKeyID       uint32   `json:"server_key_id"`
	ServerPrivate     []byte   `json:"server_private"`
	ServerCertificate []byte   `json:"server_certificate"`
	Vectors           []vector `json:"vectors"`
}

func main() {
	out := flag.String("o", "", "output JSON file (required)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "v2gen: -o FILE is required")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "v2gen:", err)
		os.Exit(1)
	}
}

func randUUID() [16]byte {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

func randUint(n uint32) uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return binary.BigEndian.Uint32(b[:]) % n
}

// account is one recipient account (or an excluded one: no devices).
type account struct {
	id      sealedsender.ServiceID
	key     prekey.IdentityKeyPair
	devices []sealedsender.Device
}

func newAccount(kind sealedsender.ServiceIDKind, devices ...uint32) (*account, error) {
	k, err := prekey.GenerateIdentityKeyPair(rand.Reader)
	if err != nil {
		return nil, err
	}
	a := &account{id: sealedsender.NewServiceID(kind, randUUID()), key: k}
	for _, d := range devices {
		a.devices = append(a.devices, sealedsender.Device{ID: d, RegistrationID: 1 + randUint(0x3FFE)})
	}
	return a, nil
}

func run(out string) error {
	ctx := context.Background()
	root, err := prekey.GenerateKeyPair(rand.Reader)
	if err != nil {
		return err
	}
	serverKey, err := prekey.GenerateKeyPair(rand.Reader)
	if err != nil {
		return err
	}
	serverID := 1 + randUint(1000)
	sc, err := sealedsender.NewServerCertificate(rand.Reader, root.Private, serverID, serverKey.Public)
	if err != nil {
		return err
	}
	now := time.Now()
	expires := now.Add(30 * 24 * time.Hour).Truncate(time.Millisecond)

	f := file{
		Source:    "interlock 0.1.0-dev",
		Generator: "sealedsender/internal/v2gen",
		Category:  "sealed-sender-v2",
		Comment: "Sealed sender v2 messages made by Interlock's EncryptMultiRecipient, in the schema of libsignal-sealed-sender-v2.json: " +
			"`received` is Interlock's split (SentMessage.ReceivedMessage), contents and plaintext what the recipients must recover. " +
			"Random on every run; checked by interop/libsignal/check-sealed-v2.js with libsignal.",
		TrustRootPrivate:  root.Private.Bytes(),
		TrustRootPublic:   root.Public.Bytes(),
		ServerKeyID:       serverID,
		ServerPrivate:     serverKey.Private.Bytes(),
		ServerCertificate: sc.Bytes(),
	}

	for id, kind := range []string{"senderkey", "plaintext"} {
		aliceKey, err := prekey.GenerateIdentityKeyPair(rand.Reader)
		if err != nil {
			return err
		}
		aliceUUID := randUUID()
		alice := sealedsender.NewServiceID(sealedsender.ACI, aliceUUID)
		aliceDevice := 1 + randUint(127)
		cert, err := sealedsender.NewSenderCertificate(rand.Reader, sealedsender.Sender{
			UUID: alice.String(), DeviceID: aliceDevice, IdentityKey: aliceKey.PublicKey(), Expires: expires,
		}, sc, serverKey.Private)
		if err != nil {
			return err
		}

		var recipients, excluded []*account
		var comment string
		var typ session.MessageType
		var contents, plaintext, groupID, skdm []byte
		hint := sealedsender.HintDefault
		switch kind {
		case "senderkey":
			bob, err := newAccount(sealedsender.ACI, 1, 2+randUint(126))
			if err != nil {
				return err
			}
			carol, err := newAccount(sealedsender.PNI, 1)
			if err != nil {
				return err
			}
			erin, err := newAccount(sealedsender.ACI, 1+randUint(127))
			if err != nil {
				return err
			}
			dave, err := newAccount(sealedsender.ACI)
			if err != nil {
				return err
			}
			recipients, excluded = []*account{bob, carol, erin}, []*account{dave}
			dist := randUUID()
			gc := group.NewCipher(group.NewMemoryStore())
			name := group.SenderKeyName{Sender: alice.String(), DeviceID: aliceDevice, DistributionID: sealedsender.NewServiceID(sealedsender.ACI, dist).String()}
			dm, err := gc.CreateDistributionMessage(ctx, name)
			if err != nil {
				return err
			}
			skdm = dm.Bytes()
			plaintext = []byte(fmt.Sprintf("Interlock sealed sender v2 group message %d", id+1))
			if contents, err = gc.Encrypt(ctx, name, plaintext); err != nil {
				return err
			}
			typ, hint = session.TypeSenderKey, sealedsender.HintImplicit
			groupID = make([]byte, 32)
			if _, err := rand.Read(groupID); err != nil {
				return err
			}
			comment = "Interlock: sealed sender v2 around a SenderKeyMessage (type 7), content hint implicit, 32-byte group ID; recipients: one ACI with two devices, a PNI, another ACI; one excluded ACI"
		case "plaintext":
			carol, err := newAccount(sealedsender.PNI, 1)
			if err != nil {
				return err
			}
			bob, err := newAccount(sealedsender.ACI, 3, 1, 127)
			if err != nil {
				return err
			}
			dave, err := newAccount(sealedsender.ACI)
			if err != nil {
				return err
			}
			frank, err := newAccount(sealedsender.PNI)
			if err != nil {
				return err
			}
			recipients, excluded = []*account{carol, bob}, []*account{dave, frank}
			dem, err := session.NewDecryptionErrorMessage(nil, session.TypeSenderKey, uint64(now.UnixMilli()), aliceDevice)
			if err != nil {
				return err
			}
			pc := session.NewPlaintextContent(dem)
			contents, plaintext = pc.Bytes(), pc.Body()
			typ, hint = session.TypePlaintext, sealedsender.HintResendable
			comment = "Interlock: sealed sender v2 around a PlaintextContent (type 8) carrying a DecryptionErrorMessage, content hint resendable, no group ID; recipients: a PNI, an ACI with three devices (3, 1, 127); excluded: an ACI and a PNI"
		}
		content, err := sealedsender.NewContent(typ, cert, contents, hint, groupID)
		if err != nil {
			return err
		}
		var rs []sealedsender.Recipient
		for _, a := range recipients {
			rs = append(rs, sealedsender.Recipient{ServiceID: a.id, Devices: a.devices, IdentityKey: a.key.PublicKey()})
		}
		var xs []sealedsender.ServiceID
		var xnames []string
		for _, a := range excluded {
			xs = append(xs, a.id)
			xnames = append(xnames, a.id.String())
		}
		sent, err := sealedsender.EncryptMultiRecipient(rand.Reader, rs, xs, aliceKey, content)
		if err != nil {
			return err
		}
		m, err := sealedsender.ParseSentMessage(sent)
		if err != nil {
			return err
		}
		v := vector{
			ID: id + 1, Comment: comment, Now: now.UnixMilli(),
			Sender:      sender{Name: alice.String(), Device: aliceDevice, IdentityPublic: aliceKey.PublicKey().Bytes(), IdentityPrivate: aliceKey.PrivateKey().Bytes()},
			SentMessage: sent,
			Expected: expected{
				USMC: content.Bytes(), MsgType: int(typ), ContentHint: uint32(hint), GroupID: groupID,
				SenderCertificate: cert.Bytes(), SenderCertificateExpires: expires.UnixMilli(),
				Contents: contents, Plaintext: plaintext, Excluded: xnames, SenderKeyDistributionMessage: skdm,
			},
		}
		for _, a := range recipients {
			rm, err := m.ReceivedMessage(a.id)
			if err != nil {
				return err
			}
			// Interlock must open its own message before libsignal is asked to.
			c, err := sealedsender.DecryptToContent(a.key, rm)
			if err != nil {
				return fmt.Errorf("%s: %w", a.id, err)
			}
			if string(c.Bytes()) != string(content.Bytes()) {
				return fmt.Errorf("%s: content differs", a.id)
			}
			ds := make([]device, len(a.devices))
			for i, d := range a.devices {
				ds[i] = device{Device: d.ID, RegistrationID: d.RegistrationID}
			}
			v.Recipients = append(v.Recipients, recipient{
				ServiceID: a.id.String(), ServiceIDFixed: a.id.Bytes(),
				IdentityPrivate: a.key.PrivateKey().Bytes(), IdentityPublic: a.key.PublicKey().Bytes(),
				Devices: ds, ParsedDevices: ds, Received: rm,
			})
		}
		for _, a := range excluded {
			v.Recipients = append(v.Recipients, recipient{
				ServiceID: a.id.String(), ServiceIDFixed: a.id.Bytes(),
				IdentityPrivate: a.key.PrivateKey().Bytes(), IdentityPublic: a.key.PublicKey().Bytes(),
				Devices: []device{}, ParsedDevices: []device{}, Excluded: true,
			})
		}
		f.Vectors = append(f.Vectors, v)
	}
	b, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}
