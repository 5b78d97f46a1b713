package domain

import "context"

// History lists a cluster's state changes, newest first.
func (s *Service) History(ctx context.Context, clusterID string, p Page) (PageOf[HistoryEntry], error) {
	return s.store.History(ctx, clusterID, p)
}

// ListClusters lists the fleet's clusters matching f, one page at a time.
func (s *Service) ListClusters(ctx context.Context, f ClusterFilter, p Page) (PageOf[ClusterSummary], error) {
	return s.store.ListClusters(ctx, f, p)
}

// Rejections lists rejected messages, newest first.
func (s *Service) Rejections(ctx context.Context, p Page) (PageOf[Rejection], error) {
	return s.store.Rejections(ctx, p)
}

// Counts returns the fleet's status counts with their as-of time.
func (s *Service) Counts(ctx context.Context) (FleetCounts, error) {
	return s.store.Counts(ctx)
}
