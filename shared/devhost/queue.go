package devhost

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/logs"
)

// MaxDeliveryCount is how many deliveries a message gets before it is dead-lettered, as the
// Service Bus default.
const MaxDeliveryCount = 10

// ReasonMaxDelivery is the dead-letter reason of a message that failed every delivery.
const ReasonMaxDelivery = "MaxDeliveryCountExceeded"

// Message is one queued Service Bus message.
type Message struct {
	MessageID             string
	CorrelationID         string
	SessionID             string
	Subject               string
	ContentType           string
	ApplicationProperties map[string]any
	Body                  []byte
	EnqueuedTime          time.Time
	SequenceNumber        int64
	DeliveryCount         int // deliveries so far
	// DeadLetterReason and DeadLetterDescription are set when the message is dead-lettered.
	DeadLetterReason      string
	DeadLetterDescription string
}

// queue is one in-memory queue with its dead-letter sub-queue. Messages are delivered in
// order, one at a time.
type queue struct {
	name   string
	fn     Function
	mu     sync.Mutex
	active []*Message
	dead   []*Message
	seq    int64
	wake   chan struct{} // signalled when a message is added
}

func newQueue(name string, fn Function) *queue {
	return &queue{name: name, fn: fn, wake: make(chan struct{}, 1)}
}

// add enqueues m, assigning its sequence number.
func (q *queue) add(m *Message) {
	q.mu.Lock()
	q.seq++
	m.SequenceNumber = q.seq
	q.active = append(q.active, m)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// head returns the first active message, or nil.
func (q *queue) head() *Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.active) == 0 {
		return nil
	}
	return q.active[0]
}

// settle removes the head m from the active list; with a reason it goes to the dead letters.
func (q *queue) settle(m *Message, reason, description string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.active) > 0 && q.active[0] == m {
		q.active = q.active[1:]
	}
	if reason != "" {
		m.DeadLetterReason, m.DeadLetterDescription = reason, description
		q.dead = append(q.dead, m)
	}
}

// newID returns a random UUID (version 4) string.
func newID() string { return uuid.NewString() }

// Enqueue puts a message on a queue, as POST /dev/servicebus/{queue}/messages does: its
// enqueue time is the runner's clock and a MessageID is generated when m has none. It returns
// the MessageID; delivery is asynchronous.
func (r *Runner) Enqueue(queueName string, m Message) (string, error) {
	q, ok := r.queues[queueName]
	if !ok {
		return "", fmt.Errorf("devhost: no function listens on queue %q", queueName)
	}
	if m.MessageID == "" {
		m.MessageID = strings.ReplaceAll(newID(), "-", "")
	}
	m.EnqueuedTime = r.clock.Now()
	m.DeliveryCount, m.DeadLetterReason, m.DeadLetterDescription = 0, "", ""
	q.add(&m)
	return m.MessageID, nil
}

// deliver hands q's messages to its function in order, one at a time, peek-lock style: a
// 2xx completes the message; anything else abandons it, and it is delivered again with
// DeliveryCount+1 after a pause, or dead-lettered once it reached MaxDeliveryCount.
func (r *Runner) deliver(q *queue) {
	for {
		m := q.head()
		if m == nil {
			select {
			case <-q.wake:
				continue
			case <-r.ctx.Done():
				return
			}
		}
		q.mu.Lock()
		m.DeliveryCount++
		count := m.DeliveryCount
		q.mu.Unlock()
		now := r.clock.Now()
		_, err := r.invoke(r.ctx, q.fn, messageEnvelope(q.fn, m, count, newID(), now))
		if err == nil {
			q.settle(m, "", "")
			continue
		}
		if r.ctx.Err() != nil {
			return
		}
		r.log.Warn("devhost: delivery failed, message abandoned", "queue", q.name, "messageId", m.MessageID, "deliveryCount", count, logs.Err(err))
		if count >= r.opts.MaxDeliveryCount {
			q.settle(m, ReasonMaxDelivery, fmt.Sprintf("Message could not be consumed after %d delivery attempts.", count))
			r.log.Warn("devhost: message dead-lettered", "queue", q.name, "messageId", m.MessageID, "reason", ReasonMaxDelivery)
			continue
		}
		delay := min(r.opts.RetryDelay*time.Duration(count), 5*time.Second)
		select {
		case <-time.After(delay):
		case <-r.ctx.Done():
			return
		}
	}
}

// DeadLetters lists up to max (<= 0: 100) of a queue's dead letters with a sequence number of
// at least from (0: all), in sequence-number order. With Replay, the Runner is the local
// admin.DeadLetterQueue.
func (r *Runner) DeadLetters(_ context.Context, queueName string, from int64, max int) ([]api.DeadLetter, error) {
	q, ok := r.queues[queueName]
	if !ok {
		return nil, fmt.Errorf("devhost: unknown queue %q: %w", queueName, domain.ErrNotFound)
	}
	if max <= 0 {
		max = 100
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var dead []*Message
	for _, m := range q.dead {
		if m.SequenceNumber >= from {
			dead = append(dead, m)
		}
	}
	slices.SortFunc(dead, func(a, b *Message) int { return cmp.Compare(a.SequenceNumber, b.SequenceNumber) })
	out := []api.DeadLetter{}
	for _, m := range dead[:min(max, len(dead))] {
		out = append(out, api.DeadLetter{
			MessageID: m.MessageID, CorrelationID: m.CorrelationID, Subject: m.Subject, ContentType: m.ContentType,
			Reason: m.DeadLetterReason, Description: m.DeadLetterDescription, DeliveryCount: m.DeliveryCount,
			EnqueuedTime: m.EnqueuedTime, SequenceNumber: m.SequenceNumber, Preview: api.Preview(m.Body),
		})
	}
	return out, nil
}

// Replay sends the dead letters with the given MessageIDs (none: all of them) back to their
// queue as new messages with the same MessageID, properties and body, and removes them from
// the dead-letter queue.
func (r *Runner) Replay(_ context.Context, queueName string, ids []string) (api.ReplayReport, error) {
	q, ok := r.queues[queueName]
	if !ok {
		return api.ReplayReport{}, fmt.Errorf("devhost: unknown queue %q: %w", queueName, domain.ErrNotFound)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	rep := api.ReplayReport{Replayed: []string{}}
	var again []*Message
	q.mu.Lock()
	kept := q.dead[:0]
	for _, m := range q.dead {
		if len(ids) == 0 || want[m.MessageID] {
			again = append(again, m)
			delete(want, m.MessageID)
			continue
		}
		kept = append(kept, m)
	}
	q.dead = kept
	q.mu.Unlock()
	for _, m := range again {
		c := *m
		if _, err := r.Enqueue(queueName, c); err != nil {
			return rep, err
		}
		rep.Replayed = append(rep.Replayed, m.MessageID)
	}
	for _, id := range ids {
		if want[id] {
			rep.NotFound = append(rep.NotFound, id)
			delete(want, id)
		}
	}
	return rep, nil
}
