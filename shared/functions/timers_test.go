package functions

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/relay"
	"github.com/azlocal/registrar/shared/store/memory"
)

type recordingPublisher struct{ got []domain.Event }

func (p *recordingPublisher) Publish(_ context.Context, events []domain.Event) error {
	p.got = append(p.got, events...)
	return nil
}

// TestSweepPublishesItsOwnEvents runs PolicyExpiryCheck daily over a real domain, memory store
// and relay while another cluster's events sit unpublished in the outbox: the sweep publishes
// the events it committed, not the oldest of the whole outbox.
func TestSweepPublishesItsOwnEvents(t *testing.T) {
	const silent, other = "5a0c1b2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d", "6b1d2c3e-4f5a-4b6c-9d7e-8f9a0b1c2d3e"
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	store := memory.New(nil)
	svc := domain.NewService(store, clk, &domain.Options{Logger: quiet})
	pub := &recordingPublisher{}
	srv := invoke.NewServer(New(Deps{Domain: svc, Relay: relay.New(store, pub, &relay.Options{Logger: quiet}), Logger: quiet}), &invoke.ServerOptions{Logger: quiet})
	seq := 0
	send := func(queue domain.QueueKind, body map[string]any) {
		t.Helper()
		seq++
		raw, _ := json.Marshal(body)
		// Straight to the domain, never flushed: these events stay pending.
		if res, err := svc.HandleMessage(ctx, queue, raw, domain.Meta{MessageID: fmt.Sprint("m", seq), EnqueuedAt: clk.Now()}); err != nil || res.Outcome == domain.Rejected {
			t.Fatalf("%s: %+v %v", raw, res, err)
		}
	}
	for _, id := range []string{silent, other} {
		send(domain.QueueRegistrationRequests, map[string]any{"type": "Register", "clusterId": id, "clusterName": "c" + id[:4],
			"tenantId": "11111111-1111-4111-8111-111111111111", "subscriptionId": "22222222-2222-4222-8222-222222222222",
			"region": "eastus", "createResourceGroup": true, "osVersion": "23H2", "nodes": []map[string]any{{"name": "n1-" + id[:4]}}})
	}
	older, err := store.PendingIn(ctx, silent, 100)
	if err != nil || len(older) == 0 {
		t.Fatalf("registration left %d pending events (%v)", len(older), err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(store.MarkPublished(ctx, older)) // the silent cluster starts with nothing pending
	otherPending, err := store.PendingIn(ctx, other, 100)
	must(err)

	for d := 1; d <= 23; d++ {
		clk.Set(t0.Add(time.Duration(d) * 24 * time.Hour))
		send(domain.QueueMachineEvents, map[string]any{"type": "Sync", "clusterId": other, "machine": "n1-" + other[:4]})
		r := httptest.NewRequest(http.MethodPost, "/"+PolicyExpiryCheck, strings.NewReader(`{"Data":{"timer":{"IsPastDue":false}},"Metadata":{}}`))
		r.Header.Set(invoke.HeaderInvocationID, fmt.Sprint("inv-", d))
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("day %d: %d %s", d, w.Code, w.Body)
		}
	}
	var got []string
	for _, e := range pub.got {
		if e.ClusterID != silent {
			t.Fatalf("the sweep published another cluster's event %s %s", e.Type, e.ClusterID)
		}
		got = append(got, e.Type)
	}
	if len(got) == 0 || got[len(got)-1] != domain.EvPolicyWarning {
		t.Fatalf("published %v; want the sweep's PolicyWarning", got)
	}
	if left, err := store.PendingIn(ctx, silent, 100); err != nil || len(left) != 0 {
		t.Fatalf("%d of the sweep's events left pending (%v)", len(left), err)
	}
	if still, err := store.PendingIn(ctx, other, 1000); err != nil || len(still) < len(otherPending) {
		t.Fatalf("the other cluster's pending events: %d, were %d (%v)", len(still), len(otherPending), err)
	}
}
