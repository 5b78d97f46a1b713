package scaleout

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

const (
	tenant       = "22222222-2222-4222-8222-222222222222"
	subscription = "11111111-1111-4111-8111-111111111111"
)

// epoch is when the suite started: every enqueue time of its messages is before it, every time
// an instance's clock stamps is after it (see sameTimes).
var epoch = time.Now().UTC()

// clusterID is the GUID of cluster i of a workload named by prefix (8 hex digits).
func clusterID(prefix uint32, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", prefix, i)
}

func registerBody(id, name string, osVersion string, nodes ...string) map[string]any {
	var ns []map[string]any
	for _, n := range nodes {
		ns = append(ns, map[string]any{"name": n})
	}
	return map[string]any{"type": "Register", "clusterId": id, "clusterName": name, "tenantId": tenant,
		"subscriptionId": subscription, "region": "East US", "createResourceGroup": true, "osVersion": osVersion, "nodes": ns}
}

func syncBody(id, node string) map[string]any {
	return map[string]any{"type": "Sync", "clusterId": id, "machine": node, "biosConfigHash": "bios-1",
		"arcAgentVersion": "1.45", "osVersion": "2508"}
}

// The queues of the workload's messages, as the emulator names them.
const qRequests, qEvents = string(domain.QueueRegistrationRequests), string(domain.QueueMachineEvents)

// lifecycle is one cluster's life through Register, Syncs and a machine reset: register 3 nodes,
// each syncs, node n2 is reset (start, progress, completion), the cluster is registered again
// (re-enabling Arc on n2) and n2 syncs. op is the reset's operation ID (known after step 4).
func lifecycle(id, name string) []func(op string) (queue string, body map[string]any) {
	reg := func(string) (string, map[string]any) {
		return qRequests, registerBody(id, name, "2508", "n1", "n2", "n3")
	}
	sync := func(node string) func(string) (string, map[string]any) {
		return func(string) (string, map[string]any) { return qEvents, syncBody(id, node) }
	}
	return []func(string) (string, map[string]any){
		reg, sync("n1"), sync("n2"), sync("n3"),
		func(string) (string, map[string]any) {
			return qRequests, map[string]any{"type": "StartMachineReset", "clusterId": id, "machine": "n2"}
		},
		func(op string) (string, map[string]any) {
			return qEvents, map[string]any{"type": "ResetProgress", "clusterId": id, "operationId": op,
				"machine": "n2", "stage": "GatewayCleanup", "status": "InProgress"}
		},
		func(op string) (string, map[string]any) {
			return qEvents, map[string]any{"type": "ResetCompleted", "clusterId": id, "operationId": op,
				"machine": "n2", "result": "Succeeded"}
		},
		reg, sync("n2"),
	}
}

// workload is a set of per-cluster message sequences (a cluster's messages are sent one after
// the other; clusters run concurrently) and what one process applying them once each, in order,
// gives: the reference every multi-process run must reproduce.
type workload struct {
	scripts   [][]message
	clusters  []string
	reference outcome
}

// newWorkload builds n clusters' lifecycles and applies them in-process on the memory store.
func newWorkload(t testing.TB, prefix uint32, n int) *workload {
	t.Helper()
	st := memory.New(nil)
	svc := domain.NewService(st, clock.System{}, &domain.Options{Logger: slog.New(slog.DiscardHandler)})
	w := &workload{}
	base := epoch.Add(-2 * time.Hour).Truncate(time.Second)
	for i := range n {
		id, name := clusterID(prefix, i), fmt.Sprintf("hci-%08x-%03d", prefix, i)
		var script []message
		op := ""
		for k, mk := range lifecycle(id, name) {
			queue, body := mk(op)
			raw, _ := json.Marshal(body)
			m := message{Queue: queue, MessageID: fmt.Sprintf("%s-m%d", name, k), Body: raw,
				EnqueuedAt: base.Add(time.Duration(k)*time.Minute + time.Duration(i)*time.Second)}
			res, err := svc.HandleMessage(context.Background(), domain.QueueKind(queue), raw, domain.Meta{MessageID: m.MessageID, EnqueuedAt: m.EnqueuedAt, Queue: domain.QueueName(queue)})
			if err != nil || res.Outcome == domain.Rejected || res.Outcome == domain.Duplicate {
				t.Fatalf("reference run: %s %s: outcome %s, problem %v, err %v", name, body["type"], res.Outcome, res.Problem, err)
			}
			if r, ok := res.Detail.(domain.ResetOperation); ok {
				op = r.OperationID
			}
			script = append(script, m)
		}
		w.scripts = append(w.scripts, script)
		w.clusters = append(w.clusters, id)
	}
	w.reference = memoryOutcome(t, st, w.clusters)
	return w
}

