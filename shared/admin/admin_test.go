package admin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
)

// Roles used by the tests: the built-ins and a custom role that may do anything but unregister.
const (
	roleRestricted = "Registrar.Restricted"
	queueReq       = "registration-requests"
	queueMachine   = "machine-events"
)

// Subscriptions of the scoped roles: the seeded clusters are registered in subHere.
const (
	subHere  = "22222222-2222-4222-8222-222222222222"
	subOther = "33333333-3333-4333-8333-333333333333"
)

// testRoles are the custom roles of every test API: one restricted by NotActions, and roles
// limited by AssignableScopes to the seeded clusters' subscription or to another one.
var testRoles = []auth.RoleDefinition{
	{Name: "Registrar.Restricted", Actions: []string{"*"}, NotActions: []string{"clusters/unregister"}},
	{Name: "Admin.Here", Actions: []string{"*"}, AssignableScopes: []string{"/subscriptions/" + subHere}},
	{Name: "Admin.Elsewhere", Actions: []string{"*"}, AssignableScopes: []string{"/subscriptions/" + subOther}},
	{Name: "Reader.Here", Actions: []string{"*/read"}, AssignableScopes: []string{"/subscriptions/" + strings.ToUpper(subHere)}},
	{Name: "Unregister.Elsewhere", Actions: []string{"clusters/unregister"}, AssignableScopes: []string{"/subscriptions/" + subOther}},
}

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t   testing.TB
	h   http.Handler
	svc *domain.Service
	clk *clock.Manual
	dl  *fakeDeadLetters
	// host, when set, serves calls through the host adapter (see viaHost).
	host http.Handler
}

type envOptions struct {
	store       domain.Store
	easyAuthOff bool
	relay       Flusher
	bulkBudget  time.Duration
	cursorKeys  [][]byte
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	a, err := auth.New(auth.Config{EasyAuthEnabled: !o.easyAuthOff, Roles: testRoles})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(testNow)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := domain.NewService(o.store, clk, &domain.Options{Logger: quiet})
	dl := &fakeDeadLetters{}
	h := New(Deps{Service: svc, Auth: a, DeadLetters: dl, Queues: []string{queueReq, queueMachine}, Clock: clk, Logger: quiet, Relay: o.relay,
		BulkBudget: o.bulkBudget, CursorKeys: o.cursorKeys, RequestID: invoke.InvocationID})
	return &env{t: t, h: h, svc: svc, clk: clk, dl: dl}
}

// principalHeader encodes an Easy Auth principal with the given name and roles.
func principalHeader(name string, roles ...string) string {
	type claim struct {
		Typ string `json:"typ"`
		Val string `json:"val"`
	}
	claims := []claim{{"name", name}}
	for _, r := range roles {
		claims = append(claims, claim{"roles", r})
	}
	raw, _ := json.Marshal(map[string]any{"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims})
	return base64.StdEncoding.EncodeToString(raw)
}

// call serves one request; principal "" sends no principal header.
func (e *env) call(method, target, principal, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	if e.host != nil {
		return e.callHost(method, target, principal, body)
	}
	req := httptest.NewRequest(method, "http://127.0.0.1"+target, strings.NewReader(body))
	if principal != "" {
		req.Header.Set(auth.HeaderPrincipal, principal)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w
}

// mediaType is w's Content-Type without parameters (through the host adapter it carries the
// charset the host would add).
func mediaType(w *httptest.ResponseRecorder) string {
	mt, params, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
	if cs, ok := params["charset"]; ok && cs != "utf-8" {
		return mt + "; charset=" + cs
	}
	return mt
}

// problem checks w is problem details with status and code, and returns it.
func problem(t *testing.T, w *httptest.ResponseRecorder, status int, code string) Problem {
	t.Helper()
	if mediaType(w) != "application/problem+json" {
		t.Fatalf("Content-Type %q (status %d, body %s)", w.Header().Get("Content-Type"), w.Code, w.Body)
	}
	var p Problem
	dec := json.NewDecoder(w.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	if w.Code != status || p.Status != status || p.Code != code || p.Title == "" || p.Type != "about:blank" {
		t.Fatalf("got %d %+v, want %d %s", w.Code, p, status, code)
	}
	return p
}

// decode checks w is 200 JSON and decodes it into v.
func decode(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if w.Code != http.StatusOK || mediaType(w) != "application/json" {
		t.Fatalf("got %d %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatal(err)
	}
}

// fakeDeadLetters is a bus.DeadLetterQueue: each queue holds dead letters m1..mN (N is n[queue],
// default 1) with sequence numbers 2, 4, 6, … (gaps, as after a replay); peeks counts calls.
type fakeDeadLetters struct {
	n        map[string]int
	peeks    int
	replayed map[string][]string
}

func (f *fakeDeadLetters) DeadLetters(_ context.Context, queue string, from int64, max int) ([]bus.DeadLetter, error) {
	f.peeks++
	n, ok := f.n[queue]
	if !ok {
		n = 1
	}
	var out []bus.DeadLetter
	for i := 1; i <= n && len(out) < max; i++ {
		if seq := int64(2 * i); seq >= from {
			out = append(out, bus.DeadLetter{MessageID: fmt.Sprintf("m%d", i), Reason: "MaxDeliveryCountExceeded",
				DeliveryCount: 10, SequenceNumber: seq, Preview: queue})
		}
	}
	return out, nil
}

func (f *fakeDeadLetters) Replay(_ context.Context, queue string, ids []string) (bus.ReplayReport, error) {
	if f.replayed == nil {
		f.replayed = map[string][]string{}
	}
	f.replayed[queue] = append(f.replayed[queue], ids...)
	return bus.ReplayReport{Replayed: []string{"m1"}}, nil
}
