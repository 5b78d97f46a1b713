// Package storetest is the contract suite every domain.Store passes (memory and tables).
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/azlocal/registrar/shared/domain"
)

// Run runs the contract suite; newStore returns an empty store for each subtest.
func Run(t *testing.T, newStore func(t *testing.T) domain.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, domain.Store)
	}{
		{"LoadCommitETag", testLoadCommitETag},
		{"MarkerDuplicate", testMarkerDuplicate},
		{"LoadState", testLoadState},
		{"HistoryNewestFirstPaged", testHistory},
		{"RejectionsPaged", testRejections},
		{"ProjectionAndCounts", testProjection},
		{"ListClustersFiltersAndInjection", testListClusters},
		{"ListClustersScoped", testScopedList},
		{"CountsPerSubscription", testScopedCounts},
		{"RejectionsScoped", testScopedRejections},
		{"Index", testIndex},
		{"IndexConditional", testIndexConditional},
		{"IndexBatches", testIndexBatches},
		{"Schedule", testSchedule},
		{"DueRidesOnCommit", testDueRidesOnCommit},
		{"AttentionRidesOnCommit", testAttentionRidesOnCommit},
		{"ScheduleExtremeTimes", testScheduleExtremeTimes},
		{"AttentionRange", testAttentionRange},
		{"Outbox", testOutbox},
		{"PartlyPublishedCommit", testPartlyPublished},
		{"PendingIn", testPendingIn},
		{"LoadReadsPendingEvents", testLoadPending},
		{"NoteSyncForwardOnly", testNoteSync},
		{"ConcurrentWritersNoLostUpdate", testConcurrentWriters},
		{"ConcurrentProjections", testConcurrentProjections},
		{"BadCursor", testBadCursor},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func cluster(id string, version int64) *domain.Cluster {
	return &domain.Cluster{ID: id, Name: "c-" + id, RegistrationStatus: domain.StatusNotYet,
		ClusterStatus: domain.StatusNotYet, ConnectionStatus: domain.StatusNotYet, Orphan: domain.OrphanNone, Version: version}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func commit(t *testing.T, s domain.Store, ch domain.Change) string {
	t.Helper()
	etag, err := s.Commit(context.Background(), ch)
	if err != nil {
		t.Fatalf("commit %+v: %v", ch.Partition, err)
	}
	return etag
}

func testLoadCommitETag(t *testing.T, s domain.Store) {
	ctx := context.Background()
	rec, err := s.Load(ctx, "c1", "m1")
	must(t, err)
	if d := cmp.Diff(loaded{}, loadedOf(rec)); d != "" {
		t.Fatalf("empty partition (-want +got):\n%s", d)
	}
	c := cluster("c1", 1)
	c.Nodes = []domain.Node{{Name: "n1", RegistrationStatus: domain.StatusNotYet}}
	etag1 := commit(t, s, domain.Change{Partition: "c1", Cluster: c, MessageID: "m1"})
	if etag1 == "" {
		t.Fatal("commit returned no ETag")
	}
	rec, err = s.Load(ctx, "c1", "m1")
	must(t, err)
	if d := cmp.Diff(loaded{Exists: true, Seen: true, ETag: etag1, Name: "c-c1", Nodes: 1}, loadedOf(rec), cmpopts.IgnoreFields(loaded{}, "Region")); d != "" {
		t.Fatalf("after commit (-want +got):\n%s", d)
	}
	if rec, _ := s.Load(ctx, "c1", "m2"); rec.Seen {
		t.Fatal("another message id reads as seen")
	}
	// A second insert conflicts with the existing state row.
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: cluster("c1", 1), MessageID: "m2"}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second insert: %v, want ErrConflict", err)
	}
	c2 := cluster("c1", 2)
	c2.Region = "westeurope"
	etag2 := commit(t, s, domain.Change{Partition: "c1", Cluster: c2, ETag: etag1, MessageID: "m2"})
	if etag2 == etag1 {
		t.Fatal("ETag did not change")
	}
	// The stale ETag now conflicts, and the failed change left nothing behind (atomic).
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: cluster("c1", 3), ETag: etag1, MessageID: "m3",
		History: []domain.HistoryEntry{{At: t0, What: "x"}}, Events: []domain.Event{ev("c1", "stale", 0)}}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("stale ETag: %v, want ErrConflict", err)
	}
	rec, err = s.Load(ctx, "c1", "m3")
	must(t, err)
	if d := cmp.Diff(loaded{Exists: true, ETag: etag2, Region: "westeurope"}, loadedOf(rec), cmpopts.IgnoreFields(loaded{}, "Name", "Nodes")); d != "" {
		t.Fatalf("failed commit left traces (-want +got):\n%s", d)
	}
	h, err := s.History(ctx, "c1", domain.Page{})
	must(t, err)
	if len(h.Items) != 0 {
		t.Fatalf("failed commit left history: %+v", h.Items)
	}
	p, err := s.Pending(ctx, 10)
	must(t, err)
	if len(p) != 0 {
		t.Fatalf("failed commit left events: %+v", p)
	}
}

func testMarkerDuplicate(t *testing.T, s domain.Store) {
	ctx := context.Background()
	commit(t, s, domain.Change{Partition: domain.UnknownSession, MessageID: "odd/id#?\\"})
	rec, err := s.Load(ctx, domain.UnknownSession, "odd/id#?\\")
	must(t, err)
	if !rec.Seen || rec.Cluster != nil {
		t.Fatalf("marker-only commit: %+v", rec)
	}
	if _, err := s.Commit(ctx, domain.Change{Partition: domain.UnknownSession, MessageID: "odd/id#?\\"}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("duplicate marker: %v, want ErrConflict", err)
	}
	long := string(make([]byte, 2000))
	commit(t, s, domain.Change{Partition: domain.UnknownSession, MessageID: long})
	if rec, _ := s.Load(ctx, domain.UnknownSession, long); !rec.Seen {
		t.Fatal("long message id not seen")
	}
	must(t, s.PruneMarkers(ctx, domain.UnknownSession, time.Now().Add(time.Hour)))
	if rec, _ := s.Load(ctx, domain.UnknownSession, long); rec.Seen {
		t.Fatal("pruned marker still seen")
	}
}

