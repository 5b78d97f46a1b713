package cli

// More of the product's documented scenarios end to end through the local runner and the command
// line (docs/cli.md): Get-AzureStackHCI's view and Register-AzStackHCI's re-runs, the 30-day
// offline window under the mass-disconnect guard (docs/policy.md), and a custom role limited to
// one subscription (docs/admin-api.md#scopes). Each step is a t.Run.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/localrun"
)

// checkingRunner starts a runner with o and returns its URL and a function that runs one timer
// function now and waits until the app has answered it.
func checkingRunner(t *testing.T, o localrun.Options) (string, func(t *testing.T, function string)) {
	var runs atomic.Int32
	o.Wrap = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if r.URL.Path == "/PolicyExpiryCheck" || r.URL.Path == "/OrphanSweep" {
				runs.Add(1)
			}
		})
	}
	base := localrun.Start(t, &o).URL
	return base, func(t *testing.T, function string) {
		t.Helper()
		n := runs.Load() + 1
		devPost(t, base, "/admin/functions/"+function, `{"input":""}`)
		waitUntil(t, function+" ran", func() bool { return runs.Load() >= n })
	}
}

// clusterEvents lists "<type>/<policy>/<daysLeft>" of the runner's events about cluster, oldest first.
func clusterEvents(t *testing.T, base, cluster string) []string {
	t.Helper()
	var p struct {
		Items []struct {
			Subject   string         `json:"subject"`
			SessionID string         `json:"sessionId"`
			Body      map[string]any `json:"body"`
		} `json:"items"`
	}
	if err := json.Unmarshal(devGet(t, base, "/dev/events"), &p); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range p.Items {
		if e.SessionID == cluster {
			s := e.Subject
			if pol, ok := e.Body["policy"]; ok {
				s += "/" + fmt.Sprint(pol)
			}
			if d, ok := e.Body["daysLeft"]; ok {
				s += "/" + fmt.Sprint(d)
			}
			out = append(out, s)
		}
	}
	return out
}