// messages is the workload's message count.
func (w *workload) messages() int {
	n := 0
	for _, s := range w.scripts {
		n += len(s)
	}
	return n
}

// run sends every cluster's messages in order, up to `parallel` messages at once; gate, when not
// nil, is waited on before each message. It returns each message's result by MessageId.
func (w *workload) run(ctx context.Context, e *emulator, parallel int, gate *gate) map[string]result {
	var (
		mu      sync.Mutex
		results = map[string]result{}
		wg      sync.WaitGroup
		slots   = make(chan struct{}, parallel)
	)
	for _, script := range w.scripts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range script {
				gate.wait()
				slots <- struct{}{}
				res := e.send(ctx, m, nil)
				<-slots
				mu.Lock()
				results[m.MessageID] = res
				mu.Unlock()
				gate.done(m.MessageID)
				if !res.Completed {
					return // dead-lettered: the cluster's later messages would not apply as scripted
				}
			}
		}()
	}
	wg.Wait()
	return results
}

// gate lets a test hold a workload between messages and see the messages completed.
type gate struct {
	mu        sync.Mutex
	held      bool
	resume    chan struct{}
	finished  map[string]bool // MessageIds settled (completed or dead-lettered)
	times     []time.Time     // when each was settled, in order
	completed atomic.Int64
	inflight  atomic.Int64
}

func newGate() *gate { return &gate{resume: make(chan struct{}), finished: map[string]bool{}} }

// settled returns the MessageIds settled so far.
func (g *gate) settled() map[string]bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return maps.Clone(g.finished)
}

func (g *gate) wait() {
	if g == nil {
		return
	}
	for {
		g.mu.Lock()
		held, resume := g.held, g.resume
		if !held {
			g.inflight.Add(1)
		}
		g.mu.Unlock()
		if !held {
			return
		}
		<-resume
	}
}

func (g *gate) done(messageID string) {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.finished[messageID] = true
	g.times = append(g.times, time.Now())
	g.mu.Unlock()
	g.inflight.Add(-1)
	g.completed.Add(1)
}

// steadyRate is messages per second between the 10th and the 90th percentile of the
// settlements: the run at full concurrency, without its start and its tail of last clusters.
func (g *gate) steadyRate() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	lo, hi := len(g.times)/10, len(g.times)*9/10
	if hi <= lo || !g.times[hi].After(g.times[lo]) {
		return 0
	}
	return float64(hi-lo) / g.times[hi].Sub(g.times[lo]).Seconds()
}

// hold stops new messages from starting and waits until none is in flight.
func (g *gate) hold() {
	g.mu.Lock()
	g.held = true
	g.mu.Unlock()
	for g.inflight.Load() > 0 {
		time.Sleep(10 * time.Millisecond)
	}
}

func (g *gate) release() {
	g.mu.Lock()
	g.held = false
	close(g.resume)
	g.resume = make(chan struct{})
	g.mu.Unlock()
}

// outcome is what a run leaves: each cluster's state and history, the events a subscriber
// received (per cluster, in order), and the fleet counts (those the run added, for a fleet that
// ran something before: see fleet.baseline).
type outcome struct {
	Clusters map[string]*domain.Cluster
	History  map[string][]historyLine
	Events   map[string][]received
	Counts   domain.FleetCounts
}

// historyLine is a history entry without its time (the committing instance's clock).
type historyLine struct{ What, Before, After, Cause, MessageID string }

