package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
	"github.com/azlocal/registrar/shared/store/storetest"
)

// summaryReads are the store calls a summary is bounded by (each one round trip on Table
// Storage, paging aside).
var summaryReads = []string{"Load", "LoadState", "Rejections", "History", "ListClusters", "Counts", "CountsIn",
	"RejectionsIn", "NewestSync", "DueBy", "GetIndex", "ListIndex"}

// The subscriptions of fleetOf's clusters.
const (
	fleetSub = "11111111-1111-4111-8111-111111111111"
	otherSub = "22222222-2222-4222-8222-222222222222"
)

// attention is how many clusters of every test fleet have a deadline within the week: 59 with
// an expiring credential and one with a reset in progress (more than MaxListed).
const attention = 60

// fleetOf fills a memory store with n registered clusters that synced an hour ago (each due
// for its connected-window check in 23 hours, as a live fleet is). The first `attention` are
// registered through the domain in subscription fleetSub: cluster 0 has a reset in progress, the
// others a credential expiring in 3 days. The rest are in subscription otherSub: cluster
// `attention` is a suspected orphan, the others are healthy.
func fleetOf(tb testing.TB, n int, now time.Time) *storetest.Counting {
	tb.Helper()
	ctx := context.Background()
	st := memory.New(nil)
	svc := domain.NewService(st, clock.NewManual(now.Add(-time.Hour)), nil)
	send := func(queue domain.QueueKind, msg map[string]any, messageID string) {
		tb.Helper()
		raw, err := json.Marshal(msg)
		if err != nil {
			tb.Fatal(err)
		}
		res, err := svc.HandleMessage(ctx, queue, raw, domain.Meta{MessageID: messageID, EnqueuedAt: now.Add(-time.Hour)})
		if err != nil || res.Outcome == domain.Rejected {
			tb.Fatalf("%s: %v %+v", messageID, err, res.Problem)
		}
	}
	const sub = fleetSub
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		if i < attention {
			send(domain.QueueRegistrationRequests, map[string]any{"type": "Register", "clusterId": id, "clusterName": fmt.Sprintf("hci-%d", i),
				"tenantId": sub, "subscriptionId": sub, "region": "eastus", "osVersion": "2508", "nodes": []map[string]any{{"name": "n1"}}}, id+"-r")
			if i == 0 {
				send(domain.QueueRegistrationRequests, map[string]any{"type": "StartMachineReset", "clusterId": id, "machine": "n1"}, id+"-s")
				op := ""
				if v, err := svc.Cluster(ctx, id); err == nil && v.Nodes[0].Reset != nil {
					op = v.Nodes[0].Reset.OperationID
				}
				send(domain.QueueMachineEvents, map[string]any{"type": "ResetProgress", "clusterId": id, "operationId": op, "machine": "n1",
					"stage": "ExtensionCleanup", "status": "Succeeded"}, id+"-p")
				continue
			}
			send(domain.QueueRegistrationRequests, map[string]any{"type": "RepairRegistration", "clusterId": id,
				"arcSpn": map[string]any{"appId": sub, "credentialExpiresAt": now.Add(3 * 24 * time.Hour).Format(time.RFC3339)}}, id+"-c")
			continue
		}
		c := &domain.Cluster{ID: id, Name: fmt.Sprintf("hci-%d", i), SubscriptionID: otherSub, RegistrationStatus: domain.StatusRegistered,
			ClusterStatus: domain.StatusClustered, ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone,
			RegisteredAt: now.Add(-100 * 24 * time.Hour), LastConnected: now.Add(-time.Hour), ScheduledCheck: now.Add(23 * time.Hour),
			Nodes: []domain.Node{{Name: "n1", RegistrationStatus: domain.StatusRegistered, ConnectionStatus: domain.StatusConnected}}}
		if i == attention {
			c.Orphan, c.OrphanReason, c.GraceUntil = domain.OrphanSuspected, domain.OrphanSilent, now.Add(3*24*time.Hour)
		}
		if _, err := st.Commit(ctx, domain.Change{Partition: id, Cluster: c, Project: true}); err != nil {
			tb.Fatal(err)
		}
		if err := st.Schedule(ctx, domain.Due{ClusterID: id, At: c.ScheduledCheck}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := st.NoteSync(ctx, now.Add(-time.Minute)); err != nil {
		tb.Fatal(err)
	}
	return storetest.Count(st, summaryReads...)
}

// summaryCalls builds one summary over a fleet of n and returns the store calls it made.
func summaryCalls(tb testing.TB, n int) (int64, Summary) {
	tb.Helper()
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	st := fleetOf(tb, n, now)
	clk := clock.NewManual(now)
	svc := domain.NewService(st, clk, nil)
	st.Reset()
	s, err := Build(context.Background(), Deps{Service: svc, Clock: clk, Syncs: st}, domain.Everywhere())
	if err != nil {
		tb.Fatal(err)
	}
	return st.Calls(), s
}

// TestSummaryCostDoesNotGrowWithFleet proves /summary's bound: the same number of store
// calls for a fleet of 1,000 and of 100,000 clusters.
func TestSummaryCostDoesNotGrowWithFleet(t *testing.T) {
	small, s1 := summaryCalls(t, 1000)
	large, s2 := summaryCalls(t, 100000)
	t.Logf("store calls per summary: fleet=1000 %d, fleet=100000 %d", small, large)
	if small != large {
		t.Errorf("store calls grow with the fleet: %d at 1,000, %d at 100,000", small, large)
	}
	for _, s := range []Summary{s1, s2} {
		if len(s.Resets) != 1 || s.Resets[0].Machine != "n1" || len(s.Orphans) != 1 || s.Guard == nil || s.Guard.Active {
			t.Errorf("summary missed a seeded state: resets %v, orphans %d, guard %+v", s.Resets, len(s.Orphans), s.Guard)
		}
	}
	if s2.Counts.Clusters != 100000 || s2.Counts.Orphan[domain.OrphanSuspected] != 1 || s2.UpcomingTotal < MaxListed || len(s2.Upcoming) != MaxListed {
		t.Errorf("large fleet summary: clusters %d, suspected %d, upcoming %d of %d", s2.Counts.Clusters,
			s2.Counts.Orphan[domain.OrphanSuspected], len(s2.Upcoming), s2.UpcomingTotal)
	}
}

// BenchmarkSummary reports store calls per summary for fleets of 1,000 and 100,000.
func BenchmarkSummary(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("memory/fleet=%d", n), func(b *testing.B) {
			now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			st := fleetOf(b, n, now)
			clk := clock.NewManual(now)
			svc := domain.NewService(st, clk, nil)
			st.Reset()
			b.ResetTimer()
			for b.Loop() {
				if _, err := Build(context.Background(), Deps{Service: svc, Clock: clk, Syncs: st}, domain.Everywhere()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.Calls())/float64(b.N), "storecalls/op")
		})
	}
}
