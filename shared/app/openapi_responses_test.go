package app_test

// docs/openapi.json held to the running Admin API: the document is valid OpenAPI, states a bearer
// token scheme, tags and describes every operation, and every answer of the real API (the local
// runner, in-process) to a walk through every route is valid by the document, body included.

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/testkit/repo"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/azlocal/registrar/shared/testkit/localrun"
)

func init() {
	// The dashboard's page and assets are text; their schema is a string.
	for _, ct := range []string{"text/html", "text/css", "text/javascript"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
}

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(repo.Path(t, "docs/openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.json is not valid OpenAPI: %v", err)
	}
	return doc
}

// TestOpenAPIDocument: callers authenticate with an Entra ID bearer token (oauth2 or
// openIdConnect), not the internal Easy Auth header; every operation has a known tag, a summary
// and a description.
func TestOpenAPIDocument(t *testing.T) {
	doc := loadOpenAPI(t)
	bearer := map[string]bool{}
	for name, ref := range doc.Components.SecuritySchemes {
		s := ref.Value
		if s.Type == "apiKey" && strings.EqualFold(s.Name, "X-MS-CLIENT-PRINCIPAL") {
			t.Errorf("security scheme %s describes Easy Auth's internal header; callers send a bearer token", name)
		}
		if s.Type == "oauth2" || s.Type == "openIdConnect" {
			bearer[name] = true
		}
	}
	if len(doc.Security) == 0 || !slices.ContainsFunc(doc.Security, func(r openapi3.SecurityRequirement) bool {
		for name := range r {
			if bearer[name] {
				return true
			}
		}
		return false
	}) {
		t.Errorf("the document's security %v names no oauth2 or openIdConnect scheme", doc.Security)
	}
	var tags []string
	for _, tg := range doc.Tags {
		tags = append(tags, tg.Name)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if len(op.Tags) == 0 || !slices.Contains(tags, op.Tags[0]) {
				t.Errorf("%s %s: tags %v, want one of the document's %v", method, path, op.Tags, tags)
			}
			if op.Summary == "" || len(op.Description) < 20 {
				t.Errorf("%s %s: no summary or description", method, path)
			}
		}
	}
}

// step is one request of the walk and the status it must get.
type step struct {
	method, path, body string
	header             map[string]string
	status             int
}