func testHistory(t *testing.T, s domain.Store) {
	ctx := context.Background()
	etag := ""
	for i := 1; i <= 5; i++ {
		hs := []domain.HistoryEntry{{At: t0.Add(time.Duration(i) * time.Minute), What: fmt.Sprintf("h%da", i)}, {At: t0.Add(time.Duration(i) * time.Minute), What: fmt.Sprintf("h%db", i)}}
		etag = commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", int64(i)), ETag: etag, MessageID: fmt.Sprint("m", i), History: hs})
	}
	var got []string
	cur := ""
	for pages := 0; ; pages++ {
		pg, err := s.History(ctx, "c1", domain.Page{Limit: 3, Cursor: cur})
		must(t, err)
		if len(pg.Items) > 3 {
			t.Fatalf("page of %d > limit 3", len(pg.Items))
		}
		for _, h := range pg.Items {
			got = append(got, h.What)
		}
		if cur = pg.NextCursor; cur == "" {
			break
		}
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	want := "[h5b h5a h4b h4a h3b h3a h2b h2a h1b h1a]"
	if fmt.Sprint(got) != want {
		t.Fatalf("history = %v, want %s", got, want)
	}
	if pg, _ := s.History(ctx, "other", domain.Page{}); len(pg.Items) != 0 || pg.NextCursor != "" {
		t.Fatalf("other cluster's history: %+v", pg)
	}
}

func testRejections(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i := range 7 {
		rj := &domain.Rejection{At: t0.Add(time.Duration(i) * time.Second), MessageID: fmt.Sprint("r", i), Code: domain.CodeInvalidField, Reason: "bad"}
		commit(t, s, domain.Change{Partition: domain.UnknownSession, MessageID: rj.MessageID, Rejection: rj,
			Events: []domain.Event{ev("", rj.MessageID, 0)}})
	}
	var got []string
	cur := ""
	for {
		pg, err := s.Rejections(ctx, domain.Page{Limit: 2, Cursor: cur})
		must(t, err)
		for _, r := range pg.Items {
			got = append(got, r.MessageID)
		}
		if cur = pg.NextCursor; cur == "" {
			break
		}
	}
	if want := "[r6 r5 r4 r3 r2 r1 r0]"; fmt.Sprint(got) != want {
		t.Fatalf("rejections = %v, want %s", got, want)
	}
}

func ev(clusterID, cause string, i int) domain.Event {
	return domain.NewEvent(cause, i, domain.EvPolicyWarning, clusterID, "", t0, nil)
}

// counts reads the fleet's counts after a Pending run: they include every projected commit once
// Pending (the OutboxRelay) has run after it; the list rows do at once.
func counts(t *testing.T, s domain.Store) domain.FleetCounts {
	t.Helper()
	_, err := s.Pending(context.Background(), 1000)
	must(t, err)
	c, err := s.Counts(context.Background())
	must(t, err)
	return c
}

// listed is the number of clusters ListClusters lists (one page of up to 1000).
func listed(t *testing.T, s domain.Store) int {
	t.Helper()
	pg, err := s.ListClusters(context.Background(), domain.ClusterFilter{}, domain.Page{Limit: 1000})
	must(t, err)
	return len(pg.Items)
}

func testProjection(t *testing.T, s domain.Store) {
	ctx := context.Background()
	wantCounts := func(when string, want domain.FleetCounts) {
		t.Helper()
		if diff := cmp.Diff(want, counts(t, s), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("counts %s (-want +got):\n%s", when, diff)
		}
	}
	notYet := func(n int) map[string]int { return map[string]int{domain.StatusNotYet: n} }
	wantCounts("of an empty store", domain.FleetCounts{})
	e1 := commit(t, s, domain.Change{Partition: "a", Cluster: cluster("a", 1), Project: true})
	commit(t, s, domain.Change{Partition: "b", Cluster: cluster("b", 1), Project: true})
	if n := listed(t, s); n != 2 {
		t.Fatalf("list right after two inserts: %d clusters, want both at once", n)
	}
	wantCounts("after two inserts", domain.FleetCounts{Clusters: 2, RegistrationStatus: notYet(2), ClusterStatus: notYet(2),
		ConnectionStatus: notYet(2), Orphan: map[string]int{domain.OrphanNone: 2}})
	// A transition moves one cluster between buckets.
	a2 := cluster("a", 2)
	a2.RegistrationStatus, a2.ConnectionStatus, a2.CredentialExpired = domain.StatusRegistered, domain.StatusConnected, true
	s1 := cluster("a", 1).Summary()
	e2 := commit(t, s, domain.Change{Partition: "a", Cluster: a2, ETag: e1, Project: true, Replaces: &s1})
	after := domain.FleetCounts{Clusters: 2, RegistrationStatus: map[string]int{domain.StatusNotYet: 1, domain.StatusRegistered: 1},
		ClusterStatus: notYet(2), ConnectionStatus: map[string]int{domain.StatusNotYet: 1, domain.StatusConnected: 1},
		Orphan: map[string]int{domain.OrphanNone: 2}, CredentialExpired: 1}
	wantCounts("after a transition", after)
	// Re-projecting the same state (a repeat, or Pending's repair) counts nothing twice.
	a3 := *a2
	a3.Version = 3
	commit(t, s, domain.Change{Partition: "a", Cluster: &a3, ETag: e2, Project: true})
	_, err := s.Pending(ctx, 10)
	must(t, err)
	wantCounts("after a repeated projection", after)
	pg, err := s.ListClusters(ctx, domain.ClusterFilter{RegistrationStatus: domain.StatusRegistered}, domain.Page{})
	must(t, err)
	if len(pg.Items) != 1 || pg.Items[0].ClusterID != "a" || !pg.Items[0].CredentialExpired {
		t.Fatalf("list of Registered: %+v", pg.Items)
	}
	// A change the counts do not see (arcIntegration, the name) is listed; the counts stay.
	rec, err := s.Load(ctx, "a", "")
	must(t, err)
	a4 := *rec.Cluster
	a4.Version, a4.ArcIntegration, a4.Name = rec.Cluster.Version+1, domain.ArcPartiallyEnabled, "renamed"
	commit(t, s, domain.Change{Partition: "a", Cluster: &a4, ETag: rec.ETag, Project: true})
	if c3 := counts(t, s); c3.Clusters != 2 || c3.RegistrationStatus[domain.StatusRegistered] != 1 || c3.CredentialExpired != 1 {
		t.Fatalf("counts after a change they do not see: %+v", c3)
	}
	pg, err = s.ListClusters(ctx, domain.ClusterFilter{RegistrationStatus: domain.StatusRegistered}, domain.Page{})
	must(t, err)
	if len(pg.Items) != 1 || pg.Items[0].ArcIntegration != domain.ArcPartiallyEnabled || pg.Items[0].ClusterName != "renamed" {
		t.Fatalf("list after a change the counts do not see: %+v", pg.Items)
	}
}

func testListClusters(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i := range 7 {
		c := cluster(fmt.Sprintf("c%02d", i), 1)
		if i%2 == 0 {
			c.ConnectionStatus = domain.StatusDisconnect
		}
		c.CredentialExpired = i%3 == 0
		commit(t, s, domain.Change{Partition: c.ID, Cluster: c, Project: true})
	}
	for _, expired := range []bool{true, false} {
		pg, err := s.ListClusters(ctx, domain.ClusterFilter{CredentialExpired: &expired, ConnectionStatus: domain.StatusDisconnect}, domain.Page{})
		must(t, err)
		var ids []string
		for _, c := range pg.Items {
			ids = append(ids, c.ClusterID)
		}
		if want := map[bool]string{true: "[c00 c06]", false: "[c02 c04]"}[expired]; fmt.Sprint(ids) != want {
			t.Fatalf("Disconnected with credentialExpired=%v: %v, want %s", expired, ids, want)
		}
	}
	var got []string
	cur := ""
	for {
		pg, err := s.ListClusters(ctx, domain.ClusterFilter{ConnectionStatus: domain.StatusDisconnect}, domain.Page{Limit: 3, Cursor: cur})
		must(t, err)
		for _, c := range pg.Items {
			got = append(got, c.ClusterID)
		}
		if cur = pg.NextCursor; cur == "" {
			break
		}
	}
	if want := "[c00 c02 c04 c06]"; fmt.Sprint(got) != want {
		t.Fatalf("Disconnected = %v, want %s", got, want)
	}
	all, err := s.ListClusters(ctx, domain.ClusterFilter{}, domain.Page{Limit: 1000})
	must(t, err)
	if len(all.Items) != 7 || all.NextCursor != "" {
		t.Fatalf("all clusters: %d items, cursor %q", len(all.Items), all.NextCursor)
	}
	inj := "' or 1 eq 1 or '"
	pg, err := s.ListClusters(ctx, domain.ClusterFilter{RegistrationStatus: inj, Orphan: inj}, domain.Page{})
	if err != nil || len(pg.Items) != 0 {
		t.Fatalf("injection filter matched %d rows (err %v)", len(pg.Items), err)
	}
}

func testIndex(t *testing.T, s domain.Store) {
	ctx := context.Background()
	g := "sub|rg/with#odd?chars"
	must(t, s.PutIndex(ctx, domain.IndexEntry{Kind: "machine", Group: g, Name: "n2", Value: "c1"}))
	must(t, s.PutIndex(ctx, domain.IndexEntry{Kind: "machine", Group: g, Name: "n1", Value: "c1"}))
	must(t, s.PutIndex(ctx, domain.IndexEntry{Kind: "machine", Group: g, Name: "n1", Value: "c2"})) // replace
	must(t, s.PutIndex(ctx, domain.IndexEntry{Kind: "machine", Group: "sub|other", Name: "n9", Value: "c9"}))
	e, err := s.GetIndex(ctx, "machine", g, "n1")
	must(t, err)
	if e.Value != "c2" || e.Group != g {
		t.Fatalf("get = %+v", e)
	}
	if _, err := s.GetIndex(ctx, "machine", g, "nx"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("missing: %v, want ErrNotFound", err)
	}
	l, err := s.ListIndex(ctx, "machine", g)
	must(t, err)
	if len(l) != 2 || l[0].Name != "n1" || l[1].Name != "n2" {
		t.Fatalf("list = %+v", l)
	}
	if l, err := s.ListIndex(ctx, "machine", "' or 1 eq 1 or '"); err != nil || len(l) != 0 {
		t.Fatalf("injection group listed %d rows (err %v)", len(l), err)
	}
	testIndexPages(t, s)
	must(t, s.DeleteIndex(ctx, "machine", g, "n1"))
	must(t, s.DeleteIndex(ctx, "machine", g, "n1")) // absent is fine
	if l, _ := s.ListIndex(ctx, "machine", g); len(l) != 1 || l[0].Name != "n2" {
		t.Fatalf("after delete: %+v", l)
	}
}

// testIndexPages: ListIndexPage pages one partition in name order, with ETags, at the page's size.
func testIndexPages(t *testing.T, s domain.Store) {
	ctx := context.Background()
	var want []string
	for i := range 7 {
		name := fmt.Sprintf("m%02d", i)
		want = append(want, name)
		must(t, s.PutIndex(ctx, domain.IndexEntry{Kind: "pages", Name: name, Value: name}))
	}
	must(t, s.PutIndex(ctx, domain.IndexEntry{Kind: "pages", Group: "other", Name: "x"}))
	must(t, s.PutIndex(ctx, domain.IndexEntry{Kind: "pagesx", Name: "m00"})) // another kind, same group
	var got []string
	p := domain.Page{Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatalf("more than 3 pages of 7 rows at 3 a page: %v", got)
		}
		page, err := s.ListIndexPage(ctx, "pages", "", p)
		must(t, err)
		if len(page.Items) > 3 {
			t.Fatalf("a page of %d rows at limit 3", len(page.Items))
		}
		for _, e := range page.Items {
			if e.ETag == "" {
				t.Fatalf("row %s without an ETag", e.Name)
			}
			got = append(got, e.Name)
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages listed %v, want %v", got, want)
	}
}

// testIndexBatches: GetIndexes reads several names of one kind and group at once; AddIndexes
// inserts all or none; kinds sharing a group stay apart in ListIndex.
func testIndexBatches(t *testing.T, s domain.Store) {
	ctx := context.Background()
	g := "sub|rg/odd#?"
	machine := func(name, value string) domain.IndexEntry {
		return domain.IndexEntry{Kind: "machine", Group: g, Name: name, Value: value}
	}
	must(t, s.PutIndexes(ctx, []domain.IndexEntry{machine("n1", "c1"), machine("n2", "c1"), machine("n3", "c1"),
		{Kind: "arcgroup", Group: g, Name: "c1", Value: "c1"}, {Kind: "machine", Group: "sub|other", Name: "n1", Value: "c9"}}))
	names := func(es []domain.IndexEntry) string {
		var out []string
		for _, e := range es {
			if e.ETag == "" {
				t.Fatalf("entry %s without an ETag", e.Name)
			}
			out = append(out, e.Name+"="+e.Value)
		}
		return fmt.Sprint(out)
	}
	got, err := s.GetIndexes(ctx, "machine", g, []string{"n3", "n1", "nx", "n1", "' or 1 eq 1 or '"})
	must(t, err)
	if want := "[n1=c1 n3=c1]"; names(got) != want {
		t.Fatalf("GetIndexes(n3 n1 nx n1 injection) = %s, want %s", names(got), want)
	}
	if err := s.AddIndexes(ctx, []domain.IndexEntry{machine("n4", "c2"), machine("n1", "c2")}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("AddIndexes over an existing row: %v, want ErrConflict", err)
	}
	if got, _ := s.GetIndexes(ctx, "machine", g, []string{"n1", "n4"}); names(got) != "[n1=c1]" {
		t.Fatalf("a failed AddIndexes wrote part of its rows: %s", names(got))
	}
	must(t, s.AddIndexes(ctx, []domain.IndexEntry{machine("n4", "c2"), machine("n5", "c2"), {Kind: "arcgroup", Group: g, Name: "c2", Value: "c2"}}))
	l, err := s.ListIndex(ctx, "machine", g)
	must(t, err)
	if len(l) != 5 || l[0].Name != "n1" || l[4].Name != "n5" || l[4].Value != "c2" {
		t.Fatalf("ListIndex(machine) = %+v, want n1..n5 only", l)
	}
	a, err := s.ListIndex(ctx, "arcgroup", g)
	must(t, err)
	if len(a) != 2 || a[0].Name != "c1" || a[1].Name != "c2" {
		t.Fatalf("ListIndex(arcgroup) = %+v, want c1 c2", a)
	}
	if none, err := s.GetIndexes(ctx, "machine", g, nil); err != nil || len(none) != 0 {
		t.Fatalf("GetIndexes of no names = %v, %v", none, err)
	}
}

// testIndexConditional: PutIndexIf and DeleteIndexIf act only on the version read; 20 concurrent
// read-modify-writers of one row, retrying on conflict, lose no update.
func testIndexConditional(t *testing.T, s domain.Store) {
	ctx := context.Background()
	e := domain.IndexEntry{Kind: "standalone", Name: "n1", Value: "1"}
	must(t, s.PutIndexIf(ctx, e, ""))
	if err := s.PutIndexIf(ctx, e, ""); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("insert over an existing row: %v, want ErrConflict", err)
	}
	got, err := s.GetIndex(ctx, "standalone", "", "n1")
	must(t, err)
	if got.ETag == "" {
		t.Fatal("GetIndex gave no ETag")
	}
	e.Value = "2"
	must(t, s.PutIndexIf(ctx, e, got.ETag))
	if err := s.PutIndexIf(ctx, e, got.ETag); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("replace at a stale ETag: %v, want ErrConflict", err)
	}
	if err := s.DeleteIndexIf(ctx, "standalone", "", "n1", got.ETag); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("delete at a stale ETag: %v, want ErrConflict", err)
	}
	cur, err := s.GetIndex(ctx, "standalone", "", "n1")
	must(t, err)
	if cur.Value != "2" {
		t.Fatalf("value %q, want 2", cur.Value)
	}
	must(t, s.DeleteIndexIf(ctx, "standalone", "", "n1", cur.ETag))
	must(t, s.DeleteIndexIf(ctx, "standalone", "", "n1", cur.ETag)) // absent is fine
	if err := s.PutIndexIf(ctx, e, cur.ETag); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("replace of a deleted row: %v, want ErrConflict", err)
	}
	conditionalCounter(t, s)
}

