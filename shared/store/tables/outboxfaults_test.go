package tables_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/relay"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// countPub counts the events published.
type countPub struct{ n int }

func (p *countPub) Publish(_ context.Context, evs []domain.Event) error { p.n += len(evs); return nil }

// Commits interrupted right after their transaction (their list row, counts and rejection row
// lost) are repaired by the relay even when a later commit of the same cluster flushes first,
// after the markers' grace period: MarkPublished leaves a commit marker to Pending.
func TestFlushLeavesUnrepairedMarkersToPending(t *testing.T) {
	ctx := context.Background()
	s, cr, clk := crashingStore(t)
	p := &countPub{}
	r := relay.New(s, p, nil)
	c := &domain.Cluster{ID: "c1", RegistrationStatus: domain.StatusRegistered, ClusterStatus: domain.StatusClustered,
		ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone, Version: 1}
	etag, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: c, MessageID: "m0", Project: true})
	if err != nil {
		t.Fatal(err)
	}
	c2 := *c
	c2.ConnectionStatus, c2.Version = domain.StatusDisconnect, 2
	ev1 := domain.NewEvent("m1", 0, domain.EvPolicyWarning, "c1", "", clk.now(), nil)
	cr.armed.Store(true)
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: &c2, ETag: etag, MessageID: "m1", Follows: 1,
		Events: []domain.Event{ev1}, Project: true}); err == nil {
		t.Fatal("m1 succeeded through the crash")
	}
	cr.recover()
	rj := &domain.Rejection{At: clk.now(), MessageID: "m2", ClusterID: "c1", Code: domain.CodeInvalidField, Reason: "x"}
	ev2 := domain.NewEvent("m2", 0, domain.EvRequestRejected, "c1", "", clk.now(), nil)
	cr.armed.Store(true)
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", MessageID: "m2", Follows: 2, Events: []domain.Event{ev2}, Rejection: rj}); err == nil {
		t.Fatal("m2 succeeded through the crash")
	}
	cr.recover()
	clk.advance(3 * time.Minute) // past the markers' grace
	rec, err := s.Load(ctx, "c1", "")
	if err != nil {
		t.Fatal(err)
	}
	c3 := *rec.Cluster
	c3.Version = 3
	ev3 := domain.NewEvent("m3", 0, domain.EvPolicyWarning, "c1", "", clk.now(), nil)
	ch := domain.Change{Partition: "c1", Cluster: &c3, ETag: rec.ETag, MessageID: "m3", Follows: 2, Events: []domain.Event{ev3}}
	if _, err := s.Commit(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx, ch.Events); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, 500); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListClusters(ctx, domain.ClusterFilter{}, domain.Page{})
	if err != nil || len(list.Items) != 1 || list.Items[0].ConnectionStatus != domain.StatusDisconnect {
		t.Errorf("list row %+v (%v), want Disconnected", list.Items, err)
	}
	if cnt, err := s.Counts(ctx); err != nil || cnt.ConnectionStatus[domain.StatusDisconnect] != 1 || cnt.ConnectionStatus[domain.StatusConnected] != 0 {
		t.Errorf("counts %v (%v), want one Disconnected", cnt.ConnectionStatus, err)
	}
	if rjs, err := s.Rejections(ctx, domain.Page{}); err != nil || len(rjs.Items) != 1 {
		t.Errorf("rejections %+v (%v), want m2's", rjs.Items, err)
	}
	if p.n != 3 {
		t.Errorf("%d events published, want 3", p.n)
	}
}

