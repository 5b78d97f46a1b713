package domain

import (
	"context"
	"errors"
	"strings"
	"time"
)

// register applies a Register (docs/messages.md). A refusal with NodeRegisteredElsewhere still
// records its claims on the holding clusters' machines, and its reason says whether the holder is
// now suspected an orphan (docs/policy.md, re-imaged clusters). The claims' events are in the
// Result with the Register's own.
func (s *Service) register(ctx context.Context, m Register, meta Meta) (Result, error) {
	var held *heldMachines
	var made claimed
	res, err := s.update(ctx, m.ClusterID, meta, func(rec ClusterRecord) (*Decision, error) {
		d, h, err := s.decideRegister(ctx, rec, m, meta, &made)
		if d != nil {
			d.Mode |= ModeCommand
		}
		held = h
		return d, err
	})
	if err != nil {
		return res, err
	}
	if res.Outcome == Rejected && held != nil {
		c, problem, err := s.refuseHeld(ctx, held, m.ClusterID, meta)
		if err != nil {
			return Result{}, err
		}
		res.Problem, made = problem, *c
	}
	made.addTo(&res)
	return res, nil
}

// registerDefaults fills a Register's defaults (Register-AzStackHCI's; docs/messages.md): resourceName = clusterName, resourceGroup
// = <resourceName>-rg, arcResourceGroup = resourceGroup, cloud = AzureCloud.
func registerDefaults(m Register) Register {
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
	return m
}

// refuseRegister checks a Register against the existing registration (9113, 9104, 9107, 9129),
// then the region table; nil when none refuses it.
func (s *Service) refuseRegister(old *Cluster, m Register, region string) *Problem {
	if old != nil && old.ArcIntegration == ArcDisableInProgress && !registered(old) {
		return Reject(CodeArcDisableInProgress, "an unregister of cluster %s is still in progress: retry when it completes", m.ClusterID)
	}
	if registered(old) {
		switch {
		case old.Region != region:
			return Reject(CodeResourceExistsInDiffRegn, "cluster %s is registered in region %s, not %s: unregister it first", m.ClusterID, old.Region, region)
		case !strings.EqualFold(old.SubscriptionID, m.SubscriptionID) || !strings.EqualFold(old.ResourceGroup, m.ResourceGroup) || !strings.EqualFold(old.ResourceName, m.ResourceName):
			return Reject(CodeUnregisterFirst, "cluster %s is registered as %s: a re-run names the same resource (subscriptionId %s, resourceGroup %s, resourceName %s); "+
				"resource move is not supported: unregister, then register at the new location", m.ClusterID, old.ResourceID, old.SubscriptionID, old.ResourceGroup, old.ResourceName)
		case old.TenantID != "" && !strings.EqualFold(old.TenantID, m.TenantID):
			return Reject(CodeUnregisterFirst, "cluster %s is registered in tenant %s, not %s: unregister it first, then register in the new tenant", m.ClusterID, old.TenantID, m.TenantID)
		case !strings.EqualFold(old.ArcResourceGroup, m.ArcResourceGroup):
			return Reject(CodeArcResourceGroupMismatch, "cluster %s uses Arc resource group %s, not %s", m.ClusterID, old.ArcResourceGroup, m.ArcResourceGroup)
		case old.ArcIntegration == ArcDisableInProgress:
			return Reject(CodeArcDisableInProgress, "Arc integration of cluster %s is being disabled: retry when it completes", m.ClusterID)
		}
	}
	if !s.policy.regionAllowed(m.Cloud, region) {
		return Reject(CodeRegionNotSupported, "region %q is not supported in cloud %s", region, m.Cloud)
	}
	return nil
}