// conditionalCounter: a counter incremented by 20 writers, each retrying on conflict, loses no
// update.
func conditionalCounter(t *testing.T, s domain.Store) {
	ctx := context.Background()
	must(t, s.PutIndexIf(ctx, domain.IndexEntry{Kind: "counter", Name: "c", Value: "0"}, ""))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				r, err := s.GetIndex(ctx, "counter", "", "c")
				if err != nil {
					errs <- err
					return
				}
				n, _ := strconv.Atoi(r.Value)
				err = s.PutIndexIf(ctx, domain.IndexEntry{Kind: "counter", Name: "c", Value: strconv.Itoa(n + 1)}, r.ETag)
				if err == nil {
					return
				}
				if !errors.Is(err, domain.ErrConflict) {
					errs <- err
					return
				}
			}
			errs <- errors.New("gave up")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if r, err := s.GetIndex(ctx, "counter", "", "c"); err != nil || r.Value != "20" {
		t.Fatalf("counter = %q (%v), want 20: an update was lost", r.Value, err)
	}
}

func testSchedule(t *testing.T, s domain.Store) {
	ctx := context.Background()
	for i, id := range []string{"c3", "c1", "c2", "c4"} {
		must(t, s.Schedule(ctx, domain.Due{ClusterID: id, At: t0.Add(time.Duration(3-i) * time.Hour)}))
	}
	must(t, s.Schedule(ctx, domain.Due{ClusterID: "c1", At: t0.Add(2 * time.Hour)})) // idempotent
	due, err := s.DueBy(ctx, t0.Add(2*time.Hour), 10)
	must(t, err)
	got := fmt.Sprint(ids(due))
	if got != "[c4 c2 c1]" {
		t.Fatalf("due = %s, want [c4 c2 c1] (earliest first, at-or-before until)", got)
	}
	if !due[2].At.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("due time = %v", due[2].At)
	}
	due, err = s.DueBy(ctx, t0.Add(10*time.Hour), 2)
	must(t, err)
	if fmt.Sprint(ids(due)) != "[c4 c2]" {
		t.Fatalf("limited due = %v", ids(due))
	}
	must(t, s.Unschedule(ctx, domain.Due{ClusterID: "c4", At: t0}))
	must(t, s.Unschedule(ctx, domain.Due{ClusterID: "c4", At: t0})) // absent is fine
	due, _ = s.DueBy(ctx, t0.Add(10*time.Hour), 10)
	if fmt.Sprint(ids(due)) != "[c2 c1 c3]" {
		t.Fatalf("after unschedule = %v", ids(due))
	}
}

