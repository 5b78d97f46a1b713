package domain_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/storetest"
)

// syncCalls counts a store's Load, LoadState and Commit calls, one counter each.
type syncCalls struct{ load, loadState, commit *storetest.Counting }

func countSyncCalls(st domain.Store) (domain.Store, syncCalls) {
	c := syncCalls{load: storetest.Count(st, "Load")}
	c.loadState = storetest.Count(c.load, "LoadState")
	c.commit = storetest.Count(c.loadState, "Commit")
	return c.commit, c
}

// take returns the calls counted since the last take, by method.
func (c syncCalls) take() map[string]int64 {
	got := map[string]int64{"Load": c.load.Calls(), "LoadState": c.loadState.Calls(), "Commit": c.commit.Calls()}
	c.load.Reset()
	c.loadState.Reset()
	c.commit.Reset()
	return got
}

// TestSyncPath: a Sync starts from the state row alone (docs/storage.md, "The Sync path"): one
// without events (moving lastConnected, or a status change) costs LoadState and one commit, its
// redelivery LoadState alone (the state's Recent); a Sync that changes nothing commits its marker,
// and its redelivery, conflicting on it, is answered Duplicate after a full Load, as is one
// redelivered after more commits than Recent keeps; a Sync with events is decided again on a full
// Load and publishes behind the events still pending.
func TestSyncPath(t *testing.T) {
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) {
			st, calls := countSyncCalls(mk(t))
			h := harnessOn(t, st)
			nodes := []map[string]any{{"name": "x-n1"}, {"name": "x-n2"}, {"name": "x-n3"}}
			h.register(cA, "x", "nodes", nodes)
			sync := func(id, machine, bios string) domain.Result {
				return h.fact(id, map[string]any{"type": "Sync", "clusterId": cA, "machine": machine, "biosConfigHash": bios})
			}
			type step struct {
				Outcome domain.Outcome
				Calls   map[string]int64
			}
			check := func(t *testing.T, what string, res domain.Result, want step) {
				t.Helper()
				if d := cmp.Diff(want, step{res.Outcome, calls.take()}); d != "" {
					t.Fatalf("%s (-want +got):\n%s", what, d)
				}
			}
			h.step(t, "first sync changes the status, without events: no full Load", func(t *testing.T) {
				calls.take()
				h.clk.Advance(time.Minute)
				check(t, "first sync", sync("s1", "x-n1", "h1"), step{domain.Updated, map[string]int64{"LoadState": 1, "Load": 0, "Commit": 1}})
				if v := h.view(cA); v.ConnectionStatus != domain.StatusConnected {
					t.Fatalf("connection status %s, want %s", v.ConnectionStatus, domain.StatusConnected)
				}
				calls.take() // the view's read
			})
			h.step(t, "moving lastConnected: a point read and one write", func(t *testing.T) {
				h.clk.Advance(time.Minute)
				check(t, "sync", sync("s2", "x-n1", "h1"), step{domain.Updated, map[string]int64{"LoadState": 1, "Load": 0, "Commit": 1}})
				check(t, "its redelivery", sync("s2", "x-n1", "h1"), step{domain.Duplicate, map[string]int64{"LoadState": 1, "Load": 0, "Commit": 0}})
				if v := h.view(cA); !v.LastConnected.Equal(h.clk.Now()) {
					t.Fatalf("lastConnected %v, want %v", v.LastConnected, h.clk.Now())
				}
				calls.take() // the view's read
			})
			h.step(t, "a sync that changes nothing commits its marker", func(t *testing.T) {
				stale := h.clk.Now().Add(-30 * time.Second)
				res, err := h.svc.HandleMessage(t.Context(), domain.QueueMachineEvents, []byte(`{"type":"Sync","clusterId":"`+cA+`","machine":"x-n1"}`),
					domain.Meta{MessageID: "s3", EnqueuedAt: stale})
				noErr(t, "stale sync", err)
				check(t, "stale sync", res, step{domain.Unchanged, map[string]int64{"LoadState": 1, "Load": 0, "Commit": 1}})
				res, err = h.svc.HandleMessage(t.Context(), domain.QueueMachineEvents, []byte(`{"type":"Sync","clusterId":"`+cA+`","machine":"x-n1"}`),
					domain.Meta{MessageID: "s3", EnqueuedAt: stale})
				noErr(t, "stale sync again", err)
				check(t, "its redelivery", res, step{domain.Duplicate, map[string]int64{"LoadState": 1, "Load": 1, "Commit": 1}})
			})
			h.step(t, "a redelivery after more commits than Recent keeps", func(t *testing.T) {
				for i := range domain.RecentMessages {
					h.clk.Advance(time.Minute)
					sync(fmt.Sprintf("later-%d", i), "x-n1", "h1")
				}
				calls.take()
				check(t, "s2 again", sync("s2", "x-n1", "h1"), step{domain.Duplicate, map[string]int64{"LoadState": 1, "Load": 1, "Commit": 1}})
			})
			h.step(t, "a sync with events publishes behind the pending ones", func(t *testing.T) {
				h.clk.Advance(time.Minute)
				sync("s4", "x-n2", "h1")
				calls.take()
				res := sync("s5", "x-n3", "h2") // the odd one out of a majority: PolicyViolated
				check(t, "odd BIOS", res, step{domain.Updated, map[string]int64{"LoadState": 1, "Load": 1, "Commit": 1}})
				if len(res.Events) != 1 || res.Events[0].Type != domain.EvPolicyViolated {
					t.Fatalf("events %v, want one PolicyViolated", eventTypes(res.Events))
				}
				pub := eventTypes(res.Publish)
				if len(pub) < 2 || pub[0] != domain.EvClusterRegistered || pub[len(pub)-1] != domain.EvPolicyViolated {
					t.Fatalf("published %v: want the Register's pending events first, PolicyViolated last", pub)
				}
			})
		})
	}
}

// eventTypes are the types of evs, in order.
func eventTypes(evs []domain.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}
