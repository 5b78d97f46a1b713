package domain_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
)

type traceKey struct{}

// traced is a context carrying traceparent tp, as the host adapter's context carries its span.
func traced(tp string) context.Context {
	return context.WithValue(context.Background(), traceKey{}, tp)
}

// Every event is committed with the traceparent of the work that caused it (the Service's
// Traceparent option reads it from the context), and the outbox keeps it, so the OutboxRelay
// publishes a late event with its cause's trace: messages, rejections, admin commands and sweeps.
func TestEveryEventIsCommittedWithItsCausesTraceparent(t *testing.T) {
	const (
		tpRegister = "00-11111111111111111111111111111111-1111111111111111-01"
		tpReject   = "00-22222222222222222222222222222222-2222222222222222-01"
		tpCommand  = "00-33333333333333333333333333333333-3333333333333333-01"
		tpSweep    = "00-44444444444444444444444444444444-4444444444444444-00"
	)
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) {
			st := mk(t)
			clk := clock.NewManual(t0)
			svc := domain.NewService(st, clk, &domain.Options{Traceparent: func(ctx context.Context) string {
				s, _ := ctx.Value(traceKey{}).(string)
				return s
			}})
			body, _ := json.Marshal(register(cA, "hci-01", "n1"))
			if _, err := svc.HandleMessage(traced(tpRegister), domain.QueueRegistrationRequests, body, domain.Meta{MessageID: "m1", EnqueuedAt: t0}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.HandleMessage(traced(tpReject), domain.QueueRegistrationRequests, []byte(`{"type":"Bogus"}`), domain.Meta{MessageID: "m2"}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Apply(traced(tpCommand), domain.RepairRegistration{ClusterID: cA}, domain.Meta{MessageID: "admin-1", EnqueuedAt: t0}); err != nil {
				t.Fatal(err)
			}
			clk.Advance(24 * 24 * time.Hour) // silent for 24 days: the connection policy warns
			// Another cluster's sync shows the fleet is heard (no mass-disconnect guard).
			for i, b := range []map[string]any{register(cB, "hci-02", "n1"), {"type": "Sync", "clusterId": cB, "machine": "n1"}} {
				raw, _ := json.Marshal(b)
				q := []domain.QueueKind{domain.QueueRegistrationRequests, domain.QueueMachineEvents}[i]
				if _, err := svc.HandleMessage(context.Background(), q, raw, domain.Meta{MessageID: "b" + string(q), EnqueuedAt: clk.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := svc.CheckPolicies(traced(tpSweep), domain.SweepRun{ID: "run-1"}); err != nil {
				t.Fatal(err)
			}

			pending, err := st.Pending(context.Background(), 100)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, e := range pending {
				if e.ClusterID != cB {
					got[e.Type] = e.Traceparent
				}
			}
			want := map[string]string{
				domain.EvClusterRegistered: tpRegister, domain.EvArcEnabled: tpRegister,
				domain.EvRequestRejected:      tpReject,
				domain.EvRegistrationRepaired: tpCommand,
				domain.EvPolicyWarning:        tpSweep,
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("pending events' traceparent by type (-want +got):\n%s", d)
			}
		})
	}
}