// decideRegister applies a Register to one read of the cluster. held is set when it is refused
// because another registered cluster holds a named machine; the claims of an accepted Register
// are made before its commit and what they committed added to *made.
func (s *Service) decideRegister(ctx context.Context, rec ClusterRecord, m Register, meta Meta, made *claimed) (*Decision, *heldMachines, error) {
	m = registerDefaults(m)
	region := NormaliseRegion(m.Region)
	if p := s.refuseRegister(rec.Cluster, m, region); p != nil {
		return &Decision{Problem: p}, nil, nil
	}
	c := clone(rec.Cluster)
	if c == nil {
		c = newCluster(m.ClusterID)
	}
	if p := tooManyNodes(c, m.Nodes); p != nil {
		return &Decision{Problem: p}, nil, nil
	}
	group := identityGroup(m.SubscriptionID, m.ArcResourceGroup)
	ids, err := s.registerIdentities(ctx, rec.Cluster, c, m, group)
	if err != nil {
		return nil, nil, err
	}
	if ids.held != nil {
		return &Decision{Problem: ids.held.problem()}, ids.held, nil
	}
	d := &Decision{Cluster: c, Events: s.applyRegister(c, m, region, meta)}
	adopt, restored, err := s.adoptStandalone(ctx, c, registerNames(m))
	if err != nil {
		return nil, nil, err
	}
	d.Events = append(d.Events, restored...)
	d.Before, d.After = s.registerWrites(c, group, ids, meta, made), adopt
	return d, nil, nil
}

// tooManyNodes refuses a Register whose nodes would give c more than MaxNodes (nil: it fits).
func tooManyNodes(c *Cluster, nodes []RegisterNode) *Problem {
	added := 0
	for _, n := range nodes {
		if c.node(n.Name) == nil {
			added++
		}
	}
	if len(c.Nodes)+added > MaxNodes {
		return Reject(CodeTooManyNodes, "the cluster would have %d nodes; at most %d are allowed", len(c.Nodes)+added, MaxNodes)
	}
	return nil
}

// identities is who holds the machines a Register names: hinted when its identity rows were
// inserted at once (no other cluster holds any), else the claims it makes on suspected orphans
// and the machines registered clusters hold (held, nil when none: then it is refused).
type identities struct {
	hinted bool
	claims claimSet
	held   *heldMachines
}

// registerIdentities finds who holds the machines m names in group. A cluster not yet registered
// (old) first tries to insert its identity rows: when none exists, no machine is held elsewhere
// and no lookup is needed (docs/storage.md: one request, not two). Otherwise the hints are read
// and verified (holders).
func (s *Service) registerIdentities(ctx context.Context, old, c *Cluster, m Register, group string) (identities, error) {
	if !registered(old) {
		switch err := s.store.AddIndexes(ctx, identityHints(group, m.ClusterID, c.Nodes, m.Nodes)); {
		case err == nil:
			return identities{hinted: true, claims: claimSet{}}, nil
		case !errors.Is(err, ErrConflict):
			return identities{}, err
		}
	}
	claims, held, err := s.holders(ctx, group, m.ClusterID, registerNames(m))
	return identities{claims: claims, held: held}, err
}

// registerWrites is what a Register writes just before its commit of c: the identity hints (unless
// inserted already) and the claims on other clusters, whose commits are added to *made. A failure
// is transient and the redelivery writes them again (claims are idempotent by MessageId), so none
// is lost once the message is committed.
func (s *Service) registerWrites(c *Cluster, group string, ids identities, meta Meta, made *claimed) func(context.Context) error {
	return func(ctx context.Context) error {
		if !ids.hinted {
			if err := s.store.PutIndexes(ctx, identityHints(group, c.ID, registeredNodes(c), nil)); err != nil {
				return err
			}
		}
		done, _, err := s.claimAll(ctx, ids.claims, c.ID, meta)
		made.events, made.publish = append(made.events, done.events...), append(made.publish, done.publish...)
		return err
	}
}

// identityHints are the identity rows of a registration in group: each node's machine row and
// the cluster's Arc group row, naming cluster id.
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

// registeredNodes are c's Registered nodes.
func registeredNodes(c *Cluster) []Node {
	var out []Node
	for _, n := range c.Nodes {
		if n.RegistrationStatus == StatusRegistered {
			out = append(out, n)
		}
	}
	return out
}

func registerNames(m Register) []string {
	names := make([]string, 0, len(m.Nodes))
	for _, n := range m.Nodes {
		names = append(names, n.Name)
	}
	return names
}

