package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/azlocal/registrar/shared/domain"
)

// Subscriptions of the scoped contract tests (lower-case, as the domain stores them).
const (
	subA = "aaaaaaaa-0000-4000-8000-00000000000a"
	subB = "bbbbbbbb-0000-4000-8000-00000000000b"
	subC = "cccccccc-0000-4000-8000-00000000000c"
)

// inSub is a cluster of subscription sub ("" for none).
func inSub(id, sub string, version int64) *domain.Cluster {
	c := cluster(id, version)
	c.SubscriptionID = sub
	return c
}

// listAll pages through ListClusters with limit and returns the IDs in order.
func listAll(t *testing.T, s domain.Store, f domain.ClusterFilter, limit int) []string {
	t.Helper()
	got := []string{}
	cur := ""
	for range 100 {
		pg, err := s.ListClusters(context.Background(), f, domain.Page{Limit: limit, Cursor: cur})
		must(t, err)
		if len(pg.Items) == 0 && pg.NextCursor != "" {
			t.Fatalf("an empty page with a cursor (filter %+v)", f)
		}
		for _, c := range pg.Items {
			got = append(got, c.ClusterID)
		}
		if cur = pg.NextCursor; cur == "" {
			return got
		}
	}
	t.Fatal("ListClusters does not end")
	return nil
}

