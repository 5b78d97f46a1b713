package domain_test

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

// fakeStore is a minimal in-test Store with ETags and idempotency markers, used until the
// memory store lands.
type fakeStore struct {
	mu         sync.Mutex
	clusters   map[string][]byte
	etags      map[string]string
	markers    map[string]bool
	history    map[string][]domain.HistoryEntry
	rejections []domain.Rejection
	events     []domain.Event
	index      map[string]domain.IndexEntry
	due        map[string]domain.Due
	newest     time.Time
	n          int
}

func newFakeStore() *fakeStore {
	return &fakeStore{clusters: map[string][]byte{}, etags: map[string]string{}, markers: map[string]bool{},
		history: map[string][]domain.HistoryEntry{}, index: map[string]domain.IndexEntry{}, due: map[string]domain.Due{}}
}

func (f *fakeStore) Load(ctx context.Context, id, msg string) (domain.ClusterRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec := domain.ClusterRecord{ETag: f.etags[id], Seen: msg != "" && f.markers[id+"|"+msg]}
	if raw, ok := f.clusters[id]; ok {
		rec.Cluster = &domain.Cluster{}
		if err := json.Unmarshal(raw, rec.Cluster); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

func (f *fakeStore) Commit(ctx context.Context, ch domain.Change) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch.MessageID != "" && f.markers[ch.Partition+"|"+ch.MessageID] {
		return "", domain.ErrConflict
	}
	if ch.Cluster != nil && f.etags[ch.Partition] != ch.ETag {
		return "", domain.ErrConflict
	}
	if ch.MessageID != "" {
		f.markers[ch.Partition+"|"+ch.MessageID] = true
	}
	if ch.Cluster != nil {
		raw, _ := json.Marshal(ch.Cluster)
		f.clusters[ch.Partition] = raw
		f.n++
		f.etags[ch.Partition] = "W/" + strconv.Itoa(f.n)
	}
	f.history[ch.Partition] = append(f.history[ch.Partition], ch.History...)
	if ch.Rejection != nil {
		f.rejections = append(f.rejections, *ch.Rejection)
	}
	f.events = append(f.events, ch.Events...)
	return f.etags[ch.Partition], nil
}

func (f *fakeStore) History(ctx context.Context, id string, p domain.Page) (domain.PageOf[domain.HistoryEntry], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.history[id]
	out := make([]domain.HistoryEntry, 0, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		out = append(out, h[i])
	}
	return domain.PageOf[domain.HistoryEntry]{Items: out}, nil
}

func (f *fakeStore) Rejections(ctx context.Context, p domain.Page) (domain.PageOf[domain.Rejection], error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return domain.PageOf[domain.Rejection]{Items: append([]domain.Rejection(nil), f.rejections...)}, nil
}

func (f *fakeStore) PruneMarkers(ctx context.Context, id string, before time.Time) error { return nil }

func (f *fakeStore) ListClusters(ctx context.Context, fl domain.ClusterFilter, p domain.Page) (domain.PageOf[domain.ClusterSummary], error) {
	return domain.PageOf[domain.ClusterSummary]{}, nil
}

func (f *fakeStore) Counts(ctx context.Context) (domain.FleetCounts, error) {
	return domain.FleetCounts{}, nil
}

func (f *fakeStore) NoteSync(ctx context.Context, at time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if at.After(f.newest) {
		f.newest = at
	}
	return nil
}

func (f *fakeStore) NewestSync(ctx context.Context) (time.Time, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newest, nil
}

func ikey(kind, group, name string) string { return kind + "\x00" + group + "\x00" + name }

func (f *fakeStore) PutIndex(ctx context.Context, e domain.IndexEntry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.index[ikey(e.Kind, e.Group, e.Name)] = e
	return nil
}

func (f *fakeStore) GetIndex(ctx context.Context, kind, group, name string) (domain.IndexEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.index[ikey(kind, group, name)]
	if !ok {
		return e, domain.ErrNotFound
	}
	return e, nil
}

func (f *fakeStore) ListIndex(ctx context.Context, kind, group string) ([]domain.IndexEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.IndexEntry
	for _, e := range f.index {
		if e.Kind == kind && e.Group == group {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (f *fakeStore) DeleteIndex(ctx context.Context, kind, group, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.index, ikey(kind, group, name))
	return nil
}

func (f *fakeStore) Schedule(ctx context.Context, d domain.Due) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.due[d.ClusterID+d.At.String()] = d
	return nil
}

func (f *fakeStore) DueBy(ctx context.Context, until time.Time, limit int) ([]domain.Due, error) {
	return nil, nil
}

func (f *fakeStore) Unschedule(ctx context.Context, d domain.Due) error { return nil }

func (f *fakeStore) Pending(ctx context.Context, limit int) ([]domain.Event, error) { return nil, nil }

func (f *fakeStore) MarkPublished(ctx context.Context, events []domain.Event) error { return nil }
