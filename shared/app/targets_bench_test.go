package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/benchtable"
)

// The benchmarks of docs/storage.md's targets ("Targets"). Each reports its row of `make bench`'s
// table (shared/testkit/benchtable): Registrar's figure beside its floor measured in the same run,
// or beside the bound itself for a request count.

// BenchmarkTargetRequests: Table requests per message at the wire (no floor: the bound itself).
// The row gives the median message: once a minute per process a Sync also notes the newest sync
// for the mass-disconnect guard (2 requests more), which the mean and max metrics show.
func BenchmarkTargetRequests(b *testing.B) {
	w := newWire(b)
	w.post(b, "RegistrationRequests", wireRegister(0))
	for _, tc := range requestTargets {
		b.Run("Table requests: "+tc.name, func(b *testing.B) {
			var per []float64
			for b.Loop() {
				per = append(per, float64(tc.send(b, w, len(per))))
			}
			b.ReportMetric(mean(per), "requests-mean")
			b.ReportMetric(slices.Max(per), "requests-max")
			slices.Sort(per)
			benchtable.Report(b, benchtable.Row{Figure: "Table requests, " + tc.name, Unit: "requests",
				Registrar: per[len(per)/2], Target: benchtable.AtMost(float64(tc.max))})
		})
	}
}

func mean(xs []float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// BenchmarkTargetSweep: the Table requests of a PolicyExpiryCheck run with nothing due, in a
// fleet of 2,000 clusters (Registrar) against the same fleet at 200 (floor).
func BenchmarkTargetSweep(b *testing.B) {
	w := newWire(b)
	b.Run("Sweep requests: nothing due, 2,000 vs 200 clusters", func(b *testing.B) {
		var small, large int
		for b.Loop() {
			if small == 0 {
				seedFleet(b, w, 0, 200)
				small = w.timer(b, "PolicyExpiryCheck")
				seedFleet(b, w, 200, 2000)
			}
			large = w.timer(b, "PolicyExpiryCheck")
		}
		benchtable.Report(b, benchtable.Row{Figure: "Table requests, PolicyExpiryCheck with nothing due: 2,000 clusters (floor: 200)",
			Unit: "requests", Registrar: float64(large), Floor: float64(small), Target: benchtable.AtMost(1)})
	})
}

// seedFleet commits clusters [from, to) through the store, registered, synced an hour ago, their
// next check 23 hours on (nothing due now), eight at a time.
func seedFleet(t testing.TB, w *wire, from, to int) {
	t.Helper()
	ctx := context.Background()
	now := w.clk.Now()
	work := make(chan int)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				id := fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", i)
				c := &domain.Cluster{ID: id, Name: fmt.Sprintf("hci-%d", i), SubscriptionID: wireSub, RegistrationStatus: domain.StatusRegistered,
					ClusterStatus: domain.StatusClustered, ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone,
					RegisteredAt: now.Add(-100 * 24 * time.Hour), LastConnected: now.Add(-time.Hour), ScheduledCheck: now.Add(23 * time.Hour), Version: 1,
					Nodes: []domain.Node{{Name: "n1", RegistrationStatus: domain.StatusRegistered, ConnectionStatus: domain.StatusConnected}}}
				due := &domain.Due{ClusterID: id, At: c.ScheduledCheck}
				if _, err := w.app.Store.Commit(ctx, domain.Change{Partition: id, Cluster: c, Project: true, Due: due}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := from; i < to; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("seeding the fleet: %v", err)
	}
}

// syncConcurrency is how many Syncs (and raw loops) run at once in BenchmarkTargetSyncs.
const syncConcurrency = 8

// BenchmarkTargetSyncs: Syncs per second through the handler on Azurite (each moving
// lastConnected, syncConcurrency clusters at once), against a raw aztables loop at the same
// concurrency, interleaved in the same run: a read + conditional update (GetEntity, UpdateEntity
// If-Match). The handler makes the same point read, then a transaction of the state row and the
// idempotency marker (docs/storage.md, "The Sync path").
func BenchmarkTargetSyncs(b *testing.B) {
	w := newWireVia(b, false)
	// Short rounds, interleaved, so that a burst of load on the machine weighs on both alike.
	const rounds, per = 8, 15 // per: Syncs per worker per round
	for i := range syncConcurrency {
		w.post(b, "RegistrationRequests", wireRegister(i))
	}
	raw := newRawLoops(b, w.conn)
	var reg, rmw time.Duration
	for b.Loop() {
		for r := range rounds {
			runs := []func(){
				func() { reg += timed(func(k int) { w.syncDirect(b, k, per) }) },
				func() { rmw += timed(func(k int) { raw.readUpdate(b, k, per) }) },
			}
			for j := range runs {
				runs[(r+j)%len(runs)]() // each takes each place in turn
			}
		}
	}
	n := float64(b.N * rounds * syncConcurrency * per)
	rate := func(d time.Duration) float64 { return n / d.Seconds() }
	b.Run("End-to-end Syncs vs raw read + conditional update", func(b *testing.B) {
		for b.Loop() {
		}
		benchtable.Report(b, benchtable.Row{Figure: "End-to-end Syncs on Azurite, 8 at once (floor: raw aztables read + If-Match update)",
			Unit: "ops/s", Registrar: rate(reg), Floor: rate(rmw), Target: benchtable.AtLeast(0.5)})
	})
}

// timed runs f(0..syncConcurrency-1) concurrently and returns the wall time.
func timed(f func(k int)) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for k := range syncConcurrency {
		wg.Go(func() { f(k) })
	}
	wg.Wait()
	return time.Since(start)
}