// applyRegister sets c as registered by m (m's defaults filled) and returns the events, in order:
// ClusterRegistered (when not registered before), PolicyRestored, OrphanCleared, ArcEnabled and
// the BIOS majority's.
func (s *Service) applyRegister(c *Cluster, m Register, region string, meta Meta) []EventSpec {
	now := s.clock.Now().UTC()
	wasRegistered := registered(c)
	if !wasRegistered {
		placeRegistration(c, m, region, now)
	}
	registerFacts(c, m)
	evs := registerStatuses(c, now)
	if !wasRegistered {
		// Registering connects the cluster (docs/messages.md); a re-run for a registered one
		// changes nothing already true, and its connection stays the syncs' to judge.
		if c.ConnectionStatus == StatusOutOfPolicy {
			evs = append(evs, EventSpec{EvPolicyRestored, policyFields{Policy: PolicyConnection}})
		}
		c.ConnectionStatus = StatusConnected
		c.LastConnected = later(c.LastConnected, meta.EnqueuedAt.UTC())
	}
	if c.Orphan == OrphanSuspected {
		evs = append(evs, EventSpec{EvOrphanCleared, causeFields{meta.MessageID}})
		c.OrphanClearedAt = now
	}
	c.Orphan, c.OrphanReason, c.GraceUntil = OrphanNone, "", time.Time{}
	names := registerNodes(c, m.Nodes)
	if !wasRegistered {
		evs = append([]EventSpec{clusterRegistered(c, names)}, evs...)
	}
	if enabled := enableArc(c); len(enabled) > 0 {
		evs = append(evs, EventSpec{EvArcEnabled, struct {
			Machines []string `json:"machines"`
		}{enabled}})
	}
	return append(evs, applyBiosMajority(c)...)
}

// placeRegistration records where a cluster not registered before is registered by m: its
// resource, cloud, region and app identities, at now.
func placeRegistration(c *Cluster, m Register, region string, now time.Time) {
	c.SubscriptionID, c.ResourceGroup, c.ResourceName, c.ArcResourceGroup = m.SubscriptionID, m.ResourceGroup, m.ResourceName, m.ArcResourceGroup
	c.ResourceID = "/subscriptions/" + m.SubscriptionID + "/resourceGroups/" + m.ResourceGroup + "/providers/Microsoft.AzureStackHCI/clusters/" + m.ResourceName
	c.Cloud, c.Region, c.OwnsResourceGroup, c.RegisteredAt = m.Cloud, region, m.CreateResourceGroup, now
	c.AppIdentities = []string{m.ResourceName, m.ResourceName + ".arc"}
}

// registerFacts records what every Register says of c: its name, tenant, OS version and Arc
// credential.
func registerFacts(c *Cluster, m Register) {
	c.Name, c.TenantID = m.ClusterName, m.TenantID
	if m.OSVersion != "" {
		c.OSVersion = m.OSVersion
	}
	if m.ArcSPN != nil && (m.ArcSPN.AppID != c.ArcSPNAppID || !m.ArcSPN.CredentialExpiresAt.Equal(c.CredentialExpiresAt)) {
		// A new credential; the same one again changes nothing (an expired one stays expired).
		c.ArcSPNAppID, c.CredentialExpiresAt, c.CredentialExpired = m.ArcSPN.AppID, m.ArcSPN.CredentialExpiresAt, false
	}
}

// registerStatuses sets c Registered and Clustered (clustered at now if never before) and returns
// a PolicyRestored for each of the two that was OutOfPolicy.
func registerStatuses(c *Cluster, now time.Time) []EventSpec {
	var evs []EventSpec
	if c.RegistrationStatus == StatusOutOfPolicy {
		evs = append(evs, EventSpec{EvPolicyRestored, policyFields{Policy: PolicyRegistration}})
	}
	if c.ClusterStatus == StatusOutOfPolicy {
		evs = append(evs, EventSpec{EvPolicyRestored, policyFields{Policy: PolicyCluster}})
	}
	c.RegistrationStatus, c.ClusterStatus = StatusRegistered, StatusClustered
	if c.ClusteredAt.IsZero() {
		c.ClusteredAt = now
	}
	return evs
}