// TestOpenAPIResponsesFromTheRunner walks every route of the Admin API on the local runner and
// validates each request and answer (status, headers, body) with kin-openapi against
// docs/openapi.json; every operation of the document must have been answered 2xx at least once.
func TestOpenAPIResponsesFromTheRunner(t *testing.T) {
	doc := loadOpenAPI(t)
	r := localrun.Start(t, nil)
	doc.Servers = openapi3.Servers{{URL: r.URL + "/api/v1"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	const (
		c1, c2  = "0b7e1d2c-3f4a-4b5c-8d6e-7f8091a2b3c4", "1c8f2e3d-4a5b-4c6d-9e7f-8a9b0c1d2e3f"
		unknown = "ffffffff-ffff-4fff-8fff-ffffffffffff"
	)
	register := func(id, name, os, region string) string {
		return fmt.Sprintf(`{"type":"Register","clusterId":%q,"clusterName":%q,"region":%q,"tenantId":"11111111-1111-4111-8111-111111111111",
			"subscriptionId":"22222222-2222-4222-8222-222222222222","osVersion":%q,"nodes":[{"name":"node1"},{"name":"node2"}]}`, id, name, region, os)
	}
	send(t, r.URL, "reg-1", register(c1, "hci-01", "2508", "eastus"))
	send(t, r.URL, "reg-2", register(c2, "hci-02", "23H2", "eastus"))
	send(t, r.URL, "reg-bad", register(unknown, "hci-x", "2508", "Mars North"))
	waitFor(t, r.URL+"/api/v1/clusters/"+c2)
	// node2 of c1 gets a reset that stalls (the runner's clock moves a day on), so it can be cancelled;
	// a machine installed in no cluster is listed as standalone.
	for _, u := range []string{"/api/v1/machines/" + c1 + "/node2/reset", "/dev/clock"} {
		body := ""
		if u == "/dev/clock" {
			body = `{"advance":"25h"}`
		}
		res, err := http.Post(r.URL+u, "application/json", strings.NewReader(body))
		if err != nil || res.StatusCode/100 != 2 {
			t.Fatalf("POST %s: %v %v", u, err, res)
		}
		res.Body.Close()
	}
	send(t, r.URL, "install-1", `{"type":"MachineInstalled","machine":"edge-01","installedAt":"2026-01-01T00:00:00Z"}`)
	waitFor(t, r.URL+"/api/v1/machines/standalone")
	reader := principal("rita", "Registrar.Reader")
	steps := []step{
		{"GET", "/clusters", "", nil, 200},
		{"GET", "/clusters?registrationStatus=Registered&limit=1", "", nil, 200},
		{"GET", "/clusters?limit=0", "", nil, 400},
		{"GET", "/clusters/" + c1, "", nil, 200},
		{"GET", "/clusters/" + unknown, "", nil, 404},
		{"GET", "/clusters/" + c1 + "/history", "", nil, 200},
		{"POST", "/clusters/" + c2 + "/unregister?dryRun=true", "", nil, 200},
		{"POST", "/clusters/" + c1 + "/unregister", "", nil, 400},
		{"POST", "/clusters/" + c1 + "/repair", `{}`, map[string]string{"X-MS-CLIENT-PRINCIPAL": reader}, 403},
		{"POST", "/clusters/" + c1 + "/repair", `{"arcSpn":{"appId":"33333333-3333-4333-8333-333333333333","credentialExpiresAt":"2027-11-01T00:00:00Z"}}`, nil, 200},
		{"POST", "/machines/" + c1 + "/node1/reset", "", nil, 200},
		{"POST", "/machines/" + c2 + "/node1/reset", "", nil, 409},
		{"GET", "/machines/" + c1 + "/node1/reset", "", nil, 200},
		{"GET", "/machines/" + c2 + "/node2/reset", "", nil, 404},
		{"DELETE", "/machines/" + c1 + "/node2/reset", "", nil, 200},
		{"DELETE", "/machines/" + c1 + "/node1/reset", "", nil, 409},
		{"POST", "/machines/" + c1 + "/node1/reset?restart=true", "", nil, 409},
		{"GET", "/machines/standalone?limit=10", "", nil, 200},
		{"GET", "/policy/upcoming?within=3650d", "", nil, 200},
		{"GET", "/orphans", "", nil, 200},
		{"POST", "/orphans/cleanup?dryRun=true", "", nil, 200},
		{"GET", "/rejections", "", nil, 200},
		{"GET", "/deadletters/registration-requests", "", nil, 200},
		{"POST", "/deadletters/registration-requests/replay", `{"messageIds":["nope"]}`, nil, 200},
		{"GET", "/summary", "", nil, 200},
		{"GET", "/healthz", "", nil, 200},
		{"GET", "/me", "", nil, 200},
		{"GET", "/me", "", map[string]string{"X-MS-CLIENT-PRINCIPAL": reader}, 200},
		{"GET", "/me", "", map[string]string{"X-MS-CLIENT-PRINCIPAL": principal("nils")}, 200},
		{"GET", "/me?as=ada", "", nil, 400},
		{"GET", "/me", "", map[string]string{"X-MS-CLIENT-PRINCIPAL": "not base64"}, 401},
		{"GET", "/dashboard", "", nil, 200},
		{"GET", "/dashboard/app.js", "", nil, 200},
		{"GET", "/dashboard/app.css", "", nil, 200},
		{"POST", "/bulk/repair?dryRun=true", `{"filter":{"registrationStatus":"Registered"}}`, nil, 200},
		{"POST", "/bulk/reset?dryRun=false", `{"items":[{"clusterId":"` + c1 + `","machine":"node2"},{"clusterId":"` + c2 + `","machine":"node1"}]}`,
			map[string]string{"Idempotency-Key": "walk-1"}, 200},
		{"POST", "/bulk/reset?dryRun=false", `{"items":[{"clusterId":"` + c1 + `","machine":"node1"}]}`, map[string]string{"Idempotency-Key": "walk-1"}, 422},
		{"POST", "/bulk/unregister?dryRun=false", `{"items":[{"clusterId":"` + c2 + `"},{"clusterId":"` + unknown + `"},{"clusterId":"x"}]}`, nil, 200},
		{"POST", "/bulk/unregister?dryRun=true", `{"filter":{}}`, nil, 400},
		{"POST", "/clusters/" + c2 + "/unregister?dryRun=false", "", nil, 409},
		{"DELETE", "/clusters", "", nil, 405},
		{"GET", "/clusters", "", map[string]string{"X-MS-CLIENT-PRINCIPAL": "not base64"}, 401},
	}
	answered := map[string]bool{}
	for _, s := range steps {
		op := validateStep(t, r.URL, router, s)
		if op != "" && s.status/100 == 2 {
			answered[op] = true
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if key := method + " " + path; !answered[key] {
				t.Errorf("%s: no request of this walk was answered 2xx: add one, so its answers are checked", key)
			}
		}
	}
}

// validateStep sends one request and validates it and its answer against the document; it returns
// the operation ("GET /clusters/{clusterId}") the router matched.
func validateStep(t *testing.T, base string, router routers.Router, s step) string {
	t.Helper()
	ctx := context.Background()
	req, _ := http.NewRequest(s.method, base+"/api/v1"+s.path, strings.NewReader(s.body))
	if s.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range s.header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", s.method, s.path, err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != s.status {
		t.Errorf("%s %s: status %d, want %d: %.300s", s.method, s.path, res.StatusCode, s.status, body)
		return ""
	}
	// Route the request as the document describes it (the runner's own request, for its URL).
	vreq, _ := http.NewRequest(s.method, base+"/api/v1"+s.path, bytes.NewReader([]byte(s.body)))
	vreq.Header = req.Header.Clone()
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		if s.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: not in docs/openapi.json: %v", s.method, s.path, err)
		}
		return ""
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if s.status/100 == 2 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s %s: the request is not valid by docs/openapi.json: %v", s.method, s.path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: in.Options}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s: the %d answer is not valid by docs/openapi.json: %v\nbody: %.500s", s.method, s.path, res.StatusCode, err, body)
	}
	return strings.ToUpper(s.method) + " " + route.Path
}

// send puts a message on the runner's registration-requests queue.
func send(t *testing.T, base, id, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/dev/servicebus/registration-requests/messages", strings.NewReader(body))
	req.Header.Set("BrokerProperties", `{"MessageId":"`+id+`"}`)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

// waitFor polls url until it answers 200.
func waitFor(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("%s never answered 200", url)
}

// principal is an Easy Auth principal header with a name and roles.
func principal(name string, roles ...string) string {
	claims := `{"typ":"name","val":"` + name + `"}`
	for _, r := range roles {
		claims += `,{"typ":"roles","val":"` + r + `"}`
	}
	return base64.StdEncoding.EncodeToString([]byte(`{"auth_typ":"aad","name_typ":"name","role_typ":"roles","claims":[` + claims + `]}`))
}
