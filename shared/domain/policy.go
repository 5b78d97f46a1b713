package domain

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Deadline policies that are not policy windows (docs/policy.md) (they appear in Deadline.Policy only).
const (
	DeadlineOrphanGrace = "OrphanGrace"
	DeadlineResetStall  = "ResetStall"
)

// Orphan suspicion reasons (docs/policy.md#orphans).
const (
	OrphanSilent          = "Silent"
	OrphanMachinesClaimed = "MachinesClaimed"
)

// pending is one deadline of a cluster whose transition has not happened yet, with the lead
// times at which a PolicyWarning is due before it.
type pending struct {
	Deadline
	warn []time.Duration
	// silence marks a deadline judged against the guard's reference instead of the clock.
	silence bool
	// routine marks the daily Connected → Disconnected check: a status, not a policy deadline, so
	// Upcoming (the operator's attention list) leaves it out.
	routine bool
	// noted marks a reset stall already announced: still listed (the reset is stuck), but the
	// sweeps only look at it again once a day (stallRecheck).
	noted bool
	// slot names the deadline among the cluster's (its deadline-index row, attention.go): a rank
	// keeping pendingOf's order among equal times, the policy, and for a reset stall the machine.
	slot string
}

// slotRank orders a cluster's deadlines that fall at the same time, as pendingOf lists them.
var slotRank = map[string]string{PolicyRegistration: "1", PolicyCluster: "2", PolicyConnection: "3",
	PolicyCredential: "4", DeadlineOrphanGrace: "5", DeadlineResetStall: "6"}

// Guard is the mass-disconnect guard's reading for one evaluation (docs/policy.md).
//
// The rule: Ref = min(now, NewestSync), where NewestSync is the enqueue time of the newest sync
// received from any cluster. A cluster's silence is Ref − lastConnected (lastConnected falls
// back to registeredAt). The guard is Active when no sync was ever received or the newest is
// older than Policy.SyncInterval; while it is active, no silence-based transition happens
// (Connected → Disconnected, connection OutOfPolicy, Connection warnings, Silent orphan
// suspicion, clean-up of Silent suspects). Registration, cluster, credential, reset-stall,
// machine-claim and MachinesClaimed clean-up rules do not depend on syncs and apply regardless.
type Guard struct {
	Ref    time.Time
	Active bool
}

// Guard returns the guard's reading at now given the newest sync received fleet-wide (zero
// for none).
func (p Policy) Guard(newestSync, now time.Time) Guard {
	if newestSync.IsZero() || now.Sub(newestSync) > p.SyncInterval {
		return Guard{Ref: newestSync, Active: true}
	}
	if newestSync.After(now) {
		return Guard{Ref: now}
	}
	return Guard{Ref: newestSync}
}

// silenceBase is the time since which a registered cluster's silence is counted.
func silenceBase(c *Cluster) time.Time {
	if c.LastConnected.IsZero() {
		return c.RegisteredAt
	}
	return c.LastConnected
}

// silentNodes lists, for a registered Connected cluster, its Connected nodes with the time each
// turns Disconnected: ConnectedWindow after its last sync (after the registration for a node
// that never synced). The cluster's own status follows its newest sync from any node.
func (p Policy) silentNodes(c *Cluster) (idx []int, at []time.Time) {
	if !registered(c) || c.ConnectionStatus != StatusConnected {
		return nil, nil
	}
	for i, n := range c.Nodes {
		if n.RegistrationStatus != StatusRegistered || n.ConnectionStatus != StatusConnected {
			continue
		}
		base := n.LastSync
		if base.IsZero() {
			base = c.RegisteredAt
		}
		if !base.IsZero() {
			idx, at = append(idx, i), append(at, base.Add(p.ConnectedWindow))
		}
	}
	return idx, at
}

// orphanSilenceBase is the time since which silence counts towards an orphan suspicion.
func orphanSilenceBase(c *Cluster) time.Time {
	return later(silenceBase(c), c.OrphanClearedAt)
}

