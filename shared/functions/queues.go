package functions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/logs"
)

// registrationRequests is RegistrationRequests: commands (docs/messages.md).
func registrationRequests(d Deps) invoke.QueueHandler {
	return queueFunction(d, domain.QueueRegistrationRequests, d.RegistrationRequestsQueue)
}

// machineEvents is MachineEvents: facts from machines and deployment tooling (docs/messages.md).
func machineEvents(d Deps) invoke.QueueHandler {
	return queueFunction(d, domain.QueueMachineEvents, d.MachineEventsQueue)
}

// queueFunction applies one message of a queue kind (domain.QueueRegistrationRequests or
// domain.QueueMachineEvents) and then publishes the events it committed. A rejection is an
// outcome (the host completes the message); a domain error is transient (the host abandons it).
// A publish failure is logged, not returned: the events are committed in the outbox and the
// OutboxRelay timer publishes them.
func queueFunction(d Deps, kind domain.QueueKind, queueName string) invoke.QueueHandler {
	return func(ctx context.Context, m invoke.Message) (string, error) {
		id := idempotencyKey(m, queueName)
		if id != m.MessageID {
			d.Logger.WarnContext(ctx, "message without a MessageId the host vouches for; idempotency key derived",
				"queue", queueName, "idempotencyKey", id)
		}
		res, err := d.Domain.HandleMessage(ctx, kind, m.Body, domain.Meta{
			MessageID:     id,
			CorrelationID: m.CorrelationID,
			EnqueuedAt:    m.EnqueuedTime,
			Queue:         domain.QueueName(queueName),
		})
		if err != nil {
			return "", err
		}
		if res.Problem != nil {
			d.Logger.InfoContext(ctx, "message rejected", "messageId", id, "queue", queueName,
				"code", res.Problem.Code, "reason", res.Problem.Error())
		}
		publish(ctx, d, res.Publish)
		return string(res.Outcome), nil
	}
}

// publish flushes events committed just now; failure leaves them to the OutboxRelay timer.
func publish(ctx context.Context, d Deps, events []domain.Event) {
	if d.Relay == nil || len(events) == 0 {
		return
	}
	if err := d.Relay.Flush(ctx, events); err != nil {
		d.Logger.WarnContext(ctx, "publish after commit failed; the outbox relay will retry",
			"events", len(events), logs.Err(err))
	}
}

// idempotencyKey is the message's MessageId, its idempotency key (docs/messages.md). When the host gave
// none the adapter could trust (a body field of that name shadowed it), the key is one that stays
// the same across redeliveries: the queue's sequence number, else a digest of the body.
func idempotencyKey(m invoke.Message, queue string) string {
	switch {
	case m.MessageID != "":
		return m.MessageID
	case m.SequenceNumber > 0:
		return "seq:" + queue + ":" + strconv.FormatInt(m.SequenceNumber, 10)
	}
	sum := sha256.Sum256(m.Body)
	return "body:" + hex.EncodeToString(sum[:16])
}
