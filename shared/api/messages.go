package api

import "time"

// RegisterMessage is the body of a Register message (docs/messages.md) without its "type", which
// the sender adds: the command line sends it and the domain decodes into it (domain.Register).
// Optional fields are left out when empty; the service reads an absent field as an empty one, and
// docs/schemas/messages/Register.schema.json refuses a blank text where it allows an absent one.
type RegisterMessage struct {
	ClusterID           string         `json:"clusterId"`
	ClusterName         string         `json:"clusterName"`
	Region              string         `json:"region"`
	SubscriptionID      string         `json:"subscriptionId"`
	TenantID            string         `json:"tenantId"`
	Cloud               string         `json:"cloud,omitempty"`
	ResourceName        string         `json:"resourceName,omitempty"`
	ResourceGroup       string         `json:"resourceGroup,omitempty"`
	ArcResourceGroup    string         `json:"arcResourceGroup,omitempty"`
	OSVersion           string         `json:"osVersion,omitempty"`
	RequestedBy         string         `json:"requestedBy,omitempty"`
	CreateResourceGroup bool           `json:"createResourceGroup,omitempty"`
	Nodes               []RegisterNode `json:"nodes"` // required: at least one
	ArcSPN              *ArcSPN        `json:"arcSpn,omitempty"`
}

// RegisterNode is one node named by a Register.
type RegisterNode struct {
	Name           string `json:"name"`
	BiosConfigHash string `json:"biosConfigHash,omitempty"`
}

// ArcSPN is the service principal used for Arc onboarding (a Register's or a repair's arcSpn).
// CredentialExpiresAt goes on the wire as RFC 3339 in UTC, with a fraction of a second only when
// it has one; both the service and docs/schemas/defs.schema.json#/$defs/time accept either.
type ArcSPN struct {
	AppID               string    `json:"appId"`
	CredentialExpiresAt time.Time `json:"credentialExpiresAt"`
}
