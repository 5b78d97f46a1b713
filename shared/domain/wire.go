package domain

import "github.com/azlocal/registrar/shared/api"

// The Admin API's wire types (docs/admin-api.md) live in shared/api, which the command line and
// the dashboard share without importing the domain; the domain builds them under the same names.
type (
	ClusterView       = api.ClusterView
	NodeView          = api.NodeView
	ResetOperation    = api.ResetOperation
	ResetStage        = api.ResetStage
	HistoryEntry      = api.HistoryEntry
	Rejection         = api.Rejection
	ClusterSummary    = api.ClusterSummary
	Artifact          = api.Artifact
	CleanupStep       = api.CleanupStep
	Plan              = api.Plan
	ResetStatusView   = api.ResetStatusView
	StandaloneMachine = api.StandaloneMachine
	PageOf[T any]     = api.PageOf[T]
	Deadline          = api.Deadline
	OrphanView        = api.OrphanView
)
