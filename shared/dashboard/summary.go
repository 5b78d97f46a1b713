package dashboard

import (
	"context"
	"errors"
	"time"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/domain"
)

// Bounds of one summary: whatever the fleet's size, it reads at most these many rows.
const (
	// Within is how far ahead the summary lists deadlines.
	Within = 7 * 24 * time.Hour
	// MaxListed caps each list of the summary (deadlines, resets, orphans, rejections).
	MaxListed = 50
	// MaxDeadLetters is how many dead letters are peeked per queue; a count at the cap reads "at least".
	MaxDeadLetters = 100
)

// Summary is GET /api/v1/summary: the fleet at a glance (docs/dashboard.md).
type Summary struct {
	// AsOf is when the counts were read (the service clock; they are read first, so it equals
	// GeneratedAt). The store updates them with each status change; one whose update failed is
	// repaired by the OutboxRelay, so they may lag by that much.
	AsOf        time.Time `json:"asOf"`
	GeneratedAt time.Time `json:"generatedAt"`
	// Subscriptions are the caller's when its roles limit it to some (docs/admin-api.md, "Scopes"):
	// then everything below is of their clusters only. Absent: the whole fleet.
	Subscriptions []string           `json:"subscriptions,omitempty"`
	Counts        domain.FleetCounts `json:"counts"`
	// Upcoming are deadlines within 7 days, soonest first (overdue ones included), at most
	// MaxListed; UpcomingTotal counts them all.
	Upcoming      []domain.Deadline `json:"upcoming"`
	UpcomingTotal int               `json:"upcomingTotal"`
	// Resets are the resets in progress (stalled ones included), at most MaxListed.
	Resets []Reset `json:"resets"`
	// Orphans are the suspected orphans, soonest grace end first, at most MaxListed.
	Orphans      []domain.OrphanView `json:"orphans"`
	OrphansTotal int                 `json:"orphansTotal"`
	// Rejections is the first page of recorded rejections, newest first; more says older ones exist.
	Rejections     []domain.Rejection `json:"rejections"`
	MoreRejections bool               `json:"moreRejections"`
	// DeadLetters counts each queue's dead letters; nil when no Service Bus is configured, or for a
	// caller limited to some subscriptions (dead letters belong to none).
	DeadLetters []DeadLetterCount `json:"deadLetters"`
	// Guard is the mass-disconnect guard (docs/policy.md); nil when the deployment does not expose it.
	Guard *GuardState `json:"guard,omitempty"`
}

// Reset is one machine reset in progress.
type Reset struct {
	ClusterID   string              `json:"clusterId"`
	ClusterName string              `json:"clusterName,omitempty"`
	Machine     string              `json:"machine"`
	OperationID string              `json:"operationId"`
	Status      string              `json:"status"`
	Stages      []domain.ResetStage `json:"stages"`
	StartedAt   time.Time           `json:"startedAt"`
	LastHeardAt time.Time           `json:"lastHeardAt"`
	// StallAt is when the reset counts as stalled if nothing more is heard.
	StallAt time.Time `json:"stallAt"`
}

// DeadLetterCount is one queue's dead letters; AtLeast says the count reached MaxDeadLetters.
type DeadLetterCount struct {
	Queue   string `json:"queue"`
	Count   int    `json:"count"`
	AtLeast bool   `json:"atLeast,omitempty"`
}

// GuardState is the mass-disconnect guard (domain.Service.FleetGuard): Active means the sweeps
// hold silence-based transitions back; NewestSync is nil before the fleet's first sync.
type GuardState struct {
	Active     bool       `json:"active"`
	NewestSync *time.Time `json:"newestSync"`
}

// SyncSource reports the newest sync heard fleet-wide (domain.FleetStore has it).
type SyncSource interface {
	NewestSync(ctx context.Context) (time.Time, error)
}

// Deps is what the summary and the dashboard read.
type Deps struct {
	Service *domain.Service
	Clock   domain.Clock
	// DeadLetters counts dead letters of Queues; nil leaves Summary.DeadLetters nil.
	DeadLetters admin.DeadLetterQueue
	Queues      []string
	// Syncs, when set, shows the guard (read through Service); nil leaves Summary.Guard nil.
	Syncs SyncSource
}

// Build assembles the summary of the clusters of scope (the caller's: admin.ScopeFrom). Its store
// cost is bounded whatever the fleet's size: one Counts (one per subscription for a limited scope),
// Upcoming (one deadline-index read per day of the window and a Load per cluster listed), one Load per
// cluster with a reset in progress (at most MaxListed), Orphans (paged over the suspected ones
// only), one Rejections page, one NewestSync, and one dead-letter peek per queue. Errors are
// returned as they come (transient ones for the caller to retry).
func Build(ctx context.Context, d Deps, scope domain.Scope) (Summary, error) {
	s := d.Service
	now := d.Clock.Now().UTC()
	counts, err := s.Counts(ctx, scope)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{AsOf: now, GeneratedAt: now, Counts: counts}
	if !scope.All {
		sum.Subscriptions = append([]string{}, scope.Subscriptions...)
	}
	for _, step := range []func() error{
		func() error { return sum.addAttention(ctx, s, scope, now) },
		func() error { return sum.addLists(ctx, s, scope) },
		func() error { return sum.addDeadLetters(ctx, d, scope) },
		func() error { return sum.addGuard(ctx, d) },
	} {
		if err := step(); err != nil {
			return Summary{}, err
		}
	}
	return sum, nil
}

