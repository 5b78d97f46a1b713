package domain

import (
	"context"
	"strings"
	"time"
)

// Cluster returns the cluster view (docs/admin-api.md#the-cluster-view) of one cluster, or ErrNotFound.
func (s *Service) Cluster(ctx context.Context, clusterID string) (ClusterView, error) {
	rec, err := s.store.LoadState(ctx, strings.ToLower(clusterID))
	if err != nil {
		return ClusterView{}, err
	}
	c := rec.Cluster
	if c == nil {
		return ClusterView{}, ErrNotFound
	}
	now := s.clock.Now().UTC()
	held, err := s.silenceHeld(ctx, c, now)
	if err != nil {
		return ClusterView{}, err
	}
	v := ClusterView{
		ClusterID: c.ID, ClusterName: c.Name, ResourceID: c.ResourceID, Cloud: c.Cloud, Region: c.Region,
		SubscriptionID: c.SubscriptionID, TenantID: c.TenantID, ResourceGroup: c.ResourceGroup, ResourceName: c.ResourceName,
		ArcResourceGroup: c.ArcResourceGroup, AppIdentities: append([]string{}, c.AppIdentities...), SilenceHeld: held,
		RegistrationStatus: c.RegistrationStatus, ClusterStatus: c.ClusterStatus, ConnectionStatus: c.ConnectionStatus,
		LastConnected: timePtr(c.LastConnected), RegisteredAt: timePtr(c.RegisteredAt), ArcIntegration: c.ArcIntegration,
		CredentialExpiresAt: timePtr(c.CredentialExpiresAt), CredentialExpired: c.CredentialExpired, RepairedAt: timePtr(c.RepairedAt),
		Orphan: c.Orphan, OrphanGraceUntil: timePtr(c.GraceUntil), Deadlines: append([]Deadline{}, s.policy.Deadlines(c)...), Nodes: []NodeView{},
	}
	for _, n := range c.Nodes {
		nv := NodeView{Name: n.Name, RegistrationStatus: n.RegistrationStatus,
			ConnectionStatus: n.ConnectionStatus, ArcStatus: n.ArcStatus, ArcAgentVersion: n.ArcAgentVersion,
			OSVersion: machineVersion(c, &n), BiosConfigHash: n.BiosConfigHash, LastSync: timePtr(n.LastSync),
			Reset: s.policy.resetView(n.Reset, now)}
		if r := Release(nv.OSVersion); r != nv.OSVersion {
			nv.OSRelease = r
		}
		v.Nodes = append(v.Nodes, nv)
	}
	return v, nil
}

// silenceHeld reports whether the mass-disconnect guard holds c's silence back at now: the guard
// is active and, by the clock, c's next silence-based transition is due (Connected past its
// connected window, Disconnected past its offline window; docs/policy.md).
func (s *Service) silenceHeld(ctx context.Context, c *Cluster, now time.Time) (bool, error) {
	window := s.policy.ConnectedWindow
	switch {
	case !registered(c):
		return false, nil
	case c.ConnectionStatus == StatusDisconnect:
		window = s.policy.OfflineWindow
	case c.ConnectionStatus != StatusConnected:
		return false, nil
	}
	if base := silenceBase(c); base.IsZero() || now.Before(base.Add(window)) {
		return false, nil
	}
	newest, err := s.store.NewestSync(ctx)
	return err == nil && s.policy.Guard(newest, now).Active, err
}

// FleetGuard is the mass-disconnect guard as the fleet summary shows it
// (docs/policy.md#the-mass-disconnect-guard).
type FleetGuard struct {
	Active     bool      // the sweeps hold silence-based transitions back
	NewestSync time.Time // the newest sync heard fleet-wide; zero: none yet
}

// FleetGuard reads the guard now. Once a sync was heard it is active while none came within
// SyncInterval. Before the first sync it is active only while it holds a cluster back (a row in
// the held index): right after a fleet's first Register no sync is due yet and nothing is held.
func (s *Service) FleetGuard(ctx context.Context) (FleetGuard, error) {
	newest, err := s.store.NewestSync(ctx)
	if err != nil {
		return FleetGuard{}, err
	}
	g := FleetGuard{Active: s.policy.Guard(newest, s.clock.Now().UTC()).Active, NewestSync: newest}
	if g.Active && newest.IsZero() {
		held, err := s.store.ListIndexPage(ctx, kindHeld, "", Page{Limit: 1})
		if err != nil {
			return FleetGuard{}, err
		}
		g.Active = len(held.Items) > 0
	}
	return g, nil
}
