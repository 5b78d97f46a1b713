package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// follow reads every page of target (which has a query string) with limit, and returns the
// items, the page sizes and the cursors given out.
func follow[T any](t *testing.T, e *env, target string, limit int) (items []T, sizes []int, cursors []string) {
	t.Helper()
	u := fmt.Sprintf("%s&limit=%d", target, limit)
	for range 100 {
		var p domain.PageOf[T]
		decode(t, e.call("GET", u, reader, ""), &p)
		items = append(items, p.Items...)
		sizes = append(sizes, len(p.Items))
		if p.NextCursor == "" {
			return items, sizes, cursors
		}
		if !cursorRE.MatchString(p.NextCursor) || slices.Contains(cursors, p.NextCursor) {
			t.Fatalf("cursor %q: not URL-safe or repeated", p.NextCursor)
		}
		cursors = append(cursors, p.NextCursor)
		u = fmt.Sprintf("%s&limit=%d&cursor=%s", target, limit, url.QueryEscape(p.NextCursor))
	}
	t.Fatal("paging did not end")
	return
}

// clusterN is the nth test cluster's ID.
func clusterN(n int) string { return fmt.Sprintf("%08d-0000-4000-8000-000000000000", n) }

func TestUpcomingPages(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	for i := range 7 {
		e.register(clusterN(7-i), fmt.Sprint("hci-", i), "2508")
	}
	silent(t, e, 2*24*time.Hour) // Disconnected: each has its 30-day offline deadline listed
	const target = "/api/v1/policy/upcoming?within=3650d"
	var whole domain.PageOf[domain.Deadline]
	decode(t, e.call("GET", target, reader, ""), &whole)
	if len(whole.Items) < 7 || whole.NextCursor != "" {
		t.Fatalf("one default page: %d items, next %q; want at least 7 and no next", len(whole.Items), whole.NextCursor)
	}
	got, sizes, cursors := follow[domain.Deadline](t, e, target, 3)
	if len(got) != len(whole.Items) || len(sizes) != (len(got)+2)/3 || sizes[0] != 3 {
		t.Fatalf("pages of 3: sizes %v for %d items", sizes, len(whole.Items))
	}
	for i, d := range got {
		if d != whole.Items[i] {
			t.Fatalf("item %d: %+v, want %+v (same order, no duplicates, no gaps)", i, d, whole.Items[i])
		}
		if i > 0 && d.Deadline.Before(got[i-1].Deadline) {
			t.Fatalf("item %d is before item %d", i, i-1)
		}
	}
	for _, c := range cursors {
		if strings.Contains(c, "2026") || strings.Contains(c, "0000") {
			t.Errorf("cursor %q shows its key", c)
		}
	}
}

