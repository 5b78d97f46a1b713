package domain

import (
	"context"
	"errors"
	"time"
)

// Policies named in PolicyWarning, PolicyViolated and PolicyRestored events.
const (
	PolicyRegistration = "Registration"
	PolicyCluster      = "Cluster"
	PolicyConnection   = "Connection"
	PolicyCredential   = "Credential"
	PolicyBios         = "BiosConfig"
)

// Deadline is one upcoming deadline of a cluster.
type Deadline struct {
	ClusterID   string    `json:"clusterId"`
	ClusterName string    `json:"clusterName,omitempty"`
	Policy      string    `json:"policy"` // Registration | Cluster | Connection | Credential | OrphanGrace | ResetStall
	Deadline    time.Time `json:"deadline"`
	Action      string    `json:"action"` // a sentence: what to do
}

// SweepRun identifies one timer run.
type SweepRun struct {
	ID      string // the invocation ID: the cause of the events it emits
	PastDue bool   // the run is late (Functions' IsPastDue)
	Limit   int    // at most this many due clusters per run; <= 0 means a default
}

// SweepReport is what one sweep run did.
type SweepReport struct {
	Examined    int  `json:"examined"`
	Changed     int  `json:"changed"`
	Events      int  `json:"events"`
	More        bool `json:"more"`        // more was due than the run's limit: the next run continues
	GuardActive bool `json:"guardActive"` // no syncs heard fleet-wide: silence-based transitions held back
}

// OrphanView is a suspected orphan with its grace deadline and the clean-up it would request.
type OrphanView struct {
	ClusterID   string    `json:"clusterId"`
	ClusterName string    `json:"clusterName,omitempty"`
	Reason      string    `json:"reason"` // Silent | MachinesClaimed
	GraceUntil  time.Time `json:"graceUntil"`
	Plan        Plan      `json:"plan"`
}

var errSweepNotBuilt = errors.New("domain: sweeps are being built (issue 6)")

// CheckPolicies is the PolicyExpiryCheck run (SPEC §4).
func (s *Service) CheckPolicies(ctx context.Context, run SweepRun) (SweepReport, error) {
	return SweepReport{}, errSweepNotBuilt
}

// SweepOrphans is the OrphanSweep run (SPEC §5).
func (s *Service) SweepOrphans(ctx context.Context, run SweepRun) (SweepReport, error) {
	return SweepReport{}, errSweepNotBuilt
}

// Upcoming lists deadlines due within the given time from now, soonest first.
func (s *Service) Upcoming(ctx context.Context, within time.Duration) ([]Deadline, error) {
	return nil, errSweepNotBuilt
}

// Orphans lists suspected orphans with their grace deadline and clean-up plan (a dry run).
func (s *Service) Orphans(ctx context.Context) ([]OrphanView, error) {
	return nil, errSweepNotBuilt
}

// CleanupOrphans cleans up suspects whose grace has ended (never skipping the grace); with
// dryRun it only returns the plans.
func (s *Service) CleanupOrphans(ctx context.Context, dryRun bool, meta Meta) ([]Plan, error) {
	return nil, errSweepNotBuilt
}
