package domain

import (
	"context"
	"errors"
	"strings"
	"time"
)

// decideRegister applies SPEC §2.1 Register to one read of the cluster.
func (s *Service) decideRegister(ctx context.Context, rec ClusterRecord, m Register, meta Meta) (*Decision, error) {
	// Defaults (seed).
	if m.ResourceName == "" {
		m.ResourceName = m.ClusterName
	}
	if m.ResourceGroup == "" {
		m.ResourceGroup = m.ResourceName + "-rg"
	}
	if m.ArcResourceGroup == "" {
		m.ArcResourceGroup = m.ResourceGroup
	}
	if m.Cloud == "" {
		m.Cloud = CloudPublic
	}
	region := NormaliseRegion(m.Region)
	resourceID := "/subscriptions/" + m.SubscriptionID + "/resourceGroups/" + m.ResourceGroup +
		"/providers/Microsoft.AzureStackHCI/clusters/" + m.ResourceName
	reject := func(code, format string, args ...any) (*Decision, error) {
		return &Decision{Problem: Reject(code, format, args...)}, nil
	}
	old := rec.Cluster
	wasRegistered := registered(old)
	if old != nil && old.ArcIntegration == ArcDisableInProgress && !wasRegistered {
		return reject(CodeArcDisableInProgress, "an unregister of cluster %s is still in progress: retry when it completes", m.ClusterID)
	}
	if wasRegistered {
		switch {
		case old.Region != region:
			return reject(CodeResourceExistsInDiffRegn, "cluster %s is registered in region %s, not %s: unregister it first", m.ClusterID, old.Region, region)
		case !strings.EqualFold(old.SubscriptionID, m.SubscriptionID) || !strings.EqualFold(old.ResourceGroup, m.ResourceGroup) || !strings.EqualFold(old.ResourceName, m.ResourceName):
			return reject(CodeUnregisterFirst, "cluster %s is registered as %s: resource move is not supported: unregister, then register at the new location", m.ClusterID, old.ResourceID)
		case !strings.EqualFold(old.ArcResourceGroup, m.ArcResourceGroup):
			return reject(CodeArcResourceGroupMismatch, "cluster %s uses Arc resource group %s, not %s", m.ClusterID, old.ArcResourceGroup, m.ArcResourceGroup)
		case old.ArcIntegration == ArcDisableInProgress:
			return reject(CodeArcDisableInProgress, "Arc integration of cluster %s is being disabled: retry when it completes", m.ClusterID)
		}
	}
	if !s.policy.regionAllowed(m.Cloud, region) {
		return reject(CodeRegionNotSupported, "region %q is not supported in cloud %s", region, m.Cloud)
	}
	c := clone(old)
	if c == nil {
		c = newCluster(m.ClusterID)
	}
	added := 0
	for _, n := range m.Nodes {
		if c.node(n.Name) == nil {
			added++
		}
	}
	if len(c.Nodes)+added > MaxNodes {
		return reject(CodeTooManyNodes, "the cluster would have %d nodes; at most %d are allowed", len(c.Nodes)+added, MaxNodes)
	}
	group := identityGroup(m.SubscriptionID, m.ArcResourceGroup)
	hints := identityHints(group, m.ClusterID, c.Nodes, m.Nodes)
	// A cluster not yet registered first tries to insert its identity rows: when none exists, no
	// machine is held elsewhere and no lookup is needed (docs/storage.md: one request, not two).
	hinted := false
	if !wasRegistered {
		switch err := s.store.AddIndexes(ctx, hints); {
		case err == nil:
			hinted = true
		case !errors.Is(err, ErrConflict):
			return nil, err
		}
	}
	var claims []string // other clusters whose node this registration claims
	if !hinted {
		var p *Problem
		var err error
		if claims, p, err = s.heldElsewhere(ctx, m, group); err != nil || p != nil {
			return &Decision{Problem: p}, err
		}
	}

	d := &Decision{Cluster: c}
	now := s.clock.Now().UTC()
	if !wasRegistered {
		c.SubscriptionID, c.ResourceGroup, c.ResourceName = m.SubscriptionID, m.ResourceGroup, m.ResourceName
		c.ArcResourceGroup, c.ResourceID, c.Cloud, c.Region = m.ArcResourceGroup, resourceID, m.Cloud, region
		c.OwnsResourceGroup = m.CreateResourceGroup
		c.RegisteredAt = now
		c.AppIdentities = []string{m.ResourceName, m.ResourceName + ".arc"}
	}
	c.Name, c.TenantID = m.ClusterName, m.TenantID
	if m.OSVersion != "" {
		c.OSVersion = m.OSVersion
	}
	if m.ArcSPN != nil && (m.ArcSPN.AppID != c.ArcSPNAppID || !m.ArcSPN.CredentialExpiresAt.Equal(c.CredentialExpiresAt)) {
		// A new credential; the same one again changes nothing (an expired one stays expired).
		c.ArcSPNAppID, c.CredentialExpiresAt, c.CredentialExpired = m.ArcSPN.AppID, m.ArcSPN.CredentialExpiresAt, false
	}
	if c.RegistrationStatus == StatusOutOfPolicy {
		d.Events = append(d.Events, EventSpec{EvPolicyRestored, policyFields{Policy: PolicyRegistration}})
	}
	if c.ClusterStatus == StatusOutOfPolicy {
		d.Events = append(d.Events, EventSpec{EvPolicyRestored, policyFields{Policy: PolicyCluster}})
	}
	c.RegistrationStatus, c.ClusterStatus = StatusRegistered, StatusClustered
	if c.ClusteredAt.IsZero() {
		c.ClusteredAt = now
	}
	if !wasRegistered {
		// Registering connects the cluster (SPEC §2.1); a re-run for a registered one changes
		// nothing already true, and its connection stays the syncs' to judge.
		if c.ConnectionStatus == StatusOutOfPolicy {
			d.Events = append(d.Events, EventSpec{EvPolicyRestored, policyFields{Policy: PolicyConnection}})
		}
		c.ConnectionStatus = StatusConnected
		c.LastConnected = later(c.LastConnected, meta.EnqueuedAt.UTC())
	}
	arcAvailable := !strings.EqualFold(c.OSVersion, "20H2")
	var enabled, names []string
	for _, rn := range m.Nodes {
		n := c.node(rn.Name)
		if n == nil {
			c.Nodes = append(c.Nodes, Node{Name: rn.Name, ConnectionStatus: StatusConnected})
			n = &c.Nodes[len(c.Nodes)-1]
		}
		n.RegistrationStatus, n.ClaimedBy = StatusRegistered, ""
		if n.ConnectionStatus == StatusNotYet || n.ConnectionStatus == "" {
			n.ConnectionStatus = StatusConnected
		}
		if rn.BiosConfigHash != "" {
			n.BiosConfigHash = rn.BiosConfigHash
		}
		switch {
		case !arcAvailable:
			n.ArcStatus = ArcNotSupported
		case n.ArcStatus != ArcEnabled:
			n.ArcStatus = ArcEnabled
			enabled = append(enabled, n.Name)
		}
		names = append(names, n.Name)
	}
	c.ArcIntegration = ArcEnabled
	if !arcAvailable {
		c.ArcIntegration = ArcNotSupported
	}
	switch c.Orphan {
	case OrphanSuspected:
		d.Events = append(d.Events, EventSpec{EvOrphanCleared, causeFields{meta.MessageID}})
		c.OrphanClearedAt = now
		fallthrough
	case OrphanCleanedUp, "":
		c.Orphan, c.OrphanReason, c.GraceUntil = OrphanNone, "", time.Time{}
	}
	if !wasRegistered {
		d.Events = append([]EventSpec{{EvClusterRegistered, struct {
			ResourceID string   `json:"resourceId"`
			Cloud      string   `json:"cloud"`
			Region     string   `json:"region"`
			Nodes      []string `json:"nodes"`
		}{c.ResourceID, c.Cloud, c.Region, names}}}, d.Events...)
	}
	if len(enabled) > 0 {
		d.Events = append(d.Events, EventSpec{EvArcEnabled, struct {
			Machines []string `json:"machines"`
		}{enabled}})
	}
	d.Events = append(d.Events, applyBiosMajority(c)...)
	adopt, err := s.adoptStandalone(ctx, c, names)
	if err != nil {
		return nil, err
	}
	id := c.ID
	// The index hints and the claims on other clusters are written before the commit: a failure
	// is transient and the redelivery writes them again (claims are idempotent by MessageId), so
	// none is lost once the message is committed.
	d.Before = func(ctx context.Context) error {
		if !hinted {
			if err := s.store.PutIndexes(ctx, identityHints(group, id, c.Nodes, nil)); err != nil {
				return err
			}
		}
		for _, cl := range claims {
			other, machine, _ := strings.Cut(cl, "\x00")
			if err := s.claim(ctx, other, machine, id, meta); err != nil {
				return err
			}
		}
		return nil
	}
	d.After = adopt
	return d, nil
}

