package domain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/azlocal/registrar/shared/api"
)

// Queues whose messages HandleMessage accepts (the setting names' defaults; the type sets differ).
const (
	QueueRegistrationRequests = api.QueueRegistrationRequests
	QueueMachineEvents        = api.QueueMachineEvents
)

// HandleMessage decodes, validates and applies one inbound Service Bus message of the given
// queue kind (QueueRegistrationRequests or QueueMachineEvents). A zero meta.EnqueuedAt (the host's
// enqueue time was shadowed by a body field; docs/architecture.md), or one outside MinTime..MaxTime,
// is the receive time, so such a Sync still counts. A permanent problem is recorded
// as a rejection (with a RequestRejected event) and returned as Outcome Rejected with a nil
// error; a returned error is transient.
func (s *Service) HandleMessage(ctx context.Context, queue QueueKind, body []byte, meta Meta) (Result, error) {
	meta.Source = SourceQueue
	if meta.Queue == "" {
		meta.Queue = QueueName(queue) // a queue's default name is its kind's
	}
	if !ValidTime(meta.EnqueuedAt) {
		// The host's enqueue time could not be trusted (none, or shadowed by a body field), or
		// lies outside MinTime..MaxTime: the receive time stands in, so no such date reaches the state.
		meta.EnqueuedAt = s.clock.Now().UTC()
	}
	msg, err := Decode(queue, body)
	if err != nil {
		p, _ := AsProblem(err)
		return s.reject(ctx, peekType(body), peekCluster(body), peekSubscription(body), p, meta)
	}
	if r, ok := msg.(Register); ok {
		meta.RequestedBy = r.RequestedBy
	}
	res, err := s.Apply(ctx, msg, meta)
	if err != nil || res.Outcome != Rejected {
		return res, err
	}
	rej, err := s.reject(ctx, msg.MessageType(), msg.ClusterKey(), subscriptionOf(msg), res.Problem, meta)
	// A refusal's claims on other clusters come first.
	rej.Events, rej.Publish = append(res.Events, rej.Events...), append(res.Publish, rej.Publish...)
	return rej, err
}

// reject records a permanent rejection with its RequestRejected event in the cluster's partition
// (UnknownSession when the message named no valid cluster), idempotently by MessageId. The
// rejection's subscription is the cluster's, else the message's own (subscription).
func (s *Service) reject(ctx context.Context, msgType, clusterID, subscription string, p *Problem, meta Meta) (Result, error) {
	partition := clusterID
	if partition == "" {
		partition = UnknownSession
	}
	rec, err := s.store.Load(ctx, partition, meta.MessageID)
	if err != nil {
		return Result{}, err
	}
	if rec.Seen || rec.Cluster.recorded(meta.MessageID) {
		return Result{Outcome: Duplicate, ClusterID: clusterID}, nil
	}
	now := s.clock.Now().UTC()
	ev := NewEvent(eventCause(meta, now), 0, EvRequestRejected, clusterID, correlation(meta), now, struct {
		Code        string `json:"code"`
		Reason      string `json:"reason"`
		MessageID   string `json:"messageId"`
		MessageType string `json:"messageType"`
	}{p.Code, p.Reason, meta.MessageID, msgType})
	ch := Change{Partition: partition, MessageID: meta.MessageID, Follows: rec.Cluster.version(), Events: []Event{ev}, Rejection: &Rejection{
		At: now, MessageID: meta.MessageID, MessageType: msgType, ClusterID: clusterID, Code: p.Code,
		Number: p.Number(), Field: p.Field, Reason: p.Reason, Queue: meta.Queue, SubscriptionID: rejectionScope(rec.Cluster, subscription),
	}}
	if _, err := s.store.Commit(ctx, ch); errors.Is(err, ErrConflict) {
		return Result{Outcome: Duplicate, ClusterID: clusterID}, nil
	} else if err != nil {
		return Result{}, err
	}
	return Result{Outcome: Rejected, ClusterID: clusterID, Problem: p, Events: ch.Events, Publish: publishable(rec, ch.Events)}, nil
}

