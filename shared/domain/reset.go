package domain

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"
)

// resetStatus is the operation's status as shown: Stalled while InProgress with nothing heard for
// ResetStallAfter.
func (p Policy) resetStatus(op *ResetOperation, now time.Time) string {
	if op.Status == ResetInProgress && now.Sub(op.LastHeardAt) >= p.ResetStallAfter {
		return ResetStalled
	}
	return op.Status
}

// resetView is the operation as the cluster view shows it: the status as ResetStatus shows it,
// without the sweep's bookkeeping (stallNoted).
func (p Policy) resetView(op *ResetOperation, now time.Time) *ResetOperation {
	if op == nil {
		return nil
	}
	v := *op
	v.Stages = slices.Clone(op.Stages)
	v.Status, v.StallNoted = p.resetStatus(op, now), false
	return &v
}

// ResetStatus returns the machine's current (or last) reset; ErrNotFound when the cluster or
// machine is unknown or it never had one.
func (s *Service) ResetStatus(ctx context.Context, clusterID, machine string) (ResetStatusView, error) {
	rec, err := s.store.LoadState(ctx, strings.ToLower(clusterID))
	if err != nil {
		return ResetStatusView{}, err
	}
	if rec.Cluster == nil {
		return ResetStatusView{}, ErrNotFound
	}
	n := rec.Cluster.node(machine)
	if n == nil || n.Reset == nil {
		return ResetStatusView{}, ErrNotFound
	}
	op := n.Reset
	now := s.clock.Now().UTC()
	v := ResetStatusView{ClusterID: rec.Cluster.ID, Machine: n.Name, OperationID: op.OperationID, Status: s.policy.resetStatus(op, now),
		Stages: slices.Clone(op.Stages), StartedAt: op.StartedAt, LastHeardAt: op.LastHeardAt, Error: op.Error}
	end := now
	if !op.CompletedAt.IsZero() {
		end = op.CompletedAt
		v.CompletedAt = timePtr(op.CompletedAt)
	}
	el := end.Sub(op.StartedAt).Truncate(time.Second)
	v.Elapsed, v.ElapsedSecs = el.String(), el.Seconds()
	return v, nil
}

// machineVersion is a machine's OS version: its own (MachineInstalled/Sync), else the cluster's.
func machineVersion(c *Cluster, n *Node) string {
	if n.OSVersion != "" {
		return n.OSVersion
	}
	return c.OSVersion
}

type resetFields struct {
	OperationID string `json:"operationId"`
	Machine     string `json:"machine"`
	Error       string `json:"error,omitempty"`
}

// resettable checks that a reset may start for m's machine (docs/messages.md): a Registered node
// of a Registered cluster, on 2508 or later, whose identity no other cluster holds or claimed.
func (s *Service) resettable(ctx context.Context, rec ClusterRecord, m StartMachineReset) (*Cluster, *Node, *Problem, error) {
	if rec.Cluster == nil {
		return nil, nil, Reject(CodeUnknownCluster, "cluster %s is not known", m.ClusterID), nil
	}
	c := clone(rec.Cluster)
	n := c.node(m.Machine)
	switch {
	case !registered(c):
		return nil, nil, Reject(CodeNotRegistered, "cluster %s is not registered: its machines have no registration to reset", m.ClusterID), nil
	case n == nil:
		return nil, nil, Reject(CodeUnknownMachine, "machine %s is not a node of cluster %s", m.Machine, m.ClusterID), nil
	case n.RegistrationStatus != StatusRegistered:
		return nil, nil, Reject(CodeMachineNotRegistered, "machine %s of cluster %s is not registered (%s): there is nothing to reset", n.Name, c.ID, notRegisteredWhy(n)), nil
	}
	if v := machineVersion(c, n); !atLeast(v, MinResetVersion) {
		if v == "" {
			v = "an unknown version"
		} else if r := Release(v); r != v {
			v += " (release " + cmp.Or(r, "unknown") + ")"
		}
		return nil, nil, Reject(CodeResetNotSupported, "machine %s runs %s; a bootstrap reset needs %s or later", n.Name, v, MinResetVersion), nil
	}
	if n.ClaimedBy != "" {
		return nil, nil, Reject(CodeNodeRegisteredElsewhere, "machine %s was claimed by cluster %s (installed or registered there): "+
			"a reset from cluster %s would wipe a machine that cluster uses", n.Name, n.ClaimedBy, c.ID), nil
	}
	other, err := s.holderOf(ctx, identityGroup(c.SubscriptionID, c.ArcResourceGroup), c.ID, n.Name)
	if err != nil || other == nil {
		return c, n, nil, err
	}
	return nil, nil, Reject(CodeNodeRegisteredElsewhere, "machine %s is registered to cluster %s (%s): a reset from cluster %s would wipe a machine that cluster uses",
		n.Name, other.ID, other.Name, c.ID), nil
}

