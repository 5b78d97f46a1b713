package sbdouble_test

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"net"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

func TestStopAndRestartOnTheSamePort(t *testing.T) {
	d := sbdouble.StartDouble(t)
	conn := d.ConnString()
	if !strings.HasPrefix(conn, "Endpoint=sb://127.0.0.1:") || !strings.HasSuffix(conn, ";UseDevelopmentEmulator=true") {
		t.Fatalf("connection string %q", conn)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(strings.Split(conn, ";")[0], "Endpoint=sb://"), "/")
	dial := func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("double not listening on %s: %v", addr, err)
	}
	d.Stop()
	if err := dial(); err == nil {
		t.Fatalf("%s still accepts connections after Stop", addr)
	}
	d.Restart()
	if err := dial(); err != nil || d.ConnString() != conn {
		t.Fatalf("after Restart: %v, connection string %q (was %q)", err, d.ConnString(), conn)
	}
}

func TestAbandonAndClosedReceiverRedeliverWithHigherCount(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sb, err := azservicebus.NewClientFromConnectionString(sbdouble.Start(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(ctx)
	s, err := sb.NewSender("q", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendMessage(ctx, &azservicebus.Message{MessageID: to("m"), Body: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	// Delivery 1 is abandoned; delivery 2's receiver closes without settling; delivery 3 follows.
	for want := uint32(1); want <= 3; want++ {
		r, err := sb.NewReceiverForQueue("q", nil)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := r.ReceiveMessages(ctx, 1, nil)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("receive %d: %v %v", want, msgs, err)
		}
		m := msgs[0]
		if m.MessageID != "m" || m.DeliveryCount != want || m.LockedUntil == nil || m.SequenceNumber == nil {
			t.Fatalf("delivery %d: id %q count %d lockedUntil %v seq %v", want, m.MessageID, m.DeliveryCount, m.LockedUntil, m.SequenceNumber)
		}
		if want == 1 {
			if err := r.AbandonMessage(ctx, m, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func to(s string) *string { return &s }
