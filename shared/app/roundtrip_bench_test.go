package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// BenchmarkStorageRoundTrips reports the Table Storage round trips (HTTP requests to Azurite) of
// one queue message through the whole app: host envelope → domain → commit → outbox flush to a
// publisher. The figure is deterministic; the time per op is Azurite's.
func BenchmarkStorageRoundTrips(b *testing.B) {
	const sub = "11111111-1111-4111-8111-111111111111"
	counter := &tables.CountingPolicy{}
	st, err := tables.New(context.Background(), tables.Config{ConnectionString: azurite.Start(b)},
		&tables.Options{PerCallPolicies: []policy.Policy{counter}})
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory"}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	a, err := New(context.Background(), cfg, &Options{Store: st, Publisher: &publisher{}, Clock: clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	post := func(b *testing.B, function string, body map[string]any) {
		n++
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/"+function,
			strings.NewReader(envelope(b, fmt.Sprintf("m%d", n), body))))
		if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "rejected") {
			b.Fatalf("%s: %d %s", function, w.Code, w.Body.String())
		}
	}
	cluster := func(i int) string { return fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i) }
	register := func(i int) map[string]any {
		return map[string]any{"type": "Register", "clusterId": cluster(i), "clusterName": fmt.Sprintf("hci-%d", i),
			"tenantId": sub, "subscriptionId": sub, "region": "eastus", "osVersion": "2508",
			"nodes": []map[string]any{{"name": "n1"}, {"name": "n2"}, {"name": "n3"}}}
	}
	// measure posts, per iteration, the message prepare returns (prepare runs untimed and may post
	// set-up messages) and reports the storage round trips of that one message.
	measure := func(name string, prepare func(b *testing.B, i int) (function string, body map[string]any)) {
		b.Run(name, func(b *testing.B) {
			var total int64
			i := 0
			for b.Loop() {
				i++
				b.StopTimer()
				fn, body := prepare(b, i)
				b.StartTimer()
				before := counter.Count()
				post(b, fn, body)
				total += counter.Count() - before
			}
			b.ReportMetric(float64(total)/float64(i), "roundtrips/op")
		})
	}
	sync := map[string]any{"type": "Sync", "clusterId": cluster(1), "machine": "n1", "biosConfigHash": "h"}
	measure("Register3Nodes", func(b *testing.B, i int) (string, map[string]any) {
		return "RegistrationRequests", register(1_000 + i)
	})
	measure("Sync", func(b *testing.B, i int) (string, map[string]any) {
		if i == 1 {
			post(b, "RegistrationRequests", register(1))
		}
		return "MachineEvents", sync
	})
	measure("ResetProgress", func(b *testing.B, i int) (string, map[string]any) {
		id := cluster(100_000 + i)
		post(b, "RegistrationRequests", register(100_000+i))
		post(b, "RegistrationRequests", map[string]any{"type": "StartMachineReset", "clusterId": id, "machine": "n2"})
		v, err := a.Service.Cluster(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		return "MachineEvents", map[string]any{"type": "ResetProgress", "clusterId": id, "operationId": v.Nodes[1].Reset.OperationID,
			"machine": "n2", "stage": "ExtensionCleanup", "status": "Succeeded"}
	})
	// A redelivered message: the same MessageId as the Sync before it.
	measure("DuplicateDelivery", func(b *testing.B, i int) (string, map[string]any) {
		if i == 1 {
			post(b, "MachineEvents", sync)
		}
		n--
		return "MachineEvents", sync
	})
}
