package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/domain"
)

// DeadLetter and ReplayReport are the Admin API's dead-letter answers (shared/api).
type (
	DeadLetter   = api.DeadLetter
	ReplayReport = api.ReplayReport
)

const (
	maxDeadLetter = 1000
	// receiveWait bounds one wait for more dead letters once some were expected.
	receiveWait = 5 * time.Second
)

// DeadLetters peeks up to max (1..1000; <= 0 means 100) dead letters of queue from sequence
// number from on.
func (c *Client) DeadLetters(ctx context.Context, queue string, from int64, max int) ([]DeadLetter, error) {
	if err := c.checkQueue(queue); err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 100
	}
	msgs, err := c.peekDLQ(ctx, queue, from, min(max, maxDeadLetter))
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, deadLetter(m))
	}
	return out, nil
}

// peekDLQ peeks up to max dead letters of queue with sequence numbers from from on, in order.
func (c *Client) peekDLQ(ctx context.Context, queue string, from int64, max int) ([]*azservicebus.ReceivedMessage, error) {
	r, err := c.sb.NewReceiverForQueue(queue, &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		return nil, err
	}
	defer r.Close(context.WithoutCancel(ctx))
	var all []*azservicebus.ReceivedMessage
	for len(all) < max {
		msgs, err := r.PeekMessages(ctx, max-len(all), &azservicebus.PeekMessagesOptions{FromSequenceNumber: &from})
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			break
		}
		if last := msgs[len(msgs)-1].SequenceNumber; last != nil {
			from = *last + 1
		}
		all = append(all, msgs...)
	}
	return all, nil
}

// Replay re-sends dead letters of queue to queue with their original body and properties.
func (c *Client) Replay(ctx context.Context, queue string, messageIDs []string) (ReplayReport, error) {
	report := ReplayReport{Replayed: []string{}}
	if err := c.checkQueue(queue); err != nil {
		return report, err
	}
	peeked, err := c.peekDLQ(ctx, queue, 0, maxDeadLetter)
	if err != nil {
		return report, unavailable(err)
	}
	want, todo, notFound := replayPlan(peeked, messageIDs)
	report.NotFound = notFound
	if todo == 0 {
		return report, nil
	}
	r, err := c.sb.NewReceiverForQueue(queue, &azservicebus.ReceiverOptions{SubQueue: azservicebus.SubQueueDeadLetter})
	if err != nil {
		return report, unavailable(err)
	}
	bg := context.WithoutCancel(ctx)
	defer r.Close(bg)
	s, err := c.sender(queue)
	if err != nil {
		return report, unavailable(err)
	}
	rp := &replay{r: r, s: s, want: want, seen: map[int64]bool{}, report: &report}
	defer rp.abandonHeld(bg)
	for len(report.Replayed) < todo {
		wctx, cancel := context.WithTimeout(ctx, receiveWait)
		msgs, err := r.ReceiveMessages(wctx, min(todo-len(report.Replayed), 100), nil)
		cancel()
		if err != nil && (ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded)) {
			return report, unavailable(err)
		}
		if len(msgs) == 0 {
			break // the rest went away (replayed by someone else or expired)
		}
		if err := rp.resend(ctx, msgs); err != nil {
			return report, unavailable(err)
		}
	}
	return report, nil
}

// replayPlan reads which of the peeked dead letters a replay of messageIDs (none: all) re-sends:
// want (empty: all), how many, and the IDs asked for that are not there.
func replayPlan(peeked []*azservicebus.ReceivedMessage, messageIDs []string) (want map[string]bool, todo int, notFound []string) {
	want = map[string]bool{}
	for _, id := range messageIDs {
		want[id] = true
	}
	present := map[string]bool{}
	for _, m := range peeked {
		if len(want) == 0 || want[m.MessageID] {
			todo++
			present[m.MessageID] = true
		}
	}
	for _, id := range messageIDs {
		if !present[id] {
			notFound = append(notFound, id)
		}
	}
	return want, todo, notFound
}

// replay is one Replay's receiver, sender and progress.
type replay struct {
	r      *azservicebus.Receiver
	s      *azservicebus.Sender
	want   map[string]bool
	seen   map[int64]bool
	held   []*azservicebus.ReceivedMessage // locked but not asked for: abandoned at the end
	report *ReplayReport
}

// resend re-sends each received dead letter asked for, once, and completes it in the dead-letter
// queue only after its re-send succeeded; the others are held.
func (rp *replay) resend(ctx context.Context, msgs []*azservicebus.ReceivedMessage) error {
	for i, m := range msgs {
		if rp.seen[*m.SequenceNumber] || (len(rp.want) > 0 && !rp.want[m.MessageID]) {
			rp.seen[*m.SequenceNumber] = true
			rp.held = append(rp.held, m)
			continue
		}
		rp.seen[*m.SequenceNumber] = true
		if err := rp.s.SendMessage(ctx, replayed(m), nil); err != nil {
			rp.held = append(rp.held, msgs[i:]...)
			return err
		}
		if err := rp.r.CompleteMessage(ctx, m, nil); err != nil {
			// Re-sent but still dead-lettered: a second replay re-sends the same MessageId.
			rp.held = append(rp.held, msgs[i+1:]...)
			return err
		}
		rp.report.Replayed = append(rp.report.Replayed, m.MessageID)
	}
	return nil
}

// abandonHeld abandons the messages held, so others can receive them.
func (rp *replay) abandonHeld(ctx context.Context) {
	for _, m := range rp.held {
		_ = rp.r.AbandonMessage(ctx, m, nil)
	}
}

// unavailable marks a Service Bus failure of the dead-letter operations as transient (the Admin
// API answers 503 Unavailable and the caller may retry), except a refused authorisation, which
// retrying does not cure. The SDK's error stays wrapped for the log.
func unavailable(err error) error {
	var sb *azservicebus.Error
	if errors.As(err, &sb) && sb.Code == azservicebus.CodeUnauthorizedAccess {
		return fmt.Errorf("bus: %w", err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("bus: %w: %w", domain.ErrTransient, err)
}

// replayed is the message to re-send: the original body, ids, subject, content type, session
// and application properties, without the dead-letter reason.
func replayed(m *azservicebus.ReceivedMessage) *azservicebus.Message {
	props := make(map[string]any, len(m.ApplicationProperties))
	for k, v := range m.ApplicationProperties {
		if k != "DeadLetterReason" && k != "DeadLetterErrorDescription" {
			props[k] = v
		}
	}
	id := m.MessageID
	return &azservicebus.Message{
		MessageID:             &id,
		CorrelationID:         m.CorrelationID,
		Subject:               m.Subject,
		ContentType:           m.ContentType,
		SessionID:             m.SessionID,
		Body:                  m.Body,
		ApplicationProperties: props,
	}
}

func deadLetter(m *azservicebus.ReceivedMessage) DeadLetter {
	d := DeadLetter{
		MessageID:     m.MessageID,
		CorrelationID: deref(m.CorrelationID),
		Subject:       deref(m.Subject),
		ContentType:   deref(m.ContentType),
		Reason:        deref(m.DeadLetterReason),
		Description:   deref(m.DeadLetterErrorDescription),
		DeliveryCount: int(m.DeliveryCount),
		Preview:       Preview(m.Body),
	}
	if m.EnqueuedTime != nil {
		d.EnqueuedTime = m.EnqueuedTime.UTC()
	}
	if m.SequenceNumber != nil {
		d.SequenceNumber = *m.SequenceNumber
	}
	return d
}

// Preview is a safe preview of a body (api.Preview).
func Preview(body []byte) string { return api.Preview(body) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
