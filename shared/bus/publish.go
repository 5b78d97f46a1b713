package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/azlocal/registrar/shared/domain"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// ContentType of event bodies.
const ContentType = "application/json"

// PublishError reports a publish that stopped part-way: Sent are the IDs of the events sent
// before the failure, in order; none of the events after them were sent.
type PublishError struct {
	Sent []string
	Err  error
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("bus: publish stopped after %d events: %v", len(e.Sent), e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }

// SentIDs lets the relay mark what was sent (see relay.Publisher).
func (e *PublishError) SentIDs() []string { return e.Sent }

// PropertyTraceparent is the application property carrying the event's W3C trace context: that
// of the invocation that committed it (docs/events.md).
const PropertyTraceparent = "traceparent"

// tracerName is the instrumentation scope of the send spans.
const tracerName = "github.com/azlocal/registrar/shared/bus"

// ApplicationProperties are an event's Service Bus application properties (docs/events.md):
// clusterId, eventType, schemaVersion (an AMQP int) and, when the event has one, traceparent.
func ApplicationProperties(e domain.Event) map[string]any {
	props := map[string]any{
		"clusterId":     e.ClusterID,
		"eventType":     e.Type,
		"schemaVersion": int32(domain.SchemaVersion),
	}
	if e.Traceparent != "" {
		props[PropertyTraceparent] = e.Traceparent
	}
	return props
}

// message is the Service Bus message of an event (docs/events.md).
func message(e domain.Event) *azservicebus.Message {
	corr := e.Correlation()
	session := e.SessionID()
	ct := ContentType
	subject := e.Type
	id := e.ID
	return &azservicebus.Message{
		MessageID:             &id,
		CorrelationID:         &corr,
		Subject:               &subject,
		SessionID:             &session,
		ContentType:           &ct,
		Body:                  e.Body,
		ApplicationProperties: ApplicationProperties(e),
	}
}

// Publish sends events to the topic in order. Consecutive events of one session (cluster) go
// in one batch, as large as the link allows. On a failure it stops and returns a
// *PublishError naming the events already sent, so no later event of a cluster is published
// before an earlier one.
func (c *Client) Publish(ctx context.Context, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	s, err := c.sender(c.cfg.Topic)
	if err != nil {
		return &PublishError{Err: err}
	}
	var sent []string
	fail := func(err error) error { return &PublishError{Sent: sent, Err: err} }
	for i := 0; i < len(events); {
		batch, err := s.NewMessageBatch(ctx, nil)
		if err != nil {
			return fail(err)
		}
		j := i
		for ; j < len(events) && events[j].SessionID() == events[i].SessionID(); j++ {
			err := batch.AddMessage(message(events[j]), nil)
			if errors.Is(err, azservicebus.ErrMessageTooLarge) && j > i {
				break
			}
			if err != nil {
				return fail(fmt.Errorf("event %s: %w", events[j].ID, err))
			}
		}
		if err := c.send(ctx, s, batch, events[i:j]); err != nil {
			return fail(err)
		}
		for ; i < j; i++ {
			sent = append(sent, events[i].ID)
		}
	}
	return nil
}

// send sends one batch. With tracing on it is a producer span (a child of ctx's span) linked to
// each event's own trace, so a late publish by the OutboxRelay still points at the invocations
// that caused its events; with tracing off it costs nothing.
func (c *Client) send(ctx context.Context, s *azservicebus.Sender, batch *azservicebus.MessageBatch, events []domain.Event) error {
	if !c.traced {
		return s.SendMessageBatch(ctx, batch, nil)
	}
	var links []trace.Link
	for _, e := range events {
		p := propagation.MapCarrier{PropertyTraceparent: e.Traceparent}
		if sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), p)); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, span := c.tracer.Start(ctx, "send "+c.cfg.Topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithLinks(links...),
		trace.WithAttributes(semconv.MessagingSystemServiceBus, semconv.MessagingOperationTypeSend,
			semconv.MessagingDestinationName(c.cfg.Topic), semconv.MessagingBatchMessageCount(len(events))))
	defer span.End()
	err := s.SendMessageBatch(ctx, batch, nil)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return err
}