// Flushed commits leave no outbox markers behind: once the counts have taken in the 50 commits'
// list rows (the first OutboxRelay run's fold, whose cost follows those 50 changes), a run costs
// what is pending, nothing, not what was recently committed.
func TestFlushedCommitsLeaveNoMarkers(t *testing.T) {
	ctx := context.Background()
	cp := &tables.CountingPolicy{}
	s, err := tables.New(ctx, tables.Config{ConnectionString: azurite.Start(t)}, &tables.Options{PerCallPolicies: []policy.Policy{cp}})
	if err != nil {
		t.Fatal(err)
	}
	r := relay.New(s, &countPub{}, nil)
	for i := range 50 {
		id := fmt.Sprintf("c%03d", i)
		c := &domain.Cluster{ID: id, RegistrationStatus: domain.StatusRegistered, ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone, Version: 1}
		ch := domain.Change{Partition: id, Cluster: c, MessageID: "m" + id, Project: true,
			Events: []domain.Event{domain.NewEvent("m"+id, 0, domain.EvClusterRegistered, id, "", time.Now(), nil)}}
		if _, err := s.Commit(ctx, ch); err != nil {
			t.Fatal(err)
		}
		if err := r.Flush(ctx, ch.Events); err != nil {
			t.Fatal(err)
		}
	}
	cp.Reset()
	if n, err := r.Run(ctx, 500); err != nil || n != 0 {
		t.Fatalf("first Run = %d, %v", n, err)
	}
	if n := cp.Count(); n > 2+50+2*3 {
		t.Errorf("the first run made %d round trips, want at most 58: the markers, the fold's pointers, a list row each, and for each of 3 transactions the counts read", n)
	}
	if cnt, err := s.Counts(ctx); err != nil || cnt.Clusters != 50 {
		t.Fatalf("counts after the fold: %+v, %v; want 50 clusters", cnt, err)
	}
	cp.Reset()
	if n, err := r.Run(ctx, 500); err != nil || n != 0 {
		t.Fatalf("Run = %d, %v", n, err)
	}
	if n := cp.Count(); n > 2 {
		t.Errorf("an OutboxRelay run with nothing pending made %d round trips, want at most 2", n)
	}
}

// sentThenFail publishes the first sent events of its first call, then fails naming them (as
// bus.PublishError does); later calls publish everything.
type sentThenFail struct {
	sent  int
	calls int
	got   []string
}

type partlySent []string

func (p partlySent) Error() string     { return "link detached" }
func (p partlySent) SentIDs() []string { return p }

func (p *sentThenFail) Publish(_ context.Context, evs []domain.Event) error {
	p.calls++
	n := len(evs)
	if p.calls == 1 {
		n = min(p.sent, n)
	}
	var ids []string
	for _, e := range evs[:n] {
		ids = append(ids, e.ID)
	}
	p.got = append(p.got, ids...)
	if n < len(evs) {
		return partlySent(ids)
	}
	return nil
}

// A flush that fails after 2 of a commit's 3 events leaves the third to the OutboxRelay (its
// publish marker stays), which sends it; the run after that removes the marker and then an
// OutboxRelay run costs what is pending again.
func TestFlushFailedPartWayLeavesTheRestToTheRelay(t *testing.T) {
	ctx := context.Background()
	cp := &tables.CountingPolicy{}
	s, err := tables.New(ctx, tables.Config{ConnectionString: azurite.Start(t)}, &tables.Options{PerCallPolicies: []policy.Policy{cp}})
	if err != nil {
		t.Fatal(err)
	}
	pub := &sentThenFail{sent: 2}
	r := relay.New(s, pub, nil)
	var evs []domain.Event
	for i := range 3 {
		evs = append(evs, domain.NewEvent("m1", i, domain.EvPolicyWarning, "c1", "", time.Now(), nil))
	}
	c := &domain.Cluster{ID: "c1", RegistrationStatus: domain.StatusRegistered, ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone, Version: 1}
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: c, MessageID: "m1", Events: evs}); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx, evs); err == nil {
		t.Fatal("the flush's publish failure was not returned")
	}
	if n, err := r.Run(ctx, 100); err != nil || n != 1 {
		t.Fatalf("OutboxRelay run = %d, %v; want the third event published", n, err)
	}
	want := []string{evs[0].ID, evs[1].ID, evs[2].ID}
	if d := cmp.Diff(want, pub.got); d != "" {
		t.Fatalf("published (-want +got):\n%s", d)
	}
	for run := range 2 { // the first removes the marker the split commit left
		cp.Reset()
		if n, err := r.Run(ctx, 100); err != nil || n != 0 {
			t.Fatalf("run %d = %d, %v; want nothing pending", run, n, err)
		}
	}
	if n := cp.Count(); n > 2 {
		t.Errorf("an OutboxRelay run with nothing pending made %d round trips, want at most 2", n)
	}
}
