package api

import "time"

// ClusterView is what an operator sees of one cluster (docs/admin-api.md#the-cluster-view, Get-AzureStackHCI).
type ClusterView struct {
	ClusterID   string `json:"clusterId"`
	ClusterName string `json:"clusterName"`
	ResourceID  string `json:"resourceId,omitempty"`
	Cloud       string `json:"cloud,omitempty"`
	Region      string `json:"region,omitempty"`
	// The values a re-run Register must repeat (Get-AzureStackHCI displays them).
	SubscriptionID     string   `json:"subscriptionId,omitempty"`
	TenantID           string   `json:"tenantId,omitempty"`
	ResourceGroup      string   `json:"resourceGroup,omitempty"`
	ResourceName       string   `json:"resourceName,omitempty"`
	ArcResourceGroup   string   `json:"arcResourceGroup,omitempty"`
	AppIdentities      []string `json:"appIdentities"`
	RegistrationStatus string   `json:"registrationStatus"`
	ClusterStatus      string   `json:"clusterStatus"`
	ConnectionStatus   string   `json:"connectionStatus"`
	// SilenceHeld: the mass-disconnect guard holds back this cluster's silence-based transitions
	// (docs/policy.md): by the clock it would be Disconnected or OutOfPolicy.
	SilenceHeld         bool       `json:"silenceHeld"`
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
	OSRelease          string          `json:"osRelease,omitempty"` // the release of an OS build string, where known
	BiosConfigHash     string          `json:"biosConfigHash,omitempty"`
	LastSync           *time.Time      `json:"lastSync"`
	Reset              *ResetOperation `json:"reset,omitempty"` // current (or last) reset operation
}

// ResetOperation is one bootstrap reset of a machine (Start-ArcBootstrapReset).
type ResetOperation struct {
	OperationID string       `json:"operationId"`
	Machine     string       `json:"machine"`
	Status      string       `json:"status"`
	Stages      []ResetStage `json:"stages"`
	StartedAt   time.Time    `json:"startedAt"`
	LastHeardAt time.Time    `json:"lastHeardAt"`
	CompletedAt time.Time    `json:"completedAt,omitzero"`
	Error       string       `json:"error,omitempty"`
	StallNoted  bool         `json:"stallNoted,omitempty"`
	Supersedes  string       `json:"supersedes,omitempty"` // the Stalled or Failed operation this one replaced
}

// ResetStage is one stage of a reset operation.
type ResetStage struct {
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// HistoryEntry is one recorded change of a cluster's state.
type HistoryEntry struct {
	At        time.Time `json:"at"`
	What      string    `json:"what"` // e.g. "registrationStatus", "node node1 arcStatus", "Registered"
	Before    string    `json:"before,omitempty"`
	After     string    `json:"after,omitempty"`
	Cause     string    `json:"cause"` // message type, admin route or sweep name
	MessageID string    `json:"messageId,omitempty"`
	Principal string    `json:"principal,omitempty"` // the authenticated admin caller
	// RequestedBy is who a queue command says asked (the sender's word, not authenticated).
	RequestedBy string `json:"requestedBy,omitempty"`
}

// Rejection is a recorded permanent rejection of an inbound message (docs/messages.md#outcomes).
type Rejection struct {
	At          time.Time `json:"at"`
	MessageID   string    `json:"messageId"`
	MessageType string    `json:"messageType,omitempty"`
	ClusterID   string    `json:"clusterId,omitempty"`
	Code        string    `json:"code"`
	Number      int       `json:"number,omitempty"` // the numeric code of Azure Local's cmdlets (9104, ...), where it has one
	Field       string    `json:"field,omitempty"`
	Reason      string    `json:"reason"`
	Queue       QueueName `json:"queue,omitempty"`
	// SubscriptionID is the subscription of the cluster the message named, else the message's own
	// subscriptionId; "" when neither is known (only unscoped callers see such a rejection).
	SubscriptionID string `json:"subscriptionId,omitempty"`
}

// ClusterSummary is a cluster's row in the fleet list and in the status counts: only fields
// that change with a status transition (never lastConnected), so a Sync does not rewrite it.
type ClusterSummary struct {
	ClusterID          string    `json:"clusterId"`
	ClusterName        string    `json:"clusterName,omitempty"`
	SubscriptionID     string    `json:"subscriptionId,omitempty"` // what a caller's Scope is matched against
	Region             string    `json:"region,omitempty"`
	ResourceID         string    `json:"resourceId,omitempty"`
	RegistrationStatus string    `json:"registrationStatus"`
	ClusterStatus      string    `json:"clusterStatus"`
	ConnectionStatus   string    `json:"connectionStatus"`
	ArcIntegration     string    `json:"arcIntegration,omitempty"`
	Orphan             string    `json:"orphan"`
	CredentialExpired  bool      `json:"credentialExpired,omitempty"`
	RegisteredAt       time.Time `json:"registeredAt,omitzero"`
}

// Artifact is one thing in Azure that clean-up removes.
type Artifact struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Condition string `json:"condition"`
}

