package domain

import (
	"context"
	"strings"
	"time"
)

// ClusterView is what an operator sees of one cluster (SPEC §3, Get-AzureStackHCI).
type ClusterView struct {
	ClusterID           string     `json:"clusterId"`
	ClusterName         string     `json:"clusterName"`
	SubscriptionID      string     `json:"subscriptionId,omitempty"`
	ResourceID          string     `json:"resourceId,omitempty"`
	Cloud               string     `json:"cloud,omitempty"`
	Region              string     `json:"region,omitempty"`
	RegistrationStatus  string     `json:"registrationStatus"`
	ClusterStatus       string     `json:"clusterStatus"`
	ConnectionStatus    string     `json:"connectionStatus"`
	LastConnected       *time.Time `json:"lastConnected"`
	RegisteredAt        *time.Time `json:"registeredAt"`
	ArcIntegration      string     `json:"arcIntegration"`
	CredentialExpiresAt *time.Time `json:"credentialExpiresAt"`
	CredentialExpired   bool       `json:"credentialExpired"`
	RepairedAt          *time.Time `json:"repairedAt"`
	Orphan              string     `json:"orphan"`
	OrphanGraceUntil    *time.Time `json:"orphanGraceUntil,omitempty"`
	Deadlines           []Deadline `json:"deadlines"` // upcoming, soonest first
	Nodes               []NodeView `json:"nodes"`
}

// NodeView is one node in a ClusterView.
type NodeView struct {
	Name               string          `json:"name"`
	RegistrationStatus string          `json:"registrationStatus"`
	ConnectionStatus   string          `json:"connectionStatus"`
	ArcStatus          string          `json:"arcStatus"`
	ArcAgentVersion    string          `json:"arcAgentVersion,omitempty"`
	OSVersion          string          `json:"osVersion,omitempty"`
	BiosConfigHash     string          `json:"biosConfigHash,omitempty"`
	LastSync           *time.Time      `json:"lastSync"`
	Reset              *ResetOperation `json:"reset,omitempty"` // current (or last) reset operation
}

// Cluster returns the §3 view of one cluster, or ErrNotFound.
func (s *Service) Cluster(ctx context.Context, clusterID string) (ClusterView, error) {
	rec, err := s.store.Load(ctx, strings.ToLower(clusterID), "")
	if err != nil {
		return ClusterView{}, err
	}
	c := rec.Cluster
	if c == nil {
		return ClusterView{}, ErrNotFound
	}
	v := ClusterView{
		ClusterID: c.ID, ClusterName: c.Name, SubscriptionID: c.SubscriptionID, ResourceID: c.ResourceID, Cloud: c.Cloud, Region: c.Region,
		RegistrationStatus: c.RegistrationStatus, ClusterStatus: c.ClusterStatus, ConnectionStatus: c.ConnectionStatus,
		LastConnected: timePtr(c.LastConnected), RegisteredAt: timePtr(c.RegisteredAt), ArcIntegration: c.ArcIntegration,
		CredentialExpiresAt: timePtr(c.CredentialExpiresAt), CredentialExpired: c.CredentialExpired, RepairedAt: timePtr(c.RepairedAt),
		Orphan: c.Orphan, OrphanGraceUntil: timePtr(c.GraceUntil), Deadlines: append([]Deadline{}, s.policy.Deadlines(c)...), Nodes: []NodeView{},
	}
	for _, n := range c.Nodes {
		v.Nodes = append(v.Nodes, NodeView{Name: n.Name, RegistrationStatus: n.RegistrationStatus,
			ConnectionStatus: n.ConnectionStatus, ArcStatus: n.ArcStatus, ArcAgentVersion: n.ArcAgentVersion,
			OSVersion: machineVersion(c, &n), BiosConfigHash: n.BiosConfigHash, LastSync: timePtr(n.LastSync),
			Reset: s.policy.resetView(n.Reset, s.clock.Now().UTC())})
	}
	return v, nil
}
