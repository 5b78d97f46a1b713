// Package memory is the in-process domain.Store: the local runner's default and the fast
// twin of the Table store. It keeps the same contract (ETags, atomic commits, idempotency
// markers, history newest first, opaque cursors, the due index, the outbox and the fleet
// projection) behind one mutex; state is lost when the process ends.
package memory

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

// defaultLimit is Pending's limit when none is given (domain.Page.Size sizes pages and DueBy).
const defaultLimit = 100

// Store is a concurrency-safe in-memory domain.Store. The zero value is not usable: call New.
type Store struct {
	mu         sync.Mutex
	now        func() time.Time // commit times of markers, like the Table service's Timestamp
	seq        int64            // last ETag / event key issued
	partitions map[string]*partition
	rejections []domain.Rejection // oldest first
	summaries  map[string]domain.ClusterSummary
	subCounts  map[string]*domain.FleetCounts // by subscription, kept with summaries
	index      map[indexKey]domain.IndexEntry
	due        map[dueKey]domain.Due
	attention  map[domain.AttentionRow]bool // At in UTC
	outbox     []pendingEvent               // commit order
	newestSync time.Time
}

type partition struct {
	state   []byte // the domain.Cluster as JSON; nil when none
	etag    string
	markers map[string]time.Time  // MessageID → commit time
	history []domain.HistoryEntry // oldest first
}

type indexKey struct{ kind, group, name string }

type dueKey struct {
	cluster string
	at      int64
}

type pendingEvent struct {
	partition string
	event     domain.Event
}

var _ domain.Store = (*Store)(nil)

// Options tune New; nil means the defaults.
type Options struct {
	// Now is the clock of the idempotency markers' commit times (PruneMarkers compares them with
	// its cutoff); default time.Now. Give it the service's clock.
	Now func() time.Time
}

// New returns an empty store.
func New(opts *Options) *Store {
	now := time.Now
	if opts != nil && opts.Now != nil {
		now = opts.Now
	}
	return &Store{
		now:        now,
		partitions: map[string]*partition{},
		summaries:  map[string]domain.ClusterSummary{},
		subCounts:  map[string]*domain.FleetCounts{},
		index:      map[indexKey]domain.IndexEntry{},
		due:        map[dueKey]domain.Due{},
		attention:  map[domain.AttentionRow]bool{},
	}
}

func (s *Store) part(id string) *partition {
	p, ok := s.partitions[id]
	if !ok {
		p = &partition{markers: map[string]time.Time{}}
		s.partitions[id] = p
	}
	return p
}