// clusterRegistered is the ClusterRegistered event of c, registered with nodes names.
func clusterRegistered(c *Cluster, names []string) EventSpec {
	return EventSpec{EvClusterRegistered, struct {
		ResourceID string   `json:"resourceId"`
		Cloud      string   `json:"cloud"`
		Region     string   `json:"region"`
		Nodes      []string `json:"nodes"`
	}{c.ResourceID, c.Cloud, c.Region, names}}
}

// registerNodes registers the named nodes of c (adding new ones) and returns their names as c
// spells them. A Register registers only the machines it names: a machine whose registration a
// reset cleared is registered again by naming it, never by a re-run that does not.
func registerNodes(c *Cluster, nodes []RegisterNode) []string {
	var names []string
	for _, rn := range nodes {
		n := c.node(rn.Name)
		if n == nil {
			c.Nodes = append(c.Nodes, Node{Name: rn.Name, ConnectionStatus: StatusConnected, ArcStatus: ArcDisabled})
			n = &c.Nodes[len(c.Nodes)-1]
		}
		n.RegistrationStatus, n.ClaimedBy = StatusRegistered, ""
		if n.ConnectionStatus == StatusNotYet || n.ConnectionStatus == "" {
			n.ConnectionStatus = StatusConnected
		}
		if rn.BiosConfigHash != "" {
			n.BiosConfigHash = rn.BiosConfigHash
		}
		names = append(names, n.Name)
	}
	return names
}

// enableArc enables Arc integration on every registered node of c that lacks it, listed in the
// Register or not (Register-AzStackHCI "enables Azure Arc integration on every server in the cluster"), where
// the node's OS version has it (not 20H2: NotSupported), and sets the cluster's arcIntegration.
// It returns the nodes just enabled.
func enableArc(c *Cluster) []string {
	var enabled []string
	for i := range c.Nodes {
		n := &c.Nodes[i]
		switch {
		case n.RegistrationStatus != StatusRegistered:
		case !arcAvailable(machineVersion(c, n)):
			n.ArcStatus = ArcNotSupported
		case n.ArcStatus != ArcEnabled:
			n.ArcStatus = ArcEnabled
			enabled = append(enabled, n.Name)
		}
	}
	c.ArcIntegration = arcIntegration(c.Nodes)
	return enabled
}

// arcIntegration is a registered cluster's Arc integration from its nodes' (docs/messages.md):
// Enabled only when every node is, PartiallyEnabled when some are, NotSupported when none can be,
// Disabled otherwise.
func arcIntegration(nodes []Node) string {
	enabled, unsupported := 0, 0
	for _, n := range nodes {
		switch n.ArcStatus {
		case ArcEnabled:
			enabled++
		case ArcNotSupported:
			unsupported++
		}
	}
	switch {
	case len(nodes) > 0 && enabled == len(nodes):
		return ArcEnabled
	case enabled > 0:
		return ArcPartiallyEnabled
	case len(nodes) > 0 && unsupported == len(nodes):
		return ArcNotSupported
	}
	return ArcDisabled
}

// refreshArc re-derives a registered cluster's arcIntegration after its nodes changed (a node
// added, a machine reset); an unregister in progress keeps DisableInProgress.
func refreshArc(c *Cluster) {
	if registered(c) && c.ArcIntegration != ArcDisableInProgress {
		c.ArcIntegration = arcIntegration(c.Nodes)
	}
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
	disableArc(c)
	if !disableOnlyArc {
		d.Events = append(d.Events, unregisterCluster(c, reason))
	}
	for _, st := range plan.Steps {
		d.Events = append(d.Events, EventSpec{EvCleanupRequested, struct {
			Step     int      `json:"step"`
			Artifact Artifact `json:"artifact"`
			Reason   string   `json:"reason"`
			tenancy
		}{st.Step, st.Artifact, reason, tenancyOf(c)}})
	}
	stale := unregisteredHints(c, disableOnlyArc)
	d.After = func(ctx context.Context) error { return s.dropHints(ctx, c, stale) }
	return d, nil
}

// disableArc turns Arc integration off on c and its nodes.
func disableArc(c *Cluster) {
	c.ArcIntegration = ArcDisabled
	for i := range c.Nodes {
		if c.Nodes[i].ArcStatus == ArcEnabled {
			c.Nodes[i].ArcStatus = ArcDisabled
		}
	}
}