// CleanupStep is one ordered step of a clean-up plan; steps that do not apply are left out and
// the others keep their numbers.
type CleanupStep struct {
	Step     int      `json:"step"`
	Artifact Artifact `json:"artifact"`
}

// Plan is what an unregister or orphan clean-up requests, shown by dry runs without acting: the
// steps, and the cloud, tenant and subscription they act in (as CleanupRequested carries them).
type Plan struct {
	ClusterID      string        `json:"clusterId"`
	Reason         string        `json:"reason"`
	DisableOnlyArc bool          `json:"disableOnlyArc"`
	Cloud          string        `json:"cloud,omitempty"`
	TenantID       string        `json:"tenantId,omitempty"`
	SubscriptionID string        `json:"subscriptionId,omitempty"`
	Steps          []CleanupStep `json:"steps"`
}

// ResetStatusView is what Get-ArcBootstrapResetStatus shows: the overall status, each stage
// and the elapsed time.
type ResetStatusView struct {
	ClusterID   string       `json:"clusterId"`
	Machine     string       `json:"machine"`
	OperationID string       `json:"operationId"`
	Status      string       `json:"status"` // InProgress | Succeeded | Failed | Stalled
	Stages      []ResetStage `json:"stages"`
	StartedAt   time.Time    `json:"startedAt"`
	LastHeardAt time.Time    `json:"lastHeardAt"`
	CompletedAt *time.Time   `json:"completedAt,omitempty"`
	Elapsed     string       `json:"elapsed"` // Go duration, e.g. "1h2m3s"
	ElapsedSecs float64      `json:"elapsedSeconds"`
	Error       string       `json:"error,omitempty"`
}

// StandaloneMachine is a standalone machine as GET /machines/standalone lists it.
type StandaloneMachine struct {
	Machine       string    `json:"machine"`
	InstalledAt   time.Time `json:"installedAt"`
	OSVersion     string    `json:"osVersion,omitempty"`
	OSRelease     string    `json:"osRelease,omitempty"` // the release of an OS build string, where known
	ClusterStatus string    `json:"clusterStatus"`       // NotYet | OutOfPolicy
	Deadline      time.Time `json:"deadline"`            // to create or join a cluster
	Action        string    `json:"action"`
}

// PageOf is one page of a list; NextCursor is empty on the last page.
type PageOf[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// Deadline is one upcoming deadline of a cluster.
type Deadline struct {
	ClusterID   string    `json:"clusterId"`
	ClusterName string    `json:"clusterName,omitempty"`
	Policy      string    `json:"policy"` // Registration | Cluster | Connection | Credential | OrphanGrace | ResetStall
	Deadline    time.Time `json:"deadline"`
	Action      string    `json:"action"` // a sentence: what to do
}

// OrphanView is a suspected orphan with its grace deadline and the clean-up it would request.
type OrphanView struct {
	ClusterID   string    `json:"clusterId"`
	ClusterName string    `json:"clusterName,omitempty"`
	Reason      string    `json:"reason"` // Silent | MachinesClaimed
	GraceUntil  time.Time `json:"graceUntil"`
	Plan        Plan      `json:"plan"`
}
