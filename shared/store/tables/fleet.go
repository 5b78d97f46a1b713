package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
)

// Rows of table Fleet, all in partition "summary" so a projection and the counts change in one
// transaction.
const (
	fleetPK    = "summary"
	rkCounts   = "counts"
	rkSync     = "sync"
	preSummary = "c|"
)

// maxRetries bounds every ETag retry loop; after it the conflict is reported as transient.
const maxRetries = 30

// project writes the cluster's list row and adjusts the counts by the difference from the row
// it replaces, with its subscription's rows (subscriptionActs), in one transaction conditional on
// the rows' ETags. It is level-based (the delta comes from the stored row), so a repeat never
// counts twice; an older version never replaces a newer one.
func (s *Store) project(ctx context.Context, sum domain.ClusterSummary, version int64) error {
	rk := preSummary + key(sum.ClusterID)
	for range maxRetries {
		old, err := s.get(ctx, tableFleet, fleetPK, rk)
		if err != nil && !isNotFound(err) {
			return err
		}
		exists := err == nil
		data, _ := json.Marshal(sum)
		if exists && (old.Version > ordinal(version) || old.Version == ordinal(version) && old.Data == string(data)) {
			return nil // a newer state is projected, or this one already is
		}
		var prev *domain.ClusterSummary
		if exists {
			prev = &domain.ClusterSummary{}
			if err := json.Unmarshal([]byte(old.Data), prev); err != nil {
				return fmt.Errorf("tables: decode summary %s: %w", sum.ClusterID, err)
			}
		}
		acts := []aztables.TransactionAction{conditional(summaryRow(rk, sum, ordinal(version)), old.ETag)}
		if prev == nil || !domain.SameCounts(*prev, sum) { // a change the counts do not see leaves them alone
			ca, err := s.countsAct(ctx, prev, sum)
			if err != nil {
				return err
			}
			acts = append(acts, ca)
		}
		subActs, err := s.subscriptionActs(ctx, prev, sum)
		if err != nil {
			return err
		}
		_, err = s.transact(ctx, tableFleet, append(acts, subActs...))
		if !errors.Is(err, domain.ErrConflict) {
			return err
		}
		backoff(ctx)
	}
	// Not ErrConflict: the commit it follows has succeeded, and a caller re-deciding on a conflict
	// would take its own change for another's. The outbox marker repairs the projection.
	return fmt.Errorf("tables: projection of %s: still conflicting after %d attempts: %w", sum.ClusterID, maxRetries, domain.ErrTransient)
}

// countsAct is the counts row adjusted from prev (nil: none) to sum, conditional on the row read.
func (s *Store) countsAct(ctx context.Context, prev *domain.ClusterSummary, sum domain.ClusterSummary) (aztables.TransactionAction, error) {
	cr, err := s.get(ctx, tableFleet, fleetPK, rkCounts)
	if err != nil && !isNotFound(err) {
		return aztables.TransactionAction{}, err
	}
	var c domain.FleetCounts
	if err == nil {
		if err := json.Unmarshal([]byte(cr.Data), &c); err != nil {
			return aztables.TransactionAction{}, fmt.Errorf("tables: decode counts: %w", err)
		}
	}
	if prev != nil {
		c.Add(*prev, -1)
	}
	c.Add(sum, 1)
	cdata, _ := json.Marshal(c)
	return conditional(row{PartitionKey: fleetPK, RowKey: rkCounts, Data: string(cdata)}, cr.ETag), nil
}

// conditional inserts r when etag is empty (conflict if it exists), else replaces it If-Match.
func conditional(r row, etag string) aztables.TransactionAction {
	if etag == "" {
		return aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: r.marshal()}
	}
	e := azcore.ETag(etag)
	return aztables.TransactionAction{ActionType: aztables.TransactionTypeUpdateReplace, Entity: r.marshal(), IfMatch: &e}
}

// ListClusters implements domain.FleetStore, in cluster key order; filters run server-side. A
// limited scope reads its subscriptions' own rows (listScoped).
func (s *Store) ListClusters(ctx context.Context, f domain.ClusterFilter, p domain.Page) (domain.PageOf[domain.ClusterSummary], error) {
	if f.Scope != nil && !f.Scope.All {
		return s.listScoped(ctx, f.Scope.Subscriptions, f, p)
	}
	rows, next, err := s.query(ctx, tableFleet, prefixFilter(fleetPK, preSummary)+statusFilter(f), limitOf(p.Limit), p.Cursor)
	if err != nil {
		return domain.PageOf[domain.ClusterSummary]{}, err
	}
	return decodeRows[domain.ClusterSummary](rows, next)
}

// Counts implements domain.FleetStore: one row read.
func (s *Store) Counts(ctx context.Context) (domain.FleetCounts, error) {
	var c domain.FleetCounts
	r, err := s.get(ctx, tableFleet, fleetPK, rkCounts)
	if err == nil {
		err = json.Unmarshal([]byte(r.Data), &c)
	} else if isNotFound(err) {
		err = nil
	}
	if err != nil {
		return domain.FleetCounts{}, err
	}
	return withEmptyMaps(c), nil
}

// NoteSync implements domain.FleetStore: the row only moves forward, If-Match.
func (s *Store) NoteSync(ctx context.Context, at time.Time) error {
	for range maxRetries {
		r, err := s.get(ctx, tableFleet, fleetPK, rkSync)
		if err != nil && !isNotFound(err) {
			return err
		}
		if err == nil {
			if prev, err := r.at(); err == nil && !at.After(prev) {
				return nil
			} // an unreadable row is overwritten (If-Match) with a readable time
		}
		nr := row{PartitionKey: fleetPK, RowKey: rkSync}
		nr.setAt(at)
		_, err = s.transact(ctx, tableFleet, []aztables.TransactionAction{conditional(nr, r.ETag)})
		if !errors.Is(err, domain.ErrConflict) {
			return err
		}
		backoff(ctx)
	}
	return fmt.Errorf("tables: note sync: %w after %d attempts: %w", domain.ErrConflict, maxRetries, domain.ErrTransient)
}

// NewestSync implements domain.FleetStore.
func (s *Store) NewestSync(ctx context.Context) (time.Time, error) {
	r, err := s.get(ctx, tableFleet, fleetPK, rkSync)
	if isNotFound(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return r.at()
}

// backoff waits a few random milliseconds before a retry after a conflict.
func backoff(ctx context.Context) {
	t := time.NewTimer(time.Duration(1+rand.IntN(20)) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