func TestOrphansPages(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	const syncing = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
	for i := range 7 {
		e.register(clusterN(7-i), fmt.Sprint("hci-", i), "2508")
	}
	e.register(syncing, "hci-live", "2508")
	e.clk.Set(testNow.Add(90 * 24 * time.Hour))
	body := `{"type":"Sync","clusterId":"` + syncing + `","machine":"node1"}`
	if _, err := e.svc.HandleMessage(context.Background(), queueMachine, []byte(body), domain.Meta{MessageID: "sync-90", EnqueuedAt: e.clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CheckPolicies(context.Background(), domain.SweepRun{ID: "run-90"}); err != nil {
		t.Fatal(err)
	}
	got, sizes, _ := follow[domain.OrphanView](t, e, "/api/v1/orphans?", 3)
	var ids []string
	for _, o := range got {
		ids = append(ids, o.ClusterID)
	}
	want := []string{clusterN(1), clusterN(2), clusterN(3), clusterN(4), clusterN(5), clusterN(6), clusterN(7)}
	if !slices.Equal(sizes, []int{3, 3, 1}) || !slices.Equal(ids, want) {
		t.Fatalf("pages %v of %v, want [3 3 1] of %v (same grace end: cluster ID order)", sizes, ids, want)
	}
}

func TestDeadLettersPages(t *testing.T) {
	e := seeded(t)
	e.dl.n = map[string]int{queueMachine: 7, queueReq: 3}
	got, sizes, cursors := follow[json.RawMessage](t, e, "/api/v1/deadletters/"+queueMachine+"?", 3)
	var ids []string
	for _, raw := range got {
		var d struct{ MessageID string }
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.MessageID)
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) || fmt.Sprint(ids) != "[m1 m2 m3 m4 m5 m6 m7]" {
		t.Fatalf("pages %v of %v, want [3 3 1] of m1..m7", sizes, ids)
	}
	// a page that ends exactly with the last dead letter has no nextCursor
	if _, sizes, _ := follow[json.RawMessage](t, e, "/api/v1/deadletters/"+queueReq+"?", 3); !slices.Equal(sizes, []int{3}) {
		t.Fatalf("3 dead letters by 3: pages %v, want [3]", sizes)
	}
	// a cursor is tied to its queue
	p := problem(t, e.call("GET", "/api/v1/deadletters/"+queueReq+"?cursor="+url.QueryEscape(cursors[0]), reader, ""), http.StatusBadRequest, domain.CodeInvalidField)
	if p.Field != "cursor" {
		t.Fatalf("field %q", p.Field)
	}
}

// TestPagingRefusals: limit outside 1–1000 and cursors the route did not give out are 400
// InvalidField naming the parameter.
func TestPagingRefusals(t *testing.T) {
	e := seeded(t)
	r := e.h.(*Router)
	other, err := r.seal(context.Background(), "store:rejections", "x")
	if err != nil {
		t.Fatal(err)
	}
	seq0, err := r.seqCursorOf(context.Background(), queueReq, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"/api/v1/policy/upcoming?within=7d&", "/api/v1/orphans?", "/api/v1/deadletters/" + queueReq + "?"} {
		for _, tc := range []struct{ query, field string }{
			{"limit=0", "limit"}, {"limit=1001", "limit"}, {"limit=-1", "limit"}, {"limit=ten", "limit"},
			{"cursor=bm90LWEtY3Vyc29y", "cursor"}, {"cursor=" + url.QueryEscape("x' or 1 eq 1"), "cursor"},
			{"cursor=MFRGG", "cursor"}, {"cursor=" + seq0, "cursor"},
		} {
			p := problem(t, e.call("GET", base+tc.query, reader, ""), http.StatusBadRequest, domain.CodeInvalidField)
			if p.Field != tc.field {
				t.Errorf("%s%s: field %q, want %q", base, tc.query, p.Field, tc.field)
			}
		}
		problem(t, e.call("GET", base+"cursor="+other, reader, ""), http.StatusBadRequest, domain.CodeInvalidField)
		for _, ok := range []string{"limit=1", "limit=1000"} {
			if w := e.call("GET", base+ok, reader, ""); w.Code != http.StatusOK {
				t.Errorf("%s%s: %d %s", base, ok, w.Code, w.Body)
			}
		}
	}
}

// TestStoreCursorsBelongToTheirList: the clusters list, a cluster's history and the rejections
// page through the store, and a cursor of one is refused by the others (another cluster's
// history, other filters included) instead of being read as theirs.
func TestStoreCursorsBelongToTheirList(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	for i := 1; i <= 3; i++ {
		e.register(clusterN(i), fmt.Sprint("hci-", i), "2508")
	}
	for i := range 3 {
		if _, err := e.svc.HandleMessage(context.Background(), queueReq, []byte(`{"type":"Nope"}`),
			domain.Meta{MessageID: fmt.Sprint("bad-", i), EnqueuedAt: e.clk.Now(), Queue: queueReq}); err != nil {
			t.Fatal(err)
		}
	}
	lists := map[string]string{
		"clusters":   "/api/v1/clusters?",
		"registered": "/api/v1/clusters?registrationStatus=Registered&",
		"history 1":  "/api/v1/clusters/" + clusterN(1) + "/history?",
		"history 2":  "/api/v1/clusters/" + clusterN(2) + "/history?",
		"rejections": "/api/v1/rejections?",
	}
	cursors := map[string]string{}
	for name, base := range lists {
		var all domain.PageOf[json.RawMessage]
		decode(t, e.call("GET", base+"limit=1000", reader, ""), &all)
		items, _, cs := follow[json.RawMessage](t, e, strings.TrimSuffix(base, "&"), 1)
		if len(cs) == 0 || len(items) != len(all.Items) {
			t.Fatalf("%s: %d items by pages of 1, %d whole, cursors %v", name, len(items), len(all.Items), cs)
		}
		cursors[name] = cs[0]
	}
	for from, c := range cursors {
		for to, base := range lists {
			w := e.call("GET", base+"limit=1&cursor="+url.QueryEscape(c), reader, "")
			if from == to {
				if w.Code != http.StatusOK {
					t.Errorf("%s's cursor on its own list: %d %s", from, w.Code, w.Body)
				}
				continue
			}
			if p := problem(t, w, http.StatusBadRequest, domain.CodeInvalidField); p.Field != "cursor" {
				t.Errorf("%s's cursor on %s: field %q", from, to, p.Field)
			}
		}
	}
}