// pendingOf lists c's deadlines whose transition has not happened yet (in no particular order).
func (p Policy) pendingOf(c *Cluster) []pending {
	if c == nil || c.Orphan == OrphanCleanedUp {
		return nil
	}
	l := pendingList{c: c}
	if c.RegistrationStatus == StatusNotYet && c.RegisteredAt.IsZero() && !c.InstalledAt.IsZero() {
		l.add(PolicyRegistration, c.InstalledAt.Add(p.RegisterWindow), "Register the cluster (Register-AzStackHCI) before the deadline.", p.WarnBefore, false)
	}
	if c.ClusterStatus == StatusNotYet && !c.InstalledAt.IsZero() {
		l.add(PolicyCluster, c.InstalledAt.Add(p.ClusterWindow), "Create or join a cluster before the deadline.", p.WarnBefore, false)
	}
	if registered(c) {
		p.registeredDeadlines(&l)
	}
	if c.Orphan == OrphanSuspected && !c.GraceUntil.IsZero() && registered(c) {
		l.add(DeadlineOrphanGrace, c.GraceUntil, "Sync or register the cluster before the grace ends, or it is cleaned up as an orphan.", nil, c.OrphanReason == OrphanSilent)
	}
	for _, n := range c.Nodes {
		if r := n.Reset; r != nil && r.Status == ResetInProgress {
			l.add(DeadlineResetStall, r.LastHeardAt.Add(p.ResetStallAfter), "Check the reset of machine "+n.Name+": it reported no progress.", nil, false)
			l.last().noted = r.StallNoted
			l.last().slot += ":" + strings.ToLower(n.Name)
		}
	}
	return l.out
}

// registeredDeadlines adds a registered cluster's deadlines to l: its connection's (the routine
// ConnectedWindow one while Connected, the offline one) and its credential's.
func (p Policy) registeredDeadlines(l *pendingList) {
	c := l.c
	base := silenceBase(c)
	if c.ConnectionStatus == StatusConnected && !base.IsZero() {
		l.add(PolicyConnection, base.Add(p.ConnectedWindow), "Restore the cluster's connectivity to Azure so it syncs.", nil, true)
		l.last().routine = true
	}
	if (c.ConnectionStatus == StatusConnected || c.ConnectionStatus == StatusDisconnect) && !base.IsZero() {
		l.add(PolicyConnection, base.Add(p.OfflineWindow), "Reconnect the cluster to Azure before the offline limit.", p.WarnBefore, true)
	}
	if !c.CredentialExpiresAt.IsZero() && !c.CredentialExpired {
		l.add(PolicyCredential, c.CredentialExpiresAt, "Run RepairRegistration to renew the Arc onboarding credential before it expires.", p.CredentialWarnBefore, false)
	}
}

// pendingList collects a cluster's pending deadlines.
type pendingList struct {
	c   *Cluster
	out []pending
}

// add lists the deadline of policy at at: its action, the lead times it warns at and whether it
// is judged by silence.
func (l *pendingList) add(policy string, at time.Time, action string, warn []time.Duration, silence bool) {
	l.out = append(l.out, pending{Deadline: Deadline{ClusterID: l.c.ID, ClusterName: l.c.Name, Policy: policy, Deadline: at.UTC(), Action: action},
		warn: warn, silence: silence, slot: slotRank[policy] + policy})
}

// last is the deadline listed last.
func (l *pendingList) last() *pending { return &l.out[len(l.out)-1] }

// Deadlines lists c's pending deadlines, soonest first (overdue ones included: the next sweep
// applies them). They are clock times: the guard may hold back the silence-based ones.
func (p Policy) Deadlines(c *Cluster) []Deadline {
	var out []Deadline
	for _, d := range p.pendingOf(c) {
		out = append(out, d.Deadline)
	}
	sortDeadlines(out)
	return out
}

