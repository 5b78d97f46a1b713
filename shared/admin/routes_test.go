package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

const (
	cluster1 = "0b7e1d2c-3f4a-4b5c-8d6e-7f8091a2b3c4"
	unknown  = "ffffffff-ffff-4fff-8fff-ffffffffffff"
)

// seeded returns an env on the memory store with cluster1 registered with nodes node1, node2:
// node1's reset in progress, node2's stalled (nothing heard for 25 hours).
func seeded(t testing.TB) *env {
	t.Helper()
	e := newEnv(t, envOptions{store: memory.New(nil)})
	e.register(cluster1, "hci-01", "2508")
	for _, m := range []string{"node2", "node1"} {
		res, err := e.svc.Apply(context.Background(), domain.StartMachineReset{ClusterID: cluster1, Machine: m},
			domain.Meta{MessageID: "reset-" + m, EnqueuedAt: e.clk.Now()})
		if err != nil || res.Outcome != domain.Updated {
			t.Fatalf("start reset: %+v %v", res, err)
		}
		if m == "node2" {
			e.clk.Advance(25 * time.Hour)
		}
	}
	return e
}

func (e *env) register(id, name, osVersion string) {
	e.t.Helper()
	body := fmt.Sprintf(`{"type":"Register","clusterId":%q,"clusterName":%q,"region":"East US",
		"tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":"22222222-2222-4222-8222-222222222222",
		"osVersion":%q,"createResourceGroup":true,"nodes":[{"name":"node1"},{"name":"node2"}]}`, id, name, osVersion)
	res, err := e.svc.HandleMessage(context.Background(), queueReq, []byte(body),
		domain.Meta{MessageID: "reg-" + id, EnqueuedAt: e.clk.Now(), Queue: queueReq})
	if err != nil || res.Outcome != domain.Created {
		e.t.Fatalf("register %s: %+v %v", id, res, err)
	}
}

var (
	reader     = principalHeader("rita@contoso.com", api.RoleReader)
	operator   = principalHeader("otto@contoso.com", api.RoleOperator)
	admin      = principalHeader("ada@contoso.com", api.RoleAdmin)
	restricted = principalHeader("rex@contoso.com", roleRestricted)
	nobody     = principalHeader("nils@contoso.com")
)

// sample is one concrete request per route.
type sample struct {
	method, target, body string
}

func samples() map[string]sample {
	c := "/api/v1/clusters/" + cluster1
	m := "/api/v1/machines/" + cluster1 + "/node1/reset"
	return map[string]sample{
		"GET " + PathClusters:        {"GET", "/api/v1/clusters", ""},
		"GET " + PathCluster:         {"GET", c, ""},
		"GET " + PathHistory:         {"GET", c + "/history", ""},
		"POST " + PathUnregister:     {"POST", c + "/unregister?dryRun=true", ""},
		"POST " + PathRepair:         {"POST", c + "/repair", ""},
		"POST " + PathReset:          {"POST", m, ""},
		"DELETE " + PathReset:        {"DELETE", "/api/v1/machines/" + cluster1 + "/node2/reset", ""},
		"GET " + PathStandalone:      {"GET", "/api/v1/machines/standalone?limit=10", ""},
		"GET " + PathReset:           {"GET", m, ""},
		"GET " + PathUpcoming:        {"GET", "/api/v1/policy/upcoming?within=7d", ""},
		"GET " + PathOrphans:         {"GET", "/api/v1/orphans", ""},
		"POST " + PathOrphansCleanup: {"POST", "/api/v1/orphans/cleanup?dryRun=true", ""},
		"GET " + PathRejections:      {"GET", "/api/v1/rejections", ""},
		"GET " + PathDeadLetters:     {"GET", "/api/v1/deadletters/" + queueReq, ""},
		"POST " + PathReplay:         {"POST", "/api/v1/deadletters/" + queueReq + "/replay", `{}`},
		"POST " + PathBulkUnregister: {"POST", "/api/v1/bulk/unregister?dryRun=true", `{"items":[{"clusterId":"` + cluster1 + `"}]}`},
		"POST " + PathBulkRepair:     {"POST", "/api/v1/bulk/repair?dryRun=true", `{"filter":{"registrationStatus":"Registered"}}`},
		"POST " + PathBulkReset:      {"POST", "/api/v1/bulk/reset?dryRun=true", `{"items":[{"clusterId":"` + cluster1 + `","machine":"node2"}]}`},
		"GET " + PathMe:              {"GET", "/api/v1/me", ""},
	}
}

func TestEveryRouteHasASample(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	s := samples()
	for _, r := range e.h.(*Router).Routes() {
		if _, ok := s[r.Method+" "+r.Path]; !ok {
			t.Errorf("no sample request for %s %s", r.Method, r.Path)
		}
	}
	if len(s) != len(e.h.(*Router).Routes()) {
		t.Errorf("%d samples for %d routes", len(s), len(e.h.(*Router).Routes()))
	}
}