// unregisterCluster sets c and its nodes NotYet registered and connected, and returns the
// ClusterUnregistered event. Unregistered on purpose (reason Unregister), a suspected orphan is no
// longer a suspect, never cleaned up as an orphan.
func unregisterCluster(c *Cluster, reason string) EventSpec {
	if reason == ReasonUnregister && c.Orphan == OrphanSuspected {
		c.Orphan, c.OrphanReason, c.GraceUntil = OrphanNone, "", time.Time{}
	}
	c.RegistrationStatus, c.ConnectionStatus = StatusNotYet, StatusNotYet
	for i := range c.Nodes {
		c.Nodes[i].RegistrationStatus, c.Nodes[i].ConnectionStatus, c.Nodes[i].Offline = StatusNotYet, StatusNotYet, false
	}
	return EventSpec{EvClusterUnregistered, struct {
		ResourceID     string `json:"resourceId"`
		DisableOnlyArc bool   `json:"disableOnlyArc"`
		Reason         string `json:"reason"`
		tenancy
	}{c.ResourceID, false, reason, tenancyOf(c)}}
}

// unregisteredHints are the index rows an unregister of c makes stale: its Arc group row, and
// its machines' rows unless only Arc is disabled.
func unregisteredHints(c *Cluster, disableOnlyArc bool) []IndexEntry {
	group := identityGroup(c.SubscriptionID, c.ArcResourceGroup)
	stale := []IndexEntry{{Kind: kindArcGroup, Group: group, Name: c.ID}}
	if !disableOnlyArc {
		for _, n := range c.Nodes {
			stale = append(stale, IndexEntry{Kind: kindMachine, Group: group, Name: strings.ToLower(n.Name)})
		}
	}
	return stale
}

// tenancy says where clean-up acts: the cluster's cloud, tenant and subscription (a sovereign
// cloud's tenant is not the public cloud's).
type tenancy struct {
	Cloud          string `json:"cloud"`
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId"`
}

func tenancyOf(c *Cluster) tenancy { return tenancy{c.Cloud, c.TenantID, c.SubscriptionID} }

// dropHints deletes, after the commit of c, the index rows it made stale (those of keys that
// still name c), unless c changed since: the rows are read first and the cluster after, and each
// delete is conditional on the row read, so a Register that rewrites them meanwhile keeps them. A
// stale hint left behind is harmless (readers verify hints); a lost one is not.
func (s *Service) dropHints(ctx context.Context, c *Cluster, keys []IndexEntry) error {
	rows, err := s.hintsOf(ctx, c.ID, keys)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	rec, err := s.store.LoadState(ctx, c.ID)
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

// hintsOf reads the index rows of keys that still name cluster id: one GetIndexes per kind and
// group (a cluster's machine hints share one).
func (s *Service) hintsOf(ctx context.Context, id string, keys []IndexEntry) ([]IndexEntry, error) {
	type kindGroup struct{ kind, group string }
	var order []kindGroup
	names := map[kindGroup][]string{}
	for _, k := range keys {
		g := kindGroup{k.Kind, k.Group}
		if _, ok := names[g]; !ok {
			order = append(order, g)
		}
		names[g] = append(names[g], k.Name)
	}
	var rows []IndexEntry
	for _, g := range order {
		es, err := s.store.GetIndexes(ctx, g.kind, g.group, names[g])
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.Value == id {
				rows = append(rows, e)
			}
		}
	}
	return rows, nil
}

// plan computes the ordered clean-up of docs/events.md (CleanupRequested) for c; Unregister, PlanUnregister and the
// orphan clean-up all use it.
func (s *Service) plan(ctx context.Context, c *Cluster, disableOnlyArc bool, reason string) (Plan, error) {
	p := Plan{ClusterID: c.ID, Reason: reason, DisableOnlyArc: disableOnlyArc, Cloud: c.Cloud, TenantID: c.TenantID, SubscriptionID: c.SubscriptionID}
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
	rec, err := s.store.LoadState(ctx, strings.ToLower(clusterID))
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
