package storetest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

// Counting is a domain.Store that counts the calls made through it: on Table Storage each is one
// round trip (paging aside), and a call over several subscriptions (CountsIn, RejectionsIn) one per
// subscription. It is the one store-call counter of the tests that bound a cost.
type Counting struct {
	domain.Store
	only map[string]bool // the methods counted; nil: every one
	n    atomic.Int64
}

// Count wraps st, counting the calls of the named methods (every method when none is named).
func Count(st domain.Store, methods ...string) *Counting {
	c := &Counting{Store: st}
	if len(methods) > 0 {
		c.only = map[string]bool{}
		for _, m := range methods {
			c.only[m] = true
		}
	}
	return c
}

// Calls is how many counted calls were made since the start or the last Reset.
func (c *Counting) Calls() int64 { return c.n.Load() }

// Reset sets the count to zero.
func (c *Counting) Reset() { c.n.Store(0) }

func (c *Counting) add(method string, n int) {
	if c.only == nil || c.only[method] {
		c.n.Add(int64(n))
	}
}

func (c *Counting) Load(ctx context.Context, clusterID, messageID string) (domain.ClusterRecord, error) {
	c.add("Load", 1)
	return c.Store.Load(ctx, clusterID, messageID)
}

func (c *Counting) LoadState(ctx context.Context, clusterID string) (domain.ClusterRecord, error) {
	c.add("LoadState", 1)
	return c.Store.LoadState(ctx, clusterID)
}

func (c *Counting) Commit(ctx context.Context, ch domain.Change) (string, error) {
	c.add("Commit", 1)
	return c.Store.Commit(ctx, ch)
}

func (c *Counting) History(ctx context.Context, clusterID string, p domain.Page) (domain.PageOf[domain.HistoryEntry], error) {
	c.add("History", 1)
	return c.Store.History(ctx, clusterID, p)
}

func (c *Counting) Rejections(ctx context.Context, p domain.Page) (domain.PageOf[domain.Rejection], error) {
	c.add("Rejections", 1)
	return c.Store.Rejections(ctx, p)
}

func (c *Counting) RejectionsIn(ctx context.Context, subscriptions []string, p domain.Page) (domain.PageOf[domain.Rejection], error) {
	c.add("RejectionsIn", len(subscriptions))
	return c.Store.RejectionsIn(ctx, subscriptions, p)
}

func (c *Counting) PruneMarkers(ctx context.Context, clusterID string, before time.Time) error {
	c.add("PruneMarkers", 1)
	return c.Store.PruneMarkers(ctx, clusterID, before)
}

func (c *Counting) ListClusters(ctx context.Context, f domain.ClusterFilter, p domain.Page) (domain.PageOf[domain.ClusterSummary], error) {
	c.add("ListClusters", 1)
	return c.Store.ListClusters(ctx, f, p)
}

func (c *Counting) Counts(ctx context.Context) (domain.FleetCounts, error) {
	c.add("Counts", 1)
	return c.Store.Counts(ctx)
}

func (c *Counting) CountsIn(ctx context.Context, subscriptions []string) (domain.FleetCounts, error) {
	c.add("CountsIn", len(subscriptions))
	return c.Store.CountsIn(ctx, subscriptions)
}

func (c *Counting) NoteSync(ctx context.Context, at time.Time) error {
	c.add("NoteSync", 1)
	return c.Store.NoteSync(ctx, at)
}

func (c *Counting) NewestSync(ctx context.Context) (time.Time, error) {
	c.add("NewestSync", 1)
	return c.Store.NewestSync(ctx)
}

func (c *Counting) PutIndex(ctx context.Context, e domain.IndexEntry) error {
	c.add("PutIndex", 1)
	return c.Store.PutIndex(ctx, e)
}

func (c *Counting) PutIndexIf(ctx context.Context, e domain.IndexEntry, etag string) error {
	c.add("PutIndexIf", 1)
	return c.Store.PutIndexIf(ctx, e, etag)
}

func (c *Counting) GetIndex(ctx context.Context, kind, group, name string) (domain.IndexEntry, error) {
	c.add("GetIndex", 1)
	return c.Store.GetIndex(ctx, kind, group, name)
}

func (c *Counting) GetIndexes(ctx context.Context, kind, group string, names []string) ([]domain.IndexEntry, error) {
	c.add("GetIndexes", 1)
	return c.Store.GetIndexes(ctx, kind, group, names)
}

func (c *Counting) AddIndexes(ctx context.Context, entries []domain.IndexEntry) error {
	c.add("AddIndexes", 1)
	return c.Store.AddIndexes(ctx, entries)
}

func (c *Counting) PutIndexes(ctx context.Context, entries []domain.IndexEntry) error {
	c.add("PutIndexes", 1)
	return c.Store.PutIndexes(ctx, entries)
}

func (c *Counting) ListIndex(ctx context.Context, kind, group string) ([]domain.IndexEntry, error) {
	c.add("ListIndex", 1)
	return c.Store.ListIndex(ctx, kind, group)
}

func (c *Counting) ListIndexPage(ctx context.Context, kind, group string, p domain.Page) (domain.PageOf[domain.IndexEntry], error) {
	c.add("ListIndexPage", 1)
	return c.Store.ListIndexPage(ctx, kind, group, p)
}

func (c *Counting) DeleteIndex(ctx context.Context, kind, group, name string) error {
	c.add("DeleteIndex", 1)
	return c.Store.DeleteIndex(ctx, kind, group, name)
}

func (c *Counting) DeleteIndexIf(ctx context.Context, kind, group, name, etag string) error {
	c.add("DeleteIndexIf", 1)
	return c.Store.DeleteIndexIf(ctx, kind, group, name, etag)
}

func (c *Counting) Schedule(ctx context.Context, d domain.Due) error {
	c.add("Schedule", 1)
	return c.Store.Schedule(ctx, d)
}

func (c *Counting) DueBy(ctx context.Context, until time.Time, limit int) ([]domain.Due, error) {
	c.add("DueBy", 1)
	return c.Store.DueBy(ctx, until, limit)
}

func (c *Counting) Unschedule(ctx context.Context, d domain.Due) error {
	c.add("Unschedule", 1)
	return c.Store.Unschedule(ctx, d)
}

func (c *Counting) Pending(ctx context.Context, limit int) ([]domain.Event, error) {
	c.add("Pending", 1)
	return c.Store.Pending(ctx, limit)
}

func (c *Counting) PendingIn(ctx context.Context, partition string, limit int) ([]domain.Event, error) {
	c.add("PendingIn", 1)
	return c.Store.PendingIn(ctx, partition, limit)
}

func (c *Counting) MarkPublished(ctx context.Context, events []domain.Event) error {
	c.add("MarkPublished", 1)
	return c.Store.MarkPublished(ctx, events)
}

func (c *Counting) PutAttention(ctx context.Context, rows []domain.AttentionRow) error {
	c.add("PutAttention", 1)
	return c.Store.PutAttention(ctx, rows)
}

func (c *Counting) DropAttention(ctx context.Context, rows []domain.AttentionRow) error {
	c.add("DropAttention", 1)
	return c.Store.DropAttention(ctx, rows)
}

func (c *Counting) AttentionBy(ctx context.Context, after domain.AttentionRow, until time.Time, limit int) ([]domain.AttentionRow, error) {
	c.add("AttentionBy", 1)
	return c.Store.AttentionBy(ctx, after, until, limit)
}
