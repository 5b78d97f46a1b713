package dashboard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// principal encodes an Easy Auth principal with the given roles.
func principal(roles ...string) string {
	type claim struct {
		Typ string `json:"typ"`
		Val string `json:"val"`
	}
	claims := []claim{{"name", "tester"}}
	for _, r := range roles {
		claims = append(claims, claim{"roles", r})
	}
	raw, _ := json.Marshal(map[string]any{"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims})
	return base64.StdEncoding.EncodeToString(raw)
}

// newAPI returns the admin router with the dashboard's routes over a memory store.
func newAPI(t testing.TB, st domain.Store) (http.Handler, *domain.Service) {
	t.Helper()
	a, err := auth.New(auth.Config{EasyAuthEnabled: true, Roles: []auth.RoleDefinition{{Name: "Registrar.Writer", Actions: []string{"clusters/register"}}}})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(testNow)
	quiet := slog.New(slog.DiscardHandler)
	svc := domain.NewService(st, clk, &domain.Options{Logger: quiet})
	r := admin.New(admin.Deps{Service: svc, Auth: a, Clock: clk, Logger: quiet})
	Register(r, Deps{Service: svc, Clock: clk, Syncs: st}, &Options{Logger: quiet})
	return r, svc
}

func get(t testing.TB, h http.Handler, target, who string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+target, nil)
	if who != "" {
		req.Header.Set("X-MS-CLIENT-PRINCIPAL", who)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestAssetsHeadersAndAccess(t *testing.T) {
	h, _ := newAPI(t, memory.New(nil))
	reader := principal("Registrar.Reader")
	for _, c := range []struct{ path, ctype string }{
		{"/api/v1/dashboard", "text/html; charset=utf-8"},
		{"/api/v1/dashboard/", "text/html; charset=utf-8"},
		{"/api/v1/dashboard/app.js", "text/javascript; charset=utf-8"},
		{"/api/v1/dashboard/app.css", "text/css; charset=utf-8"},
	} {
		rec := get(t, h, c.path, reader)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d %s", c.path, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if got := rec.Header().Get("Content-Security-Policy"); got != CSP {
			t.Errorf("%s: CSP %q", c.path, got)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", c.path, got)
		}
	}
	for _, c := range []struct {
		path, who string
		status    int
		code      string
	}{
		{"/api/v1/dashboard", "", 401, auth.CodeUnauthenticated},
		{"/api/v1/dashboard/app.js", "", 401, auth.CodeUnauthenticated},
		{"/api/v1/summary", "", 401, auth.CodeUnauthenticated},
		{"/api/v1/dashboard", principal("Registrar.Writer"), 403, auth.CodeForbidden},
		{"/api/v1/summary", principal("Registrar.Writer"), 403, auth.CodeForbidden},
		{"/api/v1/dashboard/nope.js", reader, 404, admin.CodeNotFound},
		{"/api/v1/dashboard/app.go", reader, 404, admin.CodeNotFound},
		{"/api/v1/summary?x=1", reader, 400, domain.CodeInvalidField},
	} {
		rec := get(t, h, c.path, c.who)
		var p admin.Problem
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != c.status || p.Code != c.code {
			t.Errorf("%s: %d %q, want %d %q", c.path, rec.Code, p.Code, c.status, c.code)
		}
	}
}

// TestPageHasNoInlineCode keeps the page within its CSP: no inline script, style or handler,
// and nothing loaded from another origin.
func TestPageHasNoInlineCode(t *testing.T) {
	entries, err := assets.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := assets.ReadFile("assets/" + e.Name())
		s := strings.ToLower(string(b))
		for _, bad := range []string{"<script>", "<style", " style=", " onload=", " onclick=", " onerror=", "http://", "https://", "//cdn", "innerhtml", "eval(", "document.write"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s contains %q", e.Name(), bad)
			}
		}
	}
}

// failingStore fails the status counts with err.
type failingStore struct {
	domain.Store
	err error
}