// A commit's due row is written if and only if the commit lands (docs/storage.md), also after
// Pending's repair of interrupted commits.
func testDueRidesOnCommit(t *testing.T, s domain.Store) {
	ctx := context.Background()
	at, early := t0.Add(time.Hour), t0.Add(-time.Hour)
	etag := commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", 1), MessageID: "m1", Due: &domain.Due{ClusterID: "c1", At: at}})
	for name, ch := range map[string]domain.Change{
		"stale ETag":        {Partition: "c1", Cluster: cluster("c1", 2), ETag: `W/"stale"`},
		"insert over state": {Partition: "c1", Cluster: cluster("c1", 2)},
		"duplicate message": {Partition: "c1", Cluster: cluster("c1", 2), ETag: etag, MessageID: "m1"},
	} {
		ch.Due = &domain.Due{ClusterID: "c1", At: early}
		if _, err := s.Commit(ctx, ch); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("%s: Commit err = %v, want ErrConflict", name, err)
		}
	}
	if _, err := s.Pending(ctx, 100); err != nil { // repairs interrupted commits: none of these landed
		t.Fatal(err)
	}
	due, err := s.DueBy(ctx, at, 10)
	must(t, err)
	if len(due) != 1 || due[0].ClusterID != "c1" || !due[0].At.Equal(at) {
		t.Fatalf("DueBy = %+v, want only the landed commit's row (c1 at %v): a failed commit wrote one", due, at)
	}
	commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", 2), ETag: etag, Due: &domain.Due{ClusterID: "c1", At: early}})
	due, err = s.DueBy(ctx, at, 10)
	must(t, err)
	if got := fmt.Sprint(ids(due)); got != "[c1 c1]" || !due[0].At.Equal(early) {
		t.Fatalf("after the second landed commit DueBy = %+v, want c1 at %v then at %v", due, early, at)
	}
}

