package dashboard

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// A stalled reset stays among the resets in progress (shown Stalled) after the sweep announced
// it, also days later: the sweep looks at its cluster once a day, keeping it where the summary reads.
func TestStalledResetStaysListed(t *testing.T) {
	clk := clock.NewManual(testNow)
	st := memory.New(nil)
	svc := domain.NewService(st, clk, &domain.Options{Logger: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	const c = "0b7e1d2c-3f4a-4b5c-8d6e-7f8091a2b3c4"
	for _, m := range []struct{ id, body string }{
		{"r", `{"type":"Register","clusterId":"` + c + `","clusterName":"a","region":"eastus","tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":"22222222-2222-4222-8222-222222222222","osVersion":"2508","nodes":[{"name":"node1"}]}`},
		{"s", `{"type":"StartMachineReset","clusterId":"` + c + `","machine":"node1"}`},
	} {
		if _, err := svc.HandleMessage(ctx, domain.QueueRegistrationRequests, []byte(m.body), domain.Meta{MessageID: m.id, EnqueuedAt: clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(when string) string {
		t.Helper()
		s, err := Build(ctx, Deps{Service: svc, Clock: clk}, domain.Everywhere())
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Resets) != 1 {
			t.Fatalf("%s: %d resets listed, want 1", when, len(s.Resets))
		}
		return s.Resets[0].Status
	}
	if got := status("fresh"); got != domain.ResetInProgress {
		t.Fatalf("fresh: %s", got)
	}
	stalled := 0
	for hour := 1; hour <= 6*24; hour++ { // the sweep runs hourly for six days
		clk.Advance(time.Hour)
		if _, err := svc.CheckPolicies(ctx, domain.SweepRun{ID: fmt.Sprint("run-", hour)}); err != nil {
			t.Fatal(err)
		}
		evs, err := st.Pending(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Type == domain.EvMachineResetStalled {
				stalled++
			}
		}
		if err := st.MarkPublished(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if hour >= 24 {
			if got := status(fmt.Sprint("hour ", hour)); got != domain.ResetStalled {
				t.Fatalf("hour %d: %s, want Stalled", hour, got)
			}
		}
	}
	if stalled != 1 {
		t.Errorf("%d MachineResetStalled events, want 1", stalled)
	}
}
