package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

const cluster3 = "2d9a3f4e-5b6c-4d7e-8f90-91a2b3c4d5e6"

// syncRelay records flushed events; safe for the bulk workers' concurrent flushes.
type syncRelay struct {
	mu      sync.Mutex
	flushed []domain.Event
	// hold, when set, blocks each flush until it is closed (after signalling entered once).
	hold, entered chan struct{}
	once          sync.Once
}

func (r *syncRelay) Flush(_ context.Context, events []domain.Event) error {
	if r.hold != nil {
		r.once.Do(func() { close(r.entered) })
		<-r.hold
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushed = append(r.flushed, events...)
	return nil
}

func (r *syncRelay) events() []domain.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.flushed)
}

// bulkCall posts a bulk request with an optional Idempotency-Key.
func (e *env) bulkCall(target, principal, key, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest("POST", "http://127.0.0.1/api/v1/bulk/"+target, strings.NewReader(body))
	req.Header.Set(auth.HeaderPrincipal, principal)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(HeaderIdempotencyKey, key)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w
}

func itemsBody(items ...string) string {
	var parts []string
	for _, it := range items {
		id, m, _ := strings.Cut(it, "/")
		if m == "" {
			parts = append(parts, fmt.Sprintf(`{"clusterId":%q}`, id))
		} else {
			parts = append(parts, fmt.Sprintf(`{"clusterId":%q,"machine":%q}`, id, m))
		}
	}
	return `{"items":[` + strings.Join(parts, ",") + `]}`
}

// got is a bulk answer reduced to what the tests compare: per item its cluster, machine and
// outcome or problem code (and field).
type got struct {
	DryRun  bool
	Items   []string
	Summary map[string]int
}

func bulkAnswerOf(t *testing.T, w *httptest.ResponseRecorder) got {
	t.Helper()
	var a bulkAnswer
	decode(t, w, &a)
	g := got{DryRun: a.DryRun, Summary: a.Summary}
	for _, it := range a.Items {
		s := it.ClusterID
		if it.Machine != "" {
			s += "/" + it.Machine
		}
		switch {
		case it.Problem != nil && it.Problem.Field != "":
			s += fmt.Sprintf(" %d %s(%s)", it.Problem.Status, it.Problem.Code, it.Problem.Field)
		case it.Problem != nil:
			s += fmt.Sprintf(" %d %s", it.Problem.Status, it.Problem.Code)
		default:
			s += " " + string(it.Outcome)
		}
		g.Items = append(g.Items, s)
	}
	return g
}

