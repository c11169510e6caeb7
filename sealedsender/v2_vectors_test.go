package sealedsender_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/interlock-e2ee/interlock/group"
	"github.com/interlock-e2ee/interlock/prekey"
	"github.com/interlock-e2ee/interlock/sealedsender"
	"github.com/interlock-e2ee/interlock/session"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

// v2VectorFile is testdata/vectors/libsignal-sealed-sender-v2.json, written
// by interop/libsignal/gen-sealed-v2-vectors.js with libsignal 0.90.0. The
// Go program internal/v2gen writes the same schema for the reverse check
// (interop/libsignal/check-sealed-v2.js).
type v2VectorFile struct {
	Source            string `json:"source"`
	TrustRootPublic   []byte `json:"trust_root_public"`
	ServerKeyID       uint32 `json:"server_key_id"`
	ServerCertificate []byte `json:"server_certificate"`
	Vectors           []struct {
		ID      int    `json:"id"`
		Comment string `json:"comment"`
		Now     int64  `json:"now"`
		Sender  struct {
			Name           string `json:"name"`
			Device         uint32 `json:"device"`
			IdentityPublic []byte `json:"identity_public"`
		} `json:"sender"`
		Recipients []struct {
			ServiceID       string `json:"service_id"`
			ServiceIDFixed  []byte `json:"service_id_fixed_width"`
			IdentityPrivate []byte `json:"identity_private"`
			IdentityPublic  []byte `json:"identity_public"`
			Devices         []struct {
				Device         uint32 `json:"device"`
				RegistrationID uint32 `json:"registration_id"`
			} `json:"devices"`
			ParsedDevices []struct {
				Device         uint32 `json:"device"`
				RegistrationID uint32 `json:"registration_id"`
			} `json:"parsed_devices"`
			Excluded bool   `json:"excluded"`
			Received []byte `json:"received"`
		} `json:"recipients"`
		SentMessage []byte `json:"sent_message"`
		Expected    struct {
			USMC                         []byte              `json:"usmc"`
			MsgType                      session.MessageType `json:"msg_type"`
			ContentHint                  uint32              `json:"content_hint"`
			GroupID                      []byte              `json:"group_id"`
			SenderCertificate            []byte              `json:"sender_certificate"`
			SenderCertificateExpires     int64               `json:"sender_certificate_expires"`
			Contents                     []byte              `json:"contents"`
			Plaintext                    []byte              `json:"plaintext"`
			Excluded                     []string            `json:"excluded"`
			SenderKeyDistributionMessage []byte              `json:"sender_key_distribution_message"`
		} `json:"expected"`
	} `json:"vectors"`
}

