package devhost

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/relay"
)

// PublishedEvent is one message of the runner's in-memory topic, as GET /dev/events shows it.
type PublishedEvent struct {
	MessageID             string          `json:"messageId"`
	Subject               string          `json:"subject"`
	SessionID             string          `json:"sessionId"`
	CorrelationID         string          `json:"correlationId,omitempty"`
	ApplicationProperties map[string]any  `json:"applicationProperties"`
	Body                  json.RawMessage `json:"body"`
}

var _ relay.Publisher = (*Runner)(nil)

// topic keeps published events in order, dropping a MessageId seen before as the real
// topic's duplicate detection does.
type topic struct {
	mu     sync.Mutex
	seen   map[string]bool
	events []PublishedEvent
}

// Publish puts events on the runner's in-memory topic with the message properties of docs/events.md;
// an event whose MessageId was published before is dropped. It never fails.
func (r *Runner) Publish(_ context.Context, events []domain.Event) error {
	r.topic.mu.Lock()
	defer r.topic.mu.Unlock()
	if r.topic.seen == nil {
		r.topic.seen = map[string]bool{}
	}
	for _, e := range events {
		if r.topic.seen[e.ID] {
			continue
		}
		r.topic.seen[e.ID] = true
		r.topic.events = append(r.topic.events, PublishedEvent{
			MessageID: e.ID, Subject: e.Type, SessionID: e.SessionID(), CorrelationID: e.Correlation(),
			ApplicationProperties: bus.ApplicationProperties(e),
			Body:                  append(json.RawMessage(nil), e.Body...),
		})
	}
	return nil
}

// Events lists the events published so far, oldest first.
func (r *Runner) Events() []PublishedEvent {
	r.topic.mu.Lock()
	defer r.topic.mu.Unlock()
	return append([]PublishedEvent{}, r.topic.events...)
}