func (e *env) registration(id string) string {
	e.t.Helper()
	v, err := e.svc.Cluster(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return v.RegistrationStatus
}

// TestBulkUnregisterItems: each item is answered in order, refusals and malformed items beside
// the applied ones; each applied item is its own command, with a history entry by the caller
// and its own events.
func TestBulkUnregisterItems(t *testing.T) {
	rel := &syncRelay{}
	e := newEnv(t, envOptions{store: memory.New(nil), relay: rel})
	e.register(cluster1, "hci-01", "2508")
	e.register(cluster2, "hci-02", "2508")
	body := itemsBody(cluster1, strings.ToUpper(cluster2), unknown, "not-a-guid", cluster1, cluster3+"/node1")
	g := bulkAnswerOf(t, e.bulkCall("unregister?dryRun=false", operator, "", body))
	want := got{Items: []string{
		cluster1 + " updated",
		cluster2 + " updated",
		unknown + " 404 UnknownCluster",
		"not-a-guid 400 InvalidField(items[3].clusterId)",
		cluster1 + " 400 InvalidField(items[4])",
		cluster3 + "/node1 400 InvalidField(items[5].machine)",
	}, Summary: map[string]int{"updated": 2, "rejected": 4}}
	if d := cmp.Diff(want, g); d != "" {
		t.Fatalf("answer (-want +got):\n%s", d)
	}
	for _, id := range []string{cluster1, cluster2} {
		if s := e.registration(id); s != domain.StatusNotYet {
			t.Errorf("%s: registrationStatus %s after the bulk unregister", id, s)
		}
		h, err := e.svc.History(context.Background(), id, domain.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(h.Items, func(x domain.HistoryEntry) bool {
			return x.What == "registrationStatus" && x.After == domain.StatusNotYet
		})
		if i < 0 || h.Items[i].Principal != "otto@contoso.com" || h.Items[i].Cause != "POST /bulk/unregister" || !strings.HasPrefix(h.Items[i].MessageID, "bulk-") {
			t.Errorf("%s: no history entry of the bulk command by its caller: %+v", id, h.Items)
		}
	}
	byCluster := map[string][]string{}
	for _, ev := range rel.events() {
		if ev.Type == domain.EvClusterUnregistered {
			byCluster[ev.ClusterID] = append(byCluster[ev.ClusterID], ev.ID)
		}
	}
	if len(byCluster[cluster1]) != 1 || len(byCluster[cluster2]) != 1 || len(byCluster) != 2 {
		t.Fatalf("ClusterUnregistered events by cluster: %v", byCluster)
	}
}

// TestBulkIdempotencyKey: the same request sent again with the same key changes nothing twice
// (every item a duplicate, no new history or event); another body with the key is 422; another
// caller's same key is another request.
func TestBulkIdempotencyKey(t *testing.T) {
	rel := &syncRelay{}
	e := newEnv(t, envOptions{store: memory.New(nil), relay: rel})
	e.register(cluster1, "hci-01", "2508")
	e.register(cluster2, "hci-02", "2508")
	body := itemsBody(cluster1, cluster2)
	first := bulkAnswerOf(t, e.bulkCall("repair?dryRun=false", operator, "key-1", body))
	if d := cmp.Diff(map[string]int{"updated": 2}, first.Summary); d != "" {
		t.Fatalf("first send (-want +got):\n%s", d)
	}
	events := len(rel.events())
	history := func() int {
		h, _ := e.svc.History(context.Background(), cluster1, domain.Page{Limit: 1000})
		return len(h.Items)
	}
	before := history()
	again := bulkAnswerOf(t, e.bulkCall("repair?dryRun=false", operator, "key-1", body))
	if d := cmp.Diff(got{Items: []string{cluster1 + " duplicate", cluster2 + " duplicate"}, Summary: map[string]int{"duplicate": 2}}, again); d != "" {
		t.Fatalf("the same request again (-want +got):\n%s", d)
	}
	if len(rel.events()) != events || history() != before {
		t.Fatalf("the retry changed something: events %d → %d, history %d → %d", events, len(rel.events()), before, history())
	}
	p := problem(t, e.bulkCall("repair?dryRun=false", operator, "key-1", itemsBody(cluster1)), http.StatusUnprocessableEntity, domain.CodeIdempotencyKeyReused)
	if !strings.Contains(p.Detail, "another request body") {
		t.Errorf("422 detail %q", p.Detail)
	}
	// A different principal's key is its own: its repair is a new command.
	e.clk.Advance(time.Minute)
	other := bulkAnswerOf(t, e.bulkCall("repair?dryRun=false", admin, "key-1", body))
	if d := cmp.Diff(map[string]int{"updated": 2}, other.Summary); d != "" {
		t.Fatalf("another caller with the same key (-want +got):\n%s", d)
	}
	// Without a key each send is a new request.
	e.clk.Advance(time.Minute)
	fresh := bulkAnswerOf(t, e.bulkCall("repair?dryRun=false", operator, "", body))
	if d := cmp.Diff(map[string]int{"updated": 2}, fresh.Summary); d != "" {
		t.Fatalf("a send without a key (-want +got):\n%s", d)
	}
}

// TestBulkRetryWhileRunning: a retry that arrives while the first send still runs is 409
// RequestInProgress with Retry-After, and changes nothing; once the first has ended the retry
// is answered duplicate.
func TestBulkRetryWhileRunning(t *testing.T) {
	rel := &syncRelay{hold: make(chan struct{}), entered: make(chan struct{})}
	e := newEnv(t, envOptions{store: memory.New(nil), relay: rel})
	e.register(cluster1, "hci-01", "2508")
	body := itemsBody(cluster1)
	done := make(chan got)
	go func() { done <- bulkAnswerOf(t, e.bulkCall("unregister?dryRun=false", operator, "k", body)) }()
	<-rel.entered // the first send has committed its item and is publishing
	w := e.bulkCall("unregister?dryRun=false", operator, "k", body)
	problem(t, w, http.StatusConflict, domain.CodeRequestInProgress)
	if w.Header().Get("Retry-After") == "" {
		t.Error("409 RequestInProgress without Retry-After")
	}
	close(rel.hold)
	if d := cmp.Diff([]string{cluster1 + " updated"}, (<-done).Items); d != "" {
		t.Fatalf("first send (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{cluster1 + " duplicate"}, bulkAnswerOf(t, e.bulkCall("unregister?dryRun=false", operator, "k", body)).Items); d != "" {
		t.Fatalf("retry after the end (-want +got):\n%s", d)
	}
}

// TestBulkDryRun: a dry run answers what each item would do and changes nothing: no state, no
// history, no event, and no claim on the Idempotency-Key.
func TestBulkDryRun(t *testing.T) {
	rel := &syncRelay{}
	e := newEnv(t, envOptions{store: memory.New(nil), relay: rel})
	e.register(cluster1, "hci-01", "2508")
	e.register(cluster2, "hci-02", "23H2")
	h0, _ := e.svc.History(context.Background(), cluster1, domain.Page{Limit: 1000})
	g := bulkAnswerOf(t, e.bulkCall("reset?dryRun=true", operator, "k", itemsBody(cluster1+"/node1", cluster2+"/node1", cluster1+"/node9")))
	want := got{DryRun: true, Items: []string{
		cluster1 + "/node1 updated",
		cluster2 + "/node1 409 ResetNotSupported",
		cluster1 + "/node9 404 UnknownMachine",
	}, Summary: map[string]int{"updated": 1, "rejected": 2}}
	if d := cmp.Diff(want, g); d != "" {
		t.Fatalf("dry run (-want +got):\n%s", d)
	}
	v, _ := e.svc.Cluster(context.Background(), cluster1)
	h1, _ := e.svc.History(context.Background(), cluster1, domain.Page{Limit: 1000})
	if v.Nodes[0].Reset != nil || len(h1.Items) != len(h0.Items) || len(rel.events()) != 0 {
		t.Fatalf("the dry run changed something: reset %+v, history %d → %d, events %d", v.Nodes[0].Reset, len(h0.Items), len(h1.Items), len(rel.events()))
	}
	// The key was not claimed by the dry run: the real run with it is a first send.
	g = bulkAnswerOf(t, e.bulkCall("reset?dryRun=false", operator, "k", itemsBody(cluster1+"/node1")))
	if d := cmp.Diff([]string{cluster1 + "/node1 updated"}, g.Items); d != "" {
		t.Fatalf("real run (-want +got):\n%s", d)
	}
}

// TestBulkFilter: a filter selects the clusters GET /clusters would list with it; more than
// 1000 matches is a 400 naming the count.
func TestBulkFilter(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	e.register(cluster1, "hci-01", "2508")
	e.register(cluster2, "hci-02", "2508")
	e.register(cluster3, "hci-03", "2508")
	if w := e.call("POST", "/api/v1/clusters/"+cluster2+"/unregister?dryRun=false", admin, ""); w.Code != http.StatusOK {
		t.Fatalf("unregister: %d %s", w.Code, w.Body)
	}
	g := bulkAnswerOf(t, e.bulkCall("repair?dryRun=false", operator, "", `{"filter":{"registrationStatus":"Registered"}}`))
	want := []string{cluster1 + " updated", cluster3 + " updated"}
	slices.Sort(g.Items)
	if d := cmp.Diff(want, g.Items, cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Fatalf("filter (-want +got):\n%s", d)
	}
	g = bulkAnswerOf(t, e.bulkCall("unregister?dryRun=true", operator, "", `{"filter":{"registrationStatus":"OutOfPolicy"}}`))
	if d := cmp.Diff(got{DryRun: true, Summary: map[string]int{}}, g); d != "" {
		t.Fatalf("a filter matching nothing (-want +got):\n%s", d)
	}
	for i := range MaxBulkItems - 1 {
		e.register(fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i), fmt.Sprintf("c%d", i), "2508")
	}
	p := problem(t, e.bulkCall("repair?dryRun=true", operator, "", `{"filter":{"registrationStatus":"Registered"}}`), http.StatusBadRequest, domain.CodeInvalidField)
	if p.Field != "filter" || !strings.Contains(p.Detail, "matches 1001 clusters") {
		t.Fatalf("over 1000 matches: %+v", p)
	}
}

func TestBulkValidation(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	many := make([]string, MaxBulkItems+1)
	for i := range many {
		many[i] = fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i)
	}
	one := itemsBody(cluster1)
	for _, tc := range []struct{ target, key, body, field string }{
		{"unregister", "", one, "dryRun"},
		{"unregister?dryRun=yes", "", one, "dryRun"},
		{"repair?dryRun=true&disableOnlyArc=true", "", one, "disableOnlyArc"},
		{"unregister?dryRun=true", "", `{}`, "items"},
		{"unregister?dryRun=true", "", `{"items":[]}`, "items"},
		{"unregister?dryRun=true", "", itemsBody(many...), "items"},
		{"unregister?dryRun=true", "", `{"items":[{"clusterId":"` + cluster1 + `"}],"filter":{"orphan":"None"}}`, "body"},
		{"unregister?dryRun=true", "", `{"filter":{}}`, "filter"},
		{"unregister?dryRun=true", "", `{"filter":{"registrationStatus":"registered"}}`, "filter.registrationStatus"},
		{"unregister?dryRun=true", "", `{"filter":{"connectionStatus":"Connected' or 1 eq 1"}}`, "filter.connectionStatus"},
		{"reset?dryRun=true", "", `{"filter":{"orphan":"None"}}`, "filter"},
		{"unregister?dryRun=true", "", `{"items":[{"clusterId":"` + cluster1 + `","force":true}]}`, "force"},
		{"unregister?dryRun=true", "", `{"items":[{"clusterId":7}]}`, "items.clusterId"},
		{"unregister?dryRun=false", "key with spaces", one, HeaderIdempotencyKey},
		{"unregister?dryRun=false", strings.Repeat("k", 256), one, HeaderIdempotencyKey},
	} {
		p := problem(t, e.bulkCall(tc.target, operator, tc.key, tc.body), http.StatusBadRequest, domain.CodeInvalidField)
		if p.Field != tc.field {
			t.Errorf("%s %s: field %q, want %q (%s)", tc.target, tc.body[:min(len(tc.body), 60)], p.Field, tc.field, p.Detail)
		}
	}
	p := problem(t, e.bulkCall("unregister?dryRun=true", operator, "", itemsBody(many...)), http.StatusBadRequest, domain.CodeInvalidField)
	if !strings.Contains(p.Detail, "1001 items") {
		t.Errorf("over 1000 items: %q", p.Detail)
	}
	big := `{"items":[` + strings.Repeat(`{"clusterId":"`+cluster1+`"},`, MaxBulkBody/40) + `{"clusterId":"` + cluster1 + `"}]}`
	problem(t, e.bulkCall("unregister?dryRun=true", operator, "", big), http.StatusRequestEntityTooLarge, CodeRequestTooLarge)
	// A reader may not bulk-unregister; an operator may not bulk-clean anything it lacks.
	problem(t, e.bulkCall("unregister?dryRun=true", reader, "", one), http.StatusForbidden, auth.CodeForbidden)
	problem(t, e.bulkCall("unregister?dryRun=true", restricted, "", one), http.StatusForbidden, auth.CodeForbidden)
	problem(t, e.bulkCall("cleanup?dryRun=true", admin, "", one), http.StatusNotFound, CodeNotFound)
}

// TestBulkBudget: items not started within the time budget are NotAttempted (503, summary
// "failed"), nothing is done to them, and the same request sent again does them.
func TestBulkBudget(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil), bulkBudget: time.Nanosecond})
	e.register(cluster1, "hci-01", "2508")
	g := bulkAnswerOf(t, e.bulkCall("unregister?dryRun=false", operator, "k", itemsBody(cluster1)))
	if d := cmp.Diff(got{Items: []string{cluster1 + " 503 NotAttempted"}, Summary: map[string]int{"failed": 1}}, g); d != "" {
		t.Fatalf("over budget (-want +got):\n%s", d)
	}
	if s := e.registration(cluster1); s != domain.StatusRegistered {
		t.Fatalf("a NotAttempted item changed: %s", s)
	}
	e.h.(*Router).d.BulkBudget = time.Minute
	g = bulkAnswerOf(t, e.bulkCall("unregister?dryRun=false", operator, "k", itemsBody(cluster1)))
	if d := cmp.Diff([]string{cluster1 + " updated"}, g.Items); d != "" {
		t.Fatalf("sent again (-want +got):\n%s", d)
	}
}

