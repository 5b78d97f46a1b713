package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// recordingRelay records what the API flushes; with fail set the flush fails.
type recordingRelay struct {
	flushed []domain.Event
	fail    bool
}

func (r *recordingRelay) Flush(_ context.Context, events []domain.Event) error {
	if r.fail {
		return errors.New("bus down")
	}
	r.flushed = append(r.flushed, events...)
	return nil
}

func types(evs []domain.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

func TestCommandsFlushWhatTheyCommit(t *testing.T) {
	rel := &recordingRelay{}
	st := memory.New(nil)
	e := newEnv(t, envOptions{store: st, relay: rel})
	e.register(cluster1, "hci-01", "2508")
	// The registration's events were published (as its own flush does): a command's flush puts
	// any still pending ahead of its own (domain.Result.Publish).
	if pending, err := st.Pending(context.Background(), 100); err != nil || st.MarkPublished(context.Background(), pending) != nil {
		t.Fatal(err)
	}
	u := "/api/v1/clusters/" + cluster1 + "/unregister"
	if w := e.call("POST", u+"?dryRun=true", operator, ""); w.Code != http.StatusOK || len(rel.flushed) != 0 {
		t.Fatalf("dry run: %d, flushed %v", w.Code, types(rel.flushed))
	}
	w := e.call("POST", "/api/v1/machines/"+cluster1+"/node1/reset", operator, "")
	if w.Code != http.StatusOK || !slices.Equal(types(rel.flushed), []string{domain.EvMachineResetRequested}) {
		t.Fatalf("reset start: %d, flushed %v", w.Code, types(rel.flushed))
	}
	rel.flushed = nil
	w = e.call("POST", u+"?dryRun=false", operator, "")
	got := types(rel.flushed)
	if w.Code != http.StatusOK || !slices.Contains(got, domain.EvClusterUnregistered) || !slices.Contains(got, domain.EvCleanupRequested) {
		t.Fatalf("unregister: %d, flushed %v", w.Code, got)
	}
	for _, ev := range rel.flushed {
		if ev.ClusterID != cluster1 {
			t.Fatalf("flushed another cluster's event %+v", ev)
		}
	}
	// A refused command commits nothing to publish.
	rel.flushed = nil
	if w := e.call("POST", u+"?dryRun=false", operator, ""); w.Code != http.StatusConflict || len(rel.flushed) != 0 {
		t.Fatalf("second unregister: %d, flushed %v", w.Code, types(rel.flushed))
	}
}

func TestFailedFlushStillAnswersTheCommand(t *testing.T) {
	store := memory.New(nil)
	e := newEnv(t, envOptions{store: store, relay: &recordingRelay{fail: true}})
	e.register(cluster1, "hci-01", "2508")
	before, err := store.PendingIn(context.Background(), cluster1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var done outcome
	decode(t, e.call("POST", "/api/v1/clusters/"+cluster1+"/unregister?dryRun=false", operator, ""), &done)
	if done.Outcome != domain.Updated {
		t.Fatalf("unregister with the bus down: %+v", done)
	}
	after, err := store.PendingIn(context.Background(), cluster1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(types(after[len(before):]), domain.EvClusterUnregistered) {
		t.Fatalf("pending after the failed flush: %v; want the committed events kept for the OutboxRelay", types(after))
	}
}

func TestOrphanCleanupFlushesWhatItCommits(t *testing.T) {
	const other = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	rel := &recordingRelay{}
	st := memory.New(nil)
	e := newEnv(t, envOptions{store: st, relay: rel})
	e.register(cluster1, "hci-01", "2508")
	// The registration's events were published (as its own flush does): a command's flush puts
	// any still pending ahead of its own (domain.Result.Publish).
	if pending, err := st.Pending(context.Background(), 100); err != nil || st.MarkPublished(context.Background(), pending) != nil {
		t.Fatal(err)
	}
	e.register(other, "hci-02", "2508")
	sync := func(day int) {
		t.Helper()
		e.clk.Set(testNow.Add(time.Duration(day) * 24 * time.Hour))
		body := `{"type":"Sync","clusterId":"` + other + `","machine":"node1"}`
		if _, err := e.svc.HandleMessage(context.Background(), queueMachine, []byte(body), domain.Meta{MessageID: fmt.Sprint("sync-", day), EnqueuedAt: e.clk.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	sync(90) // cluster1 has been silent for 90 days: the sweep suspects it
	if _, err := e.svc.CheckPolicies(context.Background(), domain.SweepRun{ID: "run-90"}); err != nil {
		t.Fatal(err)
	}
	sync(98) // its grace has ended
	if w := e.call("POST", "/api/v1/orphans/cleanup?dryRun=true", admin, ""); w.Code != http.StatusOK || len(rel.flushed) != 0 {
		t.Fatalf("dry run: %d, flushed %v", w.Code, types(rel.flushed))
	}
	w := e.call("POST", "/api/v1/orphans/cleanup?dryRun=false", admin, "")
	got := types(rel.flushed)
	if w.Code != http.StatusOK || len(got) == 0 || got[len(got)-1] != domain.EvOrphanCleanedUp {
		t.Fatalf("clean-up: %d %s, flushed %v; want its events ending with OrphanCleanedUp", w.Code, w.Body, got)
	}
	for _, ev := range rel.flushed {
		if ev.ClusterID != cluster1 {
			t.Fatalf("flushed another cluster's event %+v", ev)
		}
	}
}