// Apply applies an admin command (Unregister, RepairRegistration, StartMachineReset) through the
// same rules as queue messages. A refusal comes back as Outcome Rejected with Problem set (it is
// not recorded as a message rejection); a command on a cluster outside meta.Scope is
// ErrOutOfScope; any other returned error is transient. A meta without a Source is SourceAdmin.
func (s *Service) Apply(ctx context.Context, msg Message, meta Meta) (Result, error) {
	if meta.Cause == "" {
		meta.Cause = msg.MessageType()
	}
	if meta.Source == "" {
		meta.Source = SourceAdmin
	}
	if m, ok := msg.(Register); ok {
		return s.register(ctx, m, meta)
	}
	if decide := s.commandDecision(ctx, msg, meta); decide != nil {
		return s.command(ctx, msg.ClusterKey(), meta, decide)
	}
	return s.applyFact(ctx, msg, meta)
}

// commandDecision is the decide function of a command other than Register; nil for a fact.
func (s *Service) commandDecision(ctx context.Context, msg Message, meta Meta) func(rec ClusterRecord) (*Decision, error) {
	admin := meta.Source == SourceAdmin
	switch m := msg.(type) {
	case Unregister:
		return func(rec ClusterRecord) (*Decision, error) {
			return s.decideUnregister(ctx, rec, m.DisableOnlyArc, ReasonUnregister, admin)
		}
	case RepairRegistration:
		return func(rec ClusterRecord) (*Decision, error) { return s.decideRepair(rec, m, admin) }
	case StartMachineReset:
		return func(rec ClusterRecord) (*Decision, error) { return s.decideStartReset(ctx, rec, m, meta) }
	case CancelMachineReset:
		return func(rec ClusterRecord) (*Decision, error) { return s.decideCancelReset(rec, m) }
	}
	return nil
}

// command commits decide's decision on cluster id as a command (ModeCommand); a cluster outside
// meta.Scope is ErrOutOfScope.
func (s *Service) command(ctx context.Context, id string, meta Meta, decide func(rec ClusterRecord) (*Decision, error)) (Result, error) {
	return s.update(ctx, id, meta, func(rec ClusterRecord) (*Decision, error) {
		if !meta.Scope.allowsCluster(rec.Cluster) {
			return nil, ErrOutOfScope
		}
		d, err := decide(rec)
		if d != nil {
			d.Mode |= ModeCommand
		}
		return d, err
	})
}

// applyFact applies a fact from machines and deployment tooling (docs/messages.md).
func (s *Service) applyFact(ctx context.Context, msg Message, meta Meta) (Result, error) {
	id := msg.ClusterKey()
	switch m := msg.(type) {
	case MachineInstalled:
		if id == "" {
			return s.installStandalone(ctx, m, meta)
		}
		return s.withClaims(func(made *claimed) (Result, error) {
			return s.update(ctx, id, meta, func(rec ClusterRecord) (*Decision, error) { return s.decideInstalled(ctx, rec, m, meta, made) })
		})
	case ClusterCreated:
		return s.withClaims(func(made *claimed) (Result, error) {
			return s.update(ctx, id, meta, func(rec ClusterRecord) (*Decision, error) { return s.decideCreated(ctx, rec, m, meta, made) })
		})
	case Sync:
		res, err := s.updateState(ctx, id, meta, func(rec ClusterRecord) (*Decision, error) { return s.decideSync(rec, m, meta) })
		if err == nil && res.Outcome != Rejected {
			err = s.noteSync(ctx, meta.EnqueuedAt)
		}
		return res, err
	case ResetProgress:
		return s.resetMessage(ctx, id, m.OperationID, meta, func(rec ClusterRecord) (*Decision, error) { return s.decideProgress(rec, m, meta) })
	case ResetCompleted:
		return s.resetMessage(ctx, id, m.OperationID, meta, func(rec ClusterRecord) (*Decision, error) { return s.decideCompleted(rec, m, meta) })
	}
	return Result{}, fmt.Errorf("domain: unsupported message %T", msg)
}

// withClaims runs apply with what its decisions' claims on other clusters commit, and returns its
// Result with those after its own.
func (s *Service) withClaims(apply func(made *claimed) (Result, error)) (Result, error) {
	var made claimed
	res, err := apply(&made)
	made.addTo(&res)
	return res, err
}

