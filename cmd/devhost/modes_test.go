package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/app"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/devhost"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/testkit/localrun"
	"github.com/azlocal/registrar/shared/testkit/repo"
)

// exchange is one request of the byte-identity test and the response a client got.
type exchange struct {
	Method, Target, Body string
	Header               http.Header
}

type response struct {
	Status int
	Header map[string]string // every header but Date, Content-Length and Transfer-Encoding
	Body   string
}

// adminRequests is one request for every route the assembled Admin function serves (the API,
// its public routes, the dashboard and each asset), with the seeded cluster's IDs, plus the
// refusals (unknown path, wrong method, a malformed and a doubled principal).
func adminRequests(t *testing.T) []exchange {
	t.Helper()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvPort: "7071", config.EnvStorage: "memory", config.EnvAuthEnabled: "True"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	fill := strings.NewReplacer("{clusterId}", modesCluster, "{machine}", "node1", "{queue}", "registration-requests",
		"{operation}", "repair", "{asset...}", "app.js")
	var out []exchange
	for _, r := range append(a.Admin.Routes(), a.Admin.PublicRoutes()...) {
		target, body := admin.Prefix+fill.Replace(r.Path), ""
		switch {
		case strings.Contains(r.Path, "/bulk/"):
			target, body = target+"?dryRun=true", `{"items":[{"clusterId":"`+modesCluster+`"}]}`
		case strings.HasSuffix(r.Path, "/unregister") || strings.HasSuffix(r.Path, "/cleanup"):
			target += "?dryRun=true"
		case strings.HasSuffix(r.Path, "/replay"):
			body = `{}`
		}
		out = append(out, exchange{Method: r.Method, Target: target, Body: body})
	}
	assets, err := os.ReadDir(repo.Path(t, "shared/dashboard/assets"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range assets {
		out = append(out, exchange{Method: "GET", Target: admin.Prefix + "/dashboard/" + f.Name()})
	}
	return append(out,
		exchange{Method: "GET", Target: admin.Prefix + "/clusters?limit=1"},
		exchange{Method: "GET", Target: admin.Prefix + "/nowhere"},
		exchange{Method: "DELETE", Target: admin.Prefix + "/clusters"},
		exchange{Method: "GET", Target: admin.Prefix + "/clusters", Header: http.Header{"X-Ms-Client-Principal": {"%%%"}}},
		exchange{Method: "GET", Target: admin.Prefix + "/clusters", Header: http.Header{
			"X-MS-CLIENT-PRINCIPAL": {localPrincipal}, "x-ms-client-principal": {localPrincipal}}},
	)
}

const modesCluster = "6f1c1a52-6f7e-4a5e-9a43-2d1f0c0b9e12"

// localPrincipal is a well-formed Registrar.Admin principal.
const localPrincipal = "eyJhdXRoX3R5cCI6ImFhZCIsIm5hbWVfdHlwIjoibmFtZSIsInJvbGVfdHlwIjoicm9sZXMiLCJjbGFpbXMiOlt7InR5cCI6Im5hbWUiLCJ2YWwiOiJhZGEifSx7InR5cCI6InJvbGVzIiwidmFsIjoiUmVnaXN0cmFyLkFkbWluIn1dfQ=="

// seeded starts a runner in mode on a fixed clock, its Admin invocations numbered from 1 (so the
// same requests get the same invocation IDs in every mode), and seeds one registered cluster and
// one rejection.
func seeded(t *testing.T, mode devhost.HTTPMode) string {
	t.Helper()
	var n atomic.Int64
	r := localrun.Start(t, &localrun.Options{HTTPMode: mode, Clock: clock.NewManual(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)),
		Wrap: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path == "/Admin" || strings.HasPrefix(req.URL.Path, invoke.RoutePrefix) {
					req.Header.Set(invoke.HeaderInvocationID, fmt.Sprintf("00000000-0000-4000-8000-%012d", n.Add(1)))
				}
				h.ServeHTTP(w, req)
			})
		}})
	for id, body := range map[string]string{
		"reg-1": `{"type":"Register","clusterId":"` + modesCluster + `","clusterName":"hci-01","tenantId":"0d3c6f5e-1b2a-4c3d-8e9f-112233445566",
			"subscriptionId":"a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d","region":"East US","osVersion":"2509","nodes":[{"name":"node1"},{"name":"node2"}]}`,
		"bad-1": `{"type":"Register","clusterId":"not-a-guid"}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, r.URL+"/dev/servicebus/registration-requests/messages", strings.NewReader(body))
		req.Header.Set("BrokerProperties", `{"MessageId":"`+id+`"}`)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	for !strings.Contains(get(t, r.URL+"/dev/events"), "RequestRejected") || !strings.Contains(get(t, r.URL+"/dev/events"), "ArcEnabled") {
		time.Sleep(10 * time.Millisecond)
	}
	return r.URL
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func send(t *testing.T, base string, x exchange) response {
	t.Helper()
	var body io.Reader
	if x.Body != "" {
		body = strings.NewReader(x.Body)
	}
	req, _ := http.NewRequest(x.Method, base+x.Target, body)
	if x.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range x.Header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := response{Status: res.StatusCode, Header: map[string]string{}, Body: string(b)}
	for k, v := range res.Header {
		if k != "Date" && k != "Content-Length" && k != "Transfer-Encoding" {
			r.Header[k] = strings.Join(v, ", ")
		}
	}
	return r
}

// Through the host's proxying, its forwarding and its envelope form (decoded as the host writes
// it: the runner follows the host's rules, TestRunnerFollowsTheHostsRules), every route of the
// Admin function answers the same status, headers and bytes: the API, the health probe, the
// dashboard and each asset, and the refusals (docs/architecture.md).
func TestEveryAdminRouteAnswersTheSameBytesInEveryHostMode(t *testing.T) {
	requests := adminRequests(t)
	answers := map[devhost.HTTPMode][]response{}
	for _, mode := range []devhost.HTTPMode{devhost.HTTPProxy, devhost.HTTPForward, devhost.HTTPEnvelope} {
		for _, x := range requests {
			// A fresh, identically seeded app for each request, so a command's effect in one mode
			// is not seen by the next.
			answers[mode] = append(answers[mode], send(t, seeded(t, mode), x))
		}
	}
	codes := map[int]int{}
	for i, x := range requests {
		p := answers[devhost.HTTPProxy][i]
		codes[p.Status]++
		for _, mode := range []devhost.HTTPMode{devhost.HTTPForward, devhost.HTTPEnvelope} {
			if d := cmp.Diff(p, answers[mode][i]); d != "" {
				t.Errorf("%s %s: proxied (-) and %s (+) answers differ:\n%s", x.Method, x.Target, mode, d)
			}
		}
		if ct := p.Header["Content-Type"]; !regexp.MustCompile(`; charset=utf-8$`).MatchString(ct) {
			t.Errorf("%s %s: Content-Type %q lacks the charset the host's envelope form writes", x.Method, x.Target, ct)
		}
	}
	var summary []string
	for c, n := range codes {
		summary = append(summary, fmt.Sprintf("%d×%d", n, c))
	}
	sort.Strings(summary)
	t.Logf("%d requests in 3 modes; statuses %s", len(requests), strings.Join(summary, " "))
	if codes[http.StatusOK] < len(requests)/2 {
		t.Errorf("only %d of %d requests answered 200: the comparison covers mostly refusals", codes[http.StatusOK], len(requests))
	}
}

// A Sync whose body carries EnqueuedTime and EnqueuedTimeUtc (which the host copies over its own
// enqueue time in Metadata, so the adapter cannot trust either) still counts, at the time it was
// received: lastConnected and the node's lastSync move to the runner's clock.
func TestSyncWithEnqueueTimesInItsBodyCountsAtTheReceiveTime(t *testing.T) {
	clk := clock.NewManual(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	r := localrun.Start(t, &localrun.Options{Clock: clk})
	enqueue := func(queue, id, body string) {
		req, _ := http.NewRequest(http.MethodPost, r.URL+"/dev/servicebus/"+queue+"/messages", strings.NewReader(body))
		req.Header.Set("BrokerProperties", `{"MessageId":"`+id+`"}`)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	enqueue("registration-requests", "reg-1", `{"type":"Register","clusterId":"`+modesCluster+`","clusterName":"hci-01",
		"tenantId":"0d3c6f5e-1b2a-4c3d-8e9f-112233445566","subscriptionId":"a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d",
		"region":"East US","osVersion":"2509","nodes":[{"name":"node1"}]}`)
	for !strings.Contains(get(t, r.URL+"/dev/events"), "ArcEnabled") {
		time.Sleep(10 * time.Millisecond)
	}
	received := clk.Advance(36 * time.Hour)
	enqueue("machine-events", "sync-1", `{"type":"Sync","clusterId":"`+modesCluster+`","machine":"node1",
		"EnqueuedTime":"2020-01-01T00:00:00Z","EnqueuedTimeUtc":"2020-01-01T00:00:00"}`)
	want := received.Format(time.RFC3339)
	var view string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if view = get(t, r.URL+"/api/v1/clusters/"+modesCluster); strings.Contains(view, `"lastConnected":"`+want) {
			break
		}
	}
	if !strings.Contains(view, `"lastConnected":"`+want) || !strings.Contains(view, `"lastSync":"`+want) {
		t.Errorf("after the Sync received at %s the cluster view is %s; want lastConnected and lastSync at the receive time", want, view)
	}
}

// A 4 MiB message of control characters (a 28 MiB envelope once the host has encoded it twice)
// is delivered once and rejected MessageTooLarge, answered 2xx: never refused, redelivered ten
// times and dead-lettered.
func TestLargestMessageIsRejectedNotRedelivered(t *testing.T) {
	r := localrun.Start(t, nil)
	req, _ := http.NewRequest(http.MethodPost, r.URL+"/dev/servicebus/machine-events/messages",
		strings.NewReader(strings.Repeat("\x01", invoke.MaxMessageBytes)))
	req.Header.Set("BrokerProperties", `{"MessageId":"huge-1"}`)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("enqueue = %d", res.StatusCode)
	}
	var rejections string
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if rejections = get(t, r.URL+"/api/v1/rejections"); strings.Contains(rejections, "huge-1") {
			break
		}
	}
	if !strings.Contains(rejections, `"MessageTooLarge"`) || !strings.Contains(rejections, "huge-1") {
		t.Fatalf("rejections %.400s: want huge-1 rejected MessageTooLarge", rejections)
	}
	if dl := get(t, r.URL+"/api/v1/deadletters/machine-events"); !strings.Contains(dl, `"items":[]`) {
		t.Errorf("dead letters %s, want none", dl)
	}
}