// testAttentionRidesOnCommit: a change's deadline-index rows are written if and only if it lands,
// and only with a state.
func testAttentionRidesOnCommit(t *testing.T, s domain.Store) {
	ctx := context.Background()
	row := func(slot string, at time.Time) []domain.AttentionRow {
		return []domain.AttentionRow{{At: at, ClusterID: "c1", Slot: slot}}
	}
	etag := commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", 1), MessageID: "m1", Attention: row("landed", t0)})
	for name, ch := range map[string]domain.Change{
		"stale ETag":        {Partition: "c1", Cluster: cluster("c1", 2), ETag: `W/"stale"`},
		"insert over state": {Partition: "c1", Cluster: cluster("c1", 2)},
		"duplicate message": {Partition: "c1", Cluster: cluster("c1", 2), ETag: etag, MessageID: "m1"},
	} {
		ch.Attention = row("failed", t0.Add(-time.Hour))
		if _, err := s.Commit(ctx, ch); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("%s: Commit err = %v, want ErrConflict", name, err)
		}
	}
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", MessageID: "m9", Attention: row("stateless", t0)}); err == nil {
		t.Fatal("deadline rows without a state were committed")
	}
	if _, err := s.Pending(ctx, 100); err != nil { // repairs interrupted commits: none of these landed
		t.Fatal(err)
	}
	got, err := s.AttentionBy(ctx, domain.AttentionRow{}, t0.Add(time.Hour), 10)
	must(t, err)
	if d := cmp.Diff(row("landed", t0), got); d != "" {
		t.Fatalf("deadline rows: only the landed commit's (-want +got):\n%s", d)
	}
}

// No time makes a due row that sorts out of place or cannot be read back: times before 1970 and
// after 2262 (outside nanoseconds since 1970) are still listed in order and removable, and a
// time JSON cannot hold is refused.
func testScheduleExtremeTimes(t *testing.T, s domain.Store) {
	ctx := context.Background()
	old := time.Date(1600, 1, 24, 0, 0, 0, 0, time.UTC)
	late := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	must(t, s.Schedule(ctx, domain.Due{ClusterID: "c1", At: t0}))
	must(t, s.Schedule(ctx, domain.Due{ClusterID: "c2", At: old}))
	must(t, s.Schedule(ctx, domain.Due{ClusterID: "c3", At: late}))
	if err := s.Schedule(ctx, domain.Due{ClusterID: "c4", At: late.AddDate(1, 0, 0)}); err == nil {
		t.Fatal("a due row in year 10000 was accepted")
	}
	due, err := s.DueBy(ctx, t0, 10)
	must(t, err)
	if got := fmt.Sprint(ids(due)); got != "[c2 c1]" || !due[0].At.Equal(old) {
		t.Fatalf("DueBy(now) = %+v, want c2 (at %v) then c1; year 9999 is not due", due, old)
	}
	for _, d := range due {
		must(t, s.Unschedule(ctx, d))
	}
	due, err = s.DueBy(ctx, late, 10)
	must(t, err)
	if got := fmt.Sprint(ids(due)); got != "[c3]" {
		t.Fatalf("after unscheduling, DueBy(9999) = %v, want [c3]", got)
	}
}

