package spqr

import (
	"crypto/hmac"
	"fmt"
	"io"

	"github.com/interlock-e2ee/interlock/internal/erasure"
	"github.com/interlock-e2ee/interlock/internal/mlkem768"
)

// stage is a state of the chunked ML-KEM Braid (The ML-KEM Braid, §3–4;
// the names and numbering are SPQR's V1State oneof, src/proto/pq_ratchet.proto).
// The first five are the key sender's ("send_ek") side of an epoch, the rest
// the encapsulator's ("send_ct") side; the roles swap every epoch.
type stage uint8

const (
	keysUnsampled        stage = 1 // A at epoch 1: nothing sampled yet
	keysSampled          stage = 2 // sending header ‖ MAC chunks
	headerSent           stage = 3 // sending ek chunks, collecting ct1
	ct1Received          stage = 4 // sending ek chunks with ct1 acknowledged
	ekSentCt1Received    stage = 5 // acknowledging ct1, collecting ct2 ‖ MAC
	noHeaderReceived     stage = 6 // B at epoch 1: collecting header ‖ MAC
	headerReceived       stage = 7 // header authenticated; next send encapsulates
	ct1Sampled           stage = 8 // sending ct1 chunks, collecting ek
	ekReceivedCt1Sampled stage = 9 // ek complete, sending ct1 until acknowledged
	ct1Acknowledged      stage = 10
	ct2Sampled           stage = 11 // sending ct2 ‖ MAC chunks until the next epoch
)

// Sizes of what the Braid erasure-codes.
const (
	hdrMsgSize = mlkem768.HeaderSize + macSize      // 96: 3 chunks
	ekMsgSize  = mlkem768.VectorSize                // 1152: 36 chunks
	ct1MsgSize = mlkem768.Ciphertext1Size           // 960: 30 chunks
	ct2MsgSize = mlkem768.Ciphertext2Size + macSize // 160: 5 chunks
)

// MaxChunks is the number of 32-byte chunks of the longest message the Braid
// erasure-codes, the 1152-byte encapsulation-key vector: an erasure lane
// holds at most this many points (a decoder at most twice as many), so
// interpolating one costs at most MaxChunks² field multiplications. Stored
// states are held to it, and to the exact size of their stage's messages
// (issue #20 item 9).
const MaxChunks = ekMsgSize / erasure.ChunkSize

// braid is one party's Braid state. Which fields are set depends on stage.
type braid struct {
	stage stage
	epoch uint64
	auth  authenticator
	ek    []byte // key sender: the vector it sends; encapsulator: the vector received
	dk    []byte // key sender: the 2400-byte decapsulation key
	hdr   []byte // encapsulator: the authenticated header
	es    []byte // encapsulator: the serialized EncapsulationState
	ct1   []byte // both: c1
	enc   *erasure.Encoder
	dec   *erasure.Decoder
}

func (b *braid) clone() *braid {
	c := *b
	// Byte fields are never mutated in place, only replaced: sharing is safe.
	if b.enc != nil {
		c.enc = b.enc.Clone()
	}
	if b.dec != nil {
		c.dec = b.dec.Clone()
	}
	return &c
}

func mustDecoder(size int) *erasure.Decoder {
	d, err := erasure.NewDecoder(size)
	if err != nil {
		panic(err) // sizes are constants
	}
	return d
}

func mustEncoder(msg []byte) *erasure.Encoder {
	e, err := erasure.NewEncoder(msg)
	if err != nil {
		panic(err) // sizes are constants
	}
	return e
}

// initBraid: the initiator (A2B) starts as key sender, the responder as
// encapsulator, both at epoch 1 with the authenticator keyed by the SPQR key.
func initBraid(dir Direction, authKey []byte) *braid {
	b := &braid{epoch: 1, auth: newAuthenticator(authKey)}
	if dir == A2B {
		b.stage = keysUnsampled
	} else {
		b.stage = noHeaderReceived
		b.dec = mustDecoder(hdrMsgSize)
	}
	return b
}

