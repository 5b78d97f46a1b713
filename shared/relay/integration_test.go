package relay_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/relay"
	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

const topic = "registration-events"

// outbox is an in-memory domain.OutboxStore: Commit stands for a handler's transaction.
type outbox struct {
	mu      sync.Mutex
	pending []domain.Event
}

func (o *outbox) Commit(events ...domain.Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = append(o.pending, events...)
}

func (o *outbox) Pending(_ context.Context, limit int) ([]domain.Event, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.pending[:min(limit, len(o.pending))]), nil
}

func (o *outbox) PendingIn(_ context.Context, partition string, limit int) ([]domain.Event, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []domain.Event
	for _, e := range o.pending {
		if e.SessionID() == partition && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (o *outbox) MarkPublished(_ context.Context, events []domain.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range events {
		o.pending = slices.DeleteFunc(o.pending, func(p domain.Event) bool { return p.ID == e.ID })
	}
	return nil
}

func (o *outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

func eventsFor(cause string, clusters, perCluster int) []domain.Event {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var out []domain.Event
	for i := range perCluster {
		for c := range clusters {
			out = append(out, domain.NewEvent(cause, i*clusters+c, domain.EvPolicyWarning, fmt.Sprintf("c-%d", c), cause, at, nil))
		}
	}
	return out
}

func publisher(t *testing.T, conn string) *bus.Client {
	t.Helper()
	retry := azservicebus.RetryOptions{MaxRetries: 1, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond}
	c, err := bus.New(bus.Config{ConnectionString: conn, Topic: topic}, &bus.Options{Retry: &retry})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// received reads the subscription until want messages arrived, then checks nothing more comes.
func received(t *testing.T, conn string, want int) []*azservicebus.ReceivedMessage {
	t.Helper()
	sb, err := azservicebus.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := sb.NewReceiverForSubscription(topic, "audit", &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	var got []*azservicebus.ReceivedMessage
	for len(got) < want {
		msgs, err := r.ReceiveMessages(ctx, want-len(got), nil)
		if err != nil {
			t.Fatalf("receive: %v (%d of %d)", err, len(got), want)
		}
		got = append(got, msgs...)
	}
	// Anything left over is a duplicate: peek shows it without waiting.
	if extra, err := r.PeekMessages(ctx, 10, nil); err != nil || len(extra) != 0 {
		t.Fatalf("after %d messages the subscription still holds %d (%v)", want, len(extra), err)
	}
	return got
}

// checkExactlyOnce asserts every event arrived once and each cluster's events in order.
func checkExactlyOnce(t *testing.T, events []domain.Event, got []*azservicebus.ReceivedMessage) {
	t.Helper()
	slices.SortFunc(got, func(a, b *azservicebus.ReceivedMessage) int { return int(*a.SequenceNumber - *b.SequenceNumber) })
	count := map[string]int{}
	perCluster := map[string][]string{}
	for _, m := range got {
		count[m.MessageID]++
		perCluster[*m.SessionID] = append(perCluster[*m.SessionID], m.MessageID)
	}
	want := map[string][]string{}
	for _, e := range events {
		if count[e.ID] != 1 {
			t.Errorf("event %s arrived %d times, want once", e.ID, count[e.ID])
		}
		want[e.SessionID()] = append(want[e.SessionID()], e.ID)
	}
	for c, ids := range want {
		if !slices.Equal(perCluster[c], ids) {
			t.Errorf("cluster %s: order %v, want %v", c, perCluster[c], ids)
		}
	}
}

func TestOutageThenOutboxRelayDeliversEachEventOnce(t *testing.T) {
	d := sbdouble.StartDouble(t)
	store := &outbox{}
	r := relay.New(store, publisher(t, d.ConnString()), nil)
	events := eventsFor("msg-outage", 3, 4)
	store.Commit(events...)

	d.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err := r.Flush(ctx, events)
	cancel()
	if err == nil {
		t.Fatal("Flush with Service Bus down succeeded")
	}
	if store.Len() != len(events) {
		t.Fatalf("after the failed flush %d events are pending, want %d", store.Len(), len(events))
	}

	d.Restart()
	n, err := r.Run(context.Background(), 100)
	if err != nil || n != len(events) {
		t.Fatalf("OutboxRelay Run = %d, %v; want %d, nil", n, err, len(events))
	}
	if n, err := r.Run(context.Background(), 100); n != 0 || err != nil {
		t.Fatalf("second Run = %d, %v; want nothing left", n, err)
	}
	checkExactlyOnce(t, events, received(t, d.ConnString(), len(events)))
}

func TestCrashBetweenCommitAndPublish(t *testing.T) {
	conn := sbdouble.Start(t)
	store := &outbox{}
	first := eventsFor("msg-before", 2, 2)
	store.Commit(first...)
	// The process dies here: the handler committed but never flushed. A fresh process's
	// OutboxRelay publishes what is pending; later flushes go straight out.
	fresh := relay.New(store, publisher(t, conn), nil)
	n, err := fresh.Run(context.Background(), 100)
	if err != nil || n != len(first) {
		t.Fatalf("Run = %d, %v; want %d", n, err, len(first))
	}
	second := eventsFor("msg-after", 2, 1)
	store.Commit(second...)
	if err := fresh.Flush(context.Background(), second); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 0 {
		t.Fatalf("%d events still pending", store.Len())
	}
	all := append(first, second...)
	checkExactlyOnce(t, all, received(t, conn, len(all)))
}

// BenchmarkRunPending100 measures one OutboxRelay run publishing 100 pending events of 10
// clusters to the test double.
func BenchmarkRunPending100(b *testing.B) {
	conn := sbdouble.Start(b)
	c, err := bus.New(bus.Config{ConnectionString: conn, Topic: topic}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	store := &outbox{}
	r := relay.New(store, c, nil)
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var evs []domain.Event // grouped by cluster, as the store lists pending partitions
		for c := range 10 {
			for j := range 10 {
				evs = append(evs, domain.NewEvent(fmt.Sprint("bench-", i), c*10+j, domain.EvPolicyWarning, fmt.Sprint("c-", c), "", time.Time{}, nil))
			}
		}
		store.Commit(evs...)
		b.StartTimer()
		if n, err := r.Run(context.Background(), 1000); err != nil || n != 100 {
			b.Fatalf("Run = %d, %v", n, err)
		}
	}
}