// The deadline index is one range in (At, ClusterID, Slot) order: AttentionBy reads what sorts
// after a position, up to a time, at most limit rows (docs/policy.md, "Upcoming").
func testAttentionRange(t *testing.T, s domain.Store) {
	ctx := context.Background()
	const a, b = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	row := func(h int, id, slot string) domain.AttentionRow {
		return domain.AttentionRow{At: t0.Add(time.Duration(h) * time.Hour), ClusterID: id, Slot: slot}
	}
	all := []domain.AttentionRow{row(-50, b, "3Connection"), row(1, a, "1Registration"), row(1, a, "2Cluster"),
		row(1, b, "1Registration"), row(2, a, "6ResetStall:node-1"), row(24*3650, b, "4Credential")}
	must(t, s.PutAttention(ctx, []domain.AttentionRow{all[5], all[3], all[1]}))
	must(t, s.PutAttention(ctx, []domain.AttentionRow{all[0], all[2], all[4], all[1]})) // idempotent
	list := func(after domain.AttentionRow, until time.Time, limit int) []domain.AttentionRow {
		t.Helper()
		got, err := s.AttentionBy(ctx, after, until, limit)
		must(t, err)
		return got
	}
	for _, tc := range []struct {
		name  string
		after domain.AttentionRow
		until time.Time
		limit int
		want  []domain.AttentionRow
	}{
		{"everything by 3h, overdue first", domain.AttentionRow{}, t0.Add(3 * time.Hour), 10, all[:5]},
		{"limit", domain.AttentionRow{}, t0.Add(3 * time.Hour), 2, all[:2]},
		{"after a position", all[1], t0.Add(3 * time.Hour), 2, all[2:4]},
		{"until is inclusive", all[3], t0.Add(2 * time.Hour), 10, all[4:5]},
		{"ten years on", all[4], t0.Add(24 * 3650 * time.Hour), 10, all[5:]},
	} {
		if diff := cmp.Diff(tc.want, list(tc.after, tc.until, tc.limit), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	must(t, s.DropAttention(ctx, []domain.AttentionRow{all[2], all[0]}))
	must(t, s.DropAttention(ctx, []domain.AttentionRow{all[2], all[3]})) // one already gone
	want := []domain.AttentionRow{all[1], all[4]}
	if diff := cmp.Diff(want, list(domain.AttentionRow{}, t0.Add(3*time.Hour), 10)); diff != "" {
		t.Errorf("after drops (-want +got):\n%s", diff)
	}
}

// loaded is what a test checks of a Load's record.
// testLoadState: LoadState reads the state row alone, with its ETag (usable by the next Commit):
// not the marker, not the pending events.
func testLoadState(t *testing.T, s domain.Store) {
	ctx := context.Background()
	rec, err := s.LoadState(ctx, "c1")
	must(t, err)
	if d := cmp.Diff(loaded{StateOnly: true}, loadedOf(rec)); d != "" {
		t.Fatalf("no cluster (-want +got):\n%s", d)
	}
	c1 := cluster("c1", 1)
	c1.Recent = []string{"m1"}
	etag1 := commit(t, s, domain.Change{Partition: "c1", Cluster: c1, MessageID: "m1", Events: []domain.Event{ev("c1", "e1", 0)}})
	rec, err = s.LoadState(ctx, "c1")
	must(t, err)
	if d := cmp.Diff(loaded{StateOnly: true, Exists: true, ETag: etag1, Name: "c-c1"}, loadedOf(rec)); d != "" || len(rec.Pending) != 0 {
		t.Fatalf("LoadState read more than the state row (pending %d; -want +got):\n%s", len(rec.Pending), d)
	}
	if !slices.Equal(rec.Cluster.Recent, []string{"m1"}) {
		t.Fatalf("state's recent commits %v, want [m1]", rec.Cluster.Recent)
	}
	etag2 := commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", 2), ETag: rec.ETag, MessageID: "m2"})
	if rec, _ := s.LoadState(ctx, "c1"); rec.ETag != etag2 || rec.Cluster.Version != 2 {
		t.Fatalf("after a commit on its ETag: ETag %q version %d, want %q 2", rec.ETag, rec.Cluster.Version, etag2)
	}
}

type loaded struct {
	StateOnly    bool
	Exists, Seen bool
	ETag         string
	Name, Region string
	Nodes        int
}

// loadedOf is rec as loaded.
func loadedOf(rec domain.ClusterRecord) loaded {
	l := loaded{Seen: rec.Seen, ETag: rec.ETag, StateOnly: rec.StateOnly}
	if c := rec.Cluster; c != nil {
		l.Exists, l.Name, l.Region, l.Nodes = true, c.Name, c.Region, len(c.Nodes)
	}
	return l
}

// eventIDs are the IDs of evs, in order.
func eventIDs(evs []domain.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func ids(ds []domain.Due) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ClusterID)
	}
	return out
}

