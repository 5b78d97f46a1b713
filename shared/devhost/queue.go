package devhost

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
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
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("devhost: crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