func sortDeadlines(ds []Deadline) {
	slices.SortStableFunc(ds, func(a, b Deadline) int {
		if c := a.Deadline.Compare(b.Deadline); c != 0 {
			return c
		}
		return strings.Compare(a.ClusterID, b.ClusterID)
	})
}

// silenceRetry is how soon a silence-based check that is already overdue is looked at again when
// the newest sync lags the clock. While the guard is active such a check is not retried at all:
// the cluster is parked in the held index, and the first run after syncs are heard again judges
// it (docs/policy.md, the mass-disconnect guard).
const (
	silenceRetry = 15 * time.Minute
	// stallRecheck is how often a cluster with a stalled reset already announced is looked at.
	stallRecheck = 24 * time.Hour
)

// checkTimes lists every time at which a sweep must look at c: pending deadlines, unsent
// warnings, each Connected node's own ConnectedWindow, the orphan silence limit, when all
// machines are claimed, and for a stall already announced now + stallRecheck. Overdue
// silence-based times become now + silenceRetry; with hold (the guard is active) they are left
// out instead, and held says there was one.
func (p Policy) checkTimes(c *Cluster, now time.Time, hold bool) (out []time.Time, held bool) {
	add := func(t time.Time, silence bool) {
		switch {
		case !silence || t.After(now):
		case hold:
			held = true
			return
		default:
			t = now.Add(silenceRetry)
		}
		out = append(out, t)
	}
	for _, d := range p.pendingOf(c) {
		if d.noted {
			add(now.Add(stallRecheck), false)
			continue
		}
		add(d.Deadline.Deadline, d.silence)
		for _, w := range d.warn {
			if !slices.Contains(c.Notices, noticeKey(d.Deadline, w)) {
				add(d.Deadline.Deadline.Add(-w), d.silence)
			}
		}
	}
	_, nodeTimes := p.silentNodes(c)
	for _, t := range nodeTimes {
		add(t, true)
	}
	if registered(c) && c.Orphan != OrphanSuspected {
		if base := orphanSilenceBase(c); !base.IsZero() {
			add(base.Add(p.OrphanSilence), true)
		}
		if at := p.claimedAt(c); !at.IsZero() {
			add(at, false)
		}
	}
	return out, held
}

// allClaimed reports whether c has registered machines and every one was claimed by another
// cluster (a machine whose registration a reset cleared is no longer c's to lose).
func allClaimed(c *Cluster) bool {
	registered := 0
	for _, n := range c.Nodes {
		if n.RegistrationStatus != StatusRegistered {
			continue
		}
		if n.ClaimedBy == "" {
			return false
		}
		registered++
	}
	return registered > 0
}

// claimedAt is when a registered cluster all of whose machines are claimed becomes a suspected
// orphan (MachinesClaimed): once silent for ConnectedWindow (a cluster still syncing keeps its
// machines), judged by the clock, as the claims are evidence of their own. Zero when not all
// are claimed.
func (p Policy) claimedAt(c *Cluster) time.Time {
	if !allClaimed(c) {
		return time.Time{}
	}
	return orphanSilenceBase(c).Add(p.ConnectedWindow)
}

// suspectClaimed suspects c (in place) when its claims make it an orphan at now, returning the
// OrphanSuspected event.
func (p Policy) suspectClaimed(c *Cluster, now time.Time) (EventSpec, bool) {
	at := p.claimedAt(c)
	if !registered(c) || c.Orphan == OrphanSuspected || at.IsZero() || now.Before(at) {
		return EventSpec{}, false
	}
	c.Orphan, c.OrphanReason, c.GraceUntil = OrphanSuspected, OrphanMachinesClaimed, now.Add(p.OrphanGrace).UTC()
	return EventSpec{EvOrphanSuspected, suspectFields{OrphanMachinesClaimed, c.GraceUntil}}, true
}

// noticeKey names one PolicyWarning: its policy, deadline and lead time, so a moved deadline
// warns again and a repeated evaluation never does.
func noticeKey(d Deadline, w time.Duration) string {
	return d.Policy + "/" + d.Deadline.UTC().Format(time.RFC3339) + "/" + w.String()
}

