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

// Rejections lists the rejected messages of the scope, newest first: every one for the All
// scope, else those listed under its subscriptions (see rejectionScope).
func (s *Service) Rejections(ctx context.Context, scope Scope, p Page) (PageOf[Rejection], error) {
	if scope.All {
		return s.store.Rejections(ctx, p)
	}
	return s.store.RejectionsIn(ctx, scope.Subscriptions, p)
}

// Counts returns the status counts of the scope's clusters: the fleet's for the All scope, else
// the sum of its subscriptions' (clusters of no subscription are only in the fleet's).
func (s *Service) Counts(ctx context.Context, scope Scope) (FleetCounts, error) {
	if scope.All {
		return s.store.Counts(ctx)
	}
	return s.store.CountsIn(ctx, scope.Subscriptions)
}
