package domain

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/azlocal/registrar/shared/logs"
)

// Policies named in PolicyWarning, PolicyViolated and PolicyRestored events.
const (
	PolicyRegistration = "Registration"
	PolicyCluster      = "Cluster"
	PolicyConnection   = "Connection"
	PolicyCredential   = "Credential"
	PolicyBios         = "BiosConfig"
)

// SweepRun identifies one timer run.
type SweepRun struct {
	ID      string // the invocation ID: the cause of the events it emits
	PastDue bool   // the run is late (Functions' IsPastDue)
	Limit   int    // at most this many due clusters per run; <= 0 means a default
}

// SweepReport is what one sweep run did.
type SweepReport struct {
	Examined    int  `json:"examined"`
	Changed     int  `json:"changed"`
	Events      int  `json:"events"`
	Skipped     int  `json:"skipped"`     // due rows whose evaluation failed: logged, retried later
	More        bool `json:"more"`        // more was due than the run's limit: the next run continues
	GuardActive bool `json:"guardActive"` // no syncs heard fleet-wide: silence-based transitions held back
	// Released counts the clusters the guard had held that this run judged (syncs heard again).
	Released int `json:"released,omitempty"`
	// Committed are the events to publish for what the run committed (also on error, those
	// committed before it): each cluster's Result.Publish.
	Committed []Event `json:"-"`
}

// Sweep defaults.
const (
	// DefaultSweepLimit is how many due rows one run handles when SweepRun.Limit is <= 0. A
	// syncing cluster is due about once a day (its ConnectedWindow check), so runs per day ×
	// limit must exceed the fleet: PolicyExpiryCheck every 5 minutes handles 288,000 a day.
	DefaultSweepLimit = 1000
	// sweepWorkers is how many due rows one run evaluates at once.
	sweepWorkers = 8
	// MarkerRetention is how long idempotency markers of the visited clusters are kept.
	MarkerRetention = 7 * 24 * time.Hour
)

// Sweep names: the Cause of their history entries.
const (
	SweepPolicyExpiryCheck = "PolicyExpiryCheck"
	SweepOrphanSweep       = "OrphanSweep"
)

// CheckPolicies is the PolicyExpiryCheck run (docs/policy.md). Both sweeps share one due index (one
// row per cluster and check time) and one evaluation: every due cluster gets all policy and orphan
// transitions at once, so either timer may run first, twice, late or concurrently with message
// handlers. See sweep.
func (s *Service) CheckPolicies(ctx context.Context, run SweepRun) (SweepReport, error) {
	return s.sweep(ctx, run, SweepPolicyExpiryCheck)
}