// notRegisteredWhy says why a node is not registered.
func notRegisteredWhy(n *Node) string {
	if r := n.Reset; r != nil && r.Status == ResetSucceeded {
		return "its registration was cleared by reset " + r.OperationID + " at " + timeStr(r.CompletedAt)
	}
	return "no Register has named it"
}

func (s *Service) decideStartReset(ctx context.Context, rec ClusterRecord, m StartMachineReset, meta Meta) (*Decision, error) {
	c, n, p, err := s.resettable(ctx, rec, m)
	if err != nil || p != nil {
		return &Decision{Problem: p}, err
	}
	now := s.clock.Now().UTC()
	d := &Decision{Cluster: c}
	if old := n.Reset; old != nil {
		status := s.policy.resetStatus(old, now)
		switch {
		case status == ResetInProgress && m.Restart:
			return &Decision{Problem: Reject(CodeResetInProgress, "reset %s of machine %s is in progress (last heard %s): restart replaces only a Stalled or Failed one",
				old.OperationID, n.Name, timeStr(old.LastHeardAt))}, nil
		case (status == ResetInProgress || status == ResetStalled || status == ResetFailed) && !m.Restart:
			// The running (or failed) operation, with its true status: only restart replaces it.
			return &Decision{Cluster: c, Detail: *s.policy.resetView(old, now), Outcome: Unchanged}, nil
		case status == ResetStalled || status == ResetFailed:
			d.History = append(d.History, HistoryEntry{What: "node " + n.Name + " reset " + old.OperationID, Before: status, After: ResetSuperseded})
		}
	}
	sum := sha256.Sum256([]byte(eventCause(meta, now) + "\x00" + c.ID + "\x00" + strings.ToLower(n.Name)))
	op := &ResetOperation{OperationID: "reset-" + hex.EncodeToString(sum[:12]), Machine: n.Name, Status: ResetInProgress, StartedAt: now, LastHeardAt: now}
	if len(d.History) > 0 {
		op.Supersedes = n.Reset.OperationID
	}
	for _, st := range ResetStages {
		op.Stages = append(op.Stages, ResetStage{Name: st, Status: ResetNotStarted})
	}
	n.Reset = op
	id := c.ID
	d.Detail = *op
	d.Events = []EventSpec{{EvMachineResetRequested, resetFields{OperationID: op.OperationID, Machine: n.Name}}}
	d.Before = func(ctx context.Context) error {
		return s.store.PutIndex(ctx, IndexEntry{Kind: kindOperation, Name: op.OperationID, Value: id})
	}
	return d, nil
}

// decideCancelReset cancels a machine's Stalled reset (docs/messages.md): it ends Cancelled with
// a MachineResetCancelled event, and the machine stays registered. A running reset that is not
// Stalled is refused ResetInProgress, one that ended ResetEnded; cancelling again is unchanged.
func (s *Service) decideCancelReset(rec ClusterRecord, m CancelMachineReset) (*Decision, error) {
	if rec.Cluster == nil {
		return &Decision{Problem: Reject(CodeUnknownCluster, "cluster %s is not known", m.ClusterID)}, nil
	}
	c := clone(rec.Cluster)
	n := c.node(m.Machine)
	switch {
	case n == nil:
		return &Decision{Problem: Reject(CodeUnknownMachine, "machine %s is not a node of cluster %s", m.Machine, m.ClusterID)}, nil
	case n.Reset == nil:
		return &Decision{Problem: Reject(CodeNoResetOperation, "machine %s has had no reset", n.Name)}, nil
	}
	op, now := n.Reset, s.clock.Now().UTC()
	switch status := s.policy.resetStatus(op, now); status {
	case ResetCancelled:
		return &Decision{Cluster: c, Detail: *s.policy.resetView(op, now)}, nil
	case ResetInProgress:
		return &Decision{Problem: Reject(CodeResetInProgress, "reset %s of machine %s reported progress at %s: it can be cancelled once Stalled (nothing heard for %s)",
			op.OperationID, n.Name, timeStr(op.LastHeardAt), s.policy.ResetStallAfter)}, nil
	case ResetStalled:
	default:
		return &Decision{Problem: Reject(CodeResetEnded, "reset %s of machine %s already ended %s", op.OperationID, n.Name, status)}, nil
	}
	op.Status, op.CompletedAt, op.StallNoted = ResetCancelled, now, false
	return &Decision{Cluster: c, Detail: *s.policy.resetView(op, now),
		Events: []EventSpec{{EvMachineResetCancelled, resetFields{OperationID: op.OperationID, Machine: n.Name}}}}, nil
}