// send produces this party's next Braid message and, when the message starts
// an epoch's encapsulation, that epoch's secret (The ML-KEM Braid, §3.2).
func (b *braid) send(rand io.Reader) (*Message, []byte, error) {
	m := &Message{Epoch: b.epoch}
	var secret []byte
	chunk := func(t MessageType) {
		m.Type = t
		m.ChunkIndex, m.Chunk = b.enc.Next()
	}
	switch b.stage {
	case keysUnsampled:
		seed := make([]byte, mlkem768.SeedSize)
		if _, err := io.ReadFull(rand, seed); err != nil {
			return nil, nil, err
		}
		kp, err := mlkem768.GenerateKey(seed)
		clear(seed)
		if err != nil {
			return nil, nil, err
		}
		hdr := kp.Header()
		v := kp.Vector()
		b.ek, b.dk = v[:], kp.DecapsulationKey[:]
		b.enc = mustEncoder(append(hdr[:], b.auth.macHdr(b.epoch, hdr[:])...))
		b.stage = keysSampled
		chunk(TypeHdr)
	case keysSampled:
		chunk(TypeHdr)
	case headerSent:
		chunk(TypeEk)
	case ct1Received:
		chunk(TypeEkCt1Ack)
	case ekSentCt1Received:
		m.Type = TypeCt1Ack
	case noHeaderReceived, ct1Acknowledged:
		m.Type = TypeNone
	case headerReceived:
		r := make([]byte, 32)
		if _, err := io.ReadFull(rand, r); err != nil {
			return nil, nil, err
		}
		ct1, st, ss, err := mlkem768.Encapsulate1(b.hdr, r)
		clear(r)
		if err != nil {
			return nil, nil, err
		}
		secret = epochSecret(b.epoch, ss)
		clear(ss)
		b.auth.update(b.epoch, secret)
		b.es, b.ct1 = st.Bytes(), ct1
		b.enc = mustEncoder(ct1)
		b.stage = ct1Sampled
		chunk(TypeCt1)
	case ct1Sampled, ekReceivedCt1Sampled:
		chunk(TypeCt1)
	case ct2Sampled:
		chunk(TypeCt2)
	default:
		return nil, nil, fmt.Errorf("%w: stage %d", ErrState, b.stage)
	}
	return m, secret, nil
}

