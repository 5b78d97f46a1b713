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
