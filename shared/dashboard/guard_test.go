package dashboard

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// The summary's guard says what the sweeps hold back (docs/policy.md#the-mass-disconnect-guard):
// nothing right after a fleet's first Register (no sync is due yet), the held clusters once no sync
// was ever heard and a silence check fell due, and the newest sync's time once syncs stopped.
func TestSummaryGuardFollowsWhatIsHeld(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewManual(testNow)
	st := memory.New(nil)
	svc := domain.NewService(st, clk, &domain.Options{Logger: slog.New(slog.DiscardHandler)})
	deps := Deps{Service: svc, Clock: clk, Syncs: st}
	send := func(t *testing.T, queue domain.QueueKind, id, body string) {
		t.Helper()
		if _, err := svc.HandleMessage(ctx, queue, []byte(body), domain.Meta{MessageID: id, EnqueuedAt: clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, want GuardState) {
		t.Helper()
		if _, err := svc.CheckPolicies(ctx, domain.SweepRun{ID: "run-" + clk.Now().Format(time.RFC3339)}); err != nil {
			t.Fatal(err)
		}
		s, err := Build(ctx, deps, domain.Everywhere())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&want, s.Guard); diff != "" {
			t.Errorf("guard (-want +got):\n%s", diff)
		}
	}
	const a, b = "00000001-0000-4000-8000-00000000000a", "00000001-0000-4000-8000-00000000000b"
	register := func(id string) string {
		return `{"type":"Register","clusterId":"` + id + `","clusterName":"c-` + id[len(id)-1:] + `","tenantId":"00000002-0000-4000-8000-000000000002",` +
			`"subscriptionId":"00000003-0000-4000-8000-000000000003","region":"eastus","nodes":[{"name":"n` + id[len(id)-1:] + `"}]}`
	}
	t.Run("right after the first Register: nothing is held", func(t *testing.T) {
		send(t, "registration-requests", "r-a", register(a))
		check(t, GuardState{Active: false})
	})
	t.Run("no sync ever, a silence check due: held", func(t *testing.T) {
		clk.Advance(25 * time.Hour)
		check(t, GuardState{Active: true})
	})
	synced := clk.Now()
	t.Run("a sync heard: released", func(t *testing.T) {
		send(t, "registration-requests", "r-b", register(b))
		send(t, "machine-events", "s-b", `{"type":"Sync","clusterId":"`+b+`","machine":"nb"}`)
		check(t, GuardState{Active: false, NewestSync: &synced})
	})
	t.Run("no sync for longer than the sync interval: active since the last one", func(t *testing.T) {
		clk.Advance(13 * time.Hour)
		check(t, GuardState{Active: true, NewestSync: &synced})
	})
}
