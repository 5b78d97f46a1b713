package scaleout

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// eventsTopic is the topic the handlers publish to; the collector reads subscription "scaleout".
const eventsTopic = "registration-events"

// received is one event as a subscriber reads it from the topic: the Service Bus properties and
// the body without "at" (the publishing instance's clock).
type received struct {
	ID, Subject, SessionID, CorrelationID string
	Body                                  map[string]any
}

// collector reads every event the handlers publish, with the real azservicebus client, and
// counts the copies of each MessageId that reach the topic. A re-send carries the same
// MessageId, which the real topic's duplicate detection drops; the first copies, in arrival
// order, are what a subscriber sees.
type collector struct {
	mu     sync.Mutex
	copies map[string]int
	first  []received
	errs   int // receive errors (the double was down)
	done   chan struct{}
	cancel context.CancelFunc
}

// startCollector reads the topic until the test ends; it keeps going through an outage of the
// double, reconnecting when it is back.
func startCollector(t testing.TB, conn string) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{copies: map[string]int{}, done: make(chan struct{}), cancel: cancel}
	retry := azservicebus.RetryOptions{MaxRetries: 2, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: 500 * time.Millisecond}
	go func() {
		defer close(c.done)
		for ctx.Err() == nil {
			if err := c.receive(ctx, conn, retry); err != nil && ctx.Err() == nil {
				c.mu.Lock()
				c.errs++
				c.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

// receive reads with one client until an error.
func (c *collector) receive(ctx context.Context, conn string, retry azservicebus.RetryOptions) error {
	sb, err := azservicebus.NewClientFromConnectionString(conn, &azservicebus.ClientOptions{RetryOptions: retry})
	if err != nil {
		return err
	}
	defer sb.Close(context.WithoutCancel(ctx))
	r, err := sb.NewReceiverForSubscription(eventsTopic, "scaleout", &azservicebus.ReceiverOptions{ReceiveMode: azservicebus.ReceiveModeReceiveAndDelete})
	if err != nil {
		return err
	}
	for {
		msgs, err := r.ReceiveMessages(ctx, 100, nil)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		for _, m := range msgs {
			c.add(m)
		}
	}
}

func (c *collector) add(m *azservicebus.ReceivedMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.copies[m.MessageID]++
	if c.copies[m.MessageID] > 1 {
		return
	}
	ev := received{ID: m.MessageID, Body: map[string]any{}}
	if m.Subject != nil {
		ev.Subject = *m.Subject
	}
	if m.SessionID != nil {
		ev.SessionID = *m.SessionID
	}
	if m.CorrelationID != nil {
		ev.CorrelationID = *m.CorrelationID
	}
	_ = json.Unmarshal(m.Body, &ev.Body)
	delete(ev.Body, "at")
	c.first = append(c.first, ev)
}

// snapshot returns the distinct events in arrival order and the wire copies beyond the first.
func (c *collector) snapshot() (events []received, resent int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.copies {
		resent += n - 1
	}
	return append([]received(nil), c.first...), resent
}

// has reports whether every id arrived.
func (c *collector) has(ids map[string]bool) (missing int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range ids {
		if c.copies[id] == 0 {
			missing++
		}
	}
	return missing
}

// copiesOf is how many copies of id reached the topic.
func (c *collector) copiesOf(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.copies[id]
}