func testOutbox(t *testing.T, s domain.Store) {
	ctx := context.Background()
	// Commits write events; "publishing" never happens (a crash between commit and publish).
	etag := ""
	for v := int64(1); v <= 3; v++ {
		etag = commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", v), ETag: etag, MessageID: fmt.Sprint("m", v),
			Events: []domain.Event{ev("c1", fmt.Sprint("m", v), 0), ev("c1", fmt.Sprint("m", v), 1)}})
	}
	commit(t, s, domain.Change{Partition: "c2", Cluster: cluster("c2", 1), Events: []domain.Event{ev("c2", "x", 0)}})
	p, err := s.Pending(ctx, 100)
	must(t, err)
	if len(p) != 7 {
		t.Fatalf("pending = %d events, want 7", len(p))
	}
	var c1 []string
	for _, e := range p {
		if e.Key == "" || len(e.Body) == 0 {
			t.Fatalf("pending event without key or body: %+v", e)
		}
		if e.ClusterID == "c1" {
			c1 = append(c1, e.ID)
		}
	}
	var want []string
	for v := 1; v <= 3; v++ {
		want = append(want, ev("c1", fmt.Sprint("m", v), 0).ID, ev("c1", fmt.Sprint("m", v), 1).ID)
	}
	if d := cmp.Diff(want, c1); d != "" {
		t.Fatalf("c1 events out of commit order (-want +got):\n%s", d)
	}
	if lim, _ := s.Pending(ctx, 3); len(lim) != 3 {
		t.Fatalf("Pending(3) = %d events", len(lim))
	}
	// Still pending on a second look: nothing is lost until MarkPublished.
	again, _ := s.Pending(ctx, 100)
	if len(again) != 7 {
		t.Fatalf("second Pending = %d events, want 7", len(again))
	}
	outboxPublished(t, s, p)
}

// outboxPublished: events marked published (twice is harmless) are pending no more, and the
// others stay until they are.
func outboxPublished(t *testing.T, s domain.Store, p []domain.Event) {
	ctx := context.Background()
	must(t, s.MarkPublished(ctx, p[:2]))
	must(t, s.MarkPublished(ctx, p[:2])) // repeat is harmless
	rest, err := s.Pending(ctx, 100)
	must(t, err)
	if len(rest) != 5 {
		t.Fatalf("after publishing 2: %d pending, want 5", len(rest))
	}
	for _, e := range rest {
		if e.ID == p[0].ID || e.ID == p[1].ID {
			t.Fatalf("published event %s still pending", e.ID)
		}
	}
	must(t, s.MarkPublished(ctx, rest))
	if left, _ := s.Pending(ctx, 100); len(left) != 0 {
		t.Fatalf("after publishing all: %d pending", len(left))
	}
	var body map[string]any
	must(t, json.Unmarshal(p[0].Body, &body))
	if body["type"] != domain.EvPolicyWarning {
		t.Fatalf("event body = %v", body)
	}
}

// testPartlyPublished: a publish that fails part-way through one commit's events marks the events
// sent before it; the rest of that commit stays pending for the OutboxRelay (Pending), not only
// for the cluster's next Load, until it is marked too.
func testPartlyPublished(t *testing.T, s domain.Store) {
	ctx := context.Background()
	evs := []domain.Event{ev("c1", "m1", 0), ev("c1", "m1", 1), ev("c1", "m1", 2)}
	commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", 1), MessageID: "m1", Events: evs})
	must(t, s.MarkPublished(ctx, evs[:2]))
	rest, err := s.Pending(ctx, 100)
	must(t, err)
	if d := cmp.Diff(eventIDs(evs[2:]), eventIDs(rest)); d != "" {
		t.Fatalf("Pending after 2 of 3 events published (-want +got):\n%s", d)
	}
	must(t, s.MarkPublished(ctx, rest))
	for range 2 { // the second look finds what the first one's clean-up left
		left, err := s.Pending(ctx, 100)
		must(t, err)
		if len(left) != 0 {
			t.Fatalf("after publishing all: %d pending, want none", len(left))
		}
	}
}

func testPendingIn(t *testing.T, s domain.Store) {
	ctx := context.Background()
	// Interleaved commits of two clusters; c1's events must come back in c1's commit order only.
	etag := ""
	var want []string
	for v := int64(1); v <= 3; v++ {
		e0, e1 := ev("c1", fmt.Sprint("m", v), 0), ev("c1", fmt.Sprint("m", v), 1)
		etag = commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", v), ETag: etag, MessageID: fmt.Sprint("m", v),
			Events: []domain.Event{e0, e1}})
		commit(t, s, domain.Change{Partition: fmt.Sprint("d", v), Cluster: cluster(fmt.Sprint("d", v), 1),
			Events: []domain.Event{ev(fmt.Sprint("d", v), "x", 0)}})
		want = append(want, e0.ID, e1.ID)
	}
	got, err := s.PendingIn(ctx, "c1", 100)
	must(t, err)
	for _, e := range got {
		if e.ClusterID != "c1" || e.Key == "" || len(e.Body) == 0 {
			t.Fatalf("PendingIn(c1) returned %+v", e)
		}
	}
	if d := cmp.Diff(want, eventIDs(got)); d != "" {
		t.Fatalf("PendingIn(c1) not in commit order or incomplete (-want +got):\n%s", d)
	}
	lim, err := s.PendingIn(ctx, "c1", 3)
	must(t, err)
	if d := cmp.Diff(want[:3], eventIDs(lim)); d != "" {
		t.Fatalf("PendingIn(c1, 3): want the oldest 3 (-want +got):\n%s", d)
	}
	if none, err := s.PendingIn(ctx, "c9", 100); err != nil || len(none) != 0 {
		t.Fatalf("PendingIn(unknown) = %v, %v; want none", none, err)
	}
	must(t, s.MarkPublished(ctx, got[:2]))
	rest, err := s.PendingIn(ctx, "c1", 100)
	must(t, err)
	if d := cmp.Diff(want[2:], eventIDs(rest)); d != "" {
		t.Fatalf("after publishing 2: PendingIn(c1) (-want +got):\n%s", d)
	}
	must(t, s.MarkPublished(ctx, rest))
	if left, err := s.PendingIn(ctx, "c1", 100); err != nil || len(left) != 0 {
		t.Fatalf("after publishing all: PendingIn(c1) = %d, %v", len(left), err)
	}
	if other, err := s.PendingIn(ctx, "d2", 100); err != nil || len(other) != 1 {
		t.Fatalf("PendingIn(d2) = %d, %v; other partitions untouched", len(other), err)
	}
}

