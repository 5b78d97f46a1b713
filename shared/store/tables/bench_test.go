package tables

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// benchStore is a store on a fresh Azurite with a round-trip counter.
func benchStore(b *testing.B) (*Store, *CountingPolicy, string) {
	b.Helper()
	conn := azurite.Start(b)
	cp := &CountingPolicy{}
	s, err := New(context.Background(), Config{ConnectionString: conn}, &Options{PerCallPolicies: []policy.Policy{cp}})
	if err != nil {
		b.Fatal(err)
	}
	return s, cp, conn
}

func benchCluster(id string, v int64) *domain.Cluster {
	return &domain.Cluster{ID: id, Name: id, RegistrationStatus: domain.StatusRegistered, ClusterStatus: domain.StatusClustered,
		ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone, Version: v,
		Nodes: []domain.Node{{Name: "n1"}, {Name: "n2"}}}
}

// BenchmarkLoadCommit: Load + Commit of a typical change (state, marker, one history entry, one
// event, no projection), on one warm cluster.
func BenchmarkLoadCommit(b *testing.B) {
	s, cp, _ := benchStore(b)
	ctx := context.Background()
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: benchCluster("c1", 1), Project: true}); err != nil {
		b.Fatal(err)
	}
	cp.Reset()
	b.ResetTimer()
	for i := range b.N {
		msg := fmt.Sprint("m", i)
		rec, err := s.Load(ctx, "c1", msg)
		if err != nil {
			b.Fatal(err)
		}
		c := rec.Cluster
		c.Version++
		ch := domain.Change{Partition: "c1", Cluster: c, ETag: rec.ETag, MessageID: msg,
			History: []domain.HistoryEntry{{At: time.Now(), What: "x"}},
			Events:  []domain.Event{domain.NewEvent(msg, 0, domain.EvPolicyWarning, "c1", "", time.Now(), nil)}}
		if _, err := s.Commit(ctx, ch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cp.Count())/float64(b.N), "roundtrips/op")
}

// BenchmarkDueBy reads 10 due rows among 1,000 and among 100,000 scheduled rows.
func BenchmarkDueBy(b *testing.B) {
	for _, fleet := range []int{1000, 100000} {
		b.Run(fmt.Sprint("scheduled=", fleet), func(b *testing.B) {
			s, cp, _ := benchStore(b)
			ctx := context.Background()
			now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			seedSchedule(b, s, now, fleet)
			cp.Reset()
			b.ResetTimer()
			for range b.N {
				due, err := s.DueBy(ctx, now, 100)
				if err != nil || len(due) != 10 {
					b.Fatalf("due = %d, %v", len(due), err)
				}
			}
			b.ReportMetric(float64(cp.Count())/float64(b.N), "roundtrips/op")
		})
	}
}

// seedSchedule writes n due rows in transactions of 100: 10 due at or before now, the rest later.
func seedSchedule(b *testing.B, s *Store, now time.Time, n int) {
	b.Helper()
	ctx := context.Background()
	if _, err := s.table(ctx, tableFleet); err != nil {
		b.Fatal(err)
	}
	var acts []aztables.TransactionAction
	for i := range n {
		at := now.Add(time.Duration(i-9) * time.Minute)
		d := domain.Due{ClusterID: fmt.Sprintf("c%06d", i), At: at}
		raw, _ := json.Marshal(d)
		acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd,
			Entity: row{PartitionKey: fleetPK, RowKey: dueKey(d), Data: string(raw)}.marshal()})
		if len(acts) == maxOps || i == n-1 {
			if _, err := s.transact(ctx, tableFleet, acts); err != nil {
				b.Fatal(err)
			}
			acts = acts[:0]
		}
	}
}

// BenchmarkPending lists N pending events, one per cluster (the relay's safety-net read).
func BenchmarkPending(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprint("pending=", n), func(b *testing.B) {
			s, cp, _ := benchStore(b)
			ctx := context.Background()
			for i := range n {
				id := fmt.Sprint("c", i)
				if _, err := s.Commit(ctx, domain.Change{Partition: id, Cluster: benchCluster(id, 1),
					Events: []domain.Event{domain.NewEvent("x", 0, domain.EvPolicyWarning, id, "", time.Now(), nil)}}); err != nil {
					b.Fatal(err)
				}
			}
			cp.Reset()
			b.ResetTimer()
			for range b.N {
				p, err := s.Pending(ctx, 1000)
				if err != nil || len(p) != n {
					b.Fatalf("pending = %d, %v", len(p), err)
				}
			}
			b.ReportMetric(float64(cp.Count())/float64(b.N), "roundtrips/op")
		})
	}
}

// BenchmarkWrite compares Azurite write throughput through the store (a new cluster's Commit
// with a marker and a history entry) with raw aztables AddEntity calls, in the same run.
func BenchmarkWrite(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		s, cp, _ := benchStore(b)
		ctx := context.Background()
		cp.Reset()
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			id := fmt.Sprint("w", i)
			if _, err := s.Commit(ctx, domain.Change{Partition: id, Cluster: benchCluster(id, 1), MessageID: id,
				History: []domain.HistoryEntry{{What: "Registered"}}}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
		b.ReportMetric(float64(cp.Count())/float64(b.N), "roundtrips/op")
	})
	b.Run("raw-AddEntity", func(b *testing.B) {
		_, _, conn := benchStore(b)
		ctx := context.Background()
		svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
		if err != nil {
			b.Fatal(err)
		}
		c := svc.NewClient("Raw")
		if _, err := c.CreateTable(ctx, nil); err != nil {
			b.Fatal(err)
		}
		data, _ := json.Marshal(benchCluster("x", 1))
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			r := row{PartitionKey: fmt.Sprint("w", i), RowKey: rkState, Data: string(data)}
			if _, err := c.AddEntity(ctx, r.marshal(), nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	})
}
