package domain

import (
	"context"
	"errors"
	"time"
)

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

// ResetStatus returns the machine's current (or last) reset; ErrNotFound when the cluster or
// machine is unknown or it never had one.
func (s *Service) ResetStatus(ctx context.Context, clusterID, machine string) (ResetStatusView, error) {
	return ResetStatusView{}, errors.New("domain: ResetStatus is being built (issue 5)")
}