// identityHints are the index rows of a registered cluster's machine identities and of its Arc
// resource group: one row per node (those it has and those the message adds) and one for the group.
func identityHints(group, id string, nodes []Node, adds []RegisterNode) []IndexEntry {
	var out []IndexEntry
	seen := map[string]bool{}
	add := func(name string) {
		if name = strings.ToLower(name); !seen[name] {
			seen[name] = true
			out = append(out, IndexEntry{Kind: kindMachine, Group: group, Name: name, Value: id})
		}
	}
	for _, n := range nodes {
		add(n.Name)
	}
	for _, n := range adds {
		add(n.Name)
	}
	return append(out, IndexEntry{Kind: kindArcGroup, Group: group, Name: id, Value: id})
}

// heldElsewhere looks up the identity rows of m's machines (one request): a machine registered to
// another cluster refuses the Register (NodeRegisteredElsewhere), unless that cluster is a
// suspected orphan, whose machines the Register claims (returned as "cluster\x00machine").
func (s *Service) heldElsewhere(ctx context.Context, m Register, group string) ([]string, *Problem, error) {
	var names []string
	for _, n := range m.Nodes {
		names = append(names, strings.ToLower(n.Name))
	}
	rows, err := s.store.GetIndexes(ctx, kindMachine, group, names)
	if err != nil {
		return nil, nil, err
	}
	held := map[string]string{} // machine (lower case) → the cluster its row names
	for _, e := range rows {
		held[e.Name] = e.Value
	}
	var claims []string
	for _, n := range m.Nodes {
		id, ok := held[strings.ToLower(n.Name)]
		if !ok || id == m.ClusterID {
			continue
		}
		other, err := s.loadOther(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		if other == nil || other.node(n.Name) == nil || identityGroup(other.SubscriptionID, other.ArcResourceGroup) != group {
			continue // a stale hint
		}
		if on := other.node(n.Name); on.ClaimedBy != "" || on.RegistrationStatus != StatusRegistered {
			continue
		}
		if registered(other) && other.Orphan != OrphanSuspected {
			return nil, Reject(CodeNodeRegisteredElsewhere, "machine %s is registered to cluster %s: unregister it there first", n.Name, other.ID), nil
		}
		if registered(other) {
			claims = append(claims, other.ID+"\x00"+n.Name)
		}
	}
	return claims, nil, nil
}

// claim marks machine of cluster id as claimed by another cluster (by) and schedules the
// cluster for an orphan check now.
func (s *Service) claim(ctx context.Context, id, machine, by string, meta Meta) error {
	meta.Cause = "claimed by " + by
	_, err := s.update(ctx, id, meta, func(rec ClusterRecord) (*Decision, error) {
		c := clone(rec.Cluster)
		if !registered(c) || c.node(machine) == nil {
			return &Decision{}, nil
		}
		c.node(machine).ClaimedBy = by
		return &Decision{Cluster: c}, nil
	})
	if err != nil {
		return err
	}
	return s.store.Schedule(ctx, Due{ClusterID: id, At: s.clock.Now().UTC()})
}

// decideUnregister applies Unregister (reason Unregister) or an orphan clean-up (reason
// OrphanCleanup) to one read of the cluster.
func (s *Service) decideUnregister(ctx context.Context, rec ClusterRecord, disableOnlyArc bool, reason string, admin bool) (*Decision, error) {
	if rec.Cluster == nil && admin {
		return &Decision{Problem: Reject(CodeUnknownCluster, "cluster is not known")}, nil
	}
	if !registered(rec.Cluster) {
		return &Decision{Problem: Reject(CodeNotRegistered, "the cluster is not registered")}, nil
	}
	c := clone(rec.Cluster)
	if disableOnlyArc && c.ArcIntegration == ArcDisabled {
		return &Decision{Cluster: c}, nil // already true
	}
	plan, err := s.plan(ctx, c, disableOnlyArc, reason)
	if err != nil {
		return nil, err
	}
	d := &Decision{Cluster: c, Plan: &plan}
	c.ArcIntegration = ArcDisabled
	for i := range c.Nodes {
		if c.Nodes[i].ArcStatus == ArcEnabled {
			c.Nodes[i].ArcStatus = ArcDisabled
		}
	}
	if !disableOnlyArc {
		if reason == ReasonUnregister && c.Orphan == OrphanSuspected {
			// Unregistered on purpose: no longer a suspect, never cleaned up as an orphan.
			c.Orphan, c.OrphanReason, c.GraceUntil = OrphanNone, "", time.Time{}
		}
		c.RegistrationStatus, c.ConnectionStatus = StatusNotYet, StatusNotYet
		for i := range c.Nodes {
			c.Nodes[i].RegistrationStatus, c.Nodes[i].ConnectionStatus = StatusNotYet, StatusNotYet
		}
		d.Events = append(d.Events, EventSpec{EvClusterUnregistered, struct {
			ResourceID     string `json:"resourceId"`
			DisableOnlyArc bool   `json:"disableOnlyArc"`
			Reason         string `json:"reason"`
		}{c.ResourceID, false, reason}})
	}
	for _, st := range plan.Steps {
		d.Events = append(d.Events, EventSpec{EvCleanupRequested, struct {
			Step     int      `json:"step"`
			Artifact Artifact `json:"artifact"`
			Reason   string   `json:"reason"`
		}{st.Step, st.Artifact, reason}})
	}
	group := identityGroup(c.SubscriptionID, c.ArcResourceGroup)
	stale := []IndexEntry{{Kind: kindArcGroup, Group: group, Name: c.ID}}
	if !disableOnlyArc {
		for _, n := range c.Nodes {
			stale = append(stale, IndexEntry{Kind: kindMachine, Group: group, Name: strings.ToLower(n.Name)})
		}
	}
	d.After = func(ctx context.Context) error { return s.dropHints(ctx, c, stale) }
	return d, nil
}

// dropHints deletes, after the commit of c, the index rows it made stale (those of keys that
// still name c), unless c changed since: the rows are read first and the cluster after, and each
// delete is conditional on the row read, so a Register that rewrites them meanwhile keeps them. A
// stale hint left behind is harmless (readers verify hints); a lost one is not.
func (s *Service) dropHints(ctx context.Context, c *Cluster, keys []IndexEntry) error {
	var rows []IndexEntry
	for _, k := range keys {
		e, err := s.store.GetIndex(ctx, k.Kind, k.Group, k.Name)
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if e.Value == c.ID {
			rows = append(rows, e)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	rec, err := s.store.Load(ctx, c.ID, "")
	if err != nil {
		return err
	}
	if rec.Cluster == nil || rec.Cluster.Version != c.Version {
		return nil // changed since this commit: its rows may be current again
	}
	for _, e := range rows {
		if err := s.store.DeleteIndexIf(ctx, e.Kind, e.Group, e.Name, e.ETag); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return nil
}

// plan computes the ordered clean-up of SPEC §2.1 for c; Unregister, PlanUnregister and the
// orphan clean-up all use it.
func (s *Service) plan(ctx context.Context, c *Cluster, disableOnlyArc bool, reason string) (Plan, error) {
	p := Plan{ClusterID: c.ID, Reason: reason, DisableOnlyArc: disableOnlyArc}
	add := func(step int, kind, name, cond string) {
		p.Steps = append(p.Steps, CleanupStep{Step: step, Artifact: Artifact{Kind: kind, Name: name, Condition: cond}})
	}
	add(1, ArtifactArcAppIdentity, c.ResourceName+".arc", ConditionAlways)
	used, err := s.arcGroupUsedElsewhere(ctx, c)
	if err != nil {
		return Plan{}, err
	}
	if !used {
		add(2, ArtifactArcRoleAssignment, "/subscriptions/"+c.SubscriptionID+"/resourceGroups/"+c.ArcResourceGroup, ConditionIfArcResourceGroupUnused)
	}
	if disableOnlyArc {
		return p, nil
	}
	add(3, ArtifactClusterResource, c.ResourceID, ConditionAlways)
	add(4, ArtifactAppIdentity, c.ResourceName, ConditionAlways)
	if c.OwnsResourceGroup {
		add(5, ArtifactResourceGroup, "/subscriptions/"+c.SubscriptionID+"/resourceGroups/"+c.ResourceGroup, ConditionIfOwnedAndEmpty)
	}
	return p, nil
}

// arcGroupUsedElsewhere reports whether another registered cluster of c's subscription uses
// c's Arc resource group (index hints verified against the clusters they name).
func (s *Service) arcGroupUsedElsewhere(ctx context.Context, c *Cluster) (bool, error) {
	group := identityGroup(c.SubscriptionID, c.ArcResourceGroup)
	rows, err := s.store.ListIndex(ctx, kindArcGroup, group)
	if err != nil {
		return false, err
	}
	for _, r := range rows {
		if r.Name == c.ID {
			continue
		}
		other, err := s.loadOther(ctx, r.Name)
		if err != nil {
			return false, err
		}
		if registered(other) && other.ArcIntegration != ArcDisabled && identityGroup(other.SubscriptionID, other.ArcResourceGroup) == group {
			return true, nil
		}
	}
	return false, nil
}

// PlanUnregister returns the clean-up an Unregister would request, without acting (dry run).
// ErrNotFound for an unknown cluster; a NotRegistered Problem when it is not registered.
func (s *Service) PlanUnregister(ctx context.Context, clusterID string, disableOnlyArc bool) (Plan, error) {
	rec, err := s.store.Load(ctx, strings.ToLower(clusterID), "")
	if err != nil {
		return Plan{}, err
	}
	if rec.Cluster == nil {
		return Plan{}, ErrNotFound
	}
	if !registered(rec.Cluster) {
		return Plan{}, Reject(CodeNotRegistered, "cluster %s is not registered", clusterID)
	}
	return s.plan(ctx, rec.Cluster, disableOnlyArc, ReasonUnregister)
}
