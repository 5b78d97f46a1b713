package domain

import (
	"context"
	"time"
)

// Store is everything the domain keeps. Implementations: shared/store/memory and
// shared/store/tables; both pass the contract suite in shared/store/storetest.
// Implementations return the sentinel errors of errors.go (ErrNotFound, ErrConflict,
// ErrTransient), never a backend's raw error text.
type Store interface {
	ClusterStore
	FleetStore
	IndexStore
	ScheduleStore
	OutboxStore
}

// Page asks for one page of a list: at most Size() items, from Cursor (docs/admin-api.md#requests-and-answers).
type Page struct {
	Limit  int    // the items asked for; see Size
	Cursor string // opaque, from a previous PageOf.NextCursor
}

// Page sizes: the default, and the most one page holds.
const (
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

// Size is the most items the page holds: Limit, 100 when Limit <= 0, and never more than 1000.
// The stores and the domain's own lists page by it.
func (p Page) Size() int {
	if p.Limit <= 0 {
		return defaultPageLimit
	}
	return min(p.Limit, maxPageLimit)
}

// ClusterRecord is what Load read from one cluster's partition.
type ClusterRecord struct {
	Cluster *Cluster // nil when the partition holds no cluster yet
	ETag    string   // the state row's version, for Change.ETag
	Seen    bool     // the MessageID given to Load was already committed in this partition
	// Pending are the partition's committed, unpublished events, in commit order, read with the
	// state: publishing a new event behind them keeps the partition's order without another read.
	Pending []Event
	// PendingMore says more events were pending than Load returns (MaxLoadPending): the
	// OutboxRelay publishes the backlog, and events committed meanwhile wait behind it.
	PendingMore bool
	// StateOnly says the record was read by LoadState: Seen and Pending were not read.
	StateOnly bool
}

// MaxLoadPending is the most pending events Load returns.
const MaxLoadPending = 100

// Change is one atomic write to one partition (a cluster's, or UnknownSession's): the new
// state, its history entries, the events it causes and the idempotency marker are committed
// together or not at all (one entity-group transaction, at most 100 operations).
type Change struct {
	Partition string   // the cluster ID, or UnknownSession
	Cluster   *Cluster // the new state; nil leaves the state row untouched
	// ETag is the version read by Load. With Cluster set: "" inserts (ErrConflict if a state row
	// exists meanwhile), otherwise the write is conditional on it (ErrConflict on mismatch).
	ETag string
	// Follows is the Cluster.Version read by Load (0 for none). A change that writes no state
	// (a rejection, a command that changed nothing) orders its history and events after that
	// version's; one that writes state is ordered by its Cluster.Version. Stores order a
	// partition's history and events by version, not by their clocks.
	Follows   int64
	MessageID string // idempotency marker, committed with the change; ErrConflict if already present
	History   []HistoryEntry
	// Events are stored pending, in order. Commit assigns each empty Key in place (in this
	// slice), so the caller can MarkPublished the very events it publishes after the commit.
	Events    []Event
	Rejection *Rejection // also made visible to ListRejections
	// Project says the cluster's ClusterSummary (list row and status counts) may have changed.
	Project bool
	// Replaces is, with Project, the summary of the state this change replaces (nil: none), so
	// the store drops what only the old one listed (its row under a subscription it left).
	Replaces *ClusterSummary
	// Due is a due-index row the new state needs (with Cluster only). The store writes it if and
	// only if the commit lands, and a crash right after the commit does not lose it: never a
	// row for a change that failed, never a committed check without its row.
	Due *Due
	// Attention are deadline-index rows the new state needs (with Cluster only; Cluster.Attention
	// names them), written, as Due, if and only if the commit lands, and not lost to a crash right
	// after it.
	Attention []AttentionRow
}

// ClusterStore keeps each cluster's partition.
type ClusterStore interface {
	// Load reads a cluster's state, whether messageID ("" for none) was already committed in its
	// partition, and the partition's pending events, in one round trip.
	Load(ctx context.Context, clusterID, messageID string) (ClusterRecord, error)
	// LoadState reads a cluster's state row alone, in one point read: Cluster (nil when none) and
	// ETag, with StateOnly set. It is the Sync path's first read (docs/storage.md), and the read of
	// whatever needs a cluster's state alone (views, scope checks, hints followed).
	LoadState(ctx context.Context, clusterID string) (ClusterRecord, error)
	// Commit writes the change atomically and returns the state row's new ETag.
	Commit(ctx context.Context, ch Change) (etag string, err error)
	// History lists a cluster's history, newest first.
	History(ctx context.Context, clusterID string, p Page) (PageOf[HistoryEntry], error)
	// Rejections lists recorded rejections, newest first.
	Rejections(ctx context.Context, p Page) (PageOf[Rejection], error)
	// RejectionsIn lists the rejections of the given subscriptions (Rejection.SubscriptionID,
	// lower-case), newest first, at a cost bounded by the page and the number of subscriptions,
	// whatever the other subscriptions hold. No subscriptions: an empty page.
	RejectionsIn(ctx context.Context, subscriptions []string, p Page) (PageOf[Rejection], error)
	// PruneMarkers deletes the partition's idempotency markers committed before the cutoff.
	PruneMarkers(ctx context.Context, clusterID string, before time.Time) error
}

// ClusterFilter selects clusters of the fleet list; empty fields match anything.
type ClusterFilter struct {
	RegistrationStatus string
	ConnectionStatus   string
	Orphan             string
	CredentialExpired  *bool // nil: either
	// Scope, when set and not All, keeps the clusters of its subscriptions only (none: nothing),
	// listed by subscription, then cluster ID, at a cost bounded by the page and the number of
	// subscriptions, not the fleet. nil: every cluster, by cluster ID.
	Scope *Scope
}

// FleetStore keeps the fleet-wide projection: one ClusterSummary per cluster (written by Commit,
// Change.Project) and the status counts (a store may bring them up to date later, in Pending:
// docs/storage.md, "Counts"), repaired by Pending after a crash, so reading them never scans the
// clusters' partitions.
type FleetStore interface {
	ListClusters(ctx context.Context, f ClusterFilter, p Page) (PageOf[ClusterSummary], error)
	Counts(ctx context.Context) (FleetCounts, error)
	// CountsIn sums the counts of the clusters of the given subscriptions (lower-case), read from
	// counts kept per subscription by the same projection (one row each, never a scan).
	CountsIn(ctx context.Context, subscriptions []string) (FleetCounts, error)
	// NoteSync records that a sync enqueued at `at` was received; it only moves forward.
	NoteSync(ctx context.Context, at time.Time) error
	// NewestSync is the newest time given to NoteSync (zero if none): the mass-disconnect guard's reference.
	NewestSync(ctx context.Context) (time.Time, error)
}

// IndexEntry is one row of a lookup index: Kind and Group select a partition, Name a row.
// Kinds used by the domain: "machine" (Group subscription|arcResourceGroup, Name machine → cluster ID),
// "arcgroup" (Group subscription|arcResourceGroup, Name cluster ID), "operation" (Name operation ID →
// cluster ID), "standalone" (Name machine → JSON of an unclustered machine). Index rows are hints
// written outside the cluster's transaction: readers verify them against the cluster they name.
type IndexEntry struct {
	Kind  string `json:"kind"`
	Group string `json:"group"`
	Name  string `json:"name"`
	Value string `json:"value"`
	// ETag is the row's version, set by GetIndex (for PutIndexIf and DeleteIndexIf).
	ETag string `json:"-"`
}

// IndexStore keeps the lookup indexes. Keys are case-sensitive: callers lower-case them.
type IndexStore interface {
	PutIndex(ctx context.Context, e IndexEntry) error // insert or replace
	// PutIndexIf writes e only if the row is still at etag ("" : only if there is none);
	// ErrConflict otherwise. For rows that are state, not hints (read-modify-write).
	PutIndexIf(ctx context.Context, e IndexEntry, etag string) error
	GetIndex(ctx context.Context, kind, group, name string) (IndexEntry, error)
	// GetIndexes reads the rows of names in one kind and group, in one request; names without a
	// row are left out. Each entry has its ETag.
	GetIndexes(ctx context.Context, kind, group string, names []string) ([]IndexEntry, error)
	// AddIndexes inserts entries, all or none, in one request: ErrConflict when any of them
	// exists. The entries share one group (kinds may differ, except in the empty group); at most 100.
	AddIndexes(ctx context.Context, entries []IndexEntry) error
	// PutIndexes inserts or replaces entries: one request per group (of up to 100 entries).
	PutIndexes(ctx context.Context, entries []IndexEntry) error
	ListIndex(ctx context.Context, kind, group string) ([]IndexEntry, error)
	// ListIndexPage lists one page of a partition's rows in name order (its cost is the page's).
	ListIndexPage(ctx context.Context, kind, group string, p Page) (PageOf[IndexEntry], error)
	DeleteIndex(ctx context.Context, kind, group, name string) error // nil if absent
	// DeleteIndexIf deletes the row only if it is still at etag: ErrConflict if it was rewritten
	// meanwhile, nil if absent.
	DeleteIndexIf(ctx context.Context, kind, group, name, etag string) error
}

// Due is one row of the due index: a cluster to re-evaluate at or after At.
type Due struct {
	ClusterID string    `json:"clusterId"`
	At        time.Time `json:"at"`
	// Row is the store's own name for a row DueBy read ("" otherwise): Unschedule removes exactly
	// that row, even one written unreadable by an older version.
	Row string `json:"-"`
}

// AttentionRow is one row of the deadline index (docs/policy.md, "Upcoming"): a deadline of a
// cluster that Upcoming lists, at its time. Slot names which of the cluster's deadlines it is.
type AttentionRow struct {
	At        time.Time `json:"at"`
	ClusterID string    `json:"clusterId"`
	Slot      string    `json:"slot"`
}

// ScheduleStore keeps the due index and the deadline index of docs/policy.md: reads cost what is
// due or listed, not the fleet size.
type ScheduleStore interface {
	// PutAttention writes deadline-index rows (idempotent); DropAttention removes them (absent
	// rows are fine). Cluster IDs are GUIDs; slots are [A-Za-z0-9:-].
	PutAttention(ctx context.Context, rows []AttentionRow) error
	DropAttention(ctx context.Context, rows []AttentionRow) error
	// AttentionBy lists, in one range read, at most limit rows (as Page.Size) with At <= until
	// that sort after `after` in (At, ClusterID, Slot) order (the zero row: from the first).
	AttentionBy(ctx context.Context, after AttentionRow, until time.Time, limit int) ([]AttentionRow, error)
	Schedule(ctx context.Context, d Due) error // idempotent
	// DueBy lists rows with At <= until, earliest first, at most limit (as Page.Size: 100 for
	// limit <= 0, never more than 1000). A row it cannot read whole is still listed, with what
	// its key says (callers validate each row).
	DueBy(ctx context.Context, until time.Time, limit int) ([]Due, error)
	Unschedule(ctx context.Context, d Due) error // nil if absent
}

// OutboxStore hands committed events to the relay.
type OutboxStore interface {
	// Pending lists committed, unpublished events, in commit order within each partition, at
	// most limit; its cost is proportional to what is pending, not to the fleet. It also repairs
	// the fleet projection of partitions whose commit was interrupted.
	Pending(ctx context.Context, limit int) ([]Event, error)
	// PendingIn lists one partition's committed, unpublished events in commit order, at most
	// limit (<= 0 means 100, capped at 1000), in one round trip. It repairs nothing.
	PendingIn(ctx context.Context, partition string, limit int) ([]Event, error)
	// MarkPublished removes published events so they are not sent again.
	MarkPublished(ctx context.Context, events []Event) error
}