// resetMessage finds the operation's cluster (from the message or the operation index) and
// applies decide to it. An operation the index does not place in that cluster is rejected with
// UnknownOperation; one it does that is not the machine's current operation (an earlier one,
// reported late) changes nothing (unchanged).
func (s *Service) resetMessage(ctx context.Context, clusterID, opID string, meta Meta, decide func(ClusterRecord) (*Decision, error)) (Result, error) {
	indexed := "" // the cluster the operation index places opID in, once read
	lookup := func() error {
		e, err := s.store.GetIndex(ctx, kindOperation, "", opID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		indexed = e.Value
		return err
	}
	if clusterID == "" {
		if err := lookup(); err != nil {
			return Result{}, err
		}
		if indexed == "" {
			return Result{Outcome: Rejected, Problem: Reject(CodeUnknownOperation, "operation %s is not known", opID)}, nil
		}
		clusterID = indexed
	}
	return s.update(ctx, clusterID, meta, func(rec ClusterRecord) (*Decision, error) {
		d, err := decide(rec)
		if err != nil || d.Problem == nil || d.Problem.Code != CodeUnknownOperation {
			return d, err
		}
		if indexed == "" {
			if err := lookup(); err != nil {
				return nil, err
			}
		}
		if indexed != "" && indexed == clusterID && rec.Cluster != nil && !currentElsewhere(rec.Cluster, opID) {
			return &Decision{}, nil // an earlier operation of this cluster: nothing to change
		}
		return d, nil
	})
}

// currentElsewhere reports whether opID is the current operation of one of c's machines: a
// report naming another machine for it is misaddressed, not late.
func currentElsewhere(c *Cluster, opID string) bool {
	return slices.ContainsFunc(c.Nodes, func(n Node) bool { return n.Reset != nil && n.Reset.OperationID == opID })
}

// operation finds the reset operation opID of machine in the record.
func operation(rec ClusterRecord, opID, machine string) (*Cluster, *Node, *Problem) {
	c := clone(rec.Cluster)
	if c != nil {
		if n := c.node(machine); n != nil && n.Reset != nil && n.Reset.OperationID == opID {
			return c, n, nil
		}
	}
	return nil, nil, Reject(CodeUnknownOperation, "operation %s of machine %s is not known", opID, machine)
}

func stageRank(status string) int {
	switch status {
	case ResetInProgress:
		return 1
	case ResetSucceeded, ResetFailed:
		return 2
	}
	return 0
}

func (s *Service) decideProgress(rec ClusterRecord, m ResetProgress, meta Meta) (*Decision, error) {
	c, n, p := operation(rec, m.OperationID, m.Machine)
	if p != nil {
		return &Decision{Problem: p}, nil
	}
	op := n.Reset
	if op.Status != ResetInProgress {
		return &Decision{Cluster: c}, nil // progress after completion never regresses
	}
	now := s.clock.Now().UTC()
	for i := range op.Stages {
		st := &op.Stages[i]
		if st.Name == m.Stage && stageRank(m.Status) > stageRank(st.Status) {
			st.Status, st.UpdatedAt = m.Status, now
		}
	}
	op.LastHeardAt, op.StallNoted = now, false
	return &Decision{Cluster: c}, nil
}

func (s *Service) decideCompleted(rec ClusterRecord, m ResetCompleted, meta Meta) (*Decision, error) {
	c, n, p := operation(rec, m.OperationID, m.Machine)
	if p != nil {
		return &Decision{Problem: p}, nil
	}
	op := n.Reset
	if op.Status != ResetInProgress {
		return &Decision{Cluster: c}, nil // a repeated completion changes nothing
	}
	now := s.clock.Now().UTC()
	op.LastHeardAt, op.CompletedAt = now, now
	d := &Decision{Cluster: c}
	if m.Result == ResetFailed {
		op.Status, op.Error = ResetFailed, m.Error
		if op.Error == "" {
			op.Error = "the reset failed"
		}
		d.Events = []EventSpec{{EvMachineResetFailed, resetFields{op.OperationID, n.Name, op.Error}}}
		return d, nil
	}
	op.Status = ResetSucceeded
	for i := range op.Stages {
		op.Stages[i].Status, op.Stages[i].UpdatedAt = ResetSucceeded, now
	}
	if n.ArcStatus != ArcNotSupported {
		n.ArcStatus = ArcDisabled
	}
	n.RegistrationStatus, n.ConnectionStatus, n.ClaimedBy, n.Offline = StatusNotYet, StatusNotYet, "", false
	refreshArc(c)
	d.Events = []EventSpec{{EvMachineReadyForRegistration, resetFields{OperationID: op.OperationID, Machine: n.Name}}}
	stale := []IndexEntry{{Kind: kindMachine, Group: identityGroup(c.SubscriptionID, c.ArcResourceGroup), Name: strings.ToLower(n.Name)}}
	d.After = func(ctx context.Context) error { return s.dropHints(ctx, c, stale) }
	return d, nil
}
