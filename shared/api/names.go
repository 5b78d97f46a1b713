package api

// Permissions of the Admin API (docs/admin-api.md#roles-and-permissions): what a role grants and a route needs.
const (
	PermClustersRead       = "clusters/read"
	PermClustersRegister   = "clusters/register"
	PermClustersUnregister = "clusters/unregister"
	PermMachinesReset      = "machines/reset"
	PermOrphansCleanup     = "orphans/cleanup"
	PermDeadLettersReplay  = "deadletters/replay"
)

// Permissions are every permission of the Admin API, in the order GET /me reports them.
var Permissions = []string{PermClustersRead, PermClustersRegister, PermClustersUnregister,
	PermMachinesReset, PermOrphansCleanup, PermDeadLettersReplay}

// OperatorPermissions are what the built-in Registrar.Operator role grants besides reading
// (Registrar.Reader grants reading, Registrar.Admin everything).
var OperatorPermissions = []string{PermClustersRegister, PermClustersUnregister, PermMachinesReset}

// Built-in role names (docs/admin-api.md#roles-and-permissions).
const (
	RoleReader   = "Registrar.Reader"
	RoleOperator = "Registrar.Operator"
	RoleAdmin    = "Registrar.Admin"
)

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

// Outcome is how one message, command or sweep item ended (docs/messages.md#outcomes).
type Outcome string

// Outcomes.
const (
	Created   Outcome = "created"
	Updated   Outcome = "updated"
	Unchanged Outcome = "unchanged"
	Duplicate Outcome = "duplicate"
	Rejected  Outcome = "rejected"
)

// QueueKind is which of the inbound queues a message came by: it decides the message types
// accepted (docs/messages.md), whatever the queue is named.
type QueueKind string

// QueueName is a queue's name in the Service Bus namespace (a setting), recorded with a
// rejection.
type QueueName string

// The inbound queues' kinds (their names' defaults; the message types each accepts differ).
const (
	QueueRegistrationRequests QueueKind = "registration-requests"
	QueueMachineEvents        QueueKind = "machine-events"
)

// MsgRegister is the type of the Register message (docs/messages.md), which the command line sends.
const MsgRegister = "Register"

// Clouds accepted by Register (docs/messages.md).
const (
	CloudPublic = "AzureCloud"
	CloudChina  = "AzureChinaCloud"
	CloudUSGov  = "AzureUSGovernment"
)

// IsMachineName reports whether s is 1-63 characters of [A-Za-z0-9-].
func IsMachineName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') && s[i] != '-' {
			return false
		}
	}
	return true
}

// IsGUID reports whether s is a GUID in 8-4-4-4-12 hex form, the form every ID of docs/messages.md takes.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