// syncDirect posts n Syncs of cluster k through the handler (uncounted: the throughput figure),
// each enqueued a second after the last, so each moves lastConnected.
var syncSeq sync.Mutex

func (w *wire) syncDirect(t testing.TB, k, n int) {
	for range n {
		syncSeq.Lock()
		w.n++
		id := fmt.Sprintf("s%d", w.n)
		at := w.clk.Advance(time.Second)
		syncSeq.Unlock()
		rec := httptest.NewRecorder()
		w.app.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/MachineEvents", strings.NewReader(envelopeAt(id, wireSync(k), at))))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "updated") {
			t.Errorf("Sync %s: %d %s", id, rec.Code, rec.Body.String())
			return
		}
	}
}

// rawLoops are the floors: aztables on the same Azurite, one row per worker, holding what the
// handler's state row holds.
type rawLoops struct {
	c    *aztables.Client
	data string
}

func newRawLoops(t testing.TB, conn string) *rawLoops {
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &rawLoops{c: svc.NewClient("RawSyncs")}
	ctx := context.Background()
	if _, err := r.c.CreateTable(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// The rows the handler writes for a Sync, byte for byte: cluster 0's state as registered.
	st, err := svc.NewClient("Clusters").GetEntity(ctx, wireCluster(0), "state", nil)
	if err != nil {
		t.Fatal(err)
	}
	var state struct{ Data string }
	if err := json.Unmarshal(st.Value, &state); err != nil || state.Data == "" {
		t.Fatalf("cluster 0's state row: %v", err)
	}
	r.data = state.Data
	for k := range syncConcurrency {
		if _, err := r.c.AddEntity(ctx, r.entity(k, 0), nil); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *rawLoops) entity(k, v int) []byte {
	raw, _ := json.Marshal(map[string]any{"PartitionKey": fmt.Sprint("p", k), "RowKey": "state", "Data": r.data, "Version": fmt.Sprintf("%019d", v)})
	return raw
}

// readUpdate: GetEntity, then UpdateEntity If-Match (replace), n times.
func (r *rawLoops) readUpdate(t testing.TB, k, n int) {
	ctx := context.Background()
	for i := range n {
		got, err := r.c.GetEntity(ctx, fmt.Sprint("p", k), "state", nil)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := r.c.UpdateEntity(ctx, r.entity(k, i), &aztables.UpdateEntityOptions{IfMatch: &got.ETag, UpdateMode: aztables.UpdateModeReplace}); err != nil {
			t.Error(err)
			return
		}
	}
}
