package domain

// The commit path shared by every state change: messages, admin commands and sweeps all call
// s.update(ctx, clusterID, meta, decide) with a decide function that starts from
// clone(rec.Cluster); a sweep's Meta carries its run ID as MessageID and its name as Cause.

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/azlocal/registrar/shared/logs"
)

// EventSpec is an event to emit: its type and its body fields.
type EventSpec struct {
	Type   string
	Fields any
}

// update is the single commit path: Load (with the idempotency marker) → Duplicate if seen →
// decide → Commit with the read ETag (and, when the next deadline moved earlier, its due row:
// Change.Due); on ErrConflict, re-read and re-decide after the service's Retry backoff
// (retry.go) until it commits or the policy is spent (then ErrConflict, transient).
// History entries are derived from the state diff (plus Decision.History); events are built with
// NewEvent(cause, i, ...) so a redelivery derives the same IDs. A Problem is returned in the
// Result (Outcome Rejected) without committing anything; the caller records it if it must.
func (s *Service) update(ctx context.Context, clusterID string, meta Meta, decide func(rec ClusterRecord) (*Decision, error)) (Result, error) {
	return s.updateFrom(ctx, false, clusterID, meta, decide)
}

// updateState is update starting from the state row alone (LoadState), for Syncs: a decision
// without events commits on it (the marker, committed with it, still guards the MessageId); one
// with events is made again on a full Load, which reads the pending events they are published
// behind; so is every retry after a conflict (docs/storage.md, "The Sync path").
func (s *Service) updateState(ctx context.Context, clusterID string, meta Meta, decide func(rec ClusterRecord) (*Decision, error)) (Result, error) {
	return s.updateFrom(ctx, meta.MessageID != "", clusterID, meta, decide)
}

// updateFrom is update, reading the state row alone first when stateFirst.
func (s *Service) updateFrom(ctx context.Context, stateFirst bool, clusterID string, meta Meta, decide func(rec ClusterRecord) (*Decision, error)) (Result, error) {
	retry := s.retry.start()
	for {
		rec, err := s.load(ctx, stateFirst, clusterID, meta.MessageID)
		if err != nil {
			return Result{}, err
		}
		if rec.Seen || rec.Cluster.recorded(meta.MessageID) {
			return Result{Outcome: Duplicate, ClusterID: clusterID}, nil
		}
		d, err := decide(rec)
		if err != nil {
			return Result{}, err
		}
		if d.Problem != nil {
			return Result{Outcome: Rejected, ClusterID: clusterID, Problem: d.Problem}, nil
		}
		p := s.planCommit(clusterID, meta, rec, d, s.clock.Now().UTC())
		if rec.StateOnly && len(p.change.Events) > 0 {
			stateFirst = false // published behind the pending events: decided again on a full Load
			continue
		}
		if p.change.Cluster == nil && meta.MessageID == "" {
			return Result{Outcome: p.outcome, ClusterID: clusterID, Plan: d.Plan, Detail: d.Detail}, nil
		}
		err = s.commit(ctx, p, meta)
		if errors.Is(err, ErrConflict) {
			if !retry.again(ctx) {
				return Result{}, retry.spent("cluster " + clusterID)
			}
			stateFirst = false
			continue
		} else if err != nil {
			return Result{}, err
		}
		ch := p.change
		return Result{Outcome: p.outcome, ClusterID: clusterID, Events: ch.Events, Publish: publishable(rec, ch.Events), Plan: d.Plan, Detail: d.Detail}, nil
	}
}

// load reads what a decision on clusterID starts from: the state row alone when stateFirst and
// the cluster exists, else the whole record (Load).
func (s *Service) load(ctx context.Context, stateFirst bool, clusterID, messageID string) (ClusterRecord, error) {
	if stateFirst {
		rec, err := s.store.LoadState(ctx, clusterID)
		if err != nil || rec.Cluster != nil {
			return rec, err
		}
	}
	return s.store.Load(ctx, clusterID, messageID)
}

// commit runs p's writes: those before it, the Commit, and those after it (whose failure only
// leaves a hint stale: logged).
func (s *Service) commit(ctx context.Context, p commitPlan, meta Meta) error {
	if err := runWrites(ctx, p.before); err != nil {
		return err
	}
	if _, err := s.store.Commit(ctx, p.change); err != nil {
		return err
	}
	for _, after := range p.after {
		if err := after(ctx); err != nil {
			s.log.WarnContext(ctx, "post-commit index update failed", "clusterId", p.change.Partition, "messageId", meta.MessageID, logs.Err(err))
		}
	}
	return nil
}

// commitPlan is what update commits for one decision: the Change, its outcome, and the writes
// just before it and just after it (only when the state changes).
type commitPlan struct {
	change        Change
	outcome       Outcome
	before, after []Write
}

// planCommit plans the commit of decision d, made on rec, at now: no I/O. An unchanged state
// commits only the idempotency marker (outcome Unchanged, or d.Outcome), unless it sets its own
// schedule (ModeOwnSchedule) and that moved: then the state too, still Unchanged. A command leaves
// an "accepted" history entry even then (ModeCommand).
func (s *Service) planCommit(clusterID string, meta Meta, rec ClusterRecord, d *Decision, now time.Time) commitPlan {
	p := commitPlan{outcome: Unchanged,
		change: Change{Partition: clusterID, ETag: rec.ETag, MessageID: meta.MessageID, Follows: rec.Cluster.version()}}
	if c := d.Cluster; c != nil && !sameState(rec.Cluster, c) {
		p.outcome = Updated
		if rec.Cluster == nil {
			p.outcome = Created
		}
		s.planState(&p, rec, d, meta, now)
	} else if c != nil && d.Mode.has(ModeOwnSchedule) && s.rescheduled(rec.Cluster, c, now) {
		s.planState(&p, rec, d, meta, now) // only its next check or deadline rows moved: Unchanged
	}
	if d.Outcome != "" {
		p.outcome = d.Outcome
	}
	if d.Mode.has(ModeCommand) && rec.Cluster != nil && len(p.change.History) == 0 {
		p.change.History = []HistoryEntry{{At: now, What: "accepted", After: string(p.outcome), Cause: meta.Cause, MessageID: meta.MessageID,
			Principal: meta.Principal, RequestedBy: meta.RequestedBy}}
	}
	return p
}

