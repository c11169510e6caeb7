package group_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/interlock-e2ee/interlock/group"

	"github.com/interlock-e2ee/interlock/internal/vectortest"
)

type vectorMessage struct {
	Iteration  uint32 `json:"iteration"`
	Plaintext  []byte `json:"plaintext"`
	Ciphertext []byte `json:"ciphertext"`
}

// TestLibsignalSenderKeyVectors decrypts sender-key messages recorded from
// libsignal 0.90.0 (signal layout) in libsignal's delivery order, after
// processing its distribution message; each replay is then a duplicate.
func TestLibsignalSenderKeyVectors(t *testing.T) {
	var v struct {
		Sender struct {
			Name   string `json:"name"`
			Device uint32 `json:"device"`
		} `json:"sender"`
		DistributionID      string          `json:"distribution_id"`
		ChainID             uint32          `json:"chain_id"`
		DistributionMessage []byte          `json:"distribution_message"`
		DeliveryOrder       []int           `json:"delivery_order"`
		Messages            []vectorMessage `json:"messages"`
	}
	vectortest.Load(t, "libsignal-sender-key.json", &v)
	ctx := context.Background()
	skdm, err := group.ParseSenderKeyDistributionMessage(v.DistributionMessage, group.LayoutSignal)
	if err != nil {
		t.Fatal(err)
	}
	if skdm.DistributionID != v.DistributionID || skdm.ChainID != v.ChainID || skdm.Iteration != 0 {
		t.Fatalf("distribution message: %s chain %d iteration %d", skdm.DistributionID, skdm.ChainID, skdm.Iteration)
	}
	if auto, err := group.ParseAnySenderKeyDistributionMessage(v.DistributionMessage); err != nil || auto.Layout != group.LayoutSignal {
		t.Fatalf("auto-detect: %v, %v", auto, err)
	}
	if _, err := group.ParseSenderKeyDistributionMessage(v.DistributionMessage, group.LayoutWhatsApp); err == nil {
		t.Fatal("a signal-layout distribution message parsed as whatsapp")
	}
	c := group.NewCipher(group.NewMemoryStore())
	sender := group.SenderKeyName{Sender: v.Sender.Name, DeviceID: v.Sender.Device}
	if err := c.ProcessDistributionMessage(ctx, sender, skdm); err != nil {
		t.Fatal(err)
	}
	for _, i := range v.DeliveryOrder {
		m := v.Messages[i]
		parsed, err := group.ParseSenderKeyMessage(m.Ciphertext, group.LayoutSignal)
		if err != nil {
			t.Fatal(err)
		}
		if parsed.Iteration != m.Iteration || parsed.ChainID != v.ChainID || parsed.DistributionID != v.DistributionID {
			t.Fatalf("message %d: parsed %+v", i, parsed)
		}
		pt, err := c.Decrypt(ctx, sender, m.Ciphertext)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(pt, m.Plaintext) {
			t.Fatalf("message %d: plaintext %q, want %q", i, pt, m.Plaintext)
		}
	}
	for i, m := range v.Messages {
		if _, err := c.Decrypt(ctx, sender, m.Ciphertext); !errors.Is(err, group.ErrDuplicateMessage) {
			t.Fatalf("replay of message %d: %v, want ErrDuplicateMessage", i, err)
		}
	}
}

// TestMauSenderKeyVectors decrypts sender-key messages recorded from
// go.mau.fi/libsignal v0.2.1 (whatsapp layout), named by the application's
// group ID, in the recorded delivery order.
func TestMauSenderKeyVectors(t *testing.T) {
	var v struct {
		GroupID string `json:"group_id"`
		Sender  struct {
			Name   string `json:"name"`
			Device uint32 `json:"device"`
		} `json:"sender"`
		DistributionMessage []byte          `json:"distribution_message"`
		Messages            []vectorMessage `json:"messages"`
	}
	vectortest.Load(t, "mau-sender-key.json", &v)
	ctx := context.Background()
	skdm, err := group.ParseAnySenderKeyDistributionMessage(v.DistributionMessage)
	if err != nil {
		t.Fatal(err)
	}
	if skdm.Layout != group.LayoutWhatsApp || skdm.Iteration != 0 || skdm.DistributionID != "" {
		t.Fatalf("distribution message: %+v", skdm)
	}
	c := group.NewCipher(group.NewMemoryStore(), group.WithLayout(group.LayoutWhatsApp))
	sender := group.SenderKeyName{Sender: v.Sender.Name, DeviceID: v.Sender.Device, DistributionID: v.GroupID}
	if err := c.ProcessDistributionMessage(ctx, sender, skdm); err != nil {
		t.Fatal(err)
	}
	for i, m := range v.Messages {
		auto, err := group.ParseAnySenderKeyMessage(m.Ciphertext)
		if err != nil || auto.Layout != group.LayoutWhatsApp || auto.Iteration != m.Iteration || auto.ChainID != skdm.ChainID {
			t.Fatalf("message %d: auto-detect %+v, %v", i, auto, err)
		}
		// Another group ID names another record: no key there.
		other := sender
		other.DistributionID = "another-group"
		if _, err := c.Decrypt(ctx, other, m.Ciphertext); !errors.Is(err, group.ErrNoSenderKey) {
			t.Fatalf("message %d under another group: %v", i, err)
		}
		pt, err := c.Decrypt(ctx, sender, m.Ciphertext)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(pt, m.Plaintext) {
			t.Fatalf("message %d: plaintext %q, want %q", i, pt, m.Plaintext)
		}
	}
	if _, err := c.Decrypt(ctx, sender, v.Messages[1].Ciphertext); !errors.Is(err, group.ErrDuplicateMessage) {
		t.Fatalf("replay: %v", err)
	}
}