// noteSync feeds the mass-disconnect guard at most once a minute per process.
func (s *Service) noteSync(ctx context.Context, at time.Time) error {
	now := s.clock.Now()
	s.syncMu.Lock()
	due := s.lastNote.IsZero() || now.Sub(s.lastNote) >= time.Minute
	if due {
		s.lastNote = now
	}
	s.syncMu.Unlock()
	if !due {
		return nil
	}
	if err := s.store.NoteSync(ctx, at); err != nil {
		s.syncMu.Lock()
		s.lastNote = time.Time{}
		s.syncMu.Unlock()
		return err
	}
	return nil
}

// registered reports whether c is currently registered (and not a cleaned-up orphan).
func registered(c *Cluster) bool {
	return c != nil && c.RegistrationStatus == StatusRegistered && c.Orphan != OrphanCleanedUp
}

// newCluster is the state of a cluster first heard of.
func newCluster(id string) *Cluster {
	return &Cluster{ID: id, RegistrationStatus: StatusNotYet, ClusterStatus: StatusNotYet,
		ConnectionStatus: StatusNotYet, ArcIntegration: ArcDisabled, Orphan: OrphanNone}
}

func (c *Cluster) node(name string) *Node {
	for i := range c.Nodes {
		if strings.EqualFold(c.Nodes[i].Name, name) {
			return &c.Nodes[i]
		}
	}
	return nil
}

// identityGroup is the lookup group of a machine identity: subscription|arcResourceGroup.
func identityGroup(sub, arcRG string) string {
	return strings.ToLower(sub) + "|" + strings.ToLower(arcRG)
}