// SweepOrphans is the OrphanSweep run (docs/policy.md#orphans): the same evaluation as CheckPolicies, then the
// idempotency markers older than MarkerRetention of partitions UnknownSession and
// StandalonePartition are pruned.
func (s *Service) SweepOrphans(ctx context.Context, run SweepRun) (SweepReport, error) {
	rep, err := s.sweep(ctx, run, SweepOrphanSweep)
	if err != nil {
		return rep, err
	}
	// No due row visits the partitions of no cluster: their markers are pruned here, hourly.
	cutoff := s.clock.Now().UTC().Add(-MarkerRetention)
	for _, p := range []string{UnknownSession, StandalonePartition} {
		if err := s.store.PruneMarkers(ctx, p, cutoff); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// sweep reads at most run.Limit rows of the due index (DueBy now, earliest first; its cost is
// what is due, never the fleet) and, sweepWorkers at a time, for each: commits the evaluation
// through update (ETag retries, history, events), writes the next due row after the commit,
// prunes the cluster's markers older than MarkerRetention, then unschedules the row. A crash
// anywhere repeats the evaluation, which is idempotent (level-based transitions, Notices). A
// transient error stops the run and is returned so the platform retries; rows already handled
// stay done. Any other error is one row's (an unreadable row or cluster): it is logged, the row is
// retried skipRetry later, and the run goes on for every other cluster (docs/policy.md).
func (s *Service) sweep(ctx context.Context, run SweepRun, name string) (SweepReport, error) {
	now := s.clock.Now().UTC()
	limit := run.Limit
	if limit <= 0 {
		limit = DefaultSweepLimit
	}
	if run.ID == "" {
		run.ID = name + ":" + strconv.FormatInt(now.UnixNano(), 10)
	}
	newest, err := s.store.NewestSync(ctx)
	if err != nil {
		return SweepReport{}, err
	}
	g := s.policy.Guard(newest, now)
	rep := SweepReport{GuardActive: g.Active}
	if g.Active {
		s.log.WarnContext(ctx, "mass-disconnect guard active: no sync heard fleet-wide, silence-based transitions held back",
			"sweep", name, "run", run.ID, "newestSync", newest, "syncInterval", s.policy.SyncInterval)
	}
	rows, err := s.dueItems(ctx, now, g, limit, &rep)
	if err != nil {
		return rep, err
	}
	if err := s.sweepRows(ctx, rows, run, name, now, g, &rep); err != nil {
		return rep, err
	}
	s.log.InfoContext(ctx, "sweep done", "sweep", name, "run", run.ID, "pastDue", run.PastDue, "examined", rep.Examined,
		"changed", rep.Changed, "events", rep.Events, "skipped", rep.Skipped, "more", rep.More, "guardActive", rep.GuardActive, "released", rep.Released)
	return rep, nil
}

// sweepRows evaluates rows sweepWorkers at a time into rep, stopping at the first transient error.
func (s *Service) sweepRows(ctx context.Context, rows []sweepItem, run SweepRun, name string, now time.Time, g Guard, rep *SweepReport) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		work  = make(chan sweepItem)
	)
	for range min(sweepWorkers, len(rows)) {
		wg.Go(func() {
			for it := range work {
				res, err := s.handleRow(ctx, it, Meta{Source: SourceSweep, MessageID: run.ID, Cause: name}, now, g)
				mu.Lock()
				switch {
				case transient(ctx, err):
					first = cmp.Or(first, err)
				case err != nil:
					rep.Skipped++
					s.log.ErrorContext(ctx, "due row skipped: evaluating it failed; retried later, the run goes on",
						"sweep", name, "run", run.ID, "clusterId", EscapeControl(it.due.ClusterID), "due", it.due.At, logs.Err(err))
				default:
					rep.Examined++
					if res.Outcome == Updated || res.Outcome == Created {
						rep.Changed++
					}
					rep.Events += len(res.Events)
					rep.Committed = append(rep.Committed, res.Publish...)
				}
				mu.Unlock()
			}
		})
	}
	for _, d := range rows {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			break
		}
		work <- d
	}
	close(work)
	wg.Wait()
	return first
}

// transient reports whether err may pass if the run is retried (storage unavailable, throttled,
// a deadline): such an error stops a sweep, any other is one row's.
func transient(ctx context.Context, err error) bool {
	return err != nil && (errors.Is(err, ErrTransient) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil)
}

// skipRetry is how much later a due row whose evaluation failed (not transiently) is tried again.
const skipRetry = time.Hour

// handleRow handles one item (handleItem); a due row that names neither a cluster nor a
// standalone machine, or whose evaluation fails for a reason a retry now would not cure, is moved
// skipRetry on (the error is returned to be logged), so it never holds the head of the index.
func (s *Service) handleRow(ctx context.Context, it sweepItem, meta Meta, now time.Time, g Guard) (Result, error) {
	id := it.due.ClusterID
	if name, ok := strings.CutPrefix(id, standalonePrefix); ok {
		id = name
	}
	if !IsGUID(id) && !(id != it.due.ClusterID && IsMachineName(id)) || id != strings.ToLower(id) {
		err := fmt.Errorf("domain: due row names no cluster (%q)", it.due.ClusterID)
		return Result{}, errors.Join(err, s.store.Unschedule(ctx, it.due))
	}
	res, err := s.handleItem(ctx, it, meta, now, g)
	if err == nil || transient(ctx, err) {
		return res, err
	}
	if serr := s.store.Schedule(ctx, Due{ClusterID: it.due.ClusterID, At: now.Add(skipRetry)}); serr != nil {
		return Result{}, errors.Join(err, serr)
	}
	if it.held != nil {
		return Result{}, errors.Join(err, s.store.DeleteIndexIf(ctx, kindHeld, "", it.held.Name, it.held.ETag))
	}
	return Result{}, errors.Join(err, s.store.Unschedule(ctx, it.due))
}