func readClusters(t testing.TB, st domain.Store, ids []string) (map[string]*domain.Cluster, map[string][]historyLine) {
	t.Helper()
	ctx := context.Background()
	clusters, history := map[string]*domain.Cluster{}, map[string][]historyLine{}
	for _, id := range ids {
		rec, err := st.Load(ctx, id, "")
		if err != nil {
			t.Fatalf("load %s: %v", id, err)
		}
		clusters[id] = rec.Cluster
		page, err := st.History(ctx, id, domain.Page{Limit: 1000})
		if err != nil {
			t.Fatalf("history %s: %v", id, err)
		}
		for _, h := range page.Items {
			history[id] = append(history[id], historyLine{h.What, h.Before, h.After, h.Cause, h.MessageID})
		}
	}
	return clusters, history
}

// memoryOutcome reads the reference run's outcome; its events are all still in the outbox.
func memoryOutcome(t testing.TB, st domain.Store, ids []string) outcome {
	t.Helper()
	o := outcome{Events: map[string][]received{}}
	o.Clusters, o.History = readClusters(t, st, ids)
	pending, err := st.Pending(context.Background(), 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pending {
		body := map[string]any{}
		_ = json.Unmarshal(e.Body, &body)
		delete(body, "at")
		o.Events[e.SessionID()] = append(o.Events[e.SessionID()], received{ID: e.ID, Subject: e.Type, SessionID: e.SessionID(), CorrelationID: e.Correlation(), Body: body})
	}
	counts, err := st.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o.Counts = minus(counts, domain.FleetCounts{})
	return o
}

// fleetOutcome reads a fleet's outcome for the given clusters: state, history and counts from
// Azurite, events from the collector.
func (f *fleet) outcome(ids []string) outcome {
	f.t.Helper()
	o := outcome{Events: map[string][]received{}}
	o.Clusters, o.History = readClusters(f.t, f.store, ids)
	events, _ := f.events.snapshot()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, e := range events {
		if want[e.SessionID] {
			o.Events[e.SessionID] = append(o.Events[e.SessionID], e)
		}
	}
	o.Counts = minus(f.counts(), f.baseline)
	return o
}

// counts reads the fleet counts row.
func (f *fleet) counts() domain.FleetCounts {
	f.t.Helper()
	// The counts take in the commits when the OutboxRelay's Pending runs (docs/storage.md, "Counts").
	if _, err := f.store.Pending(context.Background(), 1); err != nil {
		f.t.Fatal(err)
	}
	c, err := f.store.Counts(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// minus is a - b, without the statuses whose count is then 0.
func minus(a, b domain.FleetCounts) domain.FleetCounts {
	sub := func(x, y map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range x {
			if d := v - y[k]; d != 0 {
				out[k] = d
			}
		}
		return out
	}
	return domain.FleetCounts{Clusters: a.Clusters - b.Clusters, CredentialExpired: a.CredentialExpired - b.CredentialExpired,
		RegistrationStatus: sub(a.RegistrationStatus, b.RegistrationStatus), ClusterStatus: sub(a.ClusterStatus, b.ClusterStatus),
		ConnectionStatus: sub(a.ConnectionStatus, b.ConnectionStatus), Orphan: sub(a.Orphan, b.Orphan)}
}

// eventIDs are the IDs of an outcome's events.
func (o outcome) eventIDs() map[string]bool {
	ids := map[string]bool{}
	for _, evs := range o.Events {
		for _, e := range evs {
			ids[e.ID] = true
		}
	}
	return ids
}

func (o outcome) eventCount() int { return len(o.eventIDs()) }

// eventsOf are the IDs of the events the given messages caused.
func (o outcome) eventsOf(messageIDs map[string]bool) map[string]bool {
	ids := map[string]bool{}
	for _, evs := range o.Events {
		for _, e := range evs {
			if messageIDs[e.CorrelationID] {
				ids[e.ID] = true
			}
		}
	}
	return ids
}

// sameTimes compares times as a run must reproduce them: a time from a message (before epoch)
// exactly; a time an instance stamped from its own clock (after epoch) only as such.
var sameTimes = cmp.Comparer(func(a, b time.Time) bool {
	if a.Before(epoch) || b.Before(epoch) {
		return a.Equal(b)
	}
	return true
})

// diffOutcome is "" when got reproduces want, else a go-cmp diff (-want +got).
func diffOutcome(want, got outcome) string {
	return cmp.Diff(want, got, sameTimes)
}

// sortedKeys lists a map's keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
