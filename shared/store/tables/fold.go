package tables

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
)

// The counts (docs/storage.md, "Counts"): the fleet's `counts` row and each subscription's `n|`
// row are written only by fold, run by Pending (the OutboxRelay timer, one instance at a time),
// never on a message's path, so no row is contended there under scale-out. A landed commit that
// changed a cluster's list row leaves a fold pointer `f|<cluster>|<version>`; fold adds, for each
// pointed cluster, the difference between what its list row shows and what the counts include
// (the row's Counted column) to the counts and sets Counted, in one transaction conditional on
// every row it read. It is level-based: a repeat, or two runs at once, count nothing twice.

// foldOps bounds the operations of one fold transaction (the service allows 100). Besides the
// pointers it removes, a transaction writes the fleet counts row once (foldBaseOps) and, per
// cluster, its list row, its subscription's list row and the counts rows of its old and new
// subscription (foldItemOps). One cluster's pointers beyond foldPointersMax wait for the next run.
const (
	foldOps         = 90
	foldBaseOps     = 1
	foldItemOps     = 4
	foldPointersMax = foldOps - foldBaseOps - foldItemOps
)

// foldItem is one cluster a fold brings into the counts.
type foldItem struct {
	ck      string                 // the cluster's key (its partition key in Clusters)
	ptrs    []row                  // its fold pointers
	version int64                  // the newest version they name
	list    row                    // its `c|` row as read (ETag "" when absent)
	sum     domain.ClusterSummary  // what the list row should show
	counted *domain.ClusterSummary // what the counts include (nil: nothing)
	fixed   bool                   // the list rows lagged the state and are rewritten
	gone    bool                   // no state and no list row: only the pointers are removed
}

// fold brings the counts up to date with the clusters whose fold pointers are pending (at most
// maxLimit per run; the next run takes the rest). A conflict leaves the pointers for the next run.
func (s *Store) fold(ctx context.Context) error {
	ptrs, _, err := s.query(ctx, tableFleet, prefixFilter(fleetPK, preFold), maxLimit, "")
	if err != nil || len(ptrs) == 0 {
		return err
	}
	var items []*foldItem
	byKey := map[string]*foldItem{}
	for _, p := range ptrs {
		rest := strings.TrimPrefix(p.RowKey, preFold)
		i := strings.LastIndexByte(rest, '|')
		if i < 0 {
			continue
		}
		it := byKey[rest[:i]]
		if it == nil {
			it = &foldItem{ck: rest[:i]}
			byKey[it.ck] = it
			items = append(items, it)
		}
		if len(it.ptrs) == foldPointersMax {
			continue // one transaction's worth; the next run takes the rest (the fold is level-based)
		}
		it.ptrs = append(it.ptrs, p)
		if v, _ := strconv.ParseInt(rest[i+1:], 10, 64); v > it.version {
			it.version = v
		}
	}
	for len(items) > 0 {
		n, ops := 0, foldBaseOps
		for n < len(items) && (n == 0 || ops+foldItemOps+len(items[n].ptrs) <= foldOps) {
			ops += foldItemOps + len(items[n].ptrs)
			n++
		}
		// A conflict, or a pointer already removed, is another run's fold at once: its rows are
		// left to it (or to the next run), and nothing of this transaction was written.
		if err := s.foldSome(ctx, items[:n]); err != nil && !isConflict(err) && !isNotFound(err) {
			return err
		}
		items = items[n:]
	}
	return nil
}

// foldSome folds items in one transaction.
func (s *Store) foldSome(ctx context.Context, items []*foldItem) error {
	for _, it := range items {
		if err := s.readFold(ctx, it); err != nil {
			return err
		}
	}
	counts, err := s.readCounts(ctx, items)
	if err != nil {
		return err
	}
	var acts []aztables.TransactionAction
	changed := map[string]bool{}
	for _, it := range items {
		acts = append(acts, foldActs(it, counts, changed)...)
	}
	for _, rk := range slices.Sorted(maps.Keys(changed)) {
		data, _ := json.Marshal(counts[rk].c)
		acts = append(acts, conditional(row{PartitionKey: fleetPK, RowKey: rk, Data: string(data)}, counts[rk].etag))
	}
	if err := s.submit(ctx, tableFleet, acts); err != nil {
		return err
	}
	return s.dropMovedRows(ctx, items)
}

