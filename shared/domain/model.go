package domain

import "time"

// Registration, cluster and connection statuses of docs/admin-api.md#the-cluster-view.
const (
	StatusNotYet      = "NotYet"
	StatusRegistered  = "Registered"
	StatusClustered   = "Clustered"
	StatusConnected   = "Connected"
	StatusDisconnect  = "Disconnected"
	StatusOutOfPolicy = "OutOfPolicy"
)

// Arc integration statuses (cluster and node).
const (
	ArcEnabled           = "Enabled"
	ArcPartiallyEnabled  = "PartiallyEnabled" // a cluster some of whose nodes are Enabled
	ArcDisabled          = "Disabled"
	ArcDisableInProgress = "DisableInProgress"
	ArcNotSupported      = "NotSupported"
)

// Orphan statuses of docs/policy.md#orphans.
const (
	OrphanNone      = "None"
	OrphanSuspected = "Suspected"
	OrphanCleanedUp = "CleanedUp"
)

// Reset operation and stage statuses (docs/messages.md, StartMachineReset).
const (
	ResetNotStarted = "NotStarted"
	ResetInProgress = "InProgress"
	ResetSucceeded  = "Succeeded"
	ResetFailed     = "Failed"
	ResetStalled    = "Stalled"
	ResetCancelled  = "Cancelled"  // a Stalled reset an operator cancelled
	ResetSuperseded = "Superseded" // a Stalled or Failed reset a restart replaced
)

// ResetStages are the stages of a bootstrap reset, in order.
var ResetStages = []string{"ExtensionCleanup", "GatewayCleanup", "AzcmAgentCleanup", "BootstrapCleanup"}

// Cluster is the stored state of one cluster: the single row of its partition that every
// message reads and writes (with its ETag). Zero times mean "never".
type Cluster struct {
	ID                 string    `json:"clusterId"`
	Name               string    `json:"clusterName,omitempty"`
	Cloud              string    `json:"cloud,omitempty"`
	Region             string    `json:"region,omitempty"`
	TenantID           string    `json:"tenantId,omitempty"`
	SubscriptionID     string    `json:"subscriptionId,omitempty"`
	ResourceGroup      string    `json:"resourceGroup,omitempty"`
	ResourceName       string    `json:"resourceName,omitempty"`
	ArcResourceGroup   string    `json:"arcResourceGroup,omitempty"`
	ResourceID         string    `json:"resourceId,omitempty"`
	OwnsResourceGroup  bool      `json:"ownsResourceGroup,omitempty"`
	OSVersion          string    `json:"osVersion,omitempty"`
	AppIdentities      []string  `json:"appIdentities,omitempty"`
	RegistrationStatus string    `json:"registrationStatus"`
	ClusterStatus      string    `json:"clusterStatus"`
	ConnectionStatus   string    `json:"connectionStatus"`
	ArcIntegration     string    `json:"arcIntegration,omitempty"`
	RegisteredAt       time.Time `json:"registeredAt,omitzero"`
	LastConnected      time.Time `json:"lastConnected,omitzero"`
	InstalledAt        time.Time `json:"installedAt,omitzero"` // earliest installedAt of its machines
	ClusteredAt        time.Time `json:"clusteredAt,omitzero"`

	CredentialExpiresAt time.Time `json:"credentialExpiresAt,omitzero"`
	CredentialExpired   bool      `json:"credentialExpired,omitempty"`
	ArcSPNAppID         string    `json:"arcSpnAppId,omitempty"`
	RepairedAt          time.Time `json:"repairedAt,omitzero"` // the last RepairRegistration applied

	Orphan       string    `json:"orphan"`
	OrphanReason string    `json:"orphanReason,omitempty"` // Silent | MachinesClaimed
	GraceUntil   time.Time `json:"graceUntil,omitzero"`
	// OrphanClearedAt is when a Register last cleared a suspicion: silence towards the next one
	// counts from it too, as a re-run Register leaves lastConnected to the syncs.
	OrphanClearedAt time.Time `json:"orphanClearedAt,omitzero"`

	Nodes []Node `json:"nodes,omitempty"`

	// Notices records the once-only notices already sent (PolicyWarning keys such as
	// "Registration/2026-12-01T00:00:00Z/7"), so a sweep run twice sends nothing twice.
	Notices []string `json:"notices,omitempty"`
	// ScheduledCheck is the earliest time for which a row in the due index exists for this
	// cluster; zero when none. A change only writes a new index row when its next deadline is
	// earlier than this (an early row is harmless: the sweep re-evaluates and reschedules).
	ScheduledCheck time.Time `json:"scheduledCheck,omitzero"`
	// Attention records this cluster's rows in the deadline index: slot → time (attention.go).
	Attention map[string]time.Time `json:"attention,omitempty"`
	// AttentionAt is the time of the cluster's row in the deadline index's earlier layout (one
	// Lookup row per cluster and day); zero once that row is gone (attention.go).
	AttentionAt time.Time `json:"attentionAt,omitzero"`
	// Version counts committed changes; it orders the cluster's events and history.
	Version int64 `json:"version"`
}

