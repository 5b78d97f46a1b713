package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/testkit/repo"
)

type fakeDomain struct {
	queue domain.QueueKind
	body  string
	meta  domain.Meta
	run   domain.SweepRun
	res   domain.Result
	rep   domain.SweepReport
	err   error
}

func (f *fakeDomain) HandleMessage(_ context.Context, queue domain.QueueKind, body []byte, meta domain.Meta) (domain.Result, error) {
	f.queue, f.body, f.meta = queue, string(body), meta
	return f.res, f.err
}
func (f *fakeDomain) CheckPolicies(_ context.Context, run domain.SweepRun) (domain.SweepReport, error) {
	f.run = run
	return f.rep, f.err
}
func (f *fakeDomain) SweepOrphans(_ context.Context, run domain.SweepRun) (domain.SweepReport, error) {
	f.run = run
	return f.rep, f.err
}

type fakeRelay struct {
	flushed []domain.Event
	runs    []int
	err     error
}

func (r *fakeRelay) Flush(_ context.Context, ev []domain.Event) error {
	r.flushed = append(r.flushed, ev...)
	return r.err
}
func (r *fakeRelay) Run(_ context.Context, limit int) (int, error) {
	r.runs = append(r.runs, limit)
	return 2, r.err
}

var quiet = slog.New(slog.DiscardHandler)