// daysLeft rounds the time left up to whole days (0 when past).
func daysLeft(deadline, ref time.Time) int {
	left := deadline.Sub(ref)
	if left <= 0 {
		return 0
	}
	return int(math.Ceil(left.Hours() / 24))
}

// warningFields is the body of a PolicyWarning.
type warningFields struct {
	Policy   string    `json:"policy"`
	Deadline time.Time `json:"deadline"`
	DaysLeft int       `json:"daysLeft"`
	Action   string    `json:"action"`
}

// stallFields is the body of a MachineResetStalled.
type stallFields struct {
	OperationID string    `json:"operationId"`
	Machine     string    `json:"machine"`
	LastHeardAt time.Time `json:"lastHeardAt"`
}

// suspectFields is the body of an OrphanSuspected.
type suspectFields struct {
	Reason     string    `json:"reason"`
	GraceUntil time.Time `json:"graceUntil"`
}

// assessment is what one evaluation concluded besides the state change made in place.
type assessment struct {
	Events []EventSpec
	// Cleanup says the orphan grace has ended: the caller requests the clean-up.
	Cleanup bool
}

// assess applies to c (in place) every transition of docs/policy.md due at now, judging silence
// with g. It is level-based and records sent warnings in c.Notices, so assessing the result
// again changes nothing and emits nothing.
func (p Policy) assess(c *Cluster, now time.Time, g Guard) assessment {
	var a assessment
	if c == nil || c.Orphan == OrphanCleanedUp {
		return a
	}
	for _, d := range p.pendingOf(c) {
		ref := now
		if d.silence {
			if g.Active {
				continue
			}
			ref = g.Ref
		}
		if !ref.Before(d.Deadline.Deadline) {
			p.passDeadline(c, d, now, &a)
		} else if ev, ok := warnAhead(c, d, ref); ok {
			a.Events = append(a.Events, ev)
		}
	}
	if !g.Active {
		p.silenceNodes(c, g.Ref)
	}
	if ev, ok := p.suspect(c, now, g); ok {
		a.Events = append(a.Events, ev)
	}
	c.Notices = p.liveNotices(c)
	return a
}

// passDeadline applies to c the transition of deadline d, passed at now, adding its events (or
// the clean-up) to a.
func (p Policy) passDeadline(c *Cluster, d pending, now time.Time, a *assessment) {
	violated := EventSpec{EvPolicyViolated, policyFields{Policy: d.Policy}}
	switch d.Policy {
	case PolicyRegistration:
		c.RegistrationStatus = StatusOutOfPolicy
		a.Events = append(a.Events, violated)
	case PolicyCluster:
		c.ClusterStatus = StatusOutOfPolicy
		a.Events = append(a.Events, violated)
	case PolicyConnection:
		if d.warn == nil { // the ConnectedWindow deadline
			disconnect(c)
		} else if c.ConnectionStatus != StatusOutOfPolicy {
			c.ConnectionStatus = StatusOutOfPolicy
			offlineNodes(c)
			a.Events = append(a.Events, violated)
		}
	case PolicyCredential:
		c.CredentialExpired = true
		a.Events = append(a.Events, EventSpec{EvPolicyWarning, warningFields{PolicyCredential, d.Deadline.Deadline, 0,
			"The Arc onboarding credential has expired: run RepairRegistration."}})
	case DeadlineOrphanGrace:
		a.Cleanup = true
	case DeadlineResetStall:
		a.Events = append(a.Events, p.noteStalls(c, now)...)
	}
}

// disconnect turns a Connected cluster, and its Connected nodes, Disconnected (its
// ConnectedWindow passed without a sync).
func disconnect(c *Cluster) {
	if c.ConnectionStatus != StatusConnected {
		return
	}
	c.ConnectionStatus = StatusDisconnect
	for i := range c.Nodes {
		if c.Nodes[i].ConnectionStatus == StatusConnected {
			c.Nodes[i].ConnectionStatus = StatusDisconnect
		}
	}
}