// Load implements domain.ClusterStore.
func (s *Store) Load(ctx context.Context, clusterID, messageID string) (domain.ClusterRecord, error) {
	if err := ctx.Err(); err != nil {
		return domain.ClusterRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.partitions[clusterID]
	if !ok {
		return domain.ClusterRecord{}, nil
	}
	rec := domain.ClusterRecord{ETag: p.etag}
	if messageID != "" {
		_, rec.Seen = p.markers[messageID]
	}
	var err error
	if rec.Cluster, err = p.cluster(clusterID); err != nil {
		return domain.ClusterRecord{}, err
	}
	for _, pe := range s.outbox {
		if pe.partition != clusterID {
			continue
		}
		if len(rec.Pending) == domain.MaxLoadPending {
			rec.PendingMore = true
			break
		}
		e := pe.event
		e.Body = slices.Clone(e.Body)
		rec.Pending = append(rec.Pending, e)
	}
	return rec, nil
}

// cluster decodes the partition's state (nil when it has none).
func (p *partition) cluster(clusterID string) (*domain.Cluster, error) {
	if p.state == nil {
		return nil, nil
	}
	c := &domain.Cluster{}
	if err := json.Unmarshal(p.state, c); err != nil {
		return nil, fmt.Errorf("memory: decode cluster %s: %w", clusterID, err)
	}
	return c, nil
}

// LoadState implements domain.ClusterStore.
func (s *Store) LoadState(ctx context.Context, clusterID string) (domain.ClusterRecord, error) {
	if err := ctx.Err(); err != nil {
		return domain.ClusterRecord{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := domain.ClusterRecord{StateOnly: true}
	p, ok := s.partitions[clusterID]
	if !ok || p.state == nil {
		return rec, nil
	}
	c, err := p.cluster(clusterID)
	if err != nil {
		return domain.ClusterRecord{}, err
	}
	rec.ETag, rec.Cluster = p.etag, c
	return rec, nil
}

// Commit implements domain.ClusterStore: all or nothing under the store's lock.
func (s *Store) Commit(ctx context.Context, ch domain.Change) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	state, err := encodeChange(ch)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.part(ch.Partition)
	if ch.MessageID != "" {
		if _, dup := p.markers[ch.MessageID]; dup {
			return "", domain.ErrConflict
		}
	}
	if ch.Cluster != nil && ch.ETag != p.etag { // an empty ETag inserts: conflicts with any state row
		return "", domain.ErrConflict
	}
	if ch.MessageID != "" {
		p.markers[ch.MessageID] = s.now()
	}
	if ch.Cluster != nil {
		s.seq++
		p.state = state
		p.etag = `W/"` + strconv.FormatInt(s.seq, 10) + `"`
		if ch.Project {
			s.project(ch.Cluster.Summary())
		}
		if d := ch.Due; d != nil {
			s.due[dueKey{d.ClusterID, d.At.UnixNano()}] = domain.Due{ClusterID: d.ClusterID, At: d.At.UTC()}
		}
		for _, r := range ch.Attention {
			r.At = r.At.UTC()
			s.attention[r] = true
		}
	}
	p.history = append(p.history, ch.History...)
	if ch.Rejection != nil {
		s.rejections = append(s.rejections, *ch.Rejection)
	}
	s.enqueue(ch.Partition, ch.Events)
	return p.etag, nil
}

// encodeChange checks ch and returns its state as stored (nil when it writes none).
func encodeChange(ch domain.Change) ([]byte, error) {
	switch {
	case ch.Partition == "":
		return nil, fmt.Errorf("memory: commit without a partition")
	case (ch.Due != nil || len(ch.Attention) > 0) && ch.Cluster == nil:
		return nil, fmt.Errorf("memory: due and deadline rows are committed with a state only")
	case ch.Due != nil:
		if err := storable(*ch.Due); err != nil {
			return nil, err
		}
	}
	if ch.Cluster == nil {
		return nil, nil
	}
	state, err := json.Marshal(ch.Cluster)
	if err != nil {
		return nil, fmt.Errorf("memory: encode cluster %s: %w", ch.Partition, err)
	}
	return state, nil
}

// enqueue appends committed events to the outbox, assigning each empty Key in place (the caller
// flushes and marks these very events); s.mu is held.
func (s *Store) enqueue(partition string, events []domain.Event) {
	for i, e := range events {
		s.seq++
		if e.Key == "" {
			e.Key = fmt.Sprintf("%020d", s.seq)
			events[i].Key = e.Key
		}
		e.Body = slices.Clone(e.Body)
		s.outbox = append(s.outbox, pendingEvent{partition: partition, event: e})
	}
}

// project replaces a cluster's list row and moves it between its subscriptions' counts; s.mu is held.
func (s *Store) project(sum domain.ClusterSummary) {
	bump := func(c domain.ClusterSummary, n int) {
		if c.SubscriptionID == "" {
			return
		}
		fc := s.subCounts[c.SubscriptionID]
		if fc == nil {
			fc = &domain.FleetCounts{}
			s.subCounts[c.SubscriptionID] = fc
		}
		fc.Add(c, n)
	}
	if old, ok := s.summaries[sum.ClusterID]; ok {
		bump(old, -1)
	}
	bump(sum, 1)
	s.summaries[sum.ClusterID] = sum
}

// History implements domain.ClusterStore.
func (s *Store) History(ctx context.Context, clusterID string, pg domain.Page) (domain.PageOf[domain.HistoryEntry], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var h []domain.HistoryEntry
	if p, ok := s.partitions[clusterID]; ok {
		h = p.history
	}
	return newestFirst(h, pg)
}

// Rejections implements domain.ClusterStore.
func (s *Store) Rejections(ctx context.Context, pg domain.Page) (domain.PageOf[domain.Rejection], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return newestFirst(s.rejections, pg)
}

// RejectionsIn implements domain.ClusterStore.
func (s *Store) RejectionsIn(ctx context.Context, subscriptions []string, pg domain.Page) (domain.PageOf[domain.Rejection], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return newestFirstWhere(s.rejections, pg, func(r domain.Rejection) bool {
		return r.SubscriptionID != "" && slices.Contains(subscriptions, r.SubscriptionID)
	})
}

// newestFirst pages an oldest-first, append-only slice from its end. The cursor is the
// absolute position of the next item, so items appended meanwhile do not shift a listing.
func newestFirst[T any](all []T, pg domain.Page) (domain.PageOf[T], error) {
	return newestFirstWhere(all, pg, func(T) bool { return true })
}

// newestFirstWhere is newestFirst over the items keep accepts.
func newestFirstWhere[T any](all []T, pg domain.Page, keep func(T) bool) (domain.PageOf[T], error) {
	limit := pg.Size()
	end := len(all)
	if pg.Cursor != "" {
		n, err := decodeCursor(pg.Cursor)
		if err != nil {
			return domain.PageOf[T]{}, err
		}
		end = min(int(n), len(all))
	}
	out := domain.PageOf[T]{Items: []T{}}
	i := end - 1
	for ; i >= 0 && len(out.Items) < limit; i-- {
		if keep(all[i]) {
			out.Items = append(out.Items, all[i])
		}
	}
	for ; i >= 0 && !keep(all[i]); i-- { // so that the last page has no cursor
	}
	if i >= 0 {
		out.NextCursor = encodeCursor(strconv.Itoa(i + 1))
	}
	return out, nil
}

// PruneMarkers implements domain.ClusterStore.
func (s *Store) PruneMarkers(ctx context.Context, clusterID string, before time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.partitions[clusterID]; ok {
		for id, at := range p.markers {
			if at.Before(before) {
				delete(p.markers, id)
			}
		}
	}
	return nil
}

// ListClusters implements domain.FleetStore, in cluster ID order (with a limited scope, in
// subscription, then cluster ID order).
func (s *Store) ListClusters(ctx context.Context, f domain.ClusterFilter, pg domain.Page) (domain.PageOf[domain.ClusterSummary], error) {
	after := ""
	if pg.Cursor != "" {
		var err error
		if after, err = decodeCursorString(pg.Cursor); err != nil {
			return domain.PageOf[domain.ClusterSummary]{}, err
		}
	}
	order := func(c domain.ClusterSummary) string { return c.ClusterID }
	if f.Scope != nil && !f.Scope.All {
		order = func(c domain.ClusterSummary) string { return c.SubscriptionID + "|" + c.ClusterID }
	}
	s.mu.Lock()
	var rows []domain.ClusterSummary
	for _, sum := range s.summaries {
		if order(sum) > after && matches(sum, f) {
			rows = append(rows, sum)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(rows, func(a, b domain.ClusterSummary) int { return cmp.Compare(order(a), order(b)) })
	out := domain.PageOf[domain.ClusterSummary]{Items: rows}
	if limit := pg.Size(); len(rows) > limit {
		out.Items = rows[:limit:limit]
		out.NextCursor = encodeCursor(order(rows[limit-1]))
	}
	if out.Items == nil {
		out.Items = []domain.ClusterSummary{}
	}
	return out, nil
}

func matches(c domain.ClusterSummary, f domain.ClusterFilter) bool {
	return (f.RegistrationStatus == "" || f.RegistrationStatus == c.RegistrationStatus) &&
		(f.ConnectionStatus == "" || f.ConnectionStatus == c.ConnectionStatus) &&
		(f.Orphan == "" || f.Orphan == c.Orphan) &&
		(f.CredentialExpired == nil || *f.CredentialExpired == c.CredentialExpired) &&
		(f.Scope == nil || f.Scope.Allows(c.SubscriptionID))
}

// Counts implements domain.FleetStore. The projection is updated inside Commit, so the counts
// are current as of the call.
func (s *Store) Counts(ctx context.Context) (domain.FleetCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fc := domain.FleetCounts{
		RegistrationStatus: map[string]int{}, ClusterStatus: map[string]int{},
		ConnectionStatus: map[string]int{}, Orphan: map[string]int{},
	}
	for _, c := range s.summaries {
		fc.Add(c, 1)
	}
	return fc, nil
}

// CountsIn implements domain.FleetStore from the counts kept per subscription.
func (s *Store) CountsIn(ctx context.Context, subscriptions []string) (domain.FleetCounts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fc := domain.FleetCounts{
		RegistrationStatus: map[string]int{}, ClusterStatus: map[string]int{},
		ConnectionStatus: map[string]int{}, Orphan: map[string]int{},
	}
	for _, sub := range slices.Compact(slices.Sorted(slices.Values(subscriptions))) {
		if c := s.subCounts[sub]; c != nil {
			fc.Merge(*c)
		}
	}
	return fc, nil
}

// NoteSync implements domain.FleetStore.
func (s *Store) NoteSync(ctx context.Context, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at.After(s.newestSync) {
		s.newestSync = at
	}
	return nil
}

// NewestSync implements domain.FleetStore.
func (s *Store) NewestSync(ctx context.Context) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newestSync, nil
}

// PutIndex implements domain.IndexStore.
func (s *Store) PutIndex(ctx context.Context, e domain.IndexEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putIndex(e)
	return nil
}

// PutIndexIf implements domain.IndexStore.
func (s *Store) PutIndexIf(ctx context.Context, e domain.IndexEntry, etag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.index[indexKey{e.Kind, e.Group, e.Name}]; ok && old.ETag != etag || !ok && etag != "" {
		return domain.ErrConflict
	}
	s.putIndex(e)
	return nil
}

// PutIndexes implements domain.IndexStore.
func (s *Store) PutIndexes(ctx context.Context, entries []domain.IndexEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		s.putIndex(e)
	}
	return nil
}

// AddIndexes implements domain.IndexStore: all or none.
func (s *Store) AddIndexes(ctx context.Context, entries []domain.IndexEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		if _, ok := s.index[indexKey{e.Kind, e.Group, e.Name}]; ok {
			return domain.ErrConflict
		}
	}
	for _, e := range entries {
		s.putIndex(e)
	}
	return nil
}

// GetIndexes implements domain.IndexStore, in name order.
func (s *Store) GetIndexes(ctx context.Context, kind, group string, names []string) ([]domain.IndexEntry, error) {
	s.mu.Lock()
	var out []domain.IndexEntry
	for _, n := range names {
		if e, ok := s.index[indexKey{kind, group, n}]; ok && !slices.ContainsFunc(out, func(o domain.IndexEntry) bool { return o.Name == n }) {
			out = append(out, e)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b domain.IndexEntry) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// putIndex stores e with a new ETag; s.mu is held.
func (s *Store) putIndex(e domain.IndexEntry) {
	s.seq++
	e.ETag = strconv.FormatInt(s.seq, 10)
	s.index[indexKey{e.Kind, e.Group, e.Name}] = e
}

// GetIndex implements domain.IndexStore.
func (s *Store) GetIndex(ctx context.Context, kind, group, name string) (domain.IndexEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.index[indexKey{kind, group, name}]
	if !ok {
		return domain.IndexEntry{}, domain.ErrNotFound
	}
	return e, nil
}

// ListIndex implements domain.IndexStore, in name order.
func (s *Store) ListIndex(ctx context.Context, kind, group string) ([]domain.IndexEntry, error) {
	s.mu.Lock()
	var out []domain.IndexEntry
	for k, e := range s.index {
		if k.kind == kind && k.group == group {
			out = append(out, e)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b domain.IndexEntry) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// ListIndexPage implements domain.IndexStore: in name order, the cursor the last name listed.
func (s *Store) ListIndexPage(ctx context.Context, kind, group string, pg domain.Page) (domain.PageOf[domain.IndexEntry], error) {
	after := ""
	if pg.Cursor != "" {
		var err error
		if after, err = decodeCursorString(pg.Cursor); err != nil {
			return domain.PageOf[domain.IndexEntry]{}, err
		}
	}
	all, _ := s.ListIndex(ctx, kind, group)
	rows := slices.DeleteFunc(all, func(e domain.IndexEntry) bool { return e.Name <= after })
	out := domain.PageOf[domain.IndexEntry]{Items: rows}
	if limit := pg.Size(); len(rows) > limit {
		out.Items = rows[:limit:limit]
		out.NextCursor = encodeCursor(rows[limit-1].Name)
	}
	if out.Items == nil {
		out.Items = []domain.IndexEntry{}
	}
	return out, nil
}

// DeleteIndex implements domain.IndexStore.
func (s *Store) DeleteIndex(ctx context.Context, kind, group, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.index, indexKey{kind, group, name})
	return nil
}

// DeleteIndexIf implements domain.IndexStore.
func (s *Store) DeleteIndexIf(ctx context.Context, kind, group, name, etag string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := indexKey{kind, group, name}
	if old, ok := s.index[k]; ok && old.ETag != etag {
		return domain.ErrConflict
	}
	delete(s.index, k)
	return nil
}

// Schedule implements domain.ScheduleStore; like the Table store, it refuses a time JSON cannot
// hold.
func (s *Store) Schedule(ctx context.Context, d domain.Due) error {
	if err := storable(d); err != nil {
		return err
	}
	d.At = d.At.UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.due[dueKey{d.ClusterID, d.At.UnixNano()}] = d
	return nil
}

// storable refuses a due row whose time JSON cannot hold (the Table store's Data column).
func storable(d domain.Due) error {
	if _, err := d.At.MarshalJSON(); err != nil {
		return fmt.Errorf("memory: due row of %s cannot be stored: %w", d.ClusterID, err)
	}
	return nil
}

// DueBy implements domain.ScheduleStore.
func (s *Store) DueBy(ctx context.Context, until time.Time, limit int) ([]domain.Due, error) {
	limit = domain.Page{Limit: limit}.Size()
	s.mu.Lock()
	var out []domain.Due
	for _, d := range s.due {
		if !d.At.After(until) {
			out = append(out, d)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b domain.Due) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ClusterID, b.ClusterID))
	})
	if len(out) > limit {
		out = out[:limit:limit]
	}
	return out, nil
}

// Unschedule implements domain.ScheduleStore.
func (s *Store) Unschedule(ctx context.Context, d domain.Due) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.due, dueKey{d.ClusterID, d.At.UTC().UnixNano()})
	return nil
}