// gaugeStore counts the Loads in flight, to see how many items run at once.
type gaugeStore struct {
	domain.Store
	now, peak atomic.Int64
}

func (s *gaugeStore) Load(ctx context.Context, id, msg string) (domain.ClusterRecord, error) {
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	time.Sleep(2 * time.Millisecond)
	return s.Store.Load(ctx, id, msg)
}

// TestBulkParallelismIsBounded: items run in parallel, never more than bulkParallel at once.
func TestBulkParallelismIsBounded(t *testing.T) {
	st := &gaugeStore{Store: memory.New(nil)}
	e := newEnv(t, envOptions{store: st})
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i)
		e.register(id, fmt.Sprintf("c%d", i), "2508")
		ids = append(ids, id)
	}
	st.peak.Store(0)
	g := bulkAnswerOf(t, e.bulkCall("repair?dryRun=false", operator, "", itemsBody(ids...)))
	if g.Summary["updated"] != 40 {
		t.Fatalf("summary %v", g.Summary)
	}
	if p := st.peak.Load(); p > bulkParallel || p < 2 {
		t.Fatalf("%d items ran at once, want 2..%d", p, bulkParallel)
	}
}

func TestBulkAnswerShape(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	e.register(cluster1, "hci-01", "2508")
	w := e.bulkCall("unregister?dryRun=false&disableOnlyArc=true", operator, "", itemsBody(cluster1, unknown))
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"dryRun": false, "summary": map[string]any{"updated": 1.0, "rejected": 1.0}, "items": []any{
		map[string]any{"clusterId": cluster1, "outcome": "updated"},
		map[string]any{"clusterId": unknown, "problem": map[string]any{"type": "about:blank", "title": "Not found", "status": 404.0,
			"code": "UnknownCluster", "detail": "cluster is not known"}},
	}}
	if d := cmp.Diff(want, raw); d != "" {
		t.Fatalf("answer (-want +got):\n%s", d)
	}
	v, _ := e.svc.Cluster(context.Background(), cluster1)
	if v.RegistrationStatus != domain.StatusRegistered || v.ArcIntegration != domain.ArcDisabled {
		t.Fatalf("disableOnlyArc: %s %s", v.RegistrationStatus, v.ArcIntegration)
	}
}