// sweepItem is one row a run handles: a due-index row, or (held set) a cluster the guard held
// back, from the held index.
type sweepItem struct {
	due  Due
	held *IndexEntry
}

// dueItems lists what a run handles, at most limit: when syncs are heard (the guard is not
// active), first the clusters it held back, so the first run after the silence judges them all
// (docs/policy.md); then the due rows, earliest first. rep.More says more was due.
func (s *Service) dueItems(ctx context.Context, now time.Time, g Guard, limit int, rep *SweepReport) ([]sweepItem, error) {
	var items []sweepItem
	if !g.Active {
		held, err := s.store.ListIndexPage(ctx, kindHeld, "", Page{Limit: limit})
		if err != nil {
			return nil, err
		}
		for i := range held.Items {
			items = append(items, sweepItem{due: Due{ClusterID: held.Items[i].Name, At: now}, held: &held.Items[i]})
		}
		rep.Released, rep.More = len(items), held.NextCursor != ""
	}
	if rep.More {
		return items, nil
	}
	n := limit - len(items)
	ask := min(n+1, maxPageLimit) // one more than n to know whether more are due, within a page
	rows, err := s.store.DueBy(ctx, now, ask)
	if err != nil {
		return nil, err
	}
	if len(rows) > n {
		rows, rep.More = rows[:n], true
	} else if ask <= n && len(rows) == ask {
		rep.More = true // a full page of n or more rows: maybe more
	}
	for _, d := range rows {
		items = append(items, sweepItem{due: d})
	}
	return items, nil
}

// handleItem evaluates one item (a standalone machine's row, or a cluster's) and then removes its
// row: the due row, or the held-index row (only if unchanged since listed).
func (s *Service) handleItem(ctx context.Context, it sweepItem, meta Meta, now time.Time, g Guard) (Result, error) {
	done := func(ctx context.Context) error { return s.store.Unschedule(ctx, it.due) }
	if it.held != nil {
		done = func(ctx context.Context) error {
			err := s.store.DeleteIndexIf(ctx, kindHeld, "", it.held.Name, it.held.ETag)
			if errors.Is(err, ErrConflict) {
				return nil // held again meanwhile: the next release takes it
			}
			return err
		}
	}
	if name, ok := strings.CutPrefix(it.due.ClusterID, standalonePrefix); ok {
		return s.evaluateStandalone(ctx, it.due, name, now, done)
	}
	return s.evaluate(ctx, it.due, meta, now, g, done)
}

// evaluate handles one due row (see sweep), then calls done to remove it: one commit through
// update, which also records an unchanged cluster's moved next check and deadline rows
// (ModeOwnSchedule). While the guard holds a silence-based check back, the cluster is parked in
// the held index instead of being looked at again and again.
func (s *Service) evaluate(ctx context.Context, d Due, meta Meta, now time.Time, g Guard, done func(context.Context) error) (Result, error) {
	var exists, held bool
	var next time.Time
	res, err := s.update(ctx, d.ClusterID, meta, func(rec ClusterRecord) (*Decision, error) {
		exists = rec.Cluster != nil
		if !exists {
			return &Decision{}, nil
		}
		dec, err := s.decideSweep(ctx, rec, now, g, meta.MessageID)
		if err != nil {
			return nil, err
		}
		next, held = s.policy.nextCheck(dec.Cluster, now, g.Active)
		dec.Cluster.ScheduledCheck = next
		dec.Mode |= ModeOwnSchedule
		return dec, nil
	})
	if err != nil {
		return Result{}, err
	}
	if err := s.settle(ctx, d.ClusterID, exists, next, held, now); err != nil {
		return Result{}, err
	}
	return res, done(ctx)
}

