package domain

import (
	"context"
	"errors"
)

// Queues whose messages HandleMessage accepts (the setting names' defaults; the type sets differ).
const (
	QueueRegistrationRequests = "registration-requests"
	QueueMachineEvents        = "machine-events"
)

// HandleMessage decodes, validates and applies one inbound Service Bus message of the given
// queue kind (QueueRegistrationRequests or QueueMachineEvents). A permanent problem is recorded
// as a rejection (with a RequestRejected event) and returned as Outcome Rejected with a nil
// error; a returned error is transient.
func (s *Service) HandleMessage(ctx context.Context, queue string, body []byte, meta Meta) (Result, error) {
	return Result{}, errors.New("domain: HandleMessage is being built (issue 4)")
}

// Apply applies an admin command (Unregister, RepairRegistration, StartMachineReset) through the
// same rules as queue messages. A refusal comes back as Outcome Rejected with Problem set (it is
// not recorded as a message rejection); a returned error is transient.
func (s *Service) Apply(ctx context.Context, msg Message, meta Meta) (Result, error) {
	return Result{}, errors.New("domain: Apply is being built (issue 4)")
}

// PlanUnregister returns the clean-up an Unregister would request, without acting (dry run).
// ErrNotFound for an unknown cluster; a NotRegistered Problem when it is not registered.
func (s *Service) PlanUnregister(ctx context.Context, clusterID string, disableOnlyArc bool) (Plan, error) {
	return Plan{}, errors.New("domain: PlanUnregister is being built (issue 4)")
}
