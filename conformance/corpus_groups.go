package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Sender keys and sealed sender: the runners of the corpus files
// libsignal-sender-key.json, mau-sender-key.json, interlock-sender-key.json,
// libsignal-sealed-sender-v1.json, libsignal-sealed-sender-v2.json and
// interlock-sealed-sender.json (schemas in testdata/vectors/README.md).

type senderKeyMessage struct {
	Iteration  uint32 `json:"iteration"`
	Plaintext  []byte `json:"plaintext"`
	Ciphertext []byte `json:"ciphertext"`
}

// runSenderKeyRecording replays a recorded sender-key conversation: the
// distribution message, the messages in delivery order, then every message
// again, which must be refused as a duplicate.
func runSenderKeyRecording(impl Implementation, r *CorpusResult, flavour string, sender Address, groupID string, dm []byte, msgs []senderKeyMessage) {
	rcv, err := impl.NewSenderKeyReceiver(flavour)
	if err != nil {
		r.failf("set-up (%s flavour): %v", flavour, err)
		return
	}
	err = rcv.ProcessSenderKeyDistribution(sender, groupID, dm)
	r.expect(impl, "distribution message", "process", "", err, func() bool { return true })
	for _, m := range msgs {
		pt, err := rcv.DecryptSenderKey(sender, groupID, m.Ciphertext)
		r.expect(impl, fmt.Sprintf("iteration %d", m.Iteration), "decrypt", "", err, func() bool { return bytes.Equal(pt, m.Plaintext) })
	}
	for _, m := range msgs {
		_, err := rcv.DecryptSenderKey(sender, groupID, m.Ciphertext)
		r.neg().expect(impl, fmt.Sprintf("iteration %d", m.Iteration), "replayed", "duplicate_message", err, nil)
	}
}