// settle finishes an evaluation that committed: parks the cluster when held, writes the next due
// row and prunes old markers. Both writes come after the commit (so none for a commit that
// failed) and before the row being worked on is removed, so a crash in between loses no check.
func (s *Service) settle(ctx context.Context, id string, exists bool, next time.Time, held bool, now time.Time) error {
	if held {
		if err := s.hold(id)(ctx); err != nil {
			return err
		}
	}
	if !next.IsZero() {
		if err := s.store.Schedule(ctx, Due{ClusterID: id, At: next}); err != nil {
			return err
		}
	}
	if exists {
		return s.store.PruneMarkers(ctx, id, now.Add(-MarkerRetention))
	}
	return nil
}

// hold parks cluster id in the held index.
func (s *Service) hold(id string) func(context.Context) error {
	return func(ctx context.Context) error {
		return s.store.PutIndex(ctx, IndexEntry{Kind: kindHeld, Name: id, Value: id})
	}
}

// chain runs a then b (either may be nil).
func chain(a, b func(context.Context) error) func(context.Context) error {
	if b == nil {
		return a
	}
	return func(ctx context.Context) error {
		if err := a(ctx); err != nil {
			return err
		}
		return b(ctx)
	}
}

// decideSweep assesses one read of a cluster and, when its orphan grace has ended, adds the
// clean-up: the ordered CleanupRequested steps of an unregister (reason OrphanCleanup),
// ClusterUnregistered, then orphan CleanedUp (a tombstone) and OrphanCleanedUp with cause.
func (s *Service) decideSweep(ctx context.Context, rec ClusterRecord, now time.Time, g Guard, cause string) (*Decision, error) {
	if rec.Cluster == nil {
		return &Decision{}, nil
	}
	c := clone(rec.Cluster)
	a := s.policy.assess(c, now, g)
	d := &Decision{Cluster: c, Events: a.Events}
	if !a.Cleanup {
		return d, nil
	}
	u, err := s.decideUnregister(ctx, ClusterRecord{Cluster: c, ETag: rec.ETag}, false, ReasonOrphanCleanup, false)
	if err != nil {
		return nil, err
	}
	if u.Cluster == nil { // refused (no longer registered): nothing to clean up, no tombstone
		return d, nil
	}
	c = u.Cluster
	d.Events = append(d.Events, u.Events...)
	d.Plan, d.After = u.Plan, u.After
	c.Orphan, c.GraceUntil = OrphanCleanedUp, time.Time{}
	c.Notices = nil
	d.Cluster = c
	d.Events = append(d.Events, EventSpec{EvOrphanCleanedUp, causeFields{cause}})
	return d, nil
}

// suspects lists the clusters the fleet projection shows as suspected orphans, of scope (nil: all).
func (s *Service) suspects(ctx context.Context, scope *Scope) ([]*Cluster, error) {
	var out []*Cluster
	p := Page{Limit: maxPageLimit}
	for {
		cs, next, err := s.suspectsPage(ctx, scope, p)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
		if next == "" {
			return out, nil
		}
		p.Cursor = next
	}
}

// suspectsPage reads one page of the fleet projection's suspected orphans of scope (nil: all) and
// loads each, keeping those still suspected, registered and in scope; next is the projection's
// cursor.
func (s *Service) suspectsPage(ctx context.Context, scope *Scope, p Page) (cs []*Cluster, next string, err error) {
	page, err := s.store.ListClusters(ctx, ClusterFilter{Orphan: OrphanSuspected, Scope: scope}, p)
	if err != nil {
		return nil, "", err
	}
	for _, sum := range page.Items {
		rec, err := s.store.LoadState(ctx, sum.ClusterID)
		if err != nil {
			return nil, "", err
		}
		if c := rec.Cluster; c != nil && c.Orphan == OrphanSuspected && registered(c) && scope.allowsCluster(c) {
			cs = append(cs, c)
		}
	}
	return cs, page.NextCursor, nil
}

// orphanView is a suspect with its grace deadline and the clean-up plan (a dry run).
func (s *Service) orphanView(ctx context.Context, c *Cluster) (OrphanView, error) {
	plan, err := s.plan(ctx, c, false, ReasonOrphanCleanup)
	if err != nil {
		return OrphanView{}, err
	}
	return OrphanView{ClusterID: c.ID, ClusterName: c.Name, Reason: c.OrphanReason, GraceUntil: c.GraceUntil, Plan: plan}, nil
}