// addAttention adds the deadlines within Within and the resets in progress (found through their
// reset-stall deadline, which may lie further ahead).
func (sum *Summary) addAttention(ctx context.Context, s *domain.Service, scope domain.Scope, now time.Time) error {
	window := max(Within, s.Policy().ResetStallAfter)
	due, err := s.UpcomingIn(ctx, window, scope)
	if err != nil {
		return err
	}
	sum.Upcoming = []domain.Deadline{}
	var stalling []domain.Deadline
	for _, dl := range due {
		if dl.Policy == domain.DeadlineResetStall {
			stalling = append(stalling, dl)
		}
		if !dl.Deadline.After(now.Add(Within)) {
			sum.UpcomingTotal++
			if len(sum.Upcoming) < MaxListed {
				sum.Upcoming = append(sum.Upcoming, dl)
			}
		}
	}
	sum.Resets, err = resets(ctx, s, stalling)
	return err
}

// addLists adds the suspected orphans and the newest rejections.
func (sum *Summary) addLists(ctx context.Context, s *domain.Service, scope domain.Scope) error {
	orphans, err := s.Orphans(ctx, scope)
	if err != nil {
		return err
	}
	sum.OrphansTotal = len(orphans)
	sum.Orphans = orphans[:min(len(orphans), MaxListed)]
	rej, err := s.Rejections(ctx, scope, domain.Page{Limit: MaxListed})
	if err != nil {
		return err
	}
	sum.Rejections, sum.MoreRejections = rej.Items, rej.NextCursor != ""
	if sum.Rejections == nil {
		sum.Rejections = []domain.Rejection{}
	}
	return nil
}

// addDeadLetters counts each queue's dead letters; they belong to no subscription, so only for
// the All scope.
func (sum *Summary) addDeadLetters(ctx context.Context, d Deps, scope domain.Scope) error {
	if d.DeadLetters == nil || !scope.All {
		return nil
	}
	sum.DeadLetters = []DeadLetterCount{}
	for _, q := range d.Queues {
		dl, err := d.DeadLetters.DeadLetters(ctx, q, 0, MaxDeadLetters)
		if err != nil {
			return err
		}
		sum.DeadLetters = append(sum.DeadLetters, DeadLetterCount{Queue: q, Count: len(dl), AtLeast: len(dl) >= MaxDeadLetters})
	}
	return nil
}

// addGuard adds the mass-disconnect guard's state (fleet-wide: it names no cluster), as
// domain.Service.FleetGuard reads it.
func (sum *Summary) addGuard(ctx context.Context, d Deps) error {
	if d.Syncs == nil {
		return nil
	}
	g, err := d.Service.FleetGuard(ctx)
	if err != nil {
		return err
	}
	sum.Guard = &GuardState{Active: g.Active}
	if !g.NewestSync.IsZero() {
		t := g.NewestSync.UTC()
		sum.Guard.NewestSync = &t
	}
	return nil
}

// resets lists the resets in progress of the clusters whose reset-stall deadline is pending
// (the deadline index holds every in-progress reset through it, stalled ones included), one
// cluster view each; one with no progress for ResetStallAfter shows as Stalled (as the view says).
func resets(ctx context.Context, s *domain.Service, stalling []domain.Deadline) ([]Reset, error) {
	out := []Reset{}
	seen := map[string]bool{}
	for _, dl := range stalling {
		if seen[dl.ClusterID] || len(out) >= MaxListed {
			continue
		}
		seen[dl.ClusterID] = true
		v, err := s.Cluster(ctx, dl.ClusterID)
		if errors.Is(err, domain.ErrNotFound) {
			continue // gone since Upcoming read it
		}
		if err != nil {
			return nil, err
		}
		stall := s.Policy().ResetStallAfter
		for _, n := range v.Nodes {
			r := n.Reset
			if r == nil || (r.Status != domain.ResetInProgress && r.Status != domain.ResetStalled) || len(out) >= MaxListed {
				continue
			}
			out = append(out, Reset{ClusterID: v.ClusterID, ClusterName: v.ClusterName, Machine: n.Name,
				OperationID: r.OperationID, Status: r.Status, Stages: r.Stages, // the view's own copy
				StartedAt: r.StartedAt, LastHeardAt: r.LastHeardAt, StallAt: r.LastHeardAt.Add(stall)})
		}
	}
	return out, nil
}