// foldActs moves one item's difference into counts (noting the rows it changed) and returns its
// writes: its pointers removed, and unless it changes nothing, its list row with Counted set (its
// subscription's copy too when rebuilt from the state).
func foldActs(it *foldItem, counts map[string]*countsRow, changed map[string]bool) []aztables.TransactionAction {
	var acts []aztables.TransactionAction
	for _, p := range it.ptrs {
		e := azcore.ETag(p.ETag)
		acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: p.marshal(), IfMatch: &e})
	}
	// A change the counts do not see (a name, arcIntegration: domain.SameCounts) under the same
	// subscription leaves them, and Counted, as they are.
	same := it.counted != nil && domain.SameCounts(*it.counted, it.sum) && it.counted.SubscriptionID == it.sum.SubscriptionID
	if it.gone || same && !it.fixed {
		return acts
	}
	add := func(sum domain.ClusterSummary, n int) {
		for _, rk := range []string{rkCounts, preSubCounts + key(sum.SubscriptionID)} {
			if rk != preSubCounts+key("") {
				counts[rk].c.Add(sum, n)
				changed[rk] = true
			}
		}
	}
	if it.counted != nil && !same {
		add(*it.counted, -1)
	}
	if !same {
		add(it.sum, 1)
	}
	lr := summaryRow(preSummary+it.ck, it.sum, ordinal(it.version))
	raw, _ := json.Marshal(it.sum)
	lr.Counted = string(raw)
	acts = append(acts, conditional(lr, it.list.ETag))
	if it.fixed && it.sum.SubscriptionID != "" {
		acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace,
			Entity: summaryRow(subSummaryPrefix(it.sum.SubscriptionID)+it.ck, it.sum, "").marshal()})
	}
	return acts
}

// readFold reads what fold needs of one cluster: its list row and, when that lags the newest
// commit its pointers name (two landed batches raced) or is missing, its state.
func (s *Store) readFold(ctx context.Context, it *foldItem) error {
	lr, err := s.get(ctx, tableFleet, fleetPK, preSummary+it.ck)
	if err != nil && !isNotFound(err) {
		return err
	}
	exists := err == nil
	if exists {
		it.list = lr
		if lr.Counted != "" {
			it.counted = &domain.ClusterSummary{}
			if err := json.Unmarshal([]byte(lr.Counted), it.counted); err != nil {
				return fmt.Errorf("tables: decode counted summary of %s: %w", it.ck, err)
			}
		}
		if v, _ := strconv.ParseInt(lr.Version, 10, 64); v >= it.version {
			it.version = v
			return json.Unmarshal([]byte(lr.Data), &it.sum)
		}
	}
	st, err := s.get(ctx, tableClusters, it.ck, rkState)
	if isNotFound(err) {
		it.gone = !exists
		if exists {
			return json.Unmarshal([]byte(lr.Data), &it.sum)
		}
		return nil
	}
	if err != nil {
		return err
	}
	var c domain.Cluster
	if err := json.Unmarshal([]byte(st.Data), &c); err != nil {
		return fmt.Errorf("tables: decode cluster %s: %w", it.ck, err)
	}
	it.sum, it.version, it.fixed = c.Summary(), c.Version, true
	return nil
}

// countsRow is a counts row as read: its counts and ETag ("" when absent).
type countsRow struct {
	c    domain.FleetCounts
	etag string
}

// readCounts reads the fleet's counts row and those of the subscriptions items touch.
func (s *Store) readCounts(ctx context.Context, items []*foldItem) (map[string]*countsRow, error) {
	rks := []string{rkCounts}
	for _, it := range items {
		for _, sum := range []*domain.ClusterSummary{it.counted, &it.sum} {
			if sum != nil && sum.SubscriptionID != "" && !slices.Contains(rks, preSubCounts+key(sum.SubscriptionID)) {
				rks = append(rks, preSubCounts+key(sum.SubscriptionID))
			}
		}
	}
	out := map[string]*countsRow{}
	for _, rk := range rks {
		r, err := s.get(ctx, tableFleet, fleetPK, rk)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		cr := &countsRow{}
		if err == nil {
			cr.etag = r.ETag
			if err := json.Unmarshal([]byte(r.Data), &cr.c); err != nil {
				return nil, fmt.Errorf("tables: decode counts %s: %w", rk, err)
			}
		}
		out[rk] = cr
	}
	return out, nil
}

// dropMovedRows removes the list rows left under a subscription a folded cluster moved from
// (the landed batch removes them too; this covers a repair from the state).
func (s *Store) dropMovedRows(ctx context.Context, items []*foldItem) error {
	for _, it := range items {
		if it.counted != nil && it.counted.SubscriptionID != "" && it.counted.SubscriptionID != it.sum.SubscriptionID {
			if err := s.remove(ctx, tableFleet, fleetPK, subSummaryPrefix(it.counted.SubscriptionID)+it.ck, ""); err != nil {
				return err
			}
		}
	}
	return nil
}