// testScopedList: a limited scope lists its subscriptions' clusters only, by subscription then
// cluster ID, with the status filters, paged without repeats or gaps; a cluster that moves to
// another subscription leaves the first one's list.
func testScopedList(t *testing.T, s domain.Store) {
	etags, prev := map[string]string{}, map[string]*domain.ClusterSummary{}
	put := func(c *domain.Cluster) {
		etags[c.ID] = commit(t, s, domain.Change{Partition: c.ID, Cluster: c, ETag: etags[c.ID], Project: true, Replaces: prev[c.ID]})
		sum := c.Summary()
		prev[c.ID] = &sum
	}
	for i, sub := range []string{subB, subA, "", subB, subA, subC, subA} {
		c := inSub(fmt.Sprintf("c%02d", i), sub, 1)
		if i%2 == 0 {
			c.ConnectionStatus = domain.StatusDisconnect
		}
		put(c)
	}
	a, ab, none := domain.InSubscriptions(subA), domain.InSubscriptions(subB, subA), domain.InSubscriptions()
	for _, c := range []struct {
		name  string
		f     domain.ClusterFilter
		limit int
		want  []string
	}{
		{"A", domain.ClusterFilter{Scope: &a}, 100, []string{"c01", "c04", "c06"}},
		{"A, pages of 1", domain.ClusterFilter{Scope: &a}, 1, []string{"c01", "c04", "c06"}},
		{"A and B, pages of 2", domain.ClusterFilter{Scope: &ab}, 2, []string{"c01", "c04", "c06", "c00", "c03"}},
		{"A and B, Disconnected", domain.ClusterFilter{Scope: &ab, ConnectionStatus: domain.StatusDisconnect}, 1, []string{"c04", "c06", "c00"}},
		{"no subscriptions", domain.ClusterFilter{Scope: &none}, 100, []string{}},
		{"everywhere", domain.ClusterFilter{Scope: &domain.Scope{All: true}}, 3, []string{"c00", "c01", "c02", "c03", "c04", "c05", "c06"}},
	} {
		if diff := cmp.Diff(c.want, listAll(t, s, c.f, c.limit)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	// c04 moves from A to C (unregistered, then registered elsewhere); c02 gets a subscription.
	put(inSub("c04", subC, 2))
	put(inSub("c02", subA, 2))
	c := domain.InSubscriptions(subC)
	if diff := cmp.Diff([]string{"c01", "c02", "c06"}, listAll(t, s, domain.ClusterFilter{Scope: &a}, 2)); diff != "" {
		t.Errorf("A after the moves (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c04", "c05"}, listAll(t, s, domain.ClusterFilter{Scope: &c}, 100)); diff != "" {
		t.Errorf("C after the moves (-want +got):\n%s", diff)
	}
	pg, err := s.ListClusters(context.Background(), domain.ClusterFilter{Scope: &c}, domain.Page{Limit: 1})
	must(t, err)
	if len(pg.Items) != 1 || pg.Items[0].SubscriptionID != subC || pg.Items[0].ClusterName != "c-c04" {
		t.Errorf("C's first row: %+v", pg.Items)
	}
}

// testScopedCounts: the counts of some subscriptions follow every projection, moves included,
// sum as the fleet's do, and count nothing twice when a projection repeats.
func testScopedCounts(t *testing.T, s domain.Store) {
	ctx := context.Background()
	etags, prev := map[string]string{}, map[string]*domain.ClusterSummary{}
	put := func(c *domain.Cluster) {
		etags[c.ID] = commit(t, s, domain.Change{Partition: c.ID, Cluster: c, ETag: etags[c.ID], Project: true, Replaces: prev[c.ID]})
		sum := c.Summary()
		prev[c.ID] = &sum
	}
	for i, sub := range []string{subA, subA, subB, ""} {
		put(inSub(fmt.Sprintf("k%d", i), sub, 1))
	}
	k1 := inSub("k1", subA, 2)
	k1.RegistrationStatus, k1.CredentialExpired = domain.StatusRegistered, true
	put(k1)
	put(inSub("k2", subA, 2)) // moves from B to A
	k1b := *k1
	k1b.Version = 3
	put(&k1b) // the same list row again: counts nothing twice
	if _, err := s.Pending(ctx, 100); err != nil {
		t.Fatal(err)
	}
	want := map[string]domain.FleetCounts{
		subA: {Clusters: 3, RegistrationStatus: map[string]int{domain.StatusNotYet: 2, domain.StatusRegistered: 1},
			ClusterStatus: map[string]int{domain.StatusNotYet: 3}, ConnectionStatus: map[string]int{domain.StatusNotYet: 3},
			Orphan: map[string]int{domain.OrphanNone: 3}, CredentialExpired: 1},
		subB: {},
		subC: {},
	}
	for sub, w := range want {
		got, err := s.CountsIn(ctx, []string{sub})
		must(t, err)
		if diff := cmp.Diff(w, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("CountsIn(%s) (-want +got):\n%s", sub, diff)
		}
	}
	both, err := s.CountsIn(ctx, []string{subB, subA, subA})
	must(t, err)
	if diff := cmp.Diff(want[subA], both, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("CountsIn(B, A, A) (-want +got):\n%s", diff)
	}
	if fleet := counts(t, s); fleet.Clusters != 4 || fleet.RegistrationStatus[domain.StatusRegistered] != 1 {
		t.Errorf("fleet counts %+v, want 4 clusters, 1 registered", fleet)
	}
	if none, err := s.CountsIn(ctx, nil); err != nil || none.Clusters != 0 {
		t.Errorf("CountsIn(none) = %+v, %v", none, err)
	}
}

// testScopedRejections: a subscription's rejections are listed newest first, merged across the
// subscriptions asked for, paged without repeats; those of no subscription only fleet-wide.
func testScopedRejections(t *testing.T, s domain.Store) {
	ctx := context.Background()
	subs := []string{subA, subB, "", subA, subC, subB, subA}
	for i, sub := range subs {
		rj := &domain.Rejection{At: t0.Add(time.Duration(i) * time.Second), MessageID: fmt.Sprint("r", i), Code: domain.CodeInvalidField,
			Reason: "bad", SubscriptionID: sub}
		commit(t, s, domain.Change{Partition: domain.UnknownSession, MessageID: rj.MessageID, Rejection: rj,
			Events: []domain.Event{ev("", rj.MessageID, 0)}})
	}
	list := func(in []string, limit int) []string {
		got := []string{}
		cur := ""
		for range 100 {
			pg, err := s.RejectionsIn(ctx, in, domain.Page{Limit: limit, Cursor: cur})
			must(t, err)
			for _, r := range pg.Items {
				got = append(got, r.MessageID)
			}
			if cur = pg.NextCursor; cur == "" {
				return got
			}
		}
		t.Fatal("RejectionsIn does not end")
		return nil
	}
	for _, c := range []struct {
		in    []string
		limit int
		want  []string
	}{
		{[]string{subA}, 100, []string{"r6", "r3", "r0"}},
		{[]string{subA}, 1, []string{"r6", "r3", "r0"}},
		{[]string{subB, subA}, 2, []string{"r6", "r5", "r3", "r1", "r0"}},
		{[]string{subC}, 1, []string{"r4"}},
		{nil, 10, []string{}},
	} {
		if diff := cmp.Diff(c.want, list(c.in, c.limit)); diff != "" {
			t.Errorf("RejectionsIn(%v, limit %d) (-want +got):\n%s", c.in, c.limit, diff)
		}
	}
	all, err := s.Rejections(ctx, domain.Page{Limit: 100})
	must(t, err)
	var ids []string
	for _, r := range all.Items {
		ids = append(ids, r.MessageID)
	}
	if diff := cmp.Diff([]string{"r6", "r5", "r4", "r3", "r2", "r1", "r0"}, ids); diff != "" {
		t.Errorf("the fleet-wide list, each once (-want +got):\n%s", diff)
	}
}
