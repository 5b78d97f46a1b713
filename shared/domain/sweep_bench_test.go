package domain_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
	"github.com/azlocal/registrar/shared/store/storetest"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// sweepCalls are the store calls a sweep is bounded by (each one round trip on Table Storage,
// paging aside).
var sweepCalls = []string{"Load", "LoadState", "Commit", "PruneMarkers", "NewestSync", "Schedule", "DueBy", "Unschedule",
	"ListIndex", "ListIndexPage", "GetIndex"}

// benchFleet fills st with n registered clusters that synced an hour ago (due in 23 hours)
// and marks the first 10 silent for 25 hours (due an hour ago); reset re-arms those 10.
func benchFleet(b *testing.B, st domain.Store, n int, now time.Time) (reset func()) {
	ctx := context.Background()
	id := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }
	put := func(i int, lastConnected, due time.Time) {
		rec, err := st.Load(ctx, id(i), "")
		if err != nil {
			b.Fatal(err)
		}
		c := &domain.Cluster{ID: id(i), Name: fmt.Sprintf("hci-%d", i), RegistrationStatus: domain.StatusRegistered,
			ClusterStatus: domain.StatusClustered, ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone,
			RegisteredAt: now.Add(-100 * swDay), LastConnected: lastConnected, ScheduledCheck: due,
			Nodes: []domain.Node{{Name: "n1", RegistrationStatus: domain.StatusRegistered, ConnectionStatus: domain.StatusConnected}}}
		if _, err := st.Commit(ctx, domain.Change{Partition: c.ID, Cluster: c, ETag: rec.ETag, Project: true}); err != nil {
			b.Fatal(err)
		}
		if err := st.Schedule(ctx, domain.Due{ClusterID: c.ID, At: due}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 10; i < n; i++ {
		put(i, now.Add(-time.Hour), now.Add(23*time.Hour))
	}
	if err := st.NoteSync(ctx, now.Add(-time.Minute)); err != nil {
		b.Fatal(err)
	}
	reset = func() {
		for i := range 10 {
			put(i, now.Add(-25*time.Hour), now.Add(-time.Hour))
		}
	}
	reset()
	return reset
}

// BenchmarkCheckPoliciesRoundTrips measures one CheckPolicies run with 10 clusters due (each
// turning Disconnected) in fleets of 1,000 and 100,000: store round trips per run must not
// depend on the fleet size.
func BenchmarkCheckPoliciesRoundTrips(b *testing.B) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		fleet int
		store func(b *testing.B) (domain.Store, func() int64)
	}{
		{"memory/fleet=1000", 1000, nil},
		{"memory/fleet=100000", 100000, nil},
		{"tables/fleet=1000", 1000, func(b *testing.B) (domain.Store, func() int64) {
			cp := &tables.CountingPolicy{}
			st, err := tables.New(context.Background(), tables.Config{ConnectionString: azurite.Start(b)}, &tables.Options{PerCallPolicies: []policy.Policy{cp}})
			if err != nil {
				b.Fatal(err)
			}
			return st, cp.Count
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var inner domain.Store = memory.New(nil)
			var http func() int64
			if tc.store != nil {
				inner, http = tc.store(b)
			}
			reset := benchFleet(b, inner, tc.fleet, now)
			st := storetest.Count(inner, sweepCalls...)
			svc := domain.NewService(st, clock.NewManual(now), &domain.Options{Logger: slog.New(slog.DiscardHandler)})
			var calls, requests int64
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				if i > 0 {
					reset()
				}
				c0 := st.Calls()
				var h0 int64
				if http != nil {
					h0 = http()
				}
				b.StartTimer()
				rep, err := svc.CheckPolicies(context.Background(), domain.SweepRun{ID: fmt.Sprintf("bench-%d", i)})
				b.StopTimer()
				if err != nil || rep.Examined != 10 || rep.Changed != 10 || rep.More {
					b.Fatalf("run %d: %+v %v", i, rep, err)
				}
				calls += st.Calls() - c0
				if http != nil {
					requests += http() - h0
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(calls)/float64(b.N), "storecalls/run")
			if http != nil {
				b.ReportMetric(float64(requests)/float64(b.N), "httprequests/run")
			}
		})
	}
}