// Orphans lists the scope's suspected orphans with their grace deadline and clean-up plan (a dry
// run), soonest grace end first.
func (s *Service) Orphans(ctx context.Context, scope Scope) ([]OrphanView, error) {
	cs, err := s.suspects(ctx, &scope)
	if err != nil {
		return nil, err
	}
	out := []OrphanView{}
	for _, c := range cs {
		v, err := s.orphanView(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b OrphanView) int { return a.GraceUntil.Compare(b.GraceUntil) })
	return out, nil
}

// OrphansPage lists one page of the scope's suspected orphans, in the fleet list's order, each
// with its grace deadline and clean-up plan: its cost follows the page, not the number of
// suspects (docs/admin-api.md, "Costs"). NextCursor is the fleet list's.
func (s *Service) OrphansPage(ctx context.Context, scope Scope, p Page) (PageOf[OrphanView], error) {
	cs, next, err := s.suspectsPage(ctx, &scope, p)
	if err != nil {
		return PageOf[OrphanView]{}, err
	}
	out := PageOf[OrphanView]{Items: []OrphanView{}, NextCursor: next}
	for _, c := range cs {
		v, err := s.orphanView(ctx, c)
		if err != nil {
			return PageOf[OrphanView]{}, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// CleanupOrphans cleans up suspects whose grace has ended (never skipping the grace; Silent
// suspects are held while the mass-disconnect guard is active) and returns their plans; with
// dryRun it only returns the plans. OrphanCleanedUp's cause is meta.MessageID, else meta.Cause
// (the admin route; default "CleanupOrphans"). Only the suspects in meta.Scope (nil: all) are
// cleaned up. It also returns the events to publish (each cluster's Result.Publish), on error
// too (those committed before it).
func (s *Service) CleanupOrphans(ctx context.Context, dryRun bool, meta Meta) ([]Plan, []Event, error) {
	now := s.clock.Now().UTC()
	newest, err := s.store.NewestSync(ctx)
	if err != nil {
		return nil, nil, err
	}
	g := s.policy.Guard(newest, now)
	cs, err := s.suspects(ctx, meta.Scope)
	if err != nil {
		return nil, nil, err
	}
	if meta.Cause == "" {
		meta.Cause = "CleanupOrphans"
	}
	cause := cmp.Or(meta.MessageID, meta.Cause)
	plans := []Plan{}
	var events []Event
	for _, c := range cs {
		if now.Before(c.GraceUntil) || (g.Active && c.OrphanReason == OrphanSilent) {
			continue
		}
		if dryRun {
			plan, err := s.plan(ctx, c, false, ReasonOrphanCleanup)
			if err != nil {
				return nil, nil, err
			}
			plans = append(plans, plan)
			continue
		}
		res, err := s.cleanUp(ctx, c.ID, meta, now, g, cause)
		if err != nil {
			return nil, events, err
		}
		events = append(events, res.Publish...)
		if res.Plan != nil {
			plans = append(plans, *res.Plan)
		}
	}
	return plans, events, nil
}

// cleanUp commits the clean-up of suspect id, its grace over at now, when it is still in
// meta.Scope (the sweep's rules: decideSweep with the guard's reading g).
func (s *Service) cleanUp(ctx context.Context, id string, meta Meta, now time.Time, g Guard, cause string) (Result, error) {
	return s.update(ctx, id, meta, func(rec ClusterRecord) (*Decision, error) {
		if !meta.Scope.allowsCluster(rec.Cluster) {
			return &Decision{}, nil // moved out of the caller's subscriptions meanwhile
		}
		d, err := s.decideSweep(ctx, rec, now, g, cause)
		if err != nil || d.Cluster == nil || d.Cluster.Orphan != OrphanCleanedUp {
			return d, err
		}
		d.Cluster.ScheduledCheck = s.policy.NextCheck(d.Cluster, now)
		return d, nil
	})
}