// TestBulkScoped: with roles limited to subscriptions, a filter matches only the clusters the
// caller may read, and an item outside where it may act is that item's 403 (an unknown cluster
// too: a scoped caller learns nothing of clusters outside its subscriptions).
func TestBulkScoped(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	e.register(cluster1, "hci-01", "2508") // in subHere
	e.registerIn(cluster2, "hci-02", subOther)
	g := bulkAnswerOf(t, e.bulkCall("unregister?dryRun=true", adminHere, "", itemsBody(cluster1, cluster2, unknown)))
	want := got{DryRun: true, Items: []string{cluster1 + " updated", cluster2 + " 403 Forbidden", unknown + " 403 Forbidden"},
		Summary: map[string]int{"updated": 1, "rejected": 2}}
	if d := cmp.Diff(want, g); d != "" {
		t.Fatalf("items of a caller scoped to one subscription (-want +got):\n%s", d)
	}
	filter := `{"filter":{"registrationStatus":"Registered"}}`
	for _, tc := range []struct {
		name, principal string
		want            []string
	}{
		{"admin here", adminHere, []string{cluster1 + " updated"}},
		{"admin elsewhere", adminElsewhere, []string{cluster2 + " updated"}},
		// It reads only subHere's clusters and unregisters only in subOther: it sees cluster1, may
		// not act on it, and never sees cluster2.
		{"reads here, unregisters elsewhere", readHereUnregisterElsewhere, []string{cluster1 + " 403 Forbidden"}},
	} {
		g := bulkAnswerOf(t, e.bulkCall("unregister?dryRun=true", tc.principal, "", filter))
		if d := cmp.Diff(tc.want, g.Items); d != "" {
			t.Errorf("%s: filter (-want +got):\n%s", tc.name, d)
		}
	}
	if s := e.registration(cluster2); s != domain.StatusRegistered {
		t.Fatalf("a dry run changed %s: %s", cluster2, s)
	}
}
