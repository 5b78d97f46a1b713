package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// safePublisher records published events; safe for concurrent flushes.
type safePublisher struct {
	mu   sync.Mutex
	sent map[string]int // event type → count
}

func (p *safePublisher) Publish(_ context.Context, evs []domain.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range evs {
		p.sent[e.Type]++
	}
	return nil
}

// wireKinds counts Table requests at the wire (each attempt) by method, table and status.
type wireKinds struct {
	mu sync.Mutex
	n  map[string]int
}

func (k *wireKinds) Do(req *policy.Request) (*http.Response, error) {
	path := req.Raw().URL.Path
	if i := strings.IndexAny(path, "()"); i > 0 {
		path = path[:i]
	}
	path = path[strings.LastIndex(path, "/")+1:]
	resp, err := req.Next()
	status := "error"
	if resp != nil {
		status = fmt.Sprint(resp.StatusCode)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n[req.Raw().Method+" "+path+" "+status]++
	return resp, err
}

// take returns the counts so far and starts again.
func (k *wireKinds) take() (map[string]int, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out, total := k.n, 0
	for _, v := range out {
		total += v
	}
	k.n = map[string]int{}
	return out, total
}

// TestBulkThousandOnAzurite: a 1,000-item bulk unregister through the assembled app on Table
// Storage (Azurite) applies every item and publishes its events; the same request sent again
// with its Idempotency-Key changes nothing. It reports the Table requests per item, counted at
// the wire (each attempt, by kind), for the first send and the retry (docs/admin-api.md).
func TestBulkThousandOnAzurite(t *testing.T) {
	const n = admin.MaxBulkItems
	wire := &wireKinds{n: map[string]int{}}
	st, err := tables.New(context.Background(), tables.Config{ConnectionString: azurite.Start(t)},
		&tables.Options{PerRetryPolicies: []policy.Policy{wire}})
	if err != nil {
		t.Fatal(err)
	}
	pub := &safePublisher{sent: map[string]int{}}
	cfg := loadConfig(t, map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory", config.EnvAuthEnabled: "True"})
	a, err := New(context.Background(), cfg, &Options{Store: st, Publisher: pub,
		Clock: clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ids := registerMany(t, a, n)
	items := make([]map[string]string, n)
	for i, id := range ids {
		items[i] = map[string]string{"clusterId": id}
	}
	body, _ := json.Marshal(map[string]any{"items": items})

	// cost sends the request until no item answers "failed" (items past the 4-minute budget answer
	// NotAttempted, as on a loaded machine: the documented remedy is the same request with the same
	// key), and checks each item's first answer that is not a failure.
	cost := func(name, query, key string, want map[string]int) float64 {
		t.Helper()
		wire.take()
		start := time.Now()
		final := make([]string, n)
		for send := 1; ; send++ {
			out := postBulk(t, a, query, key, body)
			for i, it := range out.Items {
				if it.ClusterID != ids[i] {
					t.Fatalf("%s: item %d answers %s, want %s (one result per item, in order)", name, i, it.ClusterID, ids[i])
				}
				if final[i] == "" && it.Outcome != "" {
					final[i] = it.Outcome
				}
			}
			if out.Summary["failed"] == 0 || send == 5 {
				break
			}
			t.Logf("%s: send %d left %d items NotAttempted; sending it again with its key", name, send, out.Summary["failed"])
		}
		took := time.Since(start).Round(time.Millisecond)
		kinds, total := wire.take()
		t.Logf("%s: %.2f Table requests per item (%d items in %s)", name, float64(total)/n, n, took)
		for _, k := range slices.Sorted(maps.Keys(kinds)) {
			t.Logf("    %6.2f  %s", float64(kinds[k])/n, k)
		}
		got := map[string]int{}
		for _, o := range final {
			got[o]++
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%s: outcomes (-want +got):\n%s", name, d)
		}
		return float64(total) / n
	}
	cost("unregister", "unregister?dryRun=false", "bulk-1000", map[string]int{"updated": n})
	if d := cmp.Diff(map[string]int{domain.EvClusterUnregistered: n, domain.EvCleanupRequested: 5 * n}, map[string]int{
		domain.EvClusterUnregistered: pub.sent[domain.EvClusterUnregistered], domain.EvCleanupRequested: pub.sent[domain.EvCleanupRequested]}); d != "" {
		t.Fatalf("events published (-want +got):\n%s", d)
	}
	// A retry reads each item's partition once (its marker says duplicate), plus the key's record.
	if per := cost("retry, same key", "unregister?dryRun=false", "bulk-1000", map[string]int{"duplicate": n}); per > 1+3.0/n {
		t.Errorf("the retry costs %.3f Table requests per item, want 1 (one Load) and 3 for the key", per)
	}
	if got := pub.sent[domain.EvClusterUnregistered]; got != n {
		t.Fatalf("the retry published again: %d ClusterUnregistered", got)
	}
	// The counts take the commits in when the OutboxRelay's Pending runs, a bounded number of
	// clusters per run (docs/storage.md, "Counts"): run it until they stop changing.
	var counts domain.FleetCounts
	for i := range 10 {
		if _, err := a.Store.Pending(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		c, err := a.Service.Counts(context.Background(), domain.Everywhere())
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && cmp.Equal(c, counts) {
			break
		}
		counts = c
	}
	if got := counts.RegistrationStatus[domain.StatusRegistered]; got != 0 {
		t.Fatalf("%d clusters still Registered after the bulk unregister", got)
	}
}

// registerMany registers n clusters through the Register message, 8 at a time, and returns
// their IDs in ascending order.
func registerMany(t *testing.T, a *App, n int) []string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		ids[i] = fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", i)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"type":"Register","clusterId":%q,"clusterName":"c%d","region":"eastus",
				"tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":"22222222-2222-4222-8222-222222222222",
				"osVersion":"2508","createResourceGroup":true,"nodes":[{"name":"n1"},{"name":"n2"}]}`, ids[i], i)
			res, err := a.Service.HandleMessage(context.Background(), domain.QueueRegistrationRequests, []byte(body),
				domain.Meta{MessageID: "reg-" + ids[i], EnqueuedAt: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)})
			if err == nil && res.Outcome != domain.Created {
				err = fmt.Errorf("register %s: %s %v", ids[i], res.Outcome, res.Problem)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return ids
}

type bulkOut struct {
	Items []struct {
		ClusterID string `json:"clusterId"`
		Outcome   string `json:"outcome"`
	} `json:"items"`
	Summary map[string]int `json:"summary"`
}

func postBulk(t *testing.T, a *App, query, key string, body []byte) bulkOut {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/api/v1/bulk/"+query, strings.NewReader(string(body)))
	req.Header.Set(auth.HeaderPrincipal, base64.StdEncoding.EncodeToString([]byte(
		`{"auth_typ":"aad","name_typ":"name","role_typ":"roles","claims":[{"typ":"name","val":"ops"},{"typ":"roles","val":"Registrar.Operator"}]}`)))
	if key != "" {
		req.Header.Set(admin.HeaderIdempotencyKey, key)
	}
	w := httptest.NewRecorder()
	a.Admin.ServeHTTP(w, req)
	var out bulkOut
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &out) != nil {
		t.Fatalf("POST /bulk/%s: %d %.300s", query, w.Code, w.Body)
	}
	return out
}