func runLibsignalSenderKey(impl Implementation, b []byte, r *CorpusResult) error {
	var v struct {
		Source              Sources            `json:"source"`
		Sender              Address            `json:"sender"`
		DistributionID      string             `json:"distribution_id"`
		DistributionMessage []byte             `json:"distribution_message"`
		DeliveryOrder       []int              `json:"delivery_order"`
		Messages            []senderKeyMessage `json:"messages"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Sources = v.Source
	var ordered []senderKeyMessage
	for _, i := range v.DeliveryOrder {
		if i < 0 || i >= len(v.Messages) {
			return fmt.Errorf("delivery_order names message %d of %d", i, len(v.Messages))
		}
		ordered = append(ordered, v.Messages[i])
	}
	runSenderKeyRecording(impl, r, "signal", v.Sender, v.DistributionID, v.DistributionMessage, ordered)
	return nil
}

func runMauSenderKey(impl Implementation, b []byte, r *CorpusResult) error {
	var v struct {
		Source              Sources            `json:"source"`
		GroupID             string             `json:"group_id"`
		Sender              Address            `json:"sender"`
		DistributionMessage []byte             `json:"distribution_message"`
		Messages            []senderKeyMessage `json:"messages"` // in delivery order
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Sources = v.Source
	runSenderKeyRecording(impl, r, "whatsapp", v.Sender, v.GroupID, v.DistributionMessage, v.Messages)
	return nil
}

// senderKeyStep is one step of an interlock-sender-key.json vector: process
// a distribution message or decrypt a SenderKeyMessage, in order.
type senderKeyStep struct {
	Op          string `json:"op"` // "process" or "decrypt"
	Message     []byte `json:"message"`
	Plaintext   []byte `json:"plaintext,omitempty"`
	Comment     string `json:"comment,omitempty"`
	Mutation    string `json:"mutation,omitempty"`
	ExpectError string `json:"expect_error,omitempty"`
	State       string `json:"state,omitempty"`
}

type senderKeyVector struct {
	ID      int             `json:"id"`
	Comment string          `json:"comment"`
	Flavour string          `json:"flavour"`
	Sender  Address         `json:"sender"`
	GroupID string          `json:"group_id"`
	Steps   []senderKeyStep `json:"steps"`
}

func runSenderKeySteps(impl Implementation, b []byte, r *CorpusResult) error {
	return eachVector(b, r, func(v *senderKeyVector) error {
		rcv, err := impl.NewSenderKeyReceiver(v.Flavour)
		if err != nil {
			r.failf("vector %d: set-up (%s flavour): %v", v.ID, v.Flavour, err)
			return nil
		}
		for i, s := range v.Steps {
			into := r
			if s.ExpectError != "" {
				into = r.neg()
			}
			id := fmt.Sprintf("vector %d step %d", v.ID, i)
			switch s.Op {
			case "process":
				err := rcv.ProcessSenderKeyDistribution(v.Sender, v.GroupID, s.Message)
				into.expect(impl, id, s.Comment+s.Mutation, s.ExpectError, err, func() bool { return true })
			case "decrypt":
				pt, err := rcv.DecryptSenderKey(v.Sender, v.GroupID, s.Message)
				into.expect(impl, id, s.Comment+s.Mutation, s.ExpectError, err, func() bool { return bytes.Equal(pt, s.Plaintext) })
			default:
				return fmt.Errorf("vector %d step %d: op %q", v.ID, i, s.Op)
			}
		}
		return nil
	})
}

// sealedExpect is what an opened sealed message must contain.
type sealedExpect struct {
	Sender                       Address `json:"sender"`
	SenderIdentityPublic         []byte  `json:"sender_identity_public,omitempty"`
	SenderCertificate            []byte  `json:"sender_certificate"`
	SenderCertificateExpires     int64   `json:"sender_certificate_expires"`
	USMC                         []byte  `json:"usmc"`
	MsgType                      int     `json:"msg_type"`
	ContentHint                  uint32  `json:"content_hint"`
	GroupID                      []byte  `json:"group_id"`
	Contents                     []byte  `json:"contents"`
	Plaintext                    []byte  `json:"plaintext,omitempty"`
	SenderKeyDistributionMessage []byte  `json:"sender_key_distribution_message,omitempty"`
}

// matches compares an opened message with e; sender and identity are
// compared when e names them.
func (e *sealedExpect) matches(c *SealedContent) bool {
	if c == nil {
		return false
	}
	if e.Sender.Name != "" && c.Sender != e.Sender {
		return false
	}
	if e.SenderIdentityPublic != nil && !bytes.Equal(c.SenderIdentity, e.SenderIdentityPublic) {
		return false
	}
	return bytes.Equal(c.USMC, e.USMC) && bytes.Equal(c.SenderCertificate, e.SenderCertificate) &&
		c.CertificateExpires == e.SenderCertificateExpires && c.Type == e.MsgType && c.ContentHint == e.ContentHint &&
		bytes.Equal(c.GroupID, e.GroupID) && bytes.Equal(c.Contents, e.Contents)
}

// senderKeyPlaintext checks the inner SenderKeyMessage of an opened sealed
// message against e.Plaintext, with e's distribution message (signal
// flavour), when both are recorded.
func senderKeyPlaintext(impl Implementation, r *CorpusResult, id string, c *SealedContent, e *sealedExpect) {
	if c == nil || e.MsgType != 7 || e.SenderKeyDistributionMessage == nil || e.Plaintext == nil {
		return
	}
	rcv, err := impl.NewSenderKeyReceiver("signal")
	if err == nil {
		err = rcv.ProcessSenderKeyDistribution(c.Sender, "", e.SenderKeyDistributionMessage)
	}
	var pt []byte
	if err == nil {
		pt, err = rcv.DecryptSenderKey(c.Sender, "", c.Contents)
	}
	r.expect(impl, id, "inner sender-key message", "", err, func() bool { return bytes.Equal(pt, e.Plaintext) })
}

// sealedNegatives are the rejections every opened sealed message implies:
// its last byte flipped (MAC or AEAD tag), a wrong trust root, the time just
// after the certificate expired, and another recipient's identity.
func sealedNegatives(impl Implementation, r *CorpusResult, id string, in SealedInputs, wrongRoot, otherRecipient []byte, expires int64) {
	n := r.neg()
	bad := in
	bad.Ciphertext = flip(in.Ciphertext, len(in.Ciphertext)-1, 0x01)
	_, err := impl.OpenSealedSender(bad)
	n.expect(impl, id, "last byte flipped", "invalid_message", err, nil)
	bad = in
	bad.TrustRoot = wrongRoot
	_, err = impl.OpenSealedSender(bad)
	n.expect(impl, id, "wrong trust root", "invalid_signature", err, nil)
	bad = in
	bad.Now = expires + 1
	_, err = impl.OpenSealedSender(bad)
	n.expect(impl, id, "certificate expired 1 ms before", "invalid_message", err, nil)
	if otherRecipient != nil {
		bad = in
		bad.RecipientIdentityPrivate = otherRecipient
		_, err = impl.OpenSealedSender(bad)
		n.expect(impl, id, "opened by another recipient", "invalid_message", err, nil)
	}
}

func runSealedV1(impl Implementation, b []byte, r *CorpusResult) error {
	var f struct {
		Source          Sources `json:"source"`
		TrustRootPublic []byte  `json:"trust_root_public"`
		Vectors         []struct {
			ID                       json.Number  `json:"id"`
			Comment                  string       `json:"comment"`
			RecipientIdentityPrivate []byte       `json:"recipient_identity_private"`
			RecipientIdentityPublic  []byte       `json:"recipient_identity_public"`
			Ciphertext               []byte       `json:"ciphertext"`
			Now                      int64        `json:"now"`
			Expected                 sealedExpect `json:"expected"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	r.Sources = f.Source
	for i, v := range f.Vectors {
		id := "sealed v1 " + string(v.ID)
		in := SealedInputs{RecipientIdentityPrivate: v.RecipientIdentityPrivate, Ciphertext: v.Ciphertext, TrustRoot: f.TrustRootPublic, Now: v.Now}
		c, err := impl.OpenSealedSender(in)
		r.expect(impl, id, v.Comment, "", err, func() bool { return v.Expected.matches(c) })
		senderKeyPlaintext(impl, r, id, c, &v.Expected)
		other := f.Vectors[(i+1)%len(f.Vectors)].RecipientIdentityPrivate
		if len(f.Vectors) < 2 {
			other = nil
		}
		sealedNegatives(impl, r, id, in, v.RecipientIdentityPublic, other, v.Expected.SenderCertificateExpires)
	}
	return nil
}

func runSealedV2(impl Implementation, b []byte, r *CorpusResult) error {
	var f struct {
		Source          Sources `json:"source"`
		TrustRootPublic []byte  `json:"trust_root_public"`
		Vectors         []struct {
			ID         json.Number `json:"id"`
			Comment    string      `json:"comment"`
			Now        int64       `json:"now"`
			Sender     Address     `json:"sender"`
			Recipients []struct {
				ServiceID       string `json:"service_id"`
				IdentityPrivate []byte `json:"identity_private"`
				IdentityPublic  []byte `json:"identity_public"`
				Devices         []struct {
					Device uint32 `json:"device"`
				} `json:"devices"`
				Excluded bool   `json:"excluded"`
				Received []byte `json:"received"`
			} `json:"recipients"`
			SentMessage []byte       `json:"sent_message"`
			Expected    sealedExpect `json:"expected"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	r.Sources = f.Source
	for _, v := range f.Vectors {
		e := v.Expected
		e.Sender = v.Sender
		for i, rc := range v.Recipients {
			id := fmt.Sprintf("sealed v2 %s recipient %s", v.ID, rc.ServiceID)
			if rc.Excluded {
				for dev := uint32(1); dev <= 3; dev++ {
					out, err := impl.SplitSealedSenderV2(v.SentMessage, rc.ServiceID, dev)
					r.neg().expect(impl, fmt.Sprintf("%s.%d", id, dev), "split for an excluded recipient", "no_session", err, func() bool { return out == nil })
				}
				continue
			}
			listed := map[uint32]bool{}
			for _, d := range rc.Devices {
				listed[d.Device] = true
				out, err := impl.SplitSealedSenderV2(v.SentMessage, rc.ServiceID, d.Device)
				r.expect(impl, fmt.Sprintf("%s.%d", id, d.Device), "server split, byte for byte libsignal's", "", err, func() bool { return bytes.Equal(out, rc.Received) })
			}
			if !listed[127] {
				_, err := impl.SplitSealedSenderV2(v.SentMessage, rc.ServiceID, 127)
				r.neg().expect(impl, id+".127", "split for a device the message does not list", "no_session", err, nil)
			}
			in := SealedInputs{RecipientIdentityPrivate: rc.IdentityPrivate, Ciphertext: rc.Received, TrustRoot: f.TrustRootPublic, Now: v.Now}
			c, err := impl.OpenSealedSender(in)
			r.expect(impl, id, v.Comment, "", err, func() bool { return e.matches(c) })
			senderKeyPlaintext(impl, r, id, c, &e)
			unsplit := in
			unsplit.Ciphertext = v.SentMessage
			_, err = impl.OpenSealedSender(unsplit)
			r.neg().expect(impl, id, "the unsplit 0x23 message opened", "invalid_message", err, nil)
			other := v.Recipients[(i+1)%len(v.Recipients)].IdentityPrivate
			sealedNegatives(impl, r, id, in, rc.IdentityPublic, other, e.SenderCertificateExpires)
		}
	}
	return nil
}

// sealedVector is one vector of interlock-sealed-sender.json: open a sealed
// message ("open") or split a multi-recipient one ("split").
type sealedVector struct {
	ID          int    `json:"id"`
	Comment     string `json:"comment"`
	Op          string `json:"op"`
	Mutation    string `json:"mutation,omitempty"`
	ExpectError string `json:"expect_error,omitempty"`
	// open
	RecipientIdentityPrivate []byte        `json:"recipient_identity_private,omitempty"`
	Ciphertext               []byte        `json:"ciphertext,omitempty"`
	TrustRoot                []byte        `json:"trust_root,omitempty"` // replaces the file's trust_root_public
	Now                      int64         `json:"now,omitempty"`
	Expected                 *sealedExpect `json:"expected,omitempty"`
	// split
	SentMessage []byte `json:"sent_message,omitempty"`
	ServiceID   string `json:"service_id,omitempty"`
	Device      uint32 `json:"device,omitempty"`
	Received    []byte `json:"received,omitempty"`
}

func runSealedList(impl Implementation, b []byte, r *CorpusResult) error {
	var f struct {
		Source          Sources         `json:"source"`
		TrustRootPublic []byte          `json:"trust_root_public"`
		Vectors         []*sealedVector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	r.Sources = f.Source
	for _, v := range f.Vectors {
		into := r
		if v.ExpectError != "" {
			into = r.neg()
		}
		id := fmt.Sprintf("sealed %d", v.ID)
		switch v.Op {
		case "open":
			root := f.TrustRootPublic
			if v.TrustRoot != nil {
				root = v.TrustRoot
			}
			c, err := impl.OpenSealedSender(SealedInputs{RecipientIdentityPrivate: v.RecipientIdentityPrivate, Ciphertext: v.Ciphertext, TrustRoot: root, Now: v.Now})
			into.expect(impl, id, v.Comment, v.ExpectError, err, func() bool { return v.Expected != nil && v.Expected.matches(c) })
			if v.ExpectError == "" && v.Expected != nil {
				senderKeyPlaintext(impl, r, id, c, v.Expected)
			}
		case "split":
			out, err := impl.SplitSealedSenderV2(v.SentMessage, v.ServiceID, v.Device)
			into.expect(impl, id, v.Comment, v.ExpectError, err, func() bool { return bytes.Equal(out, v.Received) })
		default:
			return fmt.Errorf("vector %d: op %q", v.ID, v.Op)
		}
	}
	return nil
}
