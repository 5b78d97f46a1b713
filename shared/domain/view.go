package domain

import (
	"context"
	"errors"
	"time"
)

// ClusterView is what an operator sees of one cluster (SPEC §3, Get-AzureStackHCI).
type ClusterView struct {
	ClusterID           string     `json:"clusterId"`
	ClusterName         string     `json:"clusterName"`
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
	return ClusterView{}, errors.New("domain: Cluster is being built (issue 4)")
}