// TestLibsignalSealedSenderV2Vectors: Interlock, as the server, parses the
// 0x23 multi-recipient messages libsignal 0.90.0 produced and splits them per
// recipient device byte for byte as libsignal does; as each recipient device
// it opens its copy (DecryptToContent and DecryptMessage) to libsignal's
// content and decrypts the inner message; excluded recipients get nothing,
// and no recipient can open another's copy.
func TestLibsignalSealedSenderV2Vectors(t *testing.T) {
	var f v2VectorFile
	vectortest.Load(t, "libsignal-sealed-sender-v2.json", &f)
	root, err := prekey.NewPublicKey(f.TrustRootPublic)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sealedsender.ParseServerCertificate(f.ServerCertificate)
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Validate(root); err != nil || sc.ID() != f.ServerKeyID {
		t.Fatalf("server certificate: id %d, %v", sc.ID(), err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	ctx := context.Background()
	for _, tv := range f.Vectors {
		t.Run(tv.Comment, func(t *testing.T) {
			e := tv.Expected
			now := time.UnixMilli(tv.Now)
			if tv.SentMessage[0] != sealedsender.VersionV2Sent {
				t.Fatalf("version byte 0x%02x", tv.SentMessage[0])
			}
			m, err := sealedsender.ParseSentMessage(tv.SentMessage)
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != sealedsender.VersionV2Sent || len(m.Recipients) != len(tv.Recipients) {
				t.Fatalf("version 0x%02x, %d recipients, want %d", m.Version, len(m.Recipients), len(tv.Recipients))
			}
			var excluded []string
			received := map[string][]byte{}
			for i, r := range tv.Recipients {
				id, err := sealedsender.ParseServiceID(r.ServiceID)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(id.Bytes(), r.ServiceIDFixed) || id.String() != r.ServiceID {
					t.Errorf("%s: fixed-width form %x, string %s", r.ServiceID, id.Bytes(), id)
				}
				// libsignal lists recipients (accounts grouped) and then the
				// excluded ones; the parsed order is the message's.
				got := m.Recipients[i]
				if got.ServiceID != id {
					t.Fatalf("recipient %d is %s, want %s", i, got.ServiceID, id)
				}
				if len(got.Devices) != len(r.ParsedDevices) {
					t.Fatalf("%s: %d devices, want %d", id, len(got.Devices), len(r.ParsedDevices))
				}
				for j, d := range r.ParsedDevices {
					if got.Devices[j] != (sealedsender.Device{ID: d.Device, RegistrationID: d.RegistrationID}) {
						t.Errorf("%s device %d: %+v, want %+v", id, j, got.Devices[j], d)
					}
				}
				ours, err := prekey.NewIdentityKeyPair(r.IdentityPrivate)
				if err != nil || !bytes.Equal(ours.PublicKey().Bytes(), r.IdentityPublic) {
					t.Fatalf("%s: identity key: %v", id, err)
				}
				if _, err := sealedsender.DecryptToContent(ours, tv.SentMessage); !errors.Is(err, sealedsender.ErrInvalidMessage) {
					t.Errorf("%s opened the unsplit 0x23 message: %v", id, err)
				}

				if r.Excluded {
					excluded = append(excluded, id.String())
					if len(got.Devices) != 0 || r.Received != nil {
						t.Errorf("excluded %s has devices", id)
					}
					if _, err := m.ReceivedMessage(id); !errors.Is(err, sealedsender.ErrUnknownRecipient) {
						t.Errorf("excluded %s: ReceivedMessage: %v", id, err)
					}
					for dev := uint32(1); dev <= 3; dev++ {
						if out, err := sealedsender.SplitForRecipient(tv.SentMessage, id, dev); !errors.Is(err, sealedsender.ErrUnknownRecipient) || out != nil {
							t.Errorf("excluded %s.%d: split %x, %v", id, dev, out, err)
						}
					}
					continue
				}

				// The server's split, byte for byte libsignal's, for every device.
				rm, err := m.ReceivedMessage(id)
				if err != nil || !bytes.Equal(rm, r.Received) {
					t.Fatalf("%s: ReceivedMessage differs from libsignal's split (%v)\n got %x\nwant %x", id, err, rm, r.Received)
				}
				received[r.ServiceID] = rm
				for _, d := range r.Devices {
					out, err := sealedsender.SplitForRecipient(tv.SentMessage, id, d.Device)
					if err != nil || !bytes.Equal(out, r.Received) {
						t.Fatalf("%s.%d: SplitForRecipient differs from libsignal's split: %v", id, d.Device, err)
					}
				}
				if !hasDevice(r.Devices, 127) {
					if out, err := sealedsender.SplitForRecipient(tv.SentMessage, id, 127); !errors.Is(err, sealedsender.ErrUnknownRecipient) || out != nil {
						t.Errorf("%s.127 (not listed): split %x, %v", id, out, err)
					}
				}

				// Each device opens its copy.
				c, err := sealedsender.DecryptToContent(ours, rm)
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				if !bytes.Equal(c.Bytes(), e.USMC) || !bytes.Equal(c.Contents(), e.Contents) || c.Type() != e.MsgType ||
					uint32(c.ContentHint()) != e.ContentHint || !bytes.Equal(c.GroupID(), e.GroupID) {
					t.Errorf("%s: content differs: type %d hint %d group %x", id, c.Type(), c.ContentHint(), c.GroupID())
				}
				cert := c.SenderCertificate()
				if !bytes.Equal(cert.Bytes(), e.SenderCertificate) || cert.Sender().UUID != tv.Sender.Name ||
					cert.Sender().DeviceID != tv.Sender.Device || !bytes.Equal(cert.Sender().IdentityKey.Bytes(), tv.Sender.IdentityPublic) ||
					int64(cert.ExpiresMillis()) != e.SenderCertificateExpires {
					t.Errorf("%s: certificate differs", id)
				}
				for _, d := range r.Devices {
					store := session.NewMemoryStore(ours, d.RegistrationID)
					opts := sealedsender.DecryptOptions{
						TrustRoot: root, Now: now, Local: session.Address{Name: id.String(), DeviceID: d.Device},
					}
					if e.MsgType == session.TypePlaintext {
						// A plaintext content is returned only under the
						// identity pinned for its sender (issue #20 item 12).
						if _, err := sealedsender.DecryptMessage(ctx, session.NewCipher(store), store, rm, opts); !errors.Is(err, session.ErrUntrustedIdentity) {
							t.Fatalf("%s.%d: plaintext content, no identity pinned: %v", id, d.Device, err)
						}
						from := session.Address{Name: tv.Sender.Name, DeviceID: tv.Sender.Device}
						if _, err := store.SaveIdentity(ctx, from, cert.Sender().IdentityKey); err != nil {
							t.Fatal(err)
						}
					}
					res, err := sealedsender.DecryptMessage(ctx, session.NewCipher(store), store, rm, opts)
					if err != nil {
						t.Fatalf("%s.%d: DecryptMessage: %v", id, d.Device, err)
					}
					if res.Sender != (session.Address{Name: tv.Sender.Name, DeviceID: tv.Sender.Device}) || res.Type != e.MsgType ||
						!bytes.Equal(res.Content.Bytes(), e.USMC) {
						t.Errorf("%s.%d: DecryptMessage result %+v", id, d.Device, res.Sender)
					}
				}
				checkV2Plaintext(t, tv.Sender.Name, tv.Sender.Device, e.MsgType, e.Contents, e.SenderKeyDistributionMessage, e.Plaintext)

				// Tampering with the copy is caught.
				for _, i := range []int{1, 33, 49, 81, len(rm) - 1} {
					bad := bytes.Clone(rm)
					bad[i] ^= 0x01
					if _, err := sealedsender.DecryptToContent(ours, bad); !errors.Is(err, sealedsender.ErrInvalidMessage) {
						t.Errorf("%s: byte %d flipped: %v", id, i, err)
					}
				}
			}
			if len(excluded) != len(e.Excluded) {
				t.Errorf("excluded %v, want %v", excluded, e.Excluded)
			}
			for i := range excluded {
				if excluded[i] != e.Excluded[i] {
					t.Errorf("excluded %v, want %v", excluded, e.Excluded)
				}
			}
			// Nobody opens a copy meant for another account, the excluded
			// recipients included.
			for _, r := range tv.Recipients {
				ours, _ := prekey.NewIdentityKeyPair(r.IdentityPrivate)
				for name, rm := range received {
					if name == r.ServiceID {
						continue
					}
					if _, err := sealedsender.DecryptToContent(ours, rm); !errors.Is(err, sealedsender.ErrInvalidMessage) {
						t.Errorf("%s opened the copy for %s: %v", r.ServiceID, name, err)
					}
				}
			}
		})
	}
}

func hasDevice(ds []struct {
	Device         uint32 `json:"device"`
	RegistrationID uint32 `json:"registration_id"`
}, id uint32) bool {
	for _, d := range ds {
		if d.Device == id {
			return true
		}
	}
	return false
}

// checkV2Plaintext decrypts the inner message of a v2 vector: a sender-key
// message with the recorded distribution message, or a PlaintextContent.
func checkV2Plaintext(t *testing.T, sender string, device uint32, typ session.MessageType, contents, skdm, want []byte) {
	t.Helper()
	switch typ {
	case session.TypeSenderKey:
		dm, err := group.ParseSenderKeyDistributionMessage(skdm, group.LayoutSignal)
		if err != nil {
			t.Fatal(err)
		}
		gc := group.NewCipher(group.NewMemoryStore())
		name := group.SenderKeyName{Sender: sender, DeviceID: device, DistributionID: dm.DistributionID}
		if err := gc.ProcessDistributionMessage(context.Background(), name, dm); err != nil {
			t.Fatal(err)
		}
		pt, err := gc.Decrypt(context.Background(), name, contents)
		if err != nil || !bytes.Equal(pt, want) {
			t.Errorf("sender-key plaintext %q (%v), want %q", pt, err, want)
		}
	case session.TypePlaintext:
		pc, err := session.ParsePlaintextContent(contents)
		if err != nil || !bytes.Equal(pc.Body(), want) {
			t.Fatalf("plaintext content body (%v)", err)
		}
		if _, err := pc.DecryptionErrorMessage(); err != nil {
			t.Errorf("decryption error message: %v", err)
		}
	default:
		t.Fatalf("inner message type %d", typ)
	}
}
