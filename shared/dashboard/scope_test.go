package dashboard

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
)

// scopedRoles read the clusters of one of fleetOf's subscriptions each.
var scopedRoles = []auth.RoleDefinition{
	{Name: "Reader.Fleet", Actions: []string{"*/read"}, AssignableScopes: []string{"/subscriptions/" + fleetSub}},
	{Name: "Reader.Other", Actions: []string{"*/read"}, AssignableScopes: []string{"/subscriptions/" + otherSub}},
}

// summaryAs answers GET /summary over st to a caller with roles.
func summaryAs(t *testing.T, st domain.Store, now time.Time, roles ...string) Summary {
	t.Helper()
	a, err := auth.New(auth.Config{EasyAuthEnabled: true, Roles: scopedRoles})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(now)
	quiet := slog.New(slog.DiscardHandler)
	svc := domain.NewService(st, clk, &domain.Options{Logger: quiet})
	r := admin.New(admin.Deps{Service: svc, Auth: a, Clock: clk, Logger: quiet})
	dl := fakeDeadLetters{n: map[string]int{"registration-requests": 3}}
	Register(r, Deps{Service: svc, Clock: clk, Syncs: st, DeadLetters: dl, Queues: []string{"registration-requests"}}, &Options{Logger: quiet})
	rec := get(t, r, "/api/v1/summary", principal(roles...))
	if rec.Code != http.StatusOK {
		t.Fatalf("summary as %v: %d %s", roles, rec.Code, rec.Body)
	}
	var s Summary
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// glance is what a summary shows of the fleet, for comparing one caller's with another's.
type glance struct {
	Subscriptions   []string
	Clusters        int
	Registered      int
	Suspected       int
	UpcomingTotal   int
	ResetClusters   []string
	Orphans         []string
	DeadLetters     bool
	RejectionsNamed []string
}

func glanceOf(s Summary) glance {
	g := glance{Subscriptions: s.Subscriptions, Clusters: s.Counts.Clusters, Registered: s.Counts.RegistrationStatus[domain.StatusRegistered],
		Suspected: s.Counts.Orphan[domain.OrphanSuspected], UpcomingTotal: s.UpcomingTotal, DeadLetters: s.DeadLetters != nil}
	for _, r := range s.Resets {
		g.ResetClusters = append(g.ResetClusters, r.ClusterID)
	}
	for _, o := range s.Orphans {
		g.Orphans = append(g.Orphans, o.ClusterID)
	}
	for _, r := range s.Rejections {
		g.RejectionsNamed = append(g.RejectionsNamed, r.ClusterID)
	}
	return g
}

// TestSummaryOfTheCallersSubscriptions: /summary (and so the dashboard, which draws it) counts and
// lists only the clusters of the caller's subscriptions, from their own counts; dead letters,
// which belong to no subscription, only for an unscoped caller.
func TestSummaryOfTheCallersSubscriptions(t *testing.T) {
	const n = 300
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	st := fleetOf(t, n, now)
	first := "00000000-0000-4000-8000-000000000000" // cluster 0: the reset in progress
	orphan := "0000003c-0000-4000-8000-00000000003c"
	for _, c := range []struct {
		roles []string
		want  glance
	}{
		{[]string{"Reader.Fleet"}, glance{Subscriptions: []string{fleetSub}, Clusters: attention, Registered: attention,
			UpcomingTotal: attention, ResetClusters: []string{first}}},
		{[]string{"Reader.Other"}, glance{Subscriptions: []string{otherSub}, Clusters: n - attention, Registered: n - attention,
			Suspected: 1, Orphans: []string{orphan}}},
		{[]string{"Reader.Other", "Reader.Fleet"}, glance{Subscriptions: []string{fleetSub, otherSub}, Clusters: n, Registered: n,
			Suspected: 1, UpcomingTotal: attention, ResetClusters: []string{first}, Orphans: []string{orphan}}},
		{[]string{api.RoleReader}, glance{Clusters: n, Registered: n, Suspected: 1, UpcomingTotal: attention,
			ResetClusters: []string{first}, Orphans: []string{orphan}, DeadLetters: true}},
	} {
		if diff := cmp.Diff(c.want, glanceOf(summaryAs(t, st, now, c.roles...))); diff != "" {
			t.Errorf("summary as %v (-want +got):\n%s", c.roles, diff)
		}
	}
}

// TestScopedSummaryCostDoesNotGrowWithFleet: a caller limited to one subscription gets its summary
// for the same number of store calls (CountsIn and RejectionsIn counted per subscription) whether
// the rest of the fleet holds 1,000 or 100,000 clusters.
func TestScopedSummaryCostDoesNotGrowWithFleet(t *testing.T) {
	calls := func(n int, scope domain.Scope) (int64, Summary) {
		now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		st := fleetOf(t, n, now)
		clk := clock.NewManual(now)
		svc := domain.NewService(st, clk, nil)
		st.Reset()
		s, err := Build(context.Background(), Deps{Service: svc, Clock: clk, Syncs: st}, scope)
		if err != nil {
			t.Fatal(err)
		}
		return st.Calls(), s
	}
	for _, sub := range []string{fleetSub, otherSub} {
		scope := domain.InSubscriptions(sub)
		small, s1 := calls(1000, scope)
		large, s2 := calls(100000, scope)
		t.Logf("store calls per summary of %s: fleet=1000 %d, fleet=100000 %d", sub, small, large)
		if small != large {
			t.Errorf("store calls of a summary of %s grow with the fleet: %d at 1,000, %d at 100,000", sub, small, large)
		}
		if sub == otherSub && (s1.Counts.Clusters != 1000-attention || s2.Counts.Clusters != 100000-attention) {
			t.Errorf("counts of %s: %d and %d clusters", sub, s1.Counts.Clusters, s2.Counts.Clusters)
		}
	}
}