// noteStalls marks every reset of c silent for ResetStallAfter at now as stalled, once, and
// returns their MachineResetStalled events.
func (p Policy) noteStalls(c *Cluster, now time.Time) []EventSpec {
	var evs []EventSpec
	for i := range c.Nodes {
		if r := c.Nodes[i].Reset; r != nil && r.Status == ResetInProgress && !r.StallNoted &&
			!now.Before(r.LastHeardAt.Add(p.ResetStallAfter)) {
			r.StallNoted = true
			evs = append(evs, EventSpec{EvMachineResetStalled, stallFields{r.OperationID, c.Nodes[i].Name, r.LastHeardAt}})
		}
	}
	return evs
}

// warnAhead is the warning of deadline d, not yet due at ref: the most urgent lead time reached
// warns once, the others reached are marked sent (c.Notices); false when none is due.
func warnAhead(c *Cluster, d pending, ref time.Time) (EventSpec, bool) {
	var due []time.Duration
	for _, w := range d.warn {
		if !ref.Before(d.Deadline.Deadline.Add(-w)) && !slices.Contains(c.Notices, noticeKey(d.Deadline, w)) {
			due = append(due, w)
		}
	}
	if len(due) == 0 {
		return EventSpec{}, false
	}
	for _, w := range due {
		c.Notices = append(c.Notices, noticeKey(d.Deadline, w))
	}
	return EventSpec{EvPolicyWarning, warningFields{d.Policy, d.Deadline.Deadline, daysLeft(d.Deadline.Deadline, ref), d.Action}}, true
}

// silenceNodes turns Disconnected each node of c silent at ref while its cluster is connected (a
// status, no event).
func (p Policy) silenceNodes(c *Cluster, ref time.Time) {
	idx, at := p.silentNodes(c)
	for k, i := range idx {
		if !ref.Before(at[k]) {
			c.Nodes[i].ConnectionStatus = StatusDisconnect
		}
	}
}

// suspect suspects c an orphan when its machines are all claimed (suspectClaimed) or, the guard
// inactive, it has been silent for OrphanSilence at g.Ref; it returns the OrphanSuspected event.
func (p Policy) suspect(c *Cluster, now time.Time, g Guard) (EventSpec, bool) {
	if ev, ok := p.suspectClaimed(c, now); ok {
		return ev, true
	}
	base := orphanSilenceBase(c)
	if !registered(c) || c.Orphan == OrphanSuspected || g.Active || base.IsZero() || g.Ref.Before(base.Add(p.OrphanSilence)) {
		return EventSpec{}, false
	}
	c.Orphan, c.OrphanReason, c.GraceUntil = OrphanSuspected, OrphanSilent, now.Add(p.OrphanGrace).UTC()
	return EventSpec{EvOrphanSuspected, suspectFields{OrphanSilent, c.GraceUntil}}, true
}

// offlineNodes turns the registered nodes of c, whose offline window just passed, OutOfPolicy
// for their silence (every one is silent then: the cluster's lastConnected is its newest sync).
func offlineNodes(c *Cluster) {
	for i := range c.Nodes {
		if n := &c.Nodes[i]; n.RegistrationStatus == StatusRegistered {
			n.ConnectionStatus, n.Offline = StatusOutOfPolicy, true
		}
	}
}

// liveNotices keeps the notices of deadlines still pending, so Notices stays bounded.
func (p Policy) liveNotices(c *Cluster) []string {
	if len(c.Notices) == 0 {
		return c.Notices
	}
	live := map[string]bool{}
	for _, d := range p.pendingOf(c) {
		live[d.Policy+"/"+d.Deadline.Deadline.UTC().Format(time.RFC3339)+"/"] = true
	}
	out := c.Notices[:0:0]
	for _, k := range c.Notices {
		if i := strings.LastIndexByte(k, '/'); i >= 0 && live[k[:i+1]] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
