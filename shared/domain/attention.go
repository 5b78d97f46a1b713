package domain

import (
	"context"
	"time"
)

// The deadline index answers Upcoming at a cost proportional to what falls due in the window,
// not to the fleet. The due index cannot: every connected cluster has its routine daily
// Connected → Disconnected check there. Each cluster has at most one row here (kind "deadline",
// group = the row's UTC day, name = its fixed-width time and the cluster ID) at or before its
// earliest listed deadline (Cluster.AttentionAt records it). A row moves earlier at once, so it is
// never late; it moves later only once it comes within attentionRefresh and never on a plain Sync,
// so a syncing cluster, whose offline deadline moves with every sync, rewrites it about twice a
// month from the sweep. A row whose deadline is overdue for more than half of attentionLookback
// (held back by the mass-disconnect guard) is moved up to now, at most once a day, so Upcoming
// still reads it. Readers verify a row against its cluster.
const (
	kindDeadline     = "deadline"
	attentionRefresh = 14 * 24 * time.Hour
	// attentionLookback is how far back Upcoming reads for deadlines already overdue (held back by
	// the mass-disconnect guard, or not yet applied by a sweep).
	attentionLookback = 2 * 24 * time.Hour
)

func deadlineEntry(at time.Time, clusterID string) IndexEntry {
	at = at.UTC()
	return IndexEntry{Kind: kindDeadline, Group: at.Format(time.DateOnly),
		Name: at.Format("2006-01-02T15:04:05.000000000Z") + "|" + clusterID, Value: clusterID}
}

// attentionAt is the earliest of c's deadlines that Upcoming lists; zero when none is pending.
func (p Policy) attentionAt(c *Cluster) time.Time {
	var at time.Time
	for _, d := range p.pendingOf(c) {
		if !d.routine && (at.IsZero() || d.Deadline.Deadline.Before(at)) {
			at = d.Deadline.Deadline
		}
	}
	return at
}

// placeAttention moves c's deadline-index row when it must (see above), setting c.AttentionAt. It
// returns the write to make before the commit (so a crash never leaves a deadline without its row)
// and the removal of the old row after it; nil when there is nothing to do.
func (s *Service) placeAttention(c *Cluster, now time.Time, syncOnly bool) (put, drop func(context.Context) error) {
	want, have := s.policy.attentionAt(c), c.AttentionAt
	if stale := now.Add(-attentionLookback / 2); !want.IsZero() && want.Before(stale) {
		// Overdue for long (held back by the mass-disconnect guard): keep the row where Upcoming
		// reads back, or the cluster's other deadlines would go unlisted; moved once a day.
		if !have.IsZero() && !have.Before(stale) {
			return nil, nil
		}
		want = now
	}
	switch {
	case want.Equal(have):
		return nil, nil
	case !want.IsZero() && (have.IsZero() || want.Before(have)): // earlier: move at once
	case syncOnly:
		return nil, nil
	case !want.IsZero() && have.After(now.Add(attentionRefresh)): // early row, not yet near
		return nil, nil
	}
	c.AttentionAt = want
	if !want.IsZero() {
		e := deadlineEntry(want, c.ID)
		put = func(ctx context.Context) error { return s.store.PutIndex(ctx, e) }
	}
	if !have.IsZero() {
		old := deadlineEntry(have, c.ID)
		drop = func(ctx context.Context) error { return s.store.DeleteIndex(ctx, old.Kind, old.Group, old.Name) }
	}
	return put, drop
}

// Upcoming lists the deadlines falling within the window (and those overdue up to
// attentionLookback), soonest first, from the deadline index: one index read per day of the window
// and one cluster read per cluster with something listed. The routine daily Connected →
// Disconnected check is not listed; the 30-day offline deadline is.
func (s *Service) Upcoming(ctx context.Context, within time.Duration) ([]Deadline, error) {
	return s.UpcomingIn(ctx, within, Everywhere())
}

// UpcomingIn is Upcoming of the clusters of scope only.
func (s *Service) UpcomingIn(ctx context.Context, within time.Duration, scope Scope) ([]Deadline, error) {
	now := s.clock.Now().UTC()
	until := now.Add(within)
	out := []Deadline{}
	clusters := map[string]*Cluster{}
	listed := map[string]bool{}
	load := func(id string) (*Cluster, error) {
		c, loaded := clusters[id]
		if !loaded {
			rec, err := s.store.Load(ctx, id, "")
			if err != nil {
				return nil, err
			}
			c, clusters[id] = rec.Cluster, rec.Cluster
		}
		return c, nil
	}
	list := func(c *Cluster) {
		listed[c.ID] = true
		if !scope.allowsCluster(c) {
			return
		}
		for _, d := range s.policy.pendingOf(c) {
			if !d.routine && !d.Deadline.Deadline.After(until) {
				out = append(out, d.Deadline)
			}
		}
	}
	for day := now.Add(-attentionLookback).Truncate(24 * time.Hour); !day.After(until); day = day.Add(24 * time.Hour) {
		rows, err := s.store.ListIndex(ctx, kindDeadline, day.Format(time.DateOnly))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			c, err := load(r.Value)
			if err != nil {
				return nil, err
			}
			if c == nil || listed[c.ID] || deadlineEntry(c.AttentionAt, c.ID).Name != r.Name {
				continue // a row left behind by an interrupted move: the cluster has another one
			}
			list(c)
		}
	}
	// Clusters the mass-disconnect guard holds are not evaluated while it holds (docs/policy.md),
	// so their rows age past the days read back: the held index lists them.
	held, err := s.store.ListIndex(ctx, kindHeld, "")
	if err != nil {
		return nil, err
	}
	for _, r := range held {
		c, err := load(r.Name)
		if err != nil {
			return nil, err
		}
		if c != nil && !listed[c.ID] {
			list(c)
		}
	}
	sortDeadlines(out)
	return out, nil
}
