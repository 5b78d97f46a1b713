package domain_test

import (
	"context"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

// TestBulkKey: a key is claimed once per body; the same body again is allowed once the first
// request ended (or died: its claim went stale), another body never (until the key is forgotten
// with the idempotency markers).
func TestBulkKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		const stale = 5 * time.Minute
		code := func(err error) string {
			if err == nil {
				return ""
			}
			p, ok := domain.AsProblem(err)
			if !ok {
				t.Fatalf("not a problem: %v", err)
			}
			return p.Code
		}
		steps := []struct {
			name, digest string
			end          bool
			advance      time.Duration
			want         string
		}{
			{name: "first", digest: "a"},
			{name: "same body while running", digest: "a", want: domain.CodeRequestInProgress},
			{name: "other body while running", digest: "b", want: domain.CodeIdempotencyKeyReused},
			{name: "same body after a died run", digest: "a", advance: stale},
			{name: "same body after the end", digest: "a", end: true},
			{name: "other body after the end", digest: "b", end: true, want: domain.CodeIdempotencyKeyReused},
			{name: "other body once forgotten", digest: "b", advance: domain.MarkerRetention},
		}
		for _, s := range steps {
			h.clk.Advance(s.advance)
			if s.end {
				if err := h.svc.EndBulk(ctx, "key", "a"); err != nil {
					t.Fatal(err)
				}
			}
			if got := code(h.svc.BeginBulk(ctx, "key", s.digest, stale)); got != s.want {
				t.Errorf("%s: %q, want %q", s.name, got, s.want)
			}
		}
	})
}

// TestDryRunChangesNothing: the dry-run service answers what a command would do and writes
// nothing: the real command afterwards still does it.
func TestDryRunChangesNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		id := "0b7e1d2c-3f4a-4b5c-8d6e-7f8091a2b3c4"
		expect(t, h.cmd("r1", register(id, "hci-01", "node1")), domain.Created, "", domain.EvClusterRegistered, domain.EvArcEnabled)
		before := h.view(id)
		meta := domain.Meta{MessageID: "dry-1", EnqueuedAt: h.clk.Now(), Principal: "ann"}
		res, err := h.svc.DryRun().Apply(context.Background(), domain.Unregister{ClusterID: id}, meta)
		noErr(t, "dry unregister", err)
		wantFields(t, "dry unregister", fields{"outcome": domain.Updated, "plan": true}, fields{"outcome": res.Outcome, "plan": res.Plan != nil})
		if after := h.view(id); after.RegistrationStatus != before.RegistrationStatus || after.ArcIntegration != before.ArcIntegration {
			t.Fatalf("the dry run changed the cluster: %+v", after)
		}
		if pending, _ := h.st.PendingIn(context.Background(), id, 100); len(pending) != 2 {
			t.Fatalf("events pending after the dry run: %v, want the 2 of the register", types(pending))
		}
		res, err = h.svc.Apply(context.Background(), domain.Unregister{ClusterID: id}, meta)
		if err != nil || res.Outcome != domain.Updated {
			t.Fatalf("the real unregister after the dry run: %+v %v", res, err)
		}
	})
}