// testLoadPending: Load returns the partition's unpublished events with the state, in commit
// order, at most MaxLoadPending (PendingMore beyond).
func testLoadPending(t *testing.T, s domain.Store) {
	ctx := context.Background()
	var want []string
	etag := ""
	for v := int64(1); v <= 3; v++ {
		var evs []domain.Event
		for i := range 40 {
			e := ev("c1", fmt.Sprint("m", v), i)
			evs = append(evs, e)
			want = append(want, e.ID)
		}
		etag = commit(t, s, domain.Change{Partition: "c1", Cluster: cluster("c1", v), ETag: etag, MessageID: fmt.Sprint("m", v), Events: evs})
		commit(t, s, domain.Change{Partition: fmt.Sprint("d", v), Cluster: cluster(fmt.Sprint("d", v), 1), Events: []domain.Event{ev(fmt.Sprint("d", v), "x", 0)}})
	}
	rec, err := s.Load(ctx, "c1", "m3")
	must(t, err)
	if got := pendingIDs(t, rec, "c1"); !rec.Seen || rec.ETag != etag || !rec.PendingMore || fmt.Sprint(got) != fmt.Sprint(want[:domain.MaxLoadPending]) {
		t.Fatalf("Load(c1): seen %v, etag ok %v, more %v, %d pending; want seen, the state's etag, more, the oldest %d in commit order",
			rec.Seen, rec.ETag == etag, rec.PendingMore, len(got), domain.MaxLoadPending)
	}
	must(t, s.MarkPublished(ctx, rec.Pending[:90]))
	rec, err = s.Load(ctx, "c1", "")
	must(t, err)
	if got := pendingIDs(t, rec, "c1"); rec.PendingMore || fmt.Sprint(got) != fmt.Sprint(want[90:]) || rec.Cluster == nil || rec.Cluster.Version != 3 {
		t.Fatalf("after publishing 90: more %v, %d pending; want the last 30 of version 3", rec.PendingMore, len(got))
	}
	if rec, err := s.Load(ctx, "nobody", "m1"); err != nil || rec.Cluster != nil || rec.Seen || len(rec.Pending) != 0 {
		t.Fatalf("Load of an empty partition = %+v, %v", rec, err)
	}
}

// pendingIDs are the IDs of rec's pending events, each checked to be whole and cluster's.
func pendingIDs(t *testing.T, rec domain.ClusterRecord, cluster string) []string {
	t.Helper()
	var out []string
	for _, e := range rec.Pending {
		if e.Key == "" || len(e.Body) == 0 || e.ClusterID != cluster {
			t.Fatalf("pending event read by Load: %+v", e)
		}
		out = append(out, e.ID)
	}
	return out
}

func testNoteSync(t *testing.T, s domain.Store) {
	ctx := context.Background()
	if n, err := s.NewestSync(ctx); err != nil || !n.IsZero() {
		t.Fatalf("empty NewestSync = %v, %v", n, err)
	}
	must(t, s.NoteSync(ctx, t0.Add(time.Hour)))
	must(t, s.NoteSync(ctx, t0)) // older: ignored
	n, err := s.NewestSync(ctx)
	must(t, err)
	if !n.Equal(t0.Add(time.Hour)) {
		t.Fatalf("NewestSync = %v, want %v", n, t0.Add(time.Hour))
	}
	must(t, s.NoteSync(ctx, t0.Add(2*time.Hour)))
	if n, _ := s.NewestSync(ctx); !n.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("NewestSync did not move forward: %v", n)
	}
}

// counter is kept in the cluster's Notices length by concurrent read-modify-write loops.
func testConcurrentWriters(t *testing.T, s domain.Store) {
	const writers, each = 20, 10
	ctx := context.Background()
	commit(t, s, domain.Change{Partition: "hot", Cluster: cluster("hot", 0)})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				for attempt := 0; ; attempt++ {
					rec, err := s.Load(ctx, "hot", "")
					if err != nil {
						errs <- err
						return
					}
					c := rec.Cluster
					c.Version++
					c.Notices = append(c.Notices, fmt.Sprintf("w%d-%d", w, i))
					_, err = s.Commit(ctx, domain.Change{Partition: "hot", Cluster: c, ETag: rec.ETag, MessageID: fmt.Sprintf("w%d-%d", w, i),
						History: []domain.HistoryEntry{{What: "n"}}})
					if err == nil {
						break
					}
					if !errors.Is(err, domain.ErrConflict) || attempt > 1000 {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rec, err := s.Load(ctx, "hot", "")
	must(t, err)
	if len(rec.Cluster.Notices) != writers*each || rec.Cluster.Version != writers*each {
		t.Fatalf("kept %d updates (version %d), want %d: lost updates", len(rec.Cluster.Notices), rec.Cluster.Version, writers*each)
	}
	h, err := s.History(ctx, "hot", domain.Page{Limit: 1000})
	must(t, err)
	if len(h.Items) != writers*each {
		t.Fatalf("history has %d entries, want %d", len(h.Items), writers*each)
	}
}

func testConcurrentProjections(t *testing.T, s domain.Store) {
	const n = 12
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("p%02d", i)
			etag, err := s.Commit(ctx, domain.Change{Partition: id, Cluster: cluster(id, 1), Project: true})
			if err == nil {
				c := cluster(id, 2)
				c.RegistrationStatus = domain.StatusRegistered
				_, err = s.Commit(ctx, domain.Change{Partition: id, Cluster: c, ETag: etag, Project: true})
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	c := counts(t, s)
	if c.Clusters != n || c.RegistrationStatus[domain.StatusRegistered] != n || c.RegistrationStatus[domain.StatusNotYet] != 0 {
		t.Fatalf("counts after concurrent projections: %+v", c)
	}
}

func testBadCursor(t *testing.T, s domain.Store) {
	ctx := context.Background()
	if _, err := s.History(ctx, "c1", domain.Page{Cursor: "not a cursor"}); !errors.Is(err, domain.ErrInvalidCursor) {
		t.Fatalf("History with a bad cursor: %v, want ErrInvalidCursor", err)
	}
	if _, err := s.ListClusters(ctx, domain.ClusterFilter{}, domain.Page{Cursor: "bm90IG1pbmU"}); !errors.Is(err, domain.ErrInvalidCursor) {
		t.Fatalf("ListClusters with a bad cursor: %v, want ErrInvalidCursor", err)
	}
}
