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

// Rows of table Fleet, partition "summary": every row that is about more than one cluster's
// partition (docs/storage.md), so a commit's landed work is one transaction.
const (
	fleetPK    = "summary"
	rkCounts   = "counts"
	rkSync     = "sync"
	preSummary = "c|"
)

// maxRetries bounds every ETag retry loop; after it the conflict is reported as transient.
const maxRetries = 30

// listActs are a landed commit's list rows of sum at version: the fleet list row `c|`, merged so
// that its Counted column (what the counts include, set by fold) is kept; the row under its
// subscription `s|`; and a fold pointer `f|` telling fold the counts may lag. No read: the counts
// are not touched on a commit, so no row is contended there.
func listActs(sum domain.ClusterSummary, version int64) []aztables.TransactionAction {
	ck := key(sum.ClusterID)
	acts := []aztables.TransactionAction{{ActionType: aztables.TransactionTypeInsertMerge,
		Entity: summaryRow(preSummary+ck, sum, ordinal(version)).marshal()}}
	if sum.SubscriptionID != "" {
		acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace,
			Entity: summaryRow(subSummaryPrefix(sum.SubscriptionID)+ck, sum, "").marshal()})
	}
	ptr := row{PartitionKey: fleetPK, RowKey: preFold + ck + "|" + ordinal(version)}
	return append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: ptr.marshal()})
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
	rows, next, err := s.query(ctx, tableFleet, prefixFilter(fleetPK, preSummary)+statusFilter(f), p.Size(), p.Cursor)
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
		err = s.submit(ctx, tableFleet, []aztables.TransactionAction{conditional(nr, r.ETag)})
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