// loadOther reads another cluster named by an index hint (nil if it has none).
func (s *Service) loadOther(ctx context.Context, id string) (*Cluster, error) {
	rec, err := s.store.LoadState(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return rec.Cluster, err
}

type policyFields struct {
	Policy  string `json:"policy"`
	Machine string `json:"machine,omitempty"`
}

type causeFields struct {
	Cause string `json:"cause"`
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (s *Service) decideInstalled(ctx context.Context, rec ClusterRecord, m MachineInstalled, meta Meta, made *claimed) (*Decision, error) {
	c := clone(rec.Cluster)
	if c == nil {
		c = newCluster(m.ClusterKey())
	}
	n := c.node(m.Machine)
	if n == nil {
		if len(c.Nodes) >= MaxNodes {
			return &Decision{Problem: Reject(CodeTooManyNodes, "cluster already has %d nodes", MaxNodes)}, nil
		}
		c.Nodes = append(c.Nodes, Node{Name: m.Machine, RegistrationStatus: StatusNotYet, ConnectionStatus: StatusNotYet, ArcStatus: ArcDisabled})
		n = &c.Nodes[len(c.Nodes)-1]
	}
	n.InstalledAt = earliest(n.InstalledAt, m.InstalledAt)
	if at := meta.EnqueuedAt.UTC(); m.OSVersion != "" && !at.Before(n.OSVersionAt) {
		n.OSVersion, n.OSVersionAt = m.OSVersion, at // the latest report wins, not the last to arrive
	}
	c.InstalledAt = earliest(c.InstalledAt, m.InstalledAt)
	// The machine may have been tracked on its own before a cluster named it.
	adopt, restored, err := s.adoptStandalone(ctx, c, []string{m.Machine})
	if err != nil {
		return nil, err
	}
	refreshArc(c)
	d := &Decision{Cluster: c, After: adopt, Events: restored}
	return d, s.claimNamed(ctx, d, []string{m.Machine}, meta, made)
}

// claimNamed makes d claim, before its commit, the named machines whose identity another
// registered cluster holds (a re-installed machine, a re-created cluster), when d's cluster has
// an identity (a subscription and Arc resource group: it was registered).
func (s *Service) claimNamed(ctx context.Context, d *Decision, names []string, meta Meta, made *claimed) error {
	c := d.Cluster
	if c.SubscriptionID == "" {
		return nil
	}
	cs, held, err := s.holders(ctx, identityGroup(c.SubscriptionID, c.ArcResourceGroup), c.ID, names)
	if err != nil {
		return err
	}
	if held != nil {
		for id, ms := range held.claims {
			cs[id] = append(cs[id], ms...)
		}
	}
	if len(cs) == 0 {
		return nil
	}
	by := c.ID
	// Before the commit, so a failed claim is retried with the message (see decideRegister).
	d.Before = chain(func(ctx context.Context) error {
		c, _, err := s.claimAll(ctx, cs, by, meta)
		made.events, made.publish = append(made.events, c.events...), append(made.publish, c.publish...)
		return err
	}, d.Before)
	return nil
}

func (s *Service) decideCreated(ctx context.Context, rec ClusterRecord, m ClusterCreated, meta Meta, made *claimed) (*Decision, error) {
	c := clone(rec.Cluster)
	if c == nil {
		c = newCluster(m.ClusterKey())
	}
	if m.ClusterName != "" && c.Name == "" {
		c.Name = m.ClusterName
	}
	for _, name := range m.Nodes {
		if c.node(name) == nil {
			if len(c.Nodes) >= MaxNodes {
				return &Decision{Problem: Reject(CodeTooManyNodes, "a cluster has at most %d nodes", MaxNodes)}, nil
			}
			c.Nodes = append(c.Nodes, Node{Name: name, RegistrationStatus: StatusNotYet, ConnectionStatus: StatusNotYet, ArcStatus: ArcDisabled})
		}
	}
	d := &Decision{Cluster: c}
	if c.ClusterStatus == StatusOutOfPolicy {
		d.Events = append(d.Events, EventSpec{EvPolicyRestored, policyFields{Policy: PolicyCluster}})
	}
	c.ClusterStatus = StatusClustered
	if c.ClusteredAt.IsZero() {
		c.ClusteredAt = m.CreatedAt
		if c.ClusteredAt.IsZero() {
			c.ClusteredAt = meta.EnqueuedAt
		}
	}
	after, restored, err := s.adoptStandalone(ctx, c, m.Nodes)
	if err != nil {
		return nil, err
	}
	d.After, d.Events = after, append(d.Events, restored...)
	refreshArc(c)
	return d, s.claimNamed(ctx, d, m.Nodes, meta, made)
}

// decideRepair applies a RepairRegistration. It always records repairedAt, so each repair is a
// change with its RegistrationRepaired event (a redelivery is a duplicate, not a second repair).
func (s *Service) decideRepair(rec ClusterRecord, m RepairRegistration, admin bool) (*Decision, error) {
	if rec.Cluster == nil && admin {
		return &Decision{Problem: Reject(CodeUnknownCluster, "cluster %s is not known", m.ClusterID)}, nil
	}
	if !registered(rec.Cluster) {
		return &Decision{Problem: Reject(CodeCannotRepairNotRegistered, "cluster %s is not registered: register it instead of repairing", m.ClusterID)}, nil
	}
	c := clone(rec.Cluster)
	now := s.clock.Now().UTC()
	if m.ArcSPN != nil {
		c.CredentialExpiresAt = m.ArcSPN.CredentialExpiresAt
		c.ArcSPNAppID = m.ArcSPN.AppID
	} else if !c.CredentialExpiresAt.After(now) {
		// Repaired with a credential whose expiry is not reported: the past one no longer
		// applies (it would expire the repaired credential again at the next sweep).
		c.CredentialExpiresAt = time.Time{}
	}
	c.CredentialExpired = false
	c.RepairedAt = now
	return &Decision{Cluster: c, Events: []EventSpec{{EvRegistrationRepaired, struct {
		CredentialExpiresAt *time.Time `json:"credentialExpiresAt"`
	}{timePtr(c.CredentialExpiresAt)}}}}, nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Service) decideSync(rec ClusterRecord, m Sync, meta Meta) (*Decision, error) {
	if !registered(rec.Cluster) {
		return &Decision{Problem: Reject(CodeNotRegistered, "cluster %s is not registered: it must register again", m.ClusterID)}, nil
	}
	c := clone(rec.Cluster)
	n := c.node(m.Machine)
	if n == nil {
		return &Decision{Problem: Reject(CodeUnknownMachine, "machine %s is not a node of cluster %s", m.Machine, m.ClusterID)}, nil
	}
	if n.RegistrationStatus != StatusRegistered {
		// Its registration was cleared by a reset (or never made): its syncs are not the
		// cluster's connectivity (docs/messages.md).
		return &Decision{Problem: Reject(CodeMachineNotRegistered, "machine %s of cluster %s is not registered (%s): register it again before it syncs",
			n.Name, m.ClusterID, notRegisteredWhy(n))}, nil
	}
	d := &Decision{Cluster: c}
	at := meta.EnqueuedAt.UTC()
	c.LastConnected = later(c.LastConnected, at)
	syncFacts(n, m, at)
	// A sync enqueued longer ago than the connected window (a backlog drained late) changes no
	// status, or the sweep would flip it back; it keeps its facts. One sent during the grace period
	// still clears a suspicion: the cluster was there (docs/policy.md#orphans).
	if s.clock.Now().Sub(at) >= s.policy.ConnectedWindow {
		if c.Orphan == OrphanSuspected && !at.Before(c.GraceUntil.Add(-s.policy.OrphanGrace)) {
			n.ClaimedBy = ""
			d.Events = append(d.Events, clearSuspicion(c, meta))
		}
		return d, nil
	}
	n.ClaimedBy = "" // the machine just spoke for this cluster: a claim by another is stale
	if n.Offline {   // back from its silence; a BIOS mismatch is judged again below
		n.Offline, n.ConnectionStatus = false, StatusConnected
	}
	if n.ConnectionStatus != StatusOutOfPolicy {
		n.ConnectionStatus = StatusConnected
	}
	if c.ConnectionStatus != StatusConnected {
		if c.ConnectionStatus == StatusOutOfPolicy {
			d.Events = append(d.Events, EventSpec{EvPolicyRestored, policyFields{Policy: PolicyConnection}})
		}
		c.ConnectionStatus = StatusConnected
	}
	if c.Orphan == OrphanSuspected {
		d.Events = append(d.Events, clearSuspicion(c, meta))
	}
	d.Events = append(d.Events, applyBiosMajority(c)...)
	return d, nil
}

// syncFacts records what a Sync enqueued at says of its node, unless the node heard a later one
// (a stale sync does not overwrite newer node facts).
func syncFacts(n *Node, m Sync, at time.Time) {
	if n.LastSync.After(at) {
		return
	}
	n.LastSync = at
	if m.BiosConfigHash != "" {
		n.BiosConfigHash = m.BiosConfigHash
	}
	if m.ArcAgentVersion != "" {
		n.ArcAgentVersion = m.ArcAgentVersion
	}
	if m.OSVersion != "" && !at.Before(n.OSVersionAt) {
		n.OSVersion, n.OSVersionAt = m.OSVersion, at
	}
}

// clearSuspicion ends c's orphan suspicion and returns its OrphanCleared event.
func clearSuspicion(c *Cluster, meta Meta) EventSpec {
	c.Orphan, c.OrphanReason, c.GraceUntil = OrphanNone, "", time.Time{}
	return EventSpec{EvOrphanCleared, causeFields{meta.MessageID}}
}

// applyBiosMajority flags nodes whose BIOS hash differs from the strict majority of the
// cluster's nodes (none when there is no strict majority) and clears nodes that match again.
func applyBiosMajority(c *Cluster) []EventSpec {
	count := map[string]int{}
	for _, n := range c.Nodes {
		if n.BiosConfigHash != "" {
			count[n.BiosConfigHash]++
		}
	}
	majority := ""
	for h, k := range count {
		if 2*k > len(c.Nodes) {
			majority = h
		}
	}
	var evs []EventSpec
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Offline {
			continue // OutOfPolicy for its silence: judged again when it syncs
		}
		odd := majority != "" && n.BiosConfigHash != "" && n.BiosConfigHash != majority
		switch {
		case odd && n.ConnectionStatus != StatusOutOfPolicy:
			n.ConnectionStatus = StatusOutOfPolicy
			evs = append(evs, EventSpec{EvPolicyViolated, policyFields{PolicyBios, n.Name}})
		case !odd && n.ConnectionStatus == StatusOutOfPolicy:
			n.ConnectionStatus = StatusConnected
			if n.LastSync.IsZero() && n.RegistrationStatus != StatusRegistered {
				n.ConnectionStatus = StatusNotYet
			}
			evs = append(evs, EventSpec{EvPolicyRestored, policyFields{PolicyBios, n.Name}})
		}
	}
	return evs
}