// PutAttention implements domain.ScheduleStore.
func (s *Store) PutAttention(ctx context.Context, rows []domain.AttentionRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		r.At = r.At.UTC()
		s.attention[r] = true
	}
	return nil
}

// DropAttention implements domain.ScheduleStore.
func (s *Store) DropAttention(ctx context.Context, rows []domain.AttentionRow) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		r.At = r.At.UTC()
		delete(s.attention, r)
	}
	return nil
}

// AttentionBy implements domain.ScheduleStore.
func (s *Store) AttentionBy(ctx context.Context, after domain.AttentionRow, until time.Time, limit int) ([]domain.AttentionRow, error) {
	limit = domain.Page{Limit: limit}.Size()
	s.mu.Lock()
	var out []domain.AttentionRow
	for r := range s.attention {
		if !r.At.After(until) && (after == (domain.AttentionRow{}) || compareAttention(r, after) > 0) {
			out = append(out, r)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, compareAttention)
	return out[:min(limit, len(out)):min(limit, len(out))], nil
}

func compareAttention(a, b domain.AttentionRow) int {
	return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ClusterID, b.ClusterID), cmp.Compare(a.Slot, b.Slot))
}

// Pending implements domain.OutboxStore: the oldest committed, unpublished events. The
// projection is written inside Commit, so there is nothing to repair here.
func (s *Store) Pending(ctx context.Context, limit int) ([]domain.Event, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]domain.Event, 0, min(limit, len(s.outbox)))
	for _, p := range s.outbox[:min(limit, len(s.outbox))] {
		out = append(out, p.event)
	}
	return out, nil
}

