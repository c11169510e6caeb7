package envelope

import (
	"context"
	"io"

	"github.com/interlock-e2ee/interlock/session"
	"google.golang.org/protobuf/encoding/protowire"
)

// MessageTransport is Messenger's and Instagram's Signal plaintext
// (`<enc v="3">`, sessions of version 3, no outer padding), from whatsmeow's
// proto/waMsgTransport: payload 1 {applicationPayload 1 (SubProtocol
// {payload 1, version 2}), futureProof 3}, protocol 2 {integral 1 {padding 1,
// DSM 2 {destinationJID 1, phash 2}}, ancillary 2 {skdm 2 {groupID 1,
// axolotlSenderKeyDistributionMessage 2}, deviceListMetadata 3, icdc 4,
// backupDirective 5}}. The application payload and the ancillary messages
// other than skdm are kept as raw bytes.
type MessageTransport struct {
	ApplicationPayload []byte // a serialized MessageApplication
	PayloadVersion     int32  // 2 Messenger, 3 Instagram
	FutureProof        int32  // FutureProofBehavior; 0 when absent

	Padding        []byte // N bytes each equal to N; set by SealMessenger
	DSMDestination string // DeviceSentMessage, for the sender's other devices
	DSMPhash       string

	SKDMGroupID        string
	SKDM               []byte // a SenderKeyDistributionMessage
	DeviceListMetadata []byte
	ICDC               []byte
	BackupDirective    []byte
}

// Marshal encodes the transport.
func (t *MessageTransport) Marshal() []byte {
	var sub []byte
	sub = appendBytes(sub, 1, t.ApplicationPayload)
	sub = appendVarint(sub, 2, uint64(t.PayloadVersion))
	var payload []byte
	if t.ApplicationPayload != nil || t.PayloadVersion != 0 {
		payload = appendBytes(payload, 1, nonNil(sub))
	}
	payload = appendVarint(payload, 3, uint64(t.FutureProof))

	var integral []byte
	integral = appendBytes(integral, 1, t.Padding)
	if t.DSMDestination != "" || t.DSMPhash != "" {
		dsm := appendString(appendString(nil, 1, t.DSMDestination), 2, t.DSMPhash)
		integral = appendBytes(integral, 2, dsm)
	}
	var anc []byte
	if t.SKDM != nil || t.SKDMGroupID != "" {
		skdm := appendBytes(appendString(nil, 1, t.SKDMGroupID), 2, t.SKDM)
		anc = appendBytes(anc, 2, nonNil(skdm))
	}
	anc = appendBytes(anc, 3, t.DeviceListMetadata)
	anc = appendBytes(anc, 4, t.ICDC)
	anc = appendBytes(anc, 5, t.BackupDirective)
	var protocol []byte
	if integral != nil {
		protocol = appendBytes(protocol, 1, integral)
	}
	if anc != nil {
		protocol = appendBytes(protocol, 2, anc)
	}

	var b []byte
	if payload != nil {
		b = appendBytes(b, 1, payload)
	}
	if protocol != nil {
		b = appendBytes(b, 2, protocol)
	}
	return nonNil(b)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// sub parses a length-delimited submessage field with fn, rejecting other
// wire types.
func sub(typ protowire.Type, v []byte, n protowire.Number, fn func(n protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	if typ != protowire.BytesType {
		return invalid("field %d: wire type %d", n, typ)
	}
	return walk(v, fn)
}

func bytesField(typ protowire.Type, v []byte, n protowire.Number, dst *[]byte) error {
	if typ != protowire.BytesType {
		return invalid("field %d: wire type %d", n, typ)
	}
	*dst = append([]byte{}, v...)
	return nil
}

// ParseMessageTransport parses a MessageTransport and checks its padding
// strictly (if present: N bytes each equal to N, N ≥ 1).
func ParseMessageTransport(b []byte) (*MessageTransport, error) {
	if len(b) > session.MaxMessageSize {
		return nil, invalid("transport of %d bytes", len(b))
	}
	t := new(MessageTransport)
	err := walk(b, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch n {
		case 1:
			return sub(typ, v, n, func(n protowire.Number, typ protowire.Type, v []byte, x uint64) error {
				switch n {
				case 1:
					return sub(typ, v, n, func(n protowire.Number, typ protowire.Type, v []byte, x uint64) error {
						switch {
						case n == 1:
							return bytesField(typ, v, n, &t.ApplicationPayload)
						case n == 2 && typ == protowire.VarintType:
							t.PayloadVersion = int32(x)
						case n == 2:
							return invalid("SubProtocol.version: wire type %d", typ)
						}
						return nil
					})
				case 3:
					if typ != protowire.VarintType {
						return invalid("futureProof: wire type %d", typ)
					}
					t.FutureProof = int32(x)
				}
				return nil
			})
		case 2:
			return sub(typ, v, n, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				switch n {
				case 1:
					return sub(typ, v, n, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
						switch n {
						case 1:
							return bytesField(typ, v, n, &t.Padding)
						case 2:
							return sub(typ, v, n, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
								var s []byte
								var err error
								switch n {
								case 1:
									err = bytesField(typ, v, n, &s)
									t.DSMDestination = string(s)
								case 2:
									err = bytesField(typ, v, n, &s)
									t.DSMPhash = string(s)
								}
								return err
							})
						}
						return nil
					})
				case 2:
					return sub(typ, v, n, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
						switch n {
						case 2:
							return sub(typ, v, n, func(n protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
								switch n {
								case 1:
									var s []byte
									err := bytesField(typ, v, n, &s)
									t.SKDMGroupID = string(s)
									return err
								case 2:
									return bytesField(typ, v, n, &t.SKDM)
								}
								return nil
							})
						case 3:
							return bytesField(typ, v, n, &t.DeviceListMetadata)
						case 4:
							return bytesField(typ, v, n, &t.ICDC)
						case 5:
							return bytesField(typ, v, n, &t.BackupDirective)
						}
						return nil
					})
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if t.Padding != nil {
		if _, err := UnpadWhatsApp(t.Padding); err != nil || int(t.Padding[0]) != len(t.Padding) {
			return nil, invalid("MessageTransport padding is not N bytes of N")
		}
	}
	return t, nil
}

// SealMessenger sets t.Padding to N bytes of N (N 1–15 from rand), encodes
// the transport and encrypts it for to.
func SealMessenger(ctx context.Context, rand io.Reader, c *session.Cipher, to session.Address, t *MessageTransport) (encType string, ciphertext []byte, err error) {
	pad, err := PadWhatsApp(rand, nil)
	if err != nil {
		return "", nil, err
	}
	t.Padding = pad
	typ, ct, err := c.Encrypt(ctx, to, t.Marshal())
	if err != nil {
		return "", nil, err
	}
	encType, err = WhatsAppEncType(typ)
	return encType, ct, err
}

// OpenMessenger decrypts an `<enc v="3">` payload from from and parses the
// transport.
func OpenMessenger(ctx context.Context, c *session.Cipher, from session.Address, encType string, ciphertext []byte) (*MessageTransport, error) {
	pt, err := decrypt(ctx, c, from, encType, ciphertext)
	if err != nil {
		return nil, err
	}
	return ParseMessageTransport(pt)
}