// recv applies a peer's Braid message and returns the epoch secret when it
// completes a decapsulation (The ML-KEM Braid, §3.3). Messages of earlier
// epochs are ignored; later epochs are errors except the one that follows
// ct2Sampled.
func (b *braid) recv(m *Message) ([]byte, error) {
	if m.Epoch < b.epoch {
		return nil, nil
	}
	if m.Epoch > b.epoch {
		if b.stage == ct2Sampled && m.Epoch == b.epoch+1 {
			// The key sender decapsulated: we send the next epoch's key.
			*b = braid{stage: keysUnsampled, epoch: m.Epoch, auth: b.auth}
			return nil, nil
		}
		return nil, fmt.Errorf("%w: message epoch %d, ours %d", ErrEpoch, m.Epoch, b.epoch)
	}
	switch b.stage {
	case keysSampled:
		if m.Type == TypeCt1 {
			b.dec = mustDecoder(ct1MsgSize)
			b.dec.Add(m.ChunkIndex, m.Chunk)
			b.enc = mustEncoder(b.ek)
			b.ek = nil
			b.stage = headerSent
		}
	case headerSent:
		if m.Type == TypeCt1 {
			b.dec.Add(m.ChunkIndex, m.Chunk)
			if ct1, ok := b.dec.Decoded(); ok {
				b.ct1, b.dec = ct1, nil
				b.stage = ct1Received
			}
		}
	case ct1Received:
		if m.Type == TypeCt2 {
			b.dec = mustDecoder(ct2MsgSize)
			b.dec.Add(m.ChunkIndex, m.Chunk)
			b.enc = nil
			b.stage = ekSentCt1Received
		}
	case ekSentCt1Received:
		if m.Type == TypeCt2 {
			b.dec.Add(m.ChunkIndex, m.Chunk)
			if msg, ok := b.dec.Decoded(); ok {
				return b.finishDecapsulation(msg)
			}
		}
	case noHeaderReceived:
		if m.Type == TypeHdr {
			b.dec.Add(m.ChunkIndex, m.Chunk)
			if msg, ok := b.dec.Decoded(); ok {
				hdr, tag := msg[:mlkem768.HeaderSize], msg[mlkem768.HeaderSize:]
				if !hmac.Equal(tag, b.auth.macHdr(b.epoch, hdr)) {
					return nil, fmt.Errorf("%w: header", ErrMAC)
				}
				b.hdr = hdr
				b.dec = mustDecoder(ekMsgSize)
				b.stage = headerReceived
			}
		}
	case ct1Sampled:
		if m.Type == TypeEk || m.Type == TypeEkCt1Ack {
			ack := m.Type == TypeEkCt1Ack
			b.dec.Add(m.ChunkIndex, m.Chunk)
			if ek, ok := b.dec.Decoded(); ok {
				if err := b.takeEK(ek); err != nil {
					return nil, err
				}
				if ack {
					return nil, b.sendCt2()
				}
				b.stage = ekReceivedCt1Sampled
			} else if ack {
				b.enc = nil
				b.stage = ct1Acknowledged
			}
		}
	case ekReceivedCt1Sampled:
		if m.Type == TypeCt1Ack || m.Type == TypeEkCt1Ack {
			return nil, b.sendCt2()
		}
	case ct1Acknowledged:
		if m.Type == TypeEk || m.Type == TypeEkCt1Ack {
			b.dec.Add(m.ChunkIndex, m.Chunk)
			if ek, ok := b.dec.Decoded(); ok {
				if err := b.takeEK(ek); err != nil {
					return nil, err
				}
				return nil, b.sendCt2()
			}
		}
	}
	return nil, nil
}

// takeEK checks the received vector against the authenticated header.
func (b *braid) takeEK(ek []byte) error {
	if err := mlkem768.CheckHeader(b.hdr, ek); err != nil {
		return fmt.Errorf("%w: encapsulation key: %w", ErrMessage, err)
	}
	b.ek, b.hdr, b.dec = ek, nil, nil
	return nil
}

// sendCt2 finishes the encapsulation and starts sending ct2 ‖ MAC, the MAC
// covering ct1 ‖ ct2 under the key updated with this epoch's secret.
func (b *braid) sendCt2() error {
	st, err := mlkem768.ParseEncapsulationState(b.es)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	ct2, err := st.Encapsulate2(b.ek)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	tag := b.auth.macCt(b.epoch, append(append([]byte(nil), b.ct1...), ct2...))
	b.enc = mustEncoder(append(ct2, tag...))
	*b = braid{stage: ct2Sampled, epoch: b.epoch, auth: b.auth, enc: b.enc}
	return nil
}

// finishDecapsulation decapsulates ct1 ‖ ct2, derives the epoch secret,
// updates the authenticator and verifies the ciphertext MAC; the next epoch
// starts with this party as encapsulator.
func (b *braid) finishDecapsulation(msg []byte) ([]byte, error) {
	ct2, tag := msg[:mlkem768.Ciphertext2Size], msg[mlkem768.Ciphertext2Size:]
	ss, err := mlkem768.Decapsulate(b.dk, b.ct1, ct2)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	secret := epochSecret(b.epoch, ss)
	clear(ss)
	auth := b.auth
	auth.update(b.epoch, secret)
	if !hmac.Equal(tag, auth.macCt(b.epoch, append(append([]byte(nil), b.ct1...), ct2...))) {
		return nil, fmt.Errorf("%w: ciphertext", ErrMAC)
	}
	epoch := b.epoch
	*b = braid{stage: noHeaderReceived, epoch: epoch + 1, auth: auth, dec: mustDecoder(hdrMsgSize)}
	return secret, nil
}
