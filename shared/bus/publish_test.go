package bus_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

const topic = "registration-events"

var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newClient(t *testing.T, conn string) *bus.Client {
	t.Helper()
	c, err := bus.New(bus.Config{ConnectionString: conn, Topic: topic, Queues: []string{"registration-requests", "machine-events"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func sdkClient(t *testing.T, conn string) *azservicebus.Client {
	t.Helper()
	sb, err := azservicebus.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close(context.Background()) })
	return sb
}

// receiveAll reads the subscription until n messages arrived or the context ends.
func receiveAll(t *testing.T, sb *azservicebus.Client, n int) []*azservicebus.ReceivedMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	r, err := sb.NewReceiverForSubscription(topic, "audit", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	var got []*azservicebus.ReceivedMessage
	for len(got) < n {
		msgs, err := r.ReceiveMessages(ctx, n-len(got), nil)
		if err != nil {
			t.Fatalf("receive: %v (got %d of %d)", err, len(got), n)
		}
		for _, m := range msgs {
			if err := r.CompleteMessage(ctx, m, nil); err != nil {
				t.Fatalf("complete: %v", err)
			}
		}
		got = append(got, msgs...)
	}
	return got
}

func TestPublishSetsEveryProperty(t *testing.T) {
	conn := sbdouble.Start(t)
	c := newClient(t, conn)
	ev := domain.NewEvent("msg-1", 0, domain.EvClusterUnregistered, "c-42", "corr-7", at,
		map[string]any{"resourceId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.AzureStackHCI/clusters/c", "reason": "Unregister"})
	other := domain.NewEvent("msg-1", 1, domain.EvRequestRejected, "", "", at, map[string]any{"code": "InvalidField"})
	if err := c.Publish(context.Background(), []domain.Event{ev, other}); err != nil {
		t.Fatal(err)
	}
	got := receiveAll(t, sdkClient(t, conn), 2)
	m := got[0]
	if m.MessageID != ev.ID || *m.CorrelationID != "corr-7" || *m.Subject != domain.EvClusterUnregistered ||
		*m.SessionID != "c-42" || *m.ContentType != "application/json" {
		t.Fatalf("properties: id %q corr %q subject %q session %q ct %q", m.MessageID, *m.CorrelationID, *m.Subject, *m.SessionID, *m.ContentType)
	}
	want := map[string]any{"clusterId": "c-42", "eventType": domain.EvClusterUnregistered, "schemaVersion": int32(1)}
	for k, v := range want {
		if m.ApplicationProperties[k] != v {
			t.Errorf("application property %s = %#v, want %#v", k, m.ApplicationProperties[k], v)
		}
	}
	if string(m.Body) != string(ev.Body) {
		t.Fatalf("body %s, want %s", m.Body, ev.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(m.Body, &body); err != nil || body["type"] != domain.EvClusterUnregistered || body["schemaVersion"] != 1.0 {
		t.Fatalf("body %v (%v)", body, err)
	}
	if got[1].MessageID != other.ID || *got[1].SessionID != domain.UnknownSession || *got[1].CorrelationID != other.ID {
		t.Fatalf("second message: id %q session %q corr %q", got[1].MessageID, *got[1].SessionID, *got[1].CorrelationID)
	}
}

func TestPublishManyKeepsOrder(t *testing.T) {
	conn := sbdouble.Start(t)
	c := newClient(t, conn)
	var evs []domain.Event
	for i := range 250 {
		evs = append(evs, domain.NewEvent("sweep-1", i, domain.EvPolicyWarning, fmt.Sprintf("c-%d", i%3/2), "", at, nil))
	}
	if err := c.Publish(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	got := receiveAll(t, sdkClient(t, conn), len(evs))
	// The broker's sequence numbers give the order in which the topic accepted them.
	slices.SortFunc(got, func(a, b *azservicebus.ReceivedMessage) int { return cmp.Compare(*a.SequenceNumber, *b.SequenceNumber) })
	for i, m := range got {
		if m.MessageID != evs[i].ID {
			t.Fatalf("message %d is %s, want %s", i, m.MessageID, evs[i].ID)
		}
	}
}

func TestPublishFailureReportsNothingSent(t *testing.T) {
	d := sbdouble.StartDouble(t)
	c := newClient(t, d.ConnString())
	d.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := c.Publish(ctx, []domain.Event{domain.NewEvent("m", 0, domain.EvArcEnabled, "c1", "", at, nil)})
	var pe *bus.PublishError
	if !errors.As(err, &pe) || len(pe.SentIDs()) != 0 {
		t.Fatalf("Publish with the broker down = %v, want a PublishError with nothing sent", err)
	}
}

func newBenchClient(conn string) (*bus.Client, error) {
	return bus.New(bus.Config{ConnectionString: conn, Topic: topic}, nil)
}

func TestPublishSplitsBatchesAtTheLinkLimit(t *testing.T) {
	conn := sbdouble.Start(t)
	c := newClient(t, conn)
	big := strings.Repeat("x", 60_000) // 30 events of ~60 kB exceed the double's 1 MiB limit
	var evs []domain.Event
	for i := range 30 {
		evs = append(evs, domain.NewEvent("big", i, domain.EvPolicyWarning, "c-1", "", at, map[string]string{"action": big}))
	}
	if err := c.Publish(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	got := receiveAll(t, sdkClient(t, conn), len(evs))
	slices.SortFunc(got, func(a, b *azservicebus.ReceivedMessage) int { return cmp.Compare(*a.SequenceNumber, *b.SequenceNumber) })
	for i, m := range got {
		if m.MessageID != evs[i].ID || len(m.Body) != len(evs[i].Body) {
			t.Fatalf("message %d is %s (%d bytes), want %s (%d bytes)", i, m.MessageID, len(m.Body), evs[i].ID, len(evs[i].Body))
		}
	}
}