func ids(evs []domain.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func TestQueueFunctionAppliesAndPublishes(t *testing.T) {
	ev := domain.Event{Type: "ClusterRegistered"}
	dom := &fakeDomain{res: domain.Result{Outcome: domain.Created, Events: []domain.Event{ev}, Publish: []domain.Event{ev}}}
	rel := &fakeRelay{}
	fns := New(Deps{Domain: dom, Relay: rel, MachineEventsQueue: "me-q", Logger: quiet})
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	out, err := fns.Queues[MachineEvents](context.Background(), invoke.Message{Body: []byte(`{"type":"Sync"}`), MessageID: "m1", CorrelationID: "c1", EnqueuedTime: at})
	if err != nil || out != "created" {
		t.Fatalf("outcome %q err %v", out, err)
	}
	if dom.queue != domain.QueueMachineEvents || dom.body != `{"type":"Sync"}` ||
		dom.meta != (domain.Meta{MessageID: "m1", CorrelationID: "c1", EnqueuedAt: at, Queue: "me-q"}) {
		t.Fatalf("domain got %q %q %+v", dom.queue, dom.body, dom.meta)
	}
	if len(rel.flushed) != 1 || rel.flushed[0].Type != "ClusterRegistered" {
		t.Fatalf("flushed %v", rel.flushed)
	}
}

// A publish failure after commit is not the message's failure: the outbox keeps the events.
func TestQueueFunctionPublishFailureIsNotReturned(t *testing.T) {
	dom := &fakeDomain{res: domain.Result{Outcome: domain.Updated, Events: []domain.Event{{Type: "ArcEnabled"}}, Publish: []domain.Event{{Type: "ArcEnabled"}}}}
	fns := New(Deps{Domain: dom, Relay: &fakeRelay{err: errors.New("bus down")}, Logger: quiet})
	out, err := fns.Queues[RegistrationRequests](context.Background(), invoke.Message{Body: []byte(`{}`)})
	if err != nil || out != "updated" || dom.queue != domain.QueueRegistrationRequests || dom.meta.Queue != "registration-requests" {
		t.Fatalf("outcome %q err %v queue %q/%q", out, err, dom.queue, dom.meta.Queue)
	}
}

func TestQueueFunctionRejectedAndTransient(t *testing.T) {
	dom := &fakeDomain{res: domain.Result{Outcome: domain.Rejected, Problem: domain.Reject("NotRegistered", "cluster is not registered")}}
	fns := New(Deps{Domain: dom, Logger: quiet})
	if out, err := fns.Queues[MachineEvents](context.Background(), invoke.Message{}); err != nil || out != "rejected" {
		t.Fatalf("outcome %q err %v", out, err)
	}
	dom.err = domain.ErrTransient
	if _, err := fns.Queues[MachineEvents](context.Background(), invoke.Message{}); !errors.Is(err, domain.ErrTransient) {
		t.Fatalf("err %v", err)
	}
}

func TestSweepsAndRelay(t *testing.T) {
	committed := []domain.Event{{ID: "e1", ClusterID: "a"}, {ID: "e2", ClusterID: "a"}, {ID: "e3", ClusterID: "b"}}
	dom := &fakeDomain{rep: domain.SweepReport{Examined: 4, Changed: 1, Events: 3, Committed: committed}}
	rel := &fakeRelay{}
	fns := New(Deps{Domain: dom, Relay: rel, RelayBatch: 50, Logger: quiet})
	// The invocation ID reaches the sweep through the adapter: run it as the host would.
	srv := invoke.NewServer(fns, &invoke.ServerOptions{Logger: quiet})
	r := httptest.NewRequest(http.MethodPost, "/"+PolicyExpiryCheck, strings.NewReader(`{"Data":{"timer":{"ScheduleStatus":null,"IsPastDue":true}},"Metadata":{}}`))
	r.Header.Set(invoke.HeaderInvocationID, "inv-7")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code != 200 || dom.run != (domain.SweepRun{ID: "inv-7", PastDue: true}) {
		t.Fatalf("status %d run %+v", w.Code, dom.run)
	}
	// The sweep publishes its own committed events (not the oldest of the whole outbox).
	if len(rel.runs) != 0 || !slices.Equal(ids(rel.flushed), []string{"e1", "e2", "e3"}) {
		t.Fatalf("after sweep: relay runs %v, flushed %v; want the sweep's events flushed", rel.runs, ids(rel.flushed))
	}
	out, err := fns.Timers[OutboxRelay](context.Background(), invoke.Timer{})
	if err != nil || out != "completed" || !slices.Equal(rel.runs, []int{50}) {
		t.Fatalf("relay %q %v %v", out, err, rel.runs)
	}
	// A sweep that fails after committing some events still publishes those, then fails.
	rel.flushed = nil
	dom.rep.Committed = committed[:1]
	dom.err = errors.New("storage down")
	if _, err := fns.Timers[OrphanSweep](context.Background(), invoke.Timer{}); err == nil {
		t.Fatal("sweep error swallowed")
	}
	if !slices.Equal(ids(rel.flushed), []string{"e1"}) {
		t.Fatalf("failed sweep flushed %v, want its committed e1", ids(rel.flushed))
	}
	rel.err = errors.New("bus down")
	if _, err := fns.Timers[OutboxRelay](context.Background(), invoke.Timer{}); err == nil {
		t.Fatal("relay error swallowed")
	}
}

func TestNoPublisherAndNoAdmin(t *testing.T) {
	fns := New(Deps{Domain: &fakeDomain{res: domain.Result{Outcome: domain.Created, Events: []domain.Event{{}}}}, Logger: quiet})
	if out, err := fns.Timers[OutboxRelay](context.Background(), invoke.Timer{}); err != nil || out != "no-publisher" {
		t.Fatalf("%q %v", out, err)
	}
	if _, err := fns.Queues[RegistrationRequests](context.Background(), invoke.Message{}); err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	fns.HTTP[Admin].ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/clusters", nil))
	if w.Code != http.StatusServiceUnavailable || !json.Valid(w.Body.Bytes()) {
		t.Fatalf("admin %d %s", w.Code, w.Body)
	}
}

// Every functions/*/function.json has a handler of its trigger's kind in the production wiring,
// under the binding names the adapter reads, and every handler has a folder.
func TestFunctionJSONMatchesWiring(t *testing.T) {
	fns := New(Deps{Domain: &fakeDomain{}, Admin: http.NotFoundHandler()})
	paths, err := filepath.Glob(repo.Path(t, "functions/*/function.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no function.json found (%v)", err)
	}
	folders := map[string]bool{}
	for _, p := range paths {
		name := filepath.Base(filepath.Dir(p))
		folders[name] = true
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var fj struct {
			Bindings []struct{ Name, Type, Direction, QueueName, Connection, AuthLevel, Route string }
		}
		if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&fj); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, b := range fj.Bindings {
			switch b.Type {
			case "serviceBusTrigger":
				if fns.Queues[name] == nil || b.Name != invoke.BindingMessage || b.Connection != "ServiceBusConnection" ||
					!strings.HasPrefix(b.QueueName, "%") || !strings.HasSuffix(b.QueueName, "Queue%") {
					t.Errorf("%s: queue binding %+v or no queue handler", name, b)
				}
			case "timerTrigger":
				if fns.Timers[name] == nil || b.Name != invoke.BindingTimer {
					t.Errorf("%s: timer binding %q or no timer handler", name, b.Name)
				}
			case "httpTrigger":
				if fns.HTTP[name] == nil || b.Name != invoke.BindingRequest || b.AuthLevel != "anonymous" || b.Route != "v1/{*path}" {
					t.Errorf("%s: http binding %+v or no http handler", name, b)
				}
			case "http":
				if b.Direction != "out" || b.Name != invoke.BindingResult {
					t.Errorf("%s: http output %+v", name, b)
				}
			default:
				t.Errorf("%s: unexpected binding type %q", name, b.Type)
			}
		}
	}
	for _, n := range fns.Names() {
		if !folders[n] {
			t.Errorf("handler %s has no functions/%s/function.json", n, n)
		}
	}
	if len(folders) != 6 {
		t.Errorf("%d function folders, want 6", len(folders))
	}
}
