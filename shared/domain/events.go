package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Event types published on the topic (docs/events.md).
const (
	EvClusterRegistered           = "ClusterRegistered"
	EvArcEnabled                  = "ArcEnabled"
	EvClusterUnregistered         = "ClusterUnregistered"
	EvCleanupRequested            = "CleanupRequested"
	EvRegistrationRepaired        = "RegistrationRepaired"
	EvMachineResetRequested       = "MachineResetRequested"
	EvMachineReadyForRegistration = "MachineReadyForRegistration"
	EvMachineResetFailed          = "MachineResetFailed"
	EvMachineResetStalled         = "MachineResetStalled"
	EvMachineResetCancelled       = "MachineResetCancelled"
	EvPolicyWarning               = "PolicyWarning"
	EvPolicyViolated              = "PolicyViolated"
	EvPolicyRestored              = "PolicyRestored"
	EvOrphanSuspected             = "OrphanSuspected"
	EvOrphanCleared               = "OrphanCleared"
	EvOrphanCleanedUp             = "OrphanCleanedUp"
	EvRequestRejected             = "RequestRejected"
)

// SchemaVersion is the events' schema version, in the body and as an application property.
const SchemaVersion = 1

// UnknownSession is the SessionId (and the store partition) of events about no known cluster.
const UnknownSession = "unknown"

// Event is one outbound event, committed with the state change that caused it and published
// after the commit (docs/events.md). Body is the complete JSON body.
type Event struct {
	ID            string          `json:"id"` // the Service Bus MessageId: deterministic, so a re-publish is a duplicate
	Type          string          `json:"type"`
	ClusterID     string          `json:"clusterId"` // "" when the cause named no valid cluster
	CorrelationID string          `json:"correlationId,omitempty"`
	At            time.Time       `json:"at"`
	Key           string          `json:"key"` // orders the events of one partition; set by Change.Add
	Body          json.RawMessage `json:"body"`
	// Session, when set, is the SessionId (and the store partition) of an event about no cluster
	// that has one of its own: "machine:<name>" for a standalone machine.
	Session string `json:"session,omitempty"`
	// Traceparent is the W3C trace context of the invocation that committed the event, stored with
	// it so a later publish (OutboxRelay) still links the event to its cause; "" when unknown.
	Traceparent string `json:"traceparent,omitempty"`
}

// Correlation is the Service Bus CorrelationId of the event: the cause's correlation ID (or
// MessageId), else, for an event of an admin call or a sweep, the event's own ID.
func (e Event) Correlation() string {
	if e.CorrelationID != "" {
		return e.CorrelationID
	}
	return e.ID
}

// SessionID is the Service Bus SessionId of the event: its Session when set, its cluster, or
// "unknown".
func (e Event) SessionID() string {
	if e.Session != "" {
		return e.Session
	}
	if e.ClusterID == "" {
		return UnknownSession
	}
	return e.ClusterID
}

// NewEvent builds an event whose body is fields (a struct or nil) plus type, clusterId, at and
// schemaVersion. cause (an inbound MessageId or a sweep run ID) and index make the ID
// deterministic: the same cause producing the same event yields the same MessageId.
func NewEvent(cause string, index int, typ, clusterID, correlationID string, at time.Time, fields any) Event {
	body := map[string]json.RawMessage{}
	if fields != nil {
		raw, err := json.Marshal(fields)
		if err != nil {
			panic(fmt.Sprintf("domain: event %s fields: %v", typ, err)) // programming error: fields are typed structs
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			panic(fmt.Sprintf("domain: event %s fields are not an object: %v", typ, err))
		}
	}
	put := func(k string, v any) { raw, _ := json.Marshal(v); body[k] = raw }
	put("type", typ)
	put("clusterId", clusterID)
	put("at", at.UTC().Format(time.RFC3339Nano))
	put("schemaVersion", SchemaVersion)
	raw, _ := json.Marshal(body)
	sum := sha256.Sum256([]byte(cause + "\x00" + clusterID + "\x00" + typ + "\x00" + strconv.Itoa(index)))
	return Event{ID: hex.EncodeToString(sum[:16]), Type: typ, ClusterID: clusterID, CorrelationID: correlationID, At: at.UTC(), Body: raw}
}