func (f failingStore) Counts(context.Context) (domain.FleetCounts, error) {
	return domain.FleetCounts{}, f.err
}

func TestSummaryFaults(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("tables: throttled: %w", domain.ErrTransient), http.StatusServiceUnavailable, admin.CodeUnavailable},
		{errors.New("AccountKey=secret broke"), http.StatusInternalServerError, admin.CodeInternal},
	} {
		h, _ := newAPI(t, failingStore{Store: memory.New(nil), err: c.err})
		rec := get(t, h, "/api/v1/summary", principal("Registrar.Reader"))
		var p admin.Problem
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if rec.Code != c.status || p.Code != c.code {
			t.Errorf("%v: %d %q, want %d %q", c.err, rec.Code, p.Code, c.status, c.code)
		}
		if strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), "throttled") {
			t.Errorf("the store's error text reached the caller: %s", rec.Body)
		}
		if c.status == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
}

func TestSummaryContent(t *testing.T) {
	h, svc := newAPI(t, memory.New(nil))
	body := `{"type":"Register","clusterId":"00000001-0000-4000-8000-000000000001","clusterName":"hci-01",` +
		`"tenantId":"00000002-0000-4000-8000-000000000002","subscriptionId":"00000003-0000-4000-8000-000000000003",` +
		`"region":"mars","nodes":[{"name":"node1"}]}`
	if _, err := svc.HandleMessage(context.Background(), "registration-requests", []byte(body), domain.Meta{MessageID: "m1", EnqueuedAt: testNow}); err != nil {
		t.Fatal(err)
	}
	rec := get(t, h, "/api/v1/summary", principal("Registrar.Reader"))
	var s Summary
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("%d %v: %s", rec.Code, err, rec.Body)
	}
	if len(s.Rejections) != 1 || s.Rejections[0].MessageID != "m1" || s.Guard == nil || s.Guard.Active ||
		s.Upcoming == nil || s.Resets == nil || s.Orphans == nil || s.DeadLetters != nil || !s.GeneratedAt.Equal(testNow) {
		t.Errorf("summary: %s", rec.Body)
	}
}

// fakeDeadLetters holds n dead letters per queue; a peek returns at most max of them.
type fakeDeadLetters struct {
	n   map[string]int
	err error
}

func (f fakeDeadLetters) DeadLetters(_ context.Context, queue string, _ int64, max int) ([]bus.DeadLetter, error) {
	return make([]bus.DeadLetter, min(f.n[queue], max)), f.err
}

func (f fakeDeadLetters) Replay(context.Context, string, []string) (bus.ReplayReport, error) {
	return bus.ReplayReport{}, errors.New("read-only")
}

func TestSummaryDeadLetters(t *testing.T) {
	clk := clock.NewManual(testNow)
	svc := domain.NewService(memory.New(nil), clk, nil)
	dl := fakeDeadLetters{n: map[string]int{"registration-requests": 3, "machine-events": 250}}
	s, err := Build(context.Background(), Deps{Service: svc, Clock: clk, DeadLetters: dl, Queues: []string{"registration-requests", "machine-events"}}, domain.Everywhere())
	if err != nil {
		t.Fatal(err)
	}
	want := []DeadLetterCount{{Queue: "registration-requests", Count: 3}, {Queue: "machine-events", Count: MaxDeadLetters, AtLeast: true}}
	if fmt.Sprint(s.DeadLetters) != fmt.Sprint(want) {
		t.Errorf("dead letters %v, want %v", s.DeadLetters, want)
	}
	dl.err = fmt.Errorf("amqp: %w", domain.ErrTransient)
	if _, err := Build(context.Background(), Deps{Service: svc, Clock: clk, DeadLetters: dl, Queues: []string{"machine-events"}}, domain.Everywhere()); !errors.Is(err, domain.ErrTransient) {
		t.Errorf("a dead-letter fault was not returned: %v", err)
	}
}