// line returns the line of out that starts with prefix ("" if none).
func line(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// Get-AzureStackHCI shows the values a re-run must repeat; Register-AzStackHCI run again changes
// nothing unrecorded: the same values are accepted, another tenant is refused (9107), a new cluster
// name is recorded, a node named in a re-run is added and Arc-enabled, and a node installed into
// the cluster but not yet registered shows as such (PartiallyEnabled).
func TestJourneyViewAndReRuns(t *testing.T) {
	base := startRunner(t, nil, true)
	const cA = "aaaaaaaa-7777-4777-8777-000000000001"
	cli(t, base, 0, registerCmd(cA, "hci-a", "--node", "node1", "--node", "node2", "--os-version", "23H2")...)
	t.Run("status shows what a re-run must repeat", func(t *testing.T) {
		out, _ := cli(t, base, 0, "status", cA)
		want := map[string]string{"Subscription:": "a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d", "Tenant:": "0d3c6f5e-1b2a-4c3d-8e9f-112233445566",
			"Resource group:": "hci-a-rg", "Resource name:": "hci-a", "Arc resource group:": "hci-a-rg", "App identities:": "hci-a, hci-a.arc"}
		got := map[string]string{}
		for k := range want {
			got[k] = strings.TrimSpace(strings.TrimPrefix(line(out, k), k))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
	})
	t.Run("the same again is accepted, another tenant refused", func(t *testing.T) {
		cli(t, base, 0, registerCmd(cA, "hci-a", "--node", "node1")...)
		other := registerCmd(cA, "hci-a", "--node", "node1")
		other[10] = "99999999-1b2a-4c3d-8e9f-112233445566" // --tenant-id
		if _, stderr := cli(t, base, 1, other...); !strings.Contains(stderr, "error: UnregisterFirst (9107): ") {
			t.Errorf("another tenant: %q", stderr)
		}
	})
	t.Run("a new cluster name is recorded", func(t *testing.T) {
		cli(t, base, 0, registerCmd(cA, "hci-a2", "--resource-name", "hci-a", "--resource-group", "hci-a-rg", "--node", "node1")...)
		if out, _ := cli(t, base, 0, "history", cA); !strings.Contains(strings.Split(out, "\n")[1], "clusterName  ") {
			t.Errorf("history's newest entry is not the rename:\n%s", out)
		}
	})
	t.Run("a node named in a re-run is added with Arc", func(t *testing.T) {
		cli(t, base, 0, registerCmd(cA, "hci-a2", "--resource-name", "hci-a", "--node", "node3")...)
		out, _ := cli(t, base, 0, "status", cA)
		if f := strings.Fields(line(out, "node3 ")); len(f) < 4 || f[1] != domain.StatusRegistered || f[3] != domain.ArcEnabled {
			t.Errorf("node3 %v\n%s", f, out)
		}
	})
	t.Run("a node installed later shows as not yet enabled", func(t *testing.T) {
		post(t, base, "machine-events", "inst-4", `{"type":"MachineInstalled","clusterId":"`+cA+`","machine":"node4","installedAt":"2026-01-01T00:00:00Z","osVersion":"10.0.25398.1189"}`)
		waitUntil(t, "node4 in the cluster", func() bool { return len(clusterOf(t, base, cA).Nodes) == 4 })
		out, _ := cli(t, base, 0, "status", cA)
		if f := strings.Fields(line(out, "node4 ")); !strings.Contains(out, "Arc integration:    PartiallyEnabled") ||
			len(f) < 4 || f[1] != domain.StatusNotYet || f[3] != domain.ArcDisabled {
			t.Errorf("node4 %v\n%s", f, out)
		}
	})
}

// The 30-day offline window: with no sync heard the guard holds (the view says so), nothing is held
// right after the first Register; once another cluster syncs, the silent one is judged at once, is
// warned 7 and 1 days before, turns OutOfPolicy with its nodes, and a sync brings it back.
func TestJourneyOfflineWindowUnderTheGuard(t *testing.T) {
	base, run := checkingRunner(t, localrun.Options{})
	const cA, cB = "aaaaaaaa-8888-4888-8888-000000000001", "bbbbbbbb-8888-4888-8888-000000000002"
	guard := func(t *testing.T) map[string]any {
		var s struct {
			Guard map[string]any `json:"guard"`
		}
		if err := json.Unmarshal(apiGet(t, base, "/summary"), &s); err != nil {
			t.Fatal(err)
		}
		return s.Guard
	}
	syncB := func(t *testing.T, id string) {
		before := clusterOf(t, base, cB).LastConnected
		post(t, base, "machine-events", id, `{"type":"Sync","clusterId":"`+cB+`","machine":"b1"}`)
		waitUntil(t, "B's sync applied", func() bool { v := clusterOf(t, base, cB).LastConnected; return before == nil || v.After(*before) })
	}
	cli(t, base, 0, registerCmd(cA, "hci-a", "--node", "a1", "--node", "a2")...)
	t.Run("right after the first Register nothing is held", func(t *testing.T) {
		run(t, "PolicyExpiryCheck")
		if diff := cmp.Diff(map[string]any{"active": false, "newestSync": nil}, guard(t)); diff != "" {
			t.Errorf("guard (-want +got):\n%s", diff)
		}
	})
	cli(t, base, 0, registerCmd(cB, "hci-b", "--node", "b1")...)
	t.Run("a day without any sync: held, and the view says so", func(t *testing.T) {
		devPost(t, base, "/dev/clock", `{"advance":"25h"}`)
		run(t, "PolicyExpiryCheck")
		out, _ := cli(t, base, 0, "status", cA)
		if !strings.Contains(line(out, "Connection:"), "Connected  (silence held") {
			t.Errorf("status under the guard:\n%s", out)
		}
		if diff := cmp.Diff(map[string]any{"active": true, "newestSync": nil}, guard(t)); diff != "" {
			t.Errorf("guard (-want +got):\n%s", diff)
		}
	})
	t.Run("B syncs: A is judged at once", func(t *testing.T) {
		syncB(t, "sync-b-0")
		run(t, "PolicyExpiryCheck")
		if v := clusterOf(t, base, cA); v.ConnectionStatus != domain.StatusDisconnect || v.SilenceHeld {
			t.Errorf("A after the release: %s, silenceHeld %t", v.ConnectionStatus, v.SilenceHeld)
		}
		if g := guard(t); g["active"] != false || g["newestSync"] == nil {
			t.Errorf("guard after a sync: %v", g)
		}
	})
	t.Run("30 days offline: warned, then OutOfPolicy with its nodes", func(t *testing.T) {
		for d := 2; d <= 31; d++ {
			devPost(t, base, "/dev/clock", `{"advance":"24h"}`)
			syncB(t, fmt.Sprintf("sync-b-%d", d))
			run(t, "PolicyExpiryCheck")
		}
		want := []string{"ClusterRegistered", "ArcEnabled", "PolicyWarning/Connection/7", "PolicyWarning/Connection/1", "PolicyViolated/Connection"}
		waitUntil(t, "A's events published", func() bool { return len(clusterEvents(t, base, cA)) >= len(want) })
		if diff := cmp.Diff(want, clusterEvents(t, base, cA)); diff != "" {
			t.Errorf("A's events (-want +got):\n%s", diff)
		}
		out, _ := cli(t, base, 0, "status", cA)
		for _, l := range []string{"Connection:", "a1 ", "a2 "} {
			if !strings.Contains(line(out, l), domain.StatusOutOfPolicy) {
				t.Errorf("%q not OutOfPolicy:\n%s", l, out)
			}
		}
	})
	t.Run("a sync from a1 restores the cluster; a2 stays OutOfPolicy", func(t *testing.T) {
		post(t, base, "machine-events", "sync-a1", `{"type":"Sync","clusterId":"`+cA+`","machine":"a1"}`)
		waitUntil(t, "A connected again", func() bool { return clusterOf(t, base, cA).ConnectionStatus == domain.StatusConnected })
		out, _ := cli(t, base, 0, "status", cA)
		if f1, f2 := strings.Fields(line(out, "a1 ")), strings.Fields(line(out, "a2 ")); len(f1) < 3 || len(f2) < 3 ||
			f1[2] != domain.StatusConnected || f2[2] != domain.StatusOutOfPolicy {
			t.Errorf("nodes a1 %v, a2 %v", f1, f2)
		}
		waitUntil(t, "PolicyRestored published", func() bool {
			return strings.Contains(strings.Join(clusterEvents(t, base, cA), " "), "PolicyRestored/Connection")
		})
	})
}

// A custom role limited to one subscription, as the documented restricted registration role: the
// command line lists, shows and acts only on that subscription's clusters, rejections and orphans.
func TestJourneyScopedRole(t *testing.T) {
	const subA, subB = "aaaaaaaa-1111-4111-8111-11111111111a", "bbbbbbbb-1111-4111-8111-11111111111b"
	base, run := checkingRunner(t, localrun.Options{Roles: []string{"Contoso registration"},
		RoleDefinitions: `[{"Name":"Contoso registration","Actions":["*/read","clusters/register","machines/reset"],"AssignableScopes":["/subscriptions/` + subA + `"]}]`})
	ids := []string{"00000001-9999-4999-8999-000000000001", "00000002-9999-4999-8999-000000000002", "00000003-9999-4999-8999-000000000003"}
	subs := []string{subA, subB, subA}
	send := func(t *testing.T, i int, msgID, region string) {
		post(t, base, "registration-requests", msgID, `{"type":"Register","clusterId":"`+ids[i]+`","clusterName":"sc-`+fmt.Sprint(i)+
			`","tenantId":"0d3c6f5e-1b2a-4c3d-8e9f-112233445566","subscriptionId":"`+subs[i]+`","region":"`+region+
			`","arcResourceGroup":"arc-`+fmt.Sprint(i)+`","nodes":[{"name":"n`+fmt.Sprint(i)+`"}]}`)
	}
	published := func(t *testing.T, what string) {
		waitUntil(t, what+" published", func() bool { return strings.Count(string(devGet(t, base, "/dev/events")), what) >= 2 })
	}
	for i := range ids {
		send(t, i, fmt.Sprint("reg-", i), "eastus")
	}
	waitUntil(t, "three registered", func() bool { return strings.Count(string(devGet(t, base, "/dev/events")), `"ClusterRegistered"`) >= 3 })
	send(t, 0, "move-0", "westeurope")
	send(t, 1, "move-1", "westeurope")
	published(t, `"RequestRejected"`)
	t.Run("list, status and reset", func(t *testing.T) {
		out, _ := cli(t, base, 0, "list")
		if !strings.Contains(out, ids[0]) || !strings.Contains(out, ids[2]) || strings.Contains(out, ids[1]) {
			t.Errorf("list:\n%s", out)
		}
		if _, stderr := cli(t, base, 1, "status", ids[1]); !strings.Contains(stderr, "UnknownCluster") {
			t.Errorf("status of another subscription's cluster: %s", stderr)
		}
		if _, stderr := cli(t, base, 3, "reset", "start", ids[1], "n1"); !strings.Contains(stderr, "Forbidden") {
			t.Errorf("reset in another subscription: %s", stderr)
		}
		cli(t, base, 3, "machines", "standalone")
	})
	t.Run("rejections", func(t *testing.T) {
		out, _ := cli(t, base, 0, "rejections")
		if !strings.Contains(out, ids[0]) || strings.Contains(out, ids[1]) {
			t.Errorf("rejections:\n%s", out)
		}
	})
	t.Run("orphans and the summary", func(t *testing.T) {
		devPost(t, base, "/dev/clock", `{"advance":"2200h"}`) // past the 90-day silence: 0 and 1 are suspects
		post(t, base, "machine-events", "sync-2", `{"type":"Sync","clusterId":"`+ids[2]+`","machine":"n2"}`)
		waitUntil(t, "2's sync applied", func() bool {
			v := clusterOf(t, base, ids[2])
			return v.LastConnected != nil && time.Since(*v.LastConnected) < 0
		})
		run(t, "OrphanSweep")
		out, _ := cli(t, base, 0, "orphans")
		if !strings.Contains(out, ids[0]) || strings.Contains(out, ids[1]) {
			t.Errorf("orphans:\n%s", out)
		}
		var s struct {
			Subscriptions []string `json:"subscriptions"`
			Counts        struct {
				Clusters int `json:"clusters"`
			} `json:"counts"`
			OrphansTotal int `json:"orphansTotal"`
		}
		if err := json.Unmarshal(apiGet(t, base, "/summary"), &s); err != nil {
			t.Fatal(err)
		}
		if s.Counts.Clusters != 2 || s.OrphansTotal != 1 || !cmp.Equal(s.Subscriptions, []string{subA}) {
			t.Errorf("summary of subscription A: %+v", s)
		}
	})
}