// Node is one machine of a cluster.
type Node struct {
	Name               string    `json:"name"`
	RegistrationStatus string    `json:"registrationStatus"`
	ConnectionStatus   string    `json:"connectionStatus"`
	ArcStatus          string    `json:"arcStatus"`
	ArcAgentVersion    string    `json:"arcAgentVersion,omitempty"`
	OSVersion          string    `json:"osVersion,omitempty"`
	OSVersionAt        time.Time `json:"osVersionAt,omitzero"` // enqueue time of the report OSVersion came from
	BiosConfigHash     string    `json:"biosConfigHash,omitempty"`
	LastSync           time.Time `json:"lastSync,omitzero"`
	InstalledAt        time.Time `json:"installedAt,omitzero"`
	ClaimedBy          string    `json:"claimedBy,omitempty"` // another cluster (or "standalone") that claimed this machine
	// Offline marks a node OutOfPolicy for its silence: it was silent when its cluster's offline
	// window passed; its own next sync clears it (docs/policy.md).
	Offline bool            `json:"offline,omitempty"`
	Reset   *ResetOperation `json:"reset,omitempty"` // current or last reset operation
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

// version is c.Version, 0 for no cluster.
func (c *Cluster) version() int64 {
	if c == nil {
		return 0
	}
	return c.Version
}

// Summary returns the cluster's fleet-list row.
func (c *Cluster) Summary() ClusterSummary {
	return ClusterSummary{
		ClusterID: c.ID, ClusterName: c.Name, SubscriptionID: c.SubscriptionID, Region: c.Region, ResourceID: c.ResourceID,
		RegistrationStatus: c.RegistrationStatus, ClusterStatus: c.ClusterStatus,
		ConnectionStatus: c.ConnectionStatus, ArcIntegration: c.ArcIntegration, Orphan: c.Orphan,
		CredentialExpired: c.CredentialExpired, RegisteredAt: c.RegisteredAt,
	}
}

// FleetCounts are the status counts kept up to date by the store's projection (docs/dashboard.md).
type FleetCounts struct {
	Clusters           int            `json:"clusters"`
	RegistrationStatus map[string]int `json:"registrationStatus"`
	ClusterStatus      map[string]int `json:"clusterStatus"`
	ConnectionStatus   map[string]int `json:"connectionStatus"`
	Orphan             map[string]int `json:"orphan"`
	CredentialExpired  int            `json:"credentialExpired"`
}

// Merge adds o's counts to fc's.
func (fc *FleetCounts) Merge(o FleetCounts) {
	add := func(m *map[string]int, from map[string]int) {
		for k, n := range from {
			if *m == nil {
				*m = map[string]int{}
			}
			(*m)[k] += n
		}
	}
	fc.Clusters += o.Clusters
	add(&fc.RegistrationStatus, o.RegistrationStatus)
	add(&fc.ClusterStatus, o.ClusterStatus)
	add(&fc.ConnectionStatus, o.ConnectionStatus)
	add(&fc.Orphan, o.Orphan)
	fc.CredentialExpired += o.CredentialExpired
}

// SameCounts reports whether a and b count the same in FleetCounts (the fields Add reads): a
// change between them that keeps these (a name, arcIntegration) leaves the counts as they are.
func SameCounts(a, b ClusterSummary) bool {
	return a.RegistrationStatus == b.RegistrationStatus && a.ClusterStatus == b.ClusterStatus &&
		a.ConnectionStatus == b.ConnectionStatus && a.Orphan == b.Orphan && a.CredentialExpired == b.CredentialExpired
}

// Add counts s n times (n = -1 removes it); a count that reaches zero is dropped from its map.
func (fc *FleetCounts) Add(s ClusterSummary, n int) {
	bump := func(m *map[string]int, k string) {
		if *m == nil {
			*m = map[string]int{}
		}
		(*m)[k] += n
		if (*m)[k] == 0 {
			delete(*m, k)
		}
	}
	fc.Clusters += n
	bump(&fc.RegistrationStatus, s.RegistrationStatus)
	bump(&fc.ClusterStatus, s.ClusterStatus)
	bump(&fc.ConnectionStatus, s.ConnectionStatus)
	bump(&fc.Orphan, s.Orphan)
	if s.CredentialExpired {
		fc.CredentialExpired += n
	}
}
