package domain

import (
	"context"
	"strings"
	"time"
)

// Cluster returns the cluster view (docs/admin-api.md#the-cluster-view) of one cluster, or ErrNotFound.
func (s *Service) Cluster(ctx context.Context, clusterID string) (ClusterView, error) {
	rec, err := s.store.Load(ctx, strings.ToLower(clusterID), "")
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
