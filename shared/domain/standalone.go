package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/azlocal/registrar/shared/logs"
)

// Standalone machines (docs/policy.md): a machine installed before any cluster names it is
// tracked on its own, in a "standalone" index row (its state, read-modify-written with its ETag),
// until a Register, ClusterCreated or MachineInstalled with a cluster adopts it. Its own 30-day
// window to create or join a cluster runs on its own due-index rows (ID "machine:<name>"), so the
// sweeps' cost stays what is due; its events are committed in its own partition "machine:<name>"
// (their SessionId), keyed by the notice they send, so a repeated evaluation sends nothing twice.

// standalone is the JSON value of a standalone-machine index row.
type standalone struct {
	Machine     string    `json:"machine,omitempty"` // as first reported (the row's name is lower case)
	InstalledAt time.Time `json:"installedAt"`
	OSVersion   string    `json:"osVersion,omitempty"`
	// OSVersionAt is the enqueue time of the message OSVersion came from: an older message,
	// arriving late, does not replace it.
	OSVersionAt   time.Time `json:"osVersionAt,omitzero"`
	ClusterStatus string    `json:"clusterStatus,omitempty"` // "" (NotYet) or OutOfPolicy
	// Notices are the warnings sent (noticeKey), as Cluster.Notices.
	Notices []string `json:"notices,omitempty"`
	// ScheduledCheck is the time of its due-index row (zero: none), as Cluster.ScheduledCheck.
	ScheduledCheck time.Time `json:"scheduledCheck,omitzero"`
}

// StandalonePartition is the store partition holding the idempotency markers of messages about
// machines in no cluster yet.
const StandalonePartition = "standalone"

// standalonePrefix starts the due-index IDs and the partitions (SessionIds) of standalone machines.
const standalonePrefix = "machine:"

const standaloneAction = "Create or join a cluster with this machine before the deadline."

// readStandalone reads a standalone-machine record. One dated outside MinTime..MaxTime (written
// by a version that did not check) is unreadable: adopting it would fail the cluster's every
// later message (docs/messages.md, "Validation").
func readStandalone(e IndexEntry) (standalone, error) {
	var st standalone
	err := json.Unmarshal([]byte(e.Value), &st)
	if st.Machine == "" {
		st.Machine = e.Name
	}
	if err == nil && !st.InstalledAt.IsZero() && !ValidTime(st.InstalledAt) {
		err = fmt.Errorf("domain: standalone machine %s installed at %s, outside %s..%s", EscapeControl(e.Name),
			st.InstalledAt.UTC().Format(time.RFC3339), MinTime.Format(time.DateOnly), MaxTime.Format(time.DateOnly))
	}
	return st, err
}

