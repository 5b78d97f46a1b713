package relay_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
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

// TestFlushPublishesOlderPendingEventsFirst: cluster X's Register commits its events and is never
// flushed (a crash); an Unregister of X is then handled and flushed with its Result.Publish: the
// Register's events go out first, then the Unregister's, all marked, with no outbox read by the
// flush. Another cluster's pending event is not its business and stays for the OutboxRelay.
func TestFlushPublishesOlderPendingEventsFirst(t *testing.T) {
	conn := sbdouble.Start(t)
	ctx := context.Background()
	store := memory.New(nil)
	svc := domain.NewService(store, clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)), &domain.Options{Logger: slog.New(slog.DiscardHandler)})
	handle := func(id, body string) domain.Result {
		t.Helper()
		res, err := svc.HandleMessage(ctx, domain.QueueRegistrationRequests, []byte(body), domain.Meta{MessageID: id})
		if err != nil || res.Outcome == domain.Rejected {
			t.Fatalf("%s: %+v %v", id, res, err)
		}
		return res
	}
	const x, y = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	reg := func(id string) string {
		return `{"type":"Register","clusterId":"` + id + `","clusterName":"hci-` + id[:2] + `","tenantId":"` + x + `","subscriptionId":"` + x +
			`","region":"eastus","nodes":[{"name":"n-` + id[:2] + `"}]}`
	}
	a := handle("msg-a", reg(x))
	handle("msg-other", reg(y))
	b := handle("msg-b", `{"type":"Unregister","clusterId":"`+x+`"}`)
	if err := relay.New(store, publisher(t, conn), nil).Flush(ctx, b.Publish); err != nil {
		t.Fatal(err)
	}
	if left, err := store.PendingIn(ctx, x, 100); err != nil || len(left) != 0 {
		t.Fatalf("x still has %d pending (%v); want the Register's and the Unregister's events marked", len(left), err)
	}
	if left, err := store.Pending(ctx, 100); err != nil || len(left) != 2 || left[0].ClusterID != y {
		t.Fatalf("pending = %v (%v); want only y's two events", left, err)
	}
	all := append(append([]domain.Event{}, a.Events...), b.Events...)
	checkExactlyOnce(t, all, received(t, conn, len(all)))
}