// rescheduled reports whether next, the same state as prev, moves its next check or needs other
// deadline-index rows at now.
func (s *Service) rescheduled(prev, next *Cluster, now time.Time) bool {
	if !prev.ScheduledCheck.Equal(next.ScheduledCheck) {
		return true
	}
	c := *next // placeAttention sets c's Attention to a new map, leaving next's
	puts, drop := s.placeAttention(&c, now)
	return len(puts) > 0 || drop != nil
}

// planState adds to p the commit of d's new state over rec: the next version, the next check's
// due row when it moved earlier (unless ModeOwnSchedule), the deadline-index rows (new ones with
// the commit, old ones dropped after it), the projection, the history and the events.
func (s *Service) planState(p *commitPlan, rec ClusterRecord, d *Decision, meta Meta, now time.Time) {
	c, ch := d.Cluster, &p.change
	c.Version++
	c.record(meta.MessageID)
	if next := s.policy.NextCheck(c, now); !d.Mode.has(ModeOwnSchedule) && !next.IsZero() &&
		(c.ScheduledCheck.IsZero() || next.Before(c.ScheduledCheck)) {
		ch.Due = &Due{ClusterID: ch.Partition, At: next} // written with the commit, never without it
		c.ScheduledCheck = next
	}
	puts, drop := s.placeAttention(c, now)
	ch.Attention = puts
	p.before, p.after = writes(d.Before), writes(drop, d.After)
	ch.Cluster = c
	ch.Project, ch.Replaces = projection(rec.Cluster, c)
	ch.History = stampHistory(append(diffHistory(rec.Cluster, c), d.History...), meta, now)
	cause, corr := eventCause(meta, now), correlation(meta)
	for i, e := range d.Events {
		ch.Events = append(ch.Events, NewEvent(cause, i, e.Type, ch.Partition, corr, now, e.Fields))
	}
}

// stampHistory sets on each entry when, by which message and whom it was recorded, and its cause
// when it names none.
func stampHistory(hs []HistoryEntry, meta Meta, now time.Time) []HistoryEntry {
	for i := range hs {
		h := &hs[i]
		h.At, h.MessageID, h.Principal, h.RequestedBy = now, meta.MessageID, meta.Principal, meta.RequestedBy
		if h.Cause == "" {
			h.Cause = meta.Cause
		}
	}
	return hs
}

// writes lists the writes of ws that are set, in order.
func writes(ws ...Write) []Write {
	var out []Write
	for _, w := range ws {
		if w != nil {
			out = append(out, w)
		}
	}
	return out
}

// runWrites runs ws in order, stopping at the first error.
func runWrites(ctx context.Context, ws []Write) error {
	for _, w := range ws {
		if err := w(ctx); err != nil {
			return err
		}
	}
	return nil
}

// publishable is Result.Publish: rec's pending events, then those just committed, or none when
// nothing was committed or a backlog is left to the OutboxRelay.
func publishable(rec ClusterRecord, committed []Event) []Event {
	if len(committed) == 0 || rec.PendingMore {
		return nil
	}
	return append(slices.Clip(rec.Pending), committed...)
}

// projection is Change.Project and Change.Replaces for a commit of next over prev (nil: none).
func projection(prev, next *Cluster) (project bool, replaces *ClusterSummary) {
	if prev == nil {
		return true, nil
	}
	sum := prev.Summary()
	return sum != next.Summary(), &sum
}

// eventCause is a context-free cause for meta without a MessageID (an admin call).
func eventCause(meta Meta, now time.Time) string {
	if meta.MessageID != "" {
		return meta.MessageID
	}
	return "admin:" + strconv.FormatInt(now.UnixNano(), 10)
}

func correlation(meta Meta) string {
	if meta.CorrelationID != "" {
		return meta.CorrelationID
	}
	return meta.MessageID
}

// sameState reports whether next changes nothing of prev (the version, schedule, deadline rows
// and recent commits aside).
func sameState(prev, next *Cluster) bool {
	if prev == nil {
		return false
	}
	a, b := *prev, *next
	a.Version, b.Version = 0, 0
	a.ScheduledCheck, b.ScheduledCheck = time.Time{}, time.Time{}
	a.AttentionAt, b.AttentionAt = time.Time{}, time.Time{}
	a.Attention, b.Attention = nil, nil
	a.Recent, b.Recent = nil, nil
	return reflect.DeepEqual(a, b)
}

// clone returns a deep copy of c (nil for nil) for a decide function to modify.
func clone(c *Cluster) *Cluster {
	if c == nil {
		return nil
	}
	n := *c
	n.AppIdentities = slices.Clone(c.AppIdentities)
	n.Recent = slices.Clone(c.Recent)
	n.Notices = slices.Clone(c.Notices)
	n.Attention = maps.Clone(c.Attention)
	n.Nodes = slices.Clone(c.Nodes)
	for i := range n.Nodes {
		if r := n.Nodes[i].Reset; r != nil {
			rr := *r
			rr.Stages = slices.Clone(r.Stages)
			n.Nodes[i].Reset = &rr
		}
	}
	return &n
}