// StandaloneMachines lists the machines no cluster has named yet, one page at a time, in name
// order; its cost is the page's.
func (s *Service) StandaloneMachines(ctx context.Context, p Page) (PageOf[StandaloneMachine], error) {
	rows, err := s.store.ListIndexPage(ctx, kindStandalone, "", p)
	if err != nil {
		return PageOf[StandaloneMachine]{}, err
	}
	out := PageOf[StandaloneMachine]{Items: []StandaloneMachine{}, NextCursor: rows.NextCursor}
	for _, e := range rows.Items {
		st, err := readStandalone(e)
		if err != nil {
			s.log.WarnContext(ctx, "unreadable standalone-machine record skipped", "machine", e.Name, logs.Err(err))
			continue
		}
		m := StandaloneMachine{Machine: st.Machine, InstalledAt: st.InstalledAt, OSVersion: st.OSVersion,
			ClusterStatus: cmpOr(st.ClusterStatus, StatusNotYet), Deadline: s.policy.standaloneDeadline(st), Action: standaloneAction}
		if r := Release(m.OSVersion); r != m.OSVersion {
			m.OSRelease = r
		}
		out.Items = append(out.Items, m)
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// merged is prev with what MachineInstalled m (enqueued at) reports: the earliest installedAt,
// the OS version of the latest enqueued report.
func (st standalone) merged(m MachineInstalled, at time.Time) standalone {
	if st.Machine == "" {
		st.Machine = m.Machine
	}
	st.InstalledAt = earliest(st.InstalledAt, m.InstalledAt)
	if m.OSVersion != "" && !at.Before(st.OSVersionAt) {
		st.OSVersion, st.OSVersionAt = m.OSVersion, at
	}
	return st
}

// installStandalone tracks a machine not yet in a cluster. The record is read-modify-written with
// its ETag (re-read on a conflict), its due-index row written first when its next check moved
// earlier; its MessageId marker is committed in StandalonePartition after the record is written (a
// crash between repeats a level-based write), so a redelivery is a duplicate.
func (s *Service) installStandalone(ctx context.Context, m MachineInstalled, meta Meta) (Result, error) {
	rec, err := s.store.Load(ctx, StandalonePartition, meta.MessageID)
	if err != nil {
		return Result{}, err
	}
	if rec.Seen {
		return Result{Outcome: Duplicate}, nil
	}
	name := strings.ToLower(m.Machine)
	outcome, err := s.writeStandalone(ctx, name, m, meta)
	if err != nil {
		return Result{}, err
	}
	if meta.MessageID != "" {
		if _, err := s.store.Commit(ctx, Change{Partition: StandalonePartition, MessageID: meta.MessageID}); errors.Is(err, ErrConflict) {
			return Result{Outcome: Duplicate}, nil // the same message, committed meanwhile
		} else if err != nil {
			return Result{}, err
		}
	}
	return Result{Outcome: outcome}, nil
}

// writeStandalone merges m into the record of machine name, re-read on a conflict after the
// service's Retry backoff, and returns the outcome: Created, Updated, or Unchanged (nothing
// written).
func (s *Service) writeStandalone(ctx context.Context, name string, m MachineInstalled, meta Meta) (Outcome, error) {
	retry := s.retry.start()
	for {
		prev, e, outcome, err := s.readStandaloneRow(ctx, name)
		if err != nil {
			return "", err
		}
		next := prev.merged(m, meta.EnqueuedAt.UTC())
		if outcome == Updated && reflect.DeepEqual(prev, next) {
			return Unchanged, nil
		}
		if err := s.scheduleStandalone(ctx, name, &next); err != nil {
			return "", err
		}
		raw, _ := json.Marshal(next)
		err = s.store.PutIndexIf(ctx, IndexEntry{Kind: kindStandalone, Name: name, Value: string(raw)}, e.ETag)
		if err == nil {
			return outcome, nil
		}
		if !errors.Is(err, ErrConflict) {
			return "", err
		}
		if !retry.again(ctx) {
			return "", retry.spent("standalone machine " + name)
		}
	}
}

// readStandaloneRow reads machine name's record and its row: Created when there is none (zero
// record), Updated when there is one (an unreadable one, which this service wrote, is logged and
// replaced, not fatal).
func (s *Service) readStandaloneRow(ctx context.Context, name string) (standalone, IndexEntry, Outcome, error) {
	e, err := s.store.GetIndex(ctx, kindStandalone, "", name)
	switch {
	case errors.Is(err, ErrNotFound):
		return standalone{}, e, Created, nil
	case err != nil:
		return standalone{}, e, "", err
	}
	prev, err := readStandalone(e)
	if err != nil {
		s.log.WarnContext(ctx, "unreadable standalone-machine record replaced", "machine", name, logs.Err(err))
		prev = standalone{}
	}
	return prev, e, Updated, nil
}

// scheduleStandalone writes st's due-index row when its next check is earlier than the one
// scheduled (an early row is harmless: the sweep reschedules).
func (s *Service) scheduleStandalone(ctx context.Context, name string, st *standalone) error {
	at := s.policy.standaloneNext(*st)
	if at.IsZero() || (!st.ScheduledCheck.IsZero() && !at.Before(st.ScheduledCheck)) {
		return nil
	}
	if err := s.store.Schedule(ctx, Due{ClusterID: standalonePrefix + name, At: at}); err != nil {
		return err
	}
	st.ScheduledCheck = at
	return nil
}

// adoptStandalone moves standalone records of the named machines into c (earliest install
// wins) and returns a function deleting their rows after the commit, each only if unchanged
// since read (a record rewritten meanwhile is kept for the next adoption), and the events of the
// adoption: PolicyRestored (Cluster) for a machine that was OutOfPolicy, when c is Clustered.
func (s *Service) adoptStandalone(ctx context.Context, c *Cluster, names []string) (func(context.Context) error, []EventSpec, error) {
	var lower []string
	for _, name := range names {
		lower = append(lower, strings.ToLower(name))
	}
	rows, err := s.store.GetIndexes(ctx, kindStandalone, "", lower)
	if err != nil {
		return nil, nil, err
	}
	var adopted []IndexEntry
	var evs []EventSpec
	for _, e := range rows {
		st, err := readStandalone(e)
		if err != nil {
			s.log.WarnContext(ctx, "unreadable standalone-machine record ignored", "machine", e.Name, logs.Err(err))
			continue
		}
		name := e.Name
		if n := c.node(name); n != nil {
			name = n.Name
			n.InstalledAt = earliest(n.InstalledAt, st.InstalledAt)
			if st.OSVersion != "" && (n.OSVersion == "" || st.OSVersionAt.After(n.OSVersionAt)) {
				n.OSVersion, n.OSVersionAt = st.OSVersion, st.OSVersionAt
			}
		}
		c.InstalledAt = earliest(c.InstalledAt, st.InstalledAt)
		if st.ClusterStatus == StatusOutOfPolicy && c.ClusterStatus == StatusClustered {
			evs = append(evs, EventSpec{EvPolicyRestored, policyFields{PolicyCluster, name}})
		}
		adopted = append(adopted, e)
	}
	return func(ctx context.Context) error {
		for _, e := range adopted {
			if err := s.store.DeleteIndexIf(ctx, kindStandalone, "", e.Name, e.ETag); err != nil && !errors.Is(err, ErrConflict) {
				return err
			}
		}
		return nil
	}, evs, nil
}

// standaloneDeadline is when a standalone machine must have created or joined a cluster.
func (p Policy) standaloneDeadline(st standalone) time.Time {
	return st.InstalledAt.Add(p.ClusterWindow).UTC()
}

// standaloneNext is the next time a sweep must look at st: its earliest warning not sent, else
// its deadline; zero once it is OutOfPolicy.
func (p Policy) standaloneNext(st standalone) time.Time {
	if st.ClusterStatus == StatusOutOfPolicy || st.InstalledAt.IsZero() {
		return time.Time{}
	}
	d := Deadline{Policy: PolicyCluster, Deadline: p.standaloneDeadline(st)}
	next := d.Deadline
	for _, w := range p.WarnBefore {
		if at := d.Deadline.Add(-w); at.Before(next) && !slices.Contains(st.Notices, noticeKey(d, w)) {
			next = at
		}
	}
	return next
}

// standaloneFields is the body of a standalone machine's PolicyWarning or PolicyViolated: its
// clusterId is empty, and machine names it.
type standaloneFields struct {
	Policy   string     `json:"policy"`
	Machine  string     `json:"machine"`
	Deadline *time.Time `json:"deadline,omitempty"`
	DaysLeft *int       `json:"daysLeft,omitempty"`
	Action   string     `json:"action,omitempty"`
}

// assessStandalone applies st's cluster window at now: the most urgent warning reached (the
// others marked sent), or at the deadline ClusterStatus OutOfPolicy with PolicyViolated. It
// returns the new state, the event and the notice key that sends it ("" for none).
func (p Policy) assessStandalone(st standalone, now time.Time) (standalone, *EventSpec, string) {
	if st.ClusterStatus == StatusOutOfPolicy || st.InstalledAt.IsZero() {
		return st, nil, ""
	}
	st.Notices = slices.Clone(st.Notices)
	d := Deadline{Policy: PolicyCluster, Deadline: p.standaloneDeadline(st)}
	if !now.Before(d.Deadline) {
		st.ClusterStatus = StatusOutOfPolicy
		return st, &EventSpec{EvPolicyViolated, standaloneFields{Policy: PolicyCluster, Machine: st.Machine}}, d.Policy + "/" + timeStr(d.Deadline) + "/violated"
	}
	key, urgent := "", time.Duration(0)
	for _, w := range p.WarnBefore {
		if k := noticeKey(d, w); !now.Before(d.Deadline.Add(-w)) && !slices.Contains(st.Notices, k) {
			st.Notices = append(st.Notices, k)
			if key == "" || w < urgent {
				key, urgent = k, w
			}
		}
	}
	if key == "" {
		return st, nil, ""
	}
	days := daysLeft(d.Deadline, now)
	return st, &EventSpec{EvPolicyWarning, standaloneFields{Policy: PolicyCluster, Machine: st.Machine, Deadline: &d.Deadline,
		DaysLeft: &days, Action: standaloneAction}}, key
}

// pendingToPublish is Result.Publish for a commit made without a Load: the partition's pending
// events in commit order (its own last), so a notice never overtakes an earlier one left
// unpublished; none when they cannot be read whole (the OutboxRelay then sends them in order).
func (s *Service) pendingToPublish(ctx context.Context, partition string) []Event {
	pend, err := s.store.PendingIn(ctx, partition, MaxLoadPending)
	if err != nil || len(pend) == MaxLoadPending {
		return nil
	}
	return pend
}

// evaluateStandalone handles a standalone machine's due row (the sweeps): it commits the notice
// due (its events in the machine's partition, keyed by the notice, so a repeat is a duplicate
// commit and sends nothing), then writes the record with its ETag (re-read on a conflict) and its
// next due row, then unschedules the row. A machine adopted meanwhile has no record: nothing to do.
func (s *Service) evaluateStandalone(ctx context.Context, d Due, name string, now time.Time, done func(context.Context) error) (Result, error) {
	partition := standalonePrefix + name
	res := Result{Outcome: Unchanged}
	retry := s.retry.start()
	for {
		e, err := s.store.GetIndex(ctx, kindStandalone, "", name)
		if errors.Is(err, ErrNotFound) {
			return res, done(ctx)
		} else if err != nil {
			return res, err
		}
		st, err := readStandalone(e)
		if err != nil {
			s.log.WarnContext(ctx, "unreadable standalone-machine record not evaluated", "machine", name, logs.Err(err))
			return res, done(ctx)
		}
		next, ev, key := s.policy.assessStandalone(st, now)
		if ev != nil {
			evs := []Event{NewEvent(partition+"|"+key, 0, ev.Type, "", "", now, ev.Fields)}
			evs[0].Session = partition
			if _, err := s.store.Commit(ctx, Change{Partition: partition, MessageID: key, Events: evs}); err == nil {
				res.Events, res.Publish = append(res.Events, evs...), s.pendingToPublish(ctx, partition)
			} else if !errors.Is(err, ErrConflict) { // a conflict: this notice was committed before
				return res, err
			}
		}
		next.ScheduledCheck = time.Time{}
		if err := s.scheduleStandalone(ctx, name, &next); err != nil {
			return res, err
		}
		if reflect.DeepEqual(st, next) {
			break
		}
		raw, _ := json.Marshal(next)
		if err := s.store.PutIndexIf(ctx, IndexEntry{Kind: kindStandalone, Name: name, Value: string(raw)}, e.ETag); err == nil {
			res.Outcome = Updated
			break
		} else if !errors.Is(err, ErrConflict) {
			return res, err
		}
		if !retry.again(ctx) {
			return res, retry.spent("standalone machine " + name)
		}
	}
	if err := s.store.PruneMarkers(ctx, partition, now.Add(-MarkerRetention)); err != nil {
		return res, err
	}
	return res, done(ctx)
}
