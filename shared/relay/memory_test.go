package relay_test

import (
	"context"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/relay"
	"github.com/azlocal/registrar/shared/store/memory"
	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

// TestCrashAfterCommitInMemoryStore commits events with a state change in the in-memory store,
// "dies" before publishing, and lets a fresh process's OutboxRelay publish them.
func TestCrashAfterCommitInMemoryStore(t *testing.T) {
	conn := sbdouble.Start(t)
	ctx := context.Background()
	store := memory.New(nil)
	var all []domain.Event
	for i, cluster := range []string{"c-1", "c-2"} {
		var evs []domain.Event
		for j := range 3 {
			evs = append(evs, domain.NewEvent("msg-mem-"+cluster, j, domain.EvPolicyWarning, cluster, "", time.Time{}, nil))
		}
		if _, err := store.Commit(ctx, domain.Change{Partition: cluster, MessageID: "msg-mem-" + cluster, Events: evs}); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
		all = append(all, evs...)
	}
	// The process dies here. A fresh one runs the OutboxRelay.
	n, err := relay.New(store, publisher(t, conn), nil).Run(ctx, 100)
	if err != nil || n != len(all) {
		t.Fatalf("Run = %d, %v; want %d", n, err, len(all))
	}
	if left, err := store.Pending(ctx, 100); err != nil || len(left) != 0 {
		t.Fatalf("still pending after Run: %d (%v)", len(left), err)
	}
	checkExactlyOnce(t, all, received(t, conn, len(all)))
}

// TestFlushPublishesOlderPendingEventsFirst: event A of cluster X is committed and never
// flushed (a crash), then B is committed and flushed: Flush([B]) publishes A then B and marks
// both; another cluster's pending event is not its business and stays for the OutboxRelay.
func TestFlushPublishesOlderPendingEventsFirst(t *testing.T) {
	conn := sbdouble.Start(t)
	ctx := context.Background()
	store := memory.New(nil)
	commit := func(cluster, msg string) domain.Event {
		t.Helper()
		ch := domain.Change{Partition: cluster, MessageID: msg,
			Events: []domain.Event{domain.NewEvent(msg, 0, domain.EvPolicyWarning, cluster, "", time.Time{}, nil)}}
		if _, err := store.Commit(ctx, ch); err != nil {
			t.Fatalf("commit %s: %v", msg, err)
		}
		return ch.Events[0]
	}
	a := commit("x", "msg-a")
	other := commit("y", "msg-other")
	b := commit("x", "msg-b")
	if err := relay.New(store, publisher(t, conn), nil).Flush(ctx, []domain.Event{b}); err != nil {
		t.Fatal(err)
	}
	if left, err := store.PendingIn(ctx, "x", 100); err != nil || len(left) != 0 {
		t.Fatalf("x still has %d pending (%v); want A and B marked", len(left), err)
	}
	if left, err := store.Pending(ctx, 100); err != nil || len(left) != 1 || left[0].ID != other.ID {
		t.Fatalf("pending = %v (%v); want only y's event", left, err)
	}
	checkExactlyOnce(t, []domain.Event{a, b}, received(t, conn, 2))
}