// TestEveryRouteWithEachRole: each role reaches exactly the routes its permissions grant (a route
// needing none, every role, even no role); refusals are 403 naming the permission, and nothing is
// 401 for an authenticated caller.
func TestEveryRouteWithEachRole(t *testing.T) {
	roles := map[string]struct {
		principal string
		grants    func(perm string) bool
	}{
		"reader":     {reader, func(p string) bool { return p == api.PermClustersRead }},
		"operator":   {operator, func(p string) bool { return p != api.PermOrphansCleanup && p != api.PermDeadLettersReplay }},
		"admin":      {admin, func(string) bool { return true }},
		"restricted": {restricted, func(p string) bool { return p != api.PermClustersUnregister }},
		"no roles":   {nobody, func(string) bool { return false }},
	}
	for name, role := range roles {
		e := seeded(t)
		for _, r := range e.h.(*Router).Routes() {
			s := samples()[r.Method+" "+r.Path]
			w := e.call(s.method, s.target, role.principal, s.body)
			if r.Permission == "" || role.grants(r.Permission) {
				if w.Code != http.StatusOK {
					t.Errorf("%s %s %s: %d %s", name, s.method, s.target, w.Code, w.Body)
				}
				if w.Code == http.StatusForbidden || w.Code == http.StatusUnauthorized {
					t.Errorf("%s %s %s: refused %d", name, s.method, s.target, w.Code)
				}
				continue
			}
			p := problem(t, w, http.StatusForbidden, auth.CodeForbidden)
			if !strings.Contains(p.Detail, r.Permission) {
				t.Errorf("%s %s: 403 does not name %s: %q", name, s.target, r.Permission, p.Detail)
			}
		}
	}
}

// TestSpoofedPrincipalWithoutEasyAuth: with Easy Auth off every route is 401, even for a
// well-formed Admin principal.
func TestSpoofedPrincipalWithoutEasyAuth(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil), easyAuthOff: true})
	for _, s := range samples() {
		w := e.call(s.method, s.target, admin, s.body)
		problem(t, w, http.StatusUnauthorized, auth.CodeUnauthenticated)
		if w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", s.target)
		}
	}
	problem(t, e.call("GET", "/api/v1/nowhere", admin, ""), http.StatusUnauthorized, auth.CodeUnauthenticated)
}

func TestMalformedPrincipals(t *testing.T) {
	e := seeded(t)
	for name, h := range map[string]string{
		"not base64": "!!!",
		"not json":   "bm90IGpzb24=",
		"no claims":  "eyJhdXRoX3R5cCI6ImFhZCIsImNsYWltcyI6W119",
	} {
		w := e.call("GET", "/api/v1/clusters", h, "")
		problem(t, w, http.StatusUnauthorized, auth.CodeMalformedPrincipal)
		if strings.Contains(w.Body.String(), h) {
			t.Errorf("%s: the header is echoed", name)
		}
	}
	problem(t, e.call("GET", "/api/v1/clusters", "", ""), http.StatusUnauthorized, auth.CodeUnauthenticated)
}

func TestReaderRefusedOnUnregister(t *testing.T) {
	e := seeded(t)
	p := problem(t, e.call("POST", "/api/v1/clusters/"+cluster1+"/unregister?dryRun=false", reader, ""), http.StatusForbidden, auth.CodeForbidden)
	if !strings.Contains(p.Detail, api.PermClustersUnregister) {
		t.Fatalf("detail %q", p.Detail)
	}
	var v domain.ClusterView
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1, reader, ""), &v)
	if v.RegistrationStatus != domain.StatusRegistered {
		t.Fatalf("cluster changed by a refused call: %s", v.RegistrationStatus)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := seeded(t)
	for _, c := range []struct{ method, target, allow string }{
		{"DELETE", "/api/v1/clusters/" + cluster1, "GET"},
		{"POST", "/api/v1/clusters", "GET"},
		{"GET", "/api/v1/clusters/" + cluster1 + "/unregister", "POST"},
		{"PUT", "/api/v1/machines/" + cluster1 + "/node1/reset", "POST, DELETE, GET"},
	} {
		w := e.call(c.method, c.target, admin, "")
		problem(t, w, http.StatusMethodNotAllowed, CodeMethodNotAllowed)
		if w.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.target, w.Header().Get("Allow"), c.allow)
		}
	}
}

func TestUnknownPaths(t *testing.T) {
	e := seeded(t)
	for _, target := range []string{"/api/v1/nowhere", "/api/v2/clusters", "/api/v1/clusters/" + cluster1 + "/x",
		"/api/v1/clusters/" + cluster1 + "/../" + cluster1, "/api/v1//clusters", "/api/v1/summary", "/api/v1/dashboard"} {
		problem(t, e.call("GET", target, admin, ""), http.StatusNotFound, CodeNotFound)
	}
}
