package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/azlocal/registrar/shared/api"
)

// Registration, cluster and connection statuses of docs/admin-api.md#the-cluster-view.
const (
	StatusNotYet      = api.StatusNotYet
	StatusRegistered  = api.StatusRegistered
	StatusClustered   = api.StatusClustered
	StatusConnected   = api.StatusConnected
	StatusDisconnect  = api.StatusDisconnect
	StatusOutOfPolicy = api.StatusOutOfPolicy
)

// Arc integration statuses (cluster and node).
const (
	ArcEnabled           = api.ArcEnabled
	ArcPartiallyEnabled  = api.ArcPartiallyEnabled
	ArcDisabled          = api.ArcDisabled
	ArcDisableInProgress = api.ArcDisableInProgress
	ArcNotSupported      = api.ArcNotSupported
)

// Orphan statuses of docs/policy.md#orphans.
const (
	OrphanNone      = api.OrphanNone
	OrphanSuspected = api.OrphanSuspected
	OrphanCleanedUp = api.OrphanCleanedUp
)

// Reset operation and stage statuses (docs/messages.md, StartMachineReset).
const (
	ResetNotStarted = api.ResetNotStarted
	ResetInProgress = api.ResetInProgress
	ResetSucceeded  = api.ResetSucceeded
	ResetFailed     = api.ResetFailed
	ResetStalled    = api.ResetStalled
	ResetCancelled  = api.ResetCancelled
	ResetSuperseded = api.ResetSuperseded
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
	// Recent are the MessageIds of the last RecentMessages commits that wrote this state, oldest
	// first: a redelivered Sync is recognised from the state row alone (docs/storage.md, "The
	// Sync path").
	Recent []string `json:"recent,omitempty"`
	// Version counts committed changes; it orders the cluster's events and history.
	Version int64 `json:"version"`
}

// RecentMessages is how many MessageIds Cluster.Recent keeps.
const RecentMessages = 16

// recorded reports whether messageID is one of c's Recent commits ("" and nil: never).
func (c *Cluster) recorded(messageID string) bool {
	return c != nil && messageID != "" && slices.Contains(c.Recent, recentID(messageID))
}

// record adds messageID ("" for none) to c's Recent commits, dropping the oldest beyond
// RecentMessages.
func (c *Cluster) record(messageID string) {
	if messageID == "" {
		return
	}
	c.Recent = append(c.Recent, recentID(messageID))
	if n := len(c.Recent); n > RecentMessages {
		c.Recent = slices.Clone(c.Recent[n-RecentMessages:])
	}
}

// maxRecentID is the longest MessageId Recent keeps as it is: a longer one (a claim's, which
// names its machines) is kept as a digest, so the state row stays far below the Table service's
// 64 KiB property size whatever the commits were.
const maxRecentID = 64

// recentID is how Recent keeps messageID.
func recentID(messageID string) string {
	if len(messageID) <= maxRecentID {
		return messageID
	}
	sum := sha256.Sum256([]byte(messageID))
	return "sha256:" + hex.EncodeToString(sum[:])
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