// PendingIn implements domain.OutboxStore: the partition's pending events in commit order.
func (s *Store) PendingIn(ctx context.Context, partition string, limit int) ([]domain.Event, error) {
	limit = domain.Page{Limit: limit}.Size()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []domain.Event{}
	for _, p := range s.outbox {
		if len(out) == limit {
			break
		}
		if p.event.SessionID() == partition {
			out = append(out, p.event)
		}
	}
	return out, nil
}

// MarkPublished implements domain.OutboxStore; events not pending are ignored.
func (s *Store) MarkPublished(ctx context.Context, events []domain.Event) error {
	done := make(map[[2]string]bool, len(events))
	for _, e := range events {
		done[[2]string{e.SessionID(), e.Key}] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outbox = slices.DeleteFunc(s.outbox, func(p pendingEvent) bool {
		return done[[2]string{p.event.SessionID(), p.event.Key}]
	})
	return nil
}

// errBadCursor is returned for a cursor this store did not issue.
var errBadCursor = fmt.Errorf("memory: %w: malformed cursor", domain.ErrInvalidCursor)

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte("m1:" + s)) }

func decodeCursorString(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) < 3 || string(raw[:3]) != "m1:" {
		return "", errBadCursor
	}
	return string(raw[3:]), nil
}

func decodeCursor(c string) (int64, error) {
	s, err := decodeCursorString(c)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errBadCursor
	}
	return n, nil
}
