package domain

import (
	"time"

	"github.com/azlocal/registrar/shared/api"
)

// Inbound message types (docs/messages.md).
const (
	MsgRegister           = api.MsgRegister
	MsgUnregister         = "Unregister"
	MsgRepairRegistration = "RepairRegistration"
	MsgStartMachineReset  = "StartMachineReset"
	MsgMachineInstalled   = "MachineInstalled"
	MsgClusterCreated     = "ClusterCreated"
	MsgSync               = "Sync"
	MsgResetProgress      = "ResetProgress"
	MsgResetCompleted     = "ResetCompleted"
	MsgCancelMachineReset = "CancelMachineReset" // the Admin API's DELETE of a reset; no queue carries it
)

// MaxBodyBytes is the largest accepted message body (docs/messages.md); larger is MessageTooLarge.
const MaxBodyBytes = 256 << 10

// MaxNodes is the most nodes a cluster may have (as Azure Local).
const MaxNodes = 16

// Message is a decoded, validated inbound message or admin command.
type Message interface {
	MessageType() string
	// ClusterKey is the lower-case cluster ID the message is about, "" when it names none.
	ClusterKey() string
}

// QueueKind is which of the inbound queues a message came by (api.QueueKind).
type QueueKind = api.QueueKind

// QueueName is a queue's name in the Service Bus namespace (api.QueueName).
type QueueName = api.QueueName

// Source says where a message or command comes from.
type Source string

const (
	// SourceAdmin is an Admin API command (Apply): an unknown cluster is refused UnknownCluster.
	SourceAdmin Source = "admin"
	// SourceQueue is a Service Bus message (HandleMessage).
	SourceQueue Source = "queue"
	// SourceSweep is a timer's sweep.
	SourceSweep Source = "sweep"
)

// Meta is what the transport says about a message.
type Meta struct {
	// Source is where the message comes from; Apply takes a Meta without one for SourceAdmin.
	Source        Source
	MessageID     string
	CorrelationID string
	EnqueuedAt    time.Time // server clock: LastConnected comes from here, never from the body
	Queue         QueueName // the queue a message came by (SourceQueue)
	Principal     string    // the admin caller (authenticated), recorded in history
	RequestedBy   string    // who a queue command says asked (Register's requestedBy: the sender's word), recorded in history
	Cause         string    // what is recorded as the history's cause when not the message type (e.g. "POST /clusters/{id}/unregister")
	// Scope limits an admin command to the clusters its caller may act on: Apply refuses any
	// other cluster (or an unknown one) with ErrOutOfScope before deciding. nil: no limit.
	Scope *Scope
}

// ArcSPN is the service principal used for Arc onboarding (api.ArcSPN).
type ArcSPN = api.ArcSPN

// RegisterNode is one node named by a Register (api.RegisterNode).
type RegisterNode = api.RegisterNode

// Register asks to register a cluster (Register-AzStackHCI). Its wire shape is api.RegisterMessage,
// which the command line sends; Decode validates it (docs/messages.md).
type Register api.RegisterMessage

// Unregister asks to unregister a cluster (Unregister-AzStackHCI).
type Unregister struct {
	ClusterID      string `json:"clusterId"`
	DisableOnlyArc bool   `json:"disableOnlyArc"`
}

// RepairRegistration repairs a registration (Register-AzStackHCI -RepairRegistration).
type RepairRegistration struct {
	ClusterID string  `json:"clusterId"`
	ArcSPN    *ArcSPN `json:"arcSpn"`
}

// StartMachineReset starts a bootstrap reset of one machine (Start-ArcBootstrapReset). Restart
// replaces a Stalled or Failed operation (the old one ends Superseded).
type StartMachineReset struct {
	ClusterID string `json:"clusterId"`
	Machine   string `json:"machine"`
	Restart   bool   `json:"restart,omitempty"`
}

// CancelMachineReset cancels a machine's Stalled reset (an Admin API command only).
type CancelMachineReset struct {
	ClusterID string `json:"clusterId"`
	Machine   string `json:"machine"`
}

// MachineInstalled reports a machine's installation; ClusterID may be empty.
type MachineInstalled struct {
	ClusterID   string    `json:"clusterId"`
	Machine     string    `json:"machine"`
	InstalledAt time.Time `json:"installedAt"`
	OSVersion   string    `json:"osVersion"`
}

// ClusterCreated reports that a cluster was created from machines.
type ClusterCreated struct {
	ClusterID   string    `json:"clusterId"`
	ClusterName string    `json:"clusterName"`
	Nodes       []string  `json:"nodes"`
	CreatedAt   time.Time `json:"createdAt"`
}

// Sync is the 12-hourly census sync of one machine.
type Sync struct {
	ClusterID       string `json:"clusterId"`
	Machine         string `json:"machine"`
	BiosConfigHash  string `json:"biosConfigHash"`
	ArcAgentVersion string `json:"arcAgentVersion"`
	OSVersion       string `json:"osVersion"`
}

// ResetProgress reports a reset stage's progress; ClusterID may be empty.
type ResetProgress struct {
	ClusterID   string `json:"clusterId"`
	OperationID string `json:"operationId"`
	Machine     string `json:"machine"`
	Stage       string `json:"stage"`
	Status      string `json:"status"`
}

// ResetCompleted reports a reset's end; ClusterID may be empty.
type ResetCompleted struct {
	ClusterID   string `json:"clusterId"`
	OperationID string `json:"operationId"`
	Machine     string `json:"machine"`
	Result      string `json:"result"`
	Error       string `json:"error"`
}

func (Register) MessageType() string           { return MsgRegister }
func (Unregister) MessageType() string         { return MsgUnregister }
func (RepairRegistration) MessageType() string { return MsgRepairRegistration }
func (StartMachineReset) MessageType() string  { return MsgStartMachineReset }
func (MachineInstalled) MessageType() string   { return MsgMachineInstalled }
func (ClusterCreated) MessageType() string     { return MsgClusterCreated }
func (Sync) MessageType() string               { return MsgSync }
func (ResetProgress) MessageType() string      { return MsgResetProgress }
func (ResetCompleted) MessageType() string     { return MsgResetCompleted }
func (CancelMachineReset) MessageType() string { return MsgCancelMachineReset }

func (m Register) ClusterKey() string           { return m.ClusterID }
func (m Unregister) ClusterKey() string         { return m.ClusterID }
func (m RepairRegistration) ClusterKey() string { return m.ClusterID }
func (m StartMachineReset) ClusterKey() string  { return m.ClusterID }
func (m MachineInstalled) ClusterKey() string   { return m.ClusterID }
func (m ClusterCreated) ClusterKey() string     { return m.ClusterID }
func (m Sync) ClusterKey() string               { return m.ClusterID }
func (m ResetProgress) ClusterKey() string      { return m.ClusterID }
func (m ResetCompleted) ClusterKey() string     { return m.ClusterID }
func (m CancelMachineReset) ClusterKey() string { return m.ClusterID }
