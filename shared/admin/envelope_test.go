package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
)

const invocationID = "5f0c1e2d-3b4a-4c5d-9e6f-708192a3b4c5"

// viaHost serves the env's requests through the host adapter: each call becomes the Admin
// function's envelope (Data.req) and its Outputs.res is turned back into a response.
func (e *env) viaHost() *env {
	host := invoke.NewServer(invoke.Functions{HTTP: map[string]http.Handler{"Admin": e.h}},
		&invoke.ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	e.host = host
	return e
}

func (e *env) callHost(method, target, principal, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	path, query, _ := strings.Cut(target, "?")
	headers := map[string][]string{"Accept": {"application/json"}}
	if principal != "" {
		headers["X-MS-CLIENT-PRINCIPAL"] = []string{principal}
	}
	req := map[string]any{"Url": "https://registrar.example" + target, "Method": method, "Headers": headers, "Params": map[string]string{"path": strings.TrimPrefix(path, "/api/")}}
	q := map[string]string{}
	for _, kv := range strings.Split(query, "&") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			q[k] = v
		}
	}
	req["Query"] = q
	if body != "" {
		req["Body"] = body
	}
	raw, _ := json.Marshal(map[string]any{"Data": map[string]any{"req": req}, "Metadata": map[string]any{}})
	hreq := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/Admin", bytes.NewReader(raw))
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set(invoke.HeaderInvocationID, invocationID)
	w := httptest.NewRecorder()
	e.host.ServeHTTP(w, hreq)
	if w.Code != http.StatusOK {
		e.t.Fatalf("host reply %d: %s", w.Code, w.Body)
	}
	var rep struct {
		Outputs struct {
			Res struct {
				StatusCode int               `json:"statusCode"`
				Headers    map[string]string `json:"headers"`
				Body       string            `json:"body"` // the exact text, which the host writes as it is
			} `json:"res"`
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		e.t.Fatalf("res output is not {statusCode, headers, body: string}: %v: %s", err, w.Body)
	}
	out := httptest.NewRecorder()
	for k, v := range rep.Outputs.Res.Headers {
		out.Header().Set(k, v)
	}
	out.WriteHeader(rep.Outputs.Res.StatusCode)
	_, _ = io.WriteString(out, rep.Outputs.Res.Body)
	return out
}

// TestEveryRouteThroughTheHostEnvelope runs the role matrix through Data.req → Outputs.res.
func TestEveryRouteThroughTheHostEnvelope(t *testing.T) {
	e := seeded(t).viaHost()
	for _, r := range e.h.(*Router).Routes() {
		s := samples()[r.Method+" "+r.Path]
		if w := e.call(s.method, s.target, admin, s.body); w.Code != http.StatusOK {
			t.Errorf("admin %s %s: %d %s", s.method, s.target, w.Code, w.Body)
		}
		if r.Permission != "clusters/read" && r.Permission != "" {
			problem(t, e.call(s.method, s.target, reader, s.body), http.StatusForbidden, "Forbidden")
		}
	}
	problem(t, e.call("GET", "/api/v1/clusters", "", ""), http.StatusUnauthorized, "Unauthenticated")
	problem(t, e.call("DELETE", "/api/v1/clusters", admin, ""), http.StatusMethodNotAllowed, CodeMethodNotAllowed)
	problem(t, e.call("GET", "/api/v1/clusters/"+cluster1+"%27", admin, ""), http.StatusBadRequest, domain.CodeInvalidField)
}

// TestHostInvocationIsTheMessageID: an admin command's MessageID is the host's invocation ID,
// so a retried invocation is a duplicate, not a second effect.
func TestHostInvocationIsTheMessageID(t *testing.T) {
	e := seeded(t).viaHost()
	var out outcome
	decode(t, e.call("POST", "/api/v1/clusters/"+cluster1+"/unregister?dryRun=false", operator, ""), &out)
	if out.Outcome != domain.Updated {
		t.Fatalf("unregister %+v", out)
	}
	h, err := e.svc.History(context.Background(), cluster1, domain.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(h.Items, func(x domain.HistoryEntry) bool {
		return x.MessageID == "admin-"+invocationID && x.Principal == "otto@contoso.com"
	}) {
		t.Fatalf("history %+v", h.Items)
	}
	decode(t, e.call("POST", "/api/v1/clusters/"+cluster1+"/unregister?dryRun=false", operator, ""), &out)
	if out.Outcome != domain.Duplicate {
		t.Fatalf("retried invocation: %+v", out)
	}
}
