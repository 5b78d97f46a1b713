package scaleout

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
)

// Sizes of the runs: tens of clusters through their whole lifecycle, and 12 concurrent writers
// on one cluster (the contention figure).
const (
	lifecycleClusters = 24
	writers           = 12
	instances         = 3
	// perInstance is host.json's serviceBus maxConcurrentCalls: how many messages one instance
	// takes at once.
	perInstance = 16
)

// noCrashRun is the outcome of TestDuplicateDeliveries' lifecycle run, when it ran: the run with
// no crash that TestKillMidRun must reproduce.
var noCrashRun *outcome

// Every message is delivered twice at once to two different instances of 3 (a lost lock), across
// 24 clusters' lifecycles: the outcome is exactly what one process applying each message once
// gives, each event reaches the topic (and a subscriber reads it once, in order), and nothing is
// dead-lettered.
func TestDuplicateDeliveries(t *testing.T) {
	w := newWorkload(t, 0xd0000001, lifecycleClusters)
	f := newFleet(t, instances, fleetOptions{})
	f.emu.setDup(true)
	ctx := context.Background()
	relay := f.emu.every(ctx, "OutboxRelay", 2*time.Second)
	defer relay.close()

	began := time.Now()
	results := w.run(ctx, f.emu, instances*perInstance/2, nil)
	elapsed := time.Since(began)
	checkAllCompleted(t, f, results)
	got := f.waitOutcome(w, time.Minute)
	if d := diffOutcome(w.reference, got); d != "" {
		t.Fatalf("with every message delivered twice at once, the outcome differs from one process applying each once (-want +got):\n%s", d)
	}
	noCrashRun = &got
	st := summarize(f.emu.deliveries())
	_, resent := f.events.snapshot()
	t.Logf("FIGURE duplicates: %d clusters, %d messages, %d deliveries (%d answered duplicate), %d events each received once (%d re-sends of the same MessageId on the wire), 0 dead-lettered, %.1f s",
		len(w.clusters), w.messages(), st.messages, st.outcomes["duplicate"], got.eventCount(), resent, elapsed.Seconds())
	if st.outcomes["duplicate"] == 0 {
		t.Errorf("no delivery answered duplicate: the second copies did not race the first")
	}
}

// Twelve Registers, each adding one node to the same cluster, delivered twice at once across the
// instances: every node is kept (no lost update), each MessageId takes effect once, and each
// adds its node with one ArcEnabled event. Then, delivered once each and spread over the 3
// processes, at most 2 of 12 such writers may fail their first delivery: conflicts back off and
// resolve within one delivery (docs/architecture.md#conflicts).
func TestConcurrentWriters(t *testing.T) {
	f := newFleet(t, instances, fleetOptions{})
	t.Run("TwiceAtOnce", func(t *testing.T) {
		f.emu.setDup(true)
		defer f.emu.setDup(false)
		id := clusterID(0xc0000001, 0)
		adds, _ := concurrentRegisters(t, f, id, "hci-c0000001", nil)
		checkNodesAdded(t, f, id, adds)
		f.checkEventsOnce(t, adds, "ArcEnabled")
	})
	t.Run("FirstDeliveries", func(t *testing.T) {
		for c := range 3 {
			id := clusterID(0xc0000002, c)
			before := f.proxy.counts()
			began := time.Now()
			adds, results := concurrentRegisters(t, f, id, fmt.Sprintf("hci-c0000002-%d", c), f.instances)
			took, wire := time.Since(began), f.proxy.counts().minus(before)
			failed, most := 0, 0
			for _, r := range results {
				if r.FirstFailed {
					failed++
				}
				most = max(most, r.Deliveries)
			}
			t.Logf("FIGURE contention: cluster %d: %d of %d writers across %d processes failed their first delivery; %d commit conflicts at the wire; all committed in %.2f s",
				c, failed, writers, instances, wire.BatchConflicts-wire.CountsConflicts-wire.SyncConflicts, took.Seconds())
			if failed > 2 {
				t.Errorf("cluster %d: %d of %d concurrent writers failed their first delivery, want at most 2: conflicts do not resolve within a delivery", c, failed, writers)
			}
			checkNodesAdded(t, f, id, adds)
		}
	})
}

// checkNodesAdded checks cluster id has n0 and every node the Registers added (no lost update)
// and that each Register's MessageId added its node once in history.
func checkNodesAdded(t *testing.T, f *fleet, id string, adds []message) {
	t.Helper()
	c, history := readClusters(t, f.store, []string{id})
	var nodes []string
	for _, n := range c[id].Nodes {
		nodes = append(nodes, n.Name)
	}
	slices.Sort(nodes)
	want := []string{"n0"}
	for i := range adds {
		want = append(want, fmt.Sprintf("n%d", i+1))
	}
	slices.Sort(want)
	if !slices.Equal(nodes, want) {
		t.Fatalf("nodes after %d concurrent Registers = %v, want %v: a lost update", len(adds), nodes, want)
	}
	added := map[string][]string{} // MessageId → the nodes its history entries added
	for _, h := range history[id] {
		if node, ok := strings.CutPrefix(h.What, "node "); ok && strings.HasPrefix(h.After, "added") && !strings.Contains(node, " ") {
			added[h.MessageID] = append(added[h.MessageID], node)
		}
	}
	for i, m := range adds {
		if got := added[m.MessageID]; !slices.Equal(got, []string{fmt.Sprintf("n%d", i+1)}) {
			t.Errorf("history of %s adds %v, want [n%d] once", m.MessageID, got, i+1)
		}
	}
}

