// Package relay moves committed events from the store's outbox to Service Bus (docs/events.md):
// right after a handler's commit (Flush) and, as the safety net, from the OutboxRelay timer
// (Run). Events are removed from the outbox only after they were published; a re-send carries
// the same MessageId, so duplicate detection on the topic drops it.
package relay

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/logs"
)

// Publisher publishes events in the order given. On failure it stops, so no event is sent after
// an earlier one that was not; the error may implement SentIDs() []string to say which of the
// events were sent before the failure.
type Publisher interface {
	Publish(ctx context.Context, events []domain.Event) error
}

// Options tune a Relay; nil means defaults.
type Options struct {
	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // the clock events' At is on (the domain's); default time.Now
}

// The outbox's age report (docs/operations.md): each Run that finds events pending logs how many
// it found and how long the oldest of them has waited since its commit, under these keys; the
// "outbox stale" alert in infra/ fires when that age passes StaleAfter. The line is at Warn once
// it has.
const (
	LogPending              = "outboxPending"              // events this run found pending (at most its limit)
	LogOldestPendingSeconds = "outboxOldestPendingSeconds" // whole seconds since the oldest one's commit
	StaleAfter              = 10 * time.Minute
)

// LogEventIDs is the key of the events' MessageIds (the first maxLoggedIDs of them) in the
// "relay: published" line and in the "relay: publish failed" warning, which say what each
// invocation published and left to OutboxRelay (docs/operations.md).
const LogEventIDs = "eventIds"

const maxLoggedIDs = 20

// eventIDs lists the events' IDs, comma-separated, at most maxLoggedIDs of them ("..." after).
func eventIDs(events []domain.Event) string {
	var b strings.Builder
	for i, e := range events {
		if i == maxLoggedIDs {
			b.WriteString(",...")
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(e.ID)
	}
	return b.String()
}

// Relay publishes outbox events and marks them published.
type Relay struct {
	store domain.OutboxStore
	pub   Publisher
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	blocked map[string]bool // partitions with an unpublished event: Flush leaves them to Run
}

// New returns a Relay. A nil pub means no Service Bus is configured: events stay in the outbox.
func New(store domain.OutboxStore, pub Publisher, opts *Options) *Relay {
	r := &Relay{store: store, pub: pub, log: slog.Default(), now: time.Now, blocked: map[string]bool{}}
	if opts != nil && opts.Logger != nil {
		r.log = opts.Logger
	}
	if opts != nil && opts.Now != nil {
		r.now = opts.Now
	}
	return r
}

// Flush publishes events just committed and removes them from the outbox. The caller gives, for
// each partition (session), its pending events in commit order: those still pending when the
// commit read the partition, then the commit's own (domain.Result.Publish), so a cluster's newer
// event never overtakes an older one left by a crash or a failed publish, at no extra read
// (docs/events.md). On a publish failure the events sent before it are still marked, and the
// error is returned: the rest stay pending for the OutboxRelay. Until Run has drained the
// outbox, Flush leaves alone the partitions whose earlier event failed here. Concurrent flushes
// of one partition may send an event twice; it carries the same MessageId both times.
func (r *Relay) Flush(ctx context.Context, events []domain.Event) error {
	if len(events) == 0 {
		return nil
	}
	if r.pub == nil {
		r.log.DebugContext(ctx, "relay: no Service Bus configured; events stay in the outbox", "events", len(events))
		return nil
	}
	ready := make([]domain.Event, 0, len(events))
	r.mu.Lock()
	for _, e := range events {
		if !r.blocked[e.SessionID()] {
			ready = append(ready, e)
		}
	}
	r.mu.Unlock()
	if skipped := len(events) - len(ready); skipped > 0 {
		r.log.DebugContext(ctx, "relay: events left for the OutboxRelay behind an earlier failure", "events", skipped)
	}
	_, err := r.publish(ctx, ready)
	return err
}

// Run publishes up to limit pending events (OutboxRelay); its cost is proportional to what is
// pending. It returns how many were published and marked.
func (r *Relay) Run(ctx context.Context, limit int) (int, error) {
	// Pending also settles interrupted commits and brings the fleet counts up to date
	// (docs/storage.md), so it runs without a publisher too.
	// A store may return the events it read together with an error of its later bookkeeping (the
	// counts' fold): those events are still published, and the error returned after.
	pending, pendErr := r.store.Pending(ctx, limit)
	if pendErr != nil && len(pending) == 0 {
		return 0, pendErr
	}
	if r.pub == nil {
		r.log.DebugContext(ctx, "relay: no Service Bus configured; events stay in the outbox", "events", len(pending))
		return 0, pendErr
	}
	r.report(ctx, pending)
	n, err := r.publish(ctx, pending)
	if pendErr != nil {
		return n, errors.Join(err, pendErr)
	}
	if err == nil && len(pending) < limit {
		r.mu.Lock()
		clear(r.blocked) // the outbox is drained: nothing is waiting ahead of a new event
		r.mu.Unlock()
	}
	return n, err
}

// report logs the age of the oldest of the pending events (before publishing them, so a run whose
// publish fails reports too). Pending lists partitions in key order, so past the run's limit the
// oldest event may be among those not listed: the age is then a lower bound.
func (r *Relay) report(ctx context.Context, pending []domain.Event) {
	if len(pending) == 0 {
		return
	}
	oldest := pending[0].At
	for _, e := range pending[1:] {
		if e.At.Before(oldest) {
			oldest = e.At
		}
	}
	age := max(r.now().Sub(oldest), 0)
	level, msg := slog.LevelInfo, "relay: events pending in the outbox"
	if age > StaleAfter {
		level, msg = slog.LevelWarn, "relay: events pending in the outbox longer than "+StaleAfter.String()
	}
	r.log.LogAttrs(ctx, level, msg, slog.Int(LogPending, len(pending)), slog.Int64(LogOldestPendingSeconds, int64(age/time.Second)))
}

func (r *Relay) publish(ctx context.Context, events []domain.Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	if r.pub == nil {
		r.log.DebugContext(ctx, "relay: no Service Bus configured; events stay in the outbox", "events", len(events))
		return 0, nil
	}
	pubErr := r.pub.Publish(ctx, events)
	sent := events
	if pubErr != nil {
		sent = sentBefore(events, pubErr)
		r.mu.Lock()
		for _, e := range events[len(sent):] {
			r.blocked[e.SessionID()] = true
		}
		r.mu.Unlock()
		r.log.WarnContext(ctx, "relay: publish failed; the rest stay in the outbox", "sent", len(sent), "pending", len(events)-len(sent),
			LogEventIDs, eventIDs(events[len(sent):]), logs.Err(pubErr))
	}
	if len(sent) > 0 {
		r.log.LogAttrs(ctx, slog.LevelInfo, "relay: published", slog.Int("events", len(sent)), slog.String(LogEventIDs, eventIDs(sent)))
		if err := r.store.MarkPublished(ctx, sent); err != nil {
			// Published but not marked: the next run re-sends them with the same MessageIds.
			return 0, errors.Join(pubErr, err)
		}
	}
	return len(sent), pubErr
}

// sentBefore returns the events the failed publish reported as sent (none if it did not say).
func sentBefore(events []domain.Event, err error) []domain.Event {
	var p interface{ SentIDs() []string }
	if !errors.As(err, &p) {
		return nil
	}
	ids := map[string]bool{}
	for _, id := range p.SentIDs() {
		ids[id] = true
	}
	var sent []domain.Event
	for _, e := range events {
		if ids[e.ID] {
			sent = append(sent, e)
		}
	}
	return sent
}
