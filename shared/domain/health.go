package domain

import "context"

// healthPartition is a partition no cluster and no rejection uses: Ping reads it.
const healthPartition = "healthz"

// Ping reports whether the store answers, at the cost of one read (of a partition no cluster
// uses, so nothing about the fleet is read). GET /api/v1/healthz answers with it
// (docs/admin-api.md).
func (s *Service) Ping(ctx context.Context) error {
	_, err := s.store.Load(ctx, healthPartition, "")
	return err
}