// concurrentRegisters registers cluster id with node n0, then sends 12 Registers adding n1..n12
// at once, the i-th first delivered to instance i mod 3 when spread is set (else at random). It
// returns the 12 messages and their results.
func concurrentRegisters(t *testing.T, f *fleet, id, name string, spread []*instance) ([]message, []result) {
	t.Helper()
	ctx := context.Background()
	base := epoch.Add(-time.Hour).Truncate(time.Second)
	mk := func(k int, nodes ...string) message {
		raw, _ := json.Marshal(registerBody(id, name, "2508", nodes...))
		return message{Queue: string(domain.QueueRegistrationRequests), MessageID: fmt.Sprintf("%s-r%d", name, k), Body: raw, EnqueuedAt: base.Add(time.Duration(k) * time.Second)}
	}
	if r := f.emu.send(ctx, mk(0, "n0"), nil); !r.Completed {
		t.Fatalf("registering %s: %+v", name, r)
	}
	adds := make([]message, writers)
	for i := range writers {
		adds[i] = mk(i+1, fmt.Sprintf("n%d", i+1))
	}
	results := make([]result, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, m := range adds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first *instance
			if len(spread) > 0 {
				first = spread[i%len(spread)]
			}
			<-start
			results[i] = f.emu.send(ctx, m, first)
		}()
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		if !r.Completed {
			t.Fatalf("Register adding n%d was dead-lettered after %d deliveries", i+1, r.Deliveries)
		}
	}
	return adds, results
}

// checkAllCompleted fails the test for a message that was not completed or was dead-lettered.
func checkAllCompleted(t *testing.T, f *fleet, results map[string]result) {
	t.Helper()
	for _, id := range sortedKeys(results) {
		if r := results[id]; !r.Completed {
			t.Errorf("message %s was not completed (%d deliveries)", id, r.Deliveries)
		}
	}
	if dl := f.emu.deadLetters(); len(dl) > 0 {
		t.Fatalf("dead-lettered: %v", dl)
	}
}

// waitOutcome waits until the collector has every event of the workload's reference and the
// fleet counts are the reference's (each at most timeout) and returns the fleet's outcome.
func (f *fleet) waitOutcome(w *workload, timeout time.Duration) outcome {
	f.t.Helper()
	want := w.reference.eventIDs()
	if n := f.waitEvents(want, timeout); n > 0 {
		f.t.Errorf("%d of %d events did not reach the topic within %v", n, len(want), timeout)
	}
	f.waitCounts(w.reference.Counts, timeout)
	return f.outcome(w.clusters)
}

// waitCounts waits until the counts the current workload added are want, at most timeout, and
// returns how long that took. A projection a fault interrupted after its commit is repaired by
// the next OutboxRelay run (docs/storage.md), so the counts may lag the states for a few seconds.
func (f *fleet) waitCounts(want domain.FleetCounts, timeout time.Duration) time.Duration {
	f.t.Helper()
	began := time.Now()
	for !cmp.Equal(want, minus(f.counts(), f.baseline)) && time.Since(began) < timeout {
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(began)
}

// waitEvents waits until every event of ids reached the topic, at most timeout, and returns how
// many did not.
func (f *fleet) waitEvents(ids map[string]bool, timeout time.Duration) (missing int) {
	deadline := time.Now().Add(timeout)
	for f.events.has(ids) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return f.events.has(ids)
}

// checkEventsOnce waits for one event of type typ caused by each message and checks it is the
// only event of that message a subscriber reads.
func (f *fleet) checkEventsOnce(t *testing.T, msgs []message, typ string) {
	t.Helper()
	byCause := map[string][]string{}
	deadline := time.Now().Add(time.Minute)
	for {
		events, _ := f.events.snapshot()
		clear(byCause)
		for _, e := range events {
			byCause[e.CorrelationID] = append(byCause[e.CorrelationID], e.Subject)
		}
		complete := true
		for _, m := range msgs {
			complete = complete && len(byCause[m.MessageID]) > 0
		}
		if complete || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, m := range msgs {
		if got := byCause[m.MessageID]; !slices.Equal(got, []string{typ}) {
			t.Errorf("events of %s = %v, want one %s", m.MessageID, got, typ)
		}
	}
}

// stats sums a delivery log.
type stats struct {
	messages int            // deliveries of messages (timer runs aside)
	failed   int            // non-2xx answers or broken connections
	outcomes map[string]int // the 2xx answers' outcomes
}

func summarize(log []delivery) stats {
	s := stats{outcomes: map[string]int{}}
	for _, d := range log {
		if strings.HasPrefix(d.MessageID, "timer:") {
			continue
		}
		s.messages++
		if d.ok() {
			s.outcomes[d.Outcome]++
		} else {
			s.failed++
		}
	}
	return s
}
