package admin

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// Principals of the scoped test roles (testRoles).
var (
	adminHere      = principalHeader("hanna@contoso.com", "Admin.Here")
	adminElsewhere = principalHeader("erik@contoso.com", "Admin.Elsewhere")
	readerHere     = principalHeader("rhea@contoso.com", "Reader.Here")
	// readHereUnregisterElsewhere holds clusters/read in subHere and clusters/unregister in subOther.
	readHereUnregisterElsewhere = principalHeader("uma@contoso.com", "Reader.Here", "Unregister.Elsewhere")
)

// roleOf names the principals in failure messages.
var roleOf = map[string]string{admin: "Registrar.Admin", adminHere: "Admin.Here", adminElsewhere: "Admin.Elsewhere",
	readerHere: "Reader.Here", readHereUnregisterElsewhere: "Reader.Here+Unregister.Elsewhere"}

// cluster2 is registered in subOther by registerIn.
const cluster2 = "1c8f2e3d-4a5b-4c6d-9e7f-8a9b0c1d2e3f"

// registerIn registers a 2-node cluster in the given subscription through the queue.
func (e *env) registerIn(id, name, subscription string) {
	e.t.Helper()
	body := fmt.Sprintf(`{"type":"Register","clusterId":%q,"clusterName":%q,"region":"East US",
		"tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":%q,
		"osVersion":"2508","nodes":[{"name":"node1"},{"name":"node2"}]}`, id, name, subscription)
	res, err := e.svc.HandleMessage(context.Background(), queueReq, []byte(body),
		domain.Meta{MessageID: "reg-" + id, EnqueuedAt: e.clk.Now(), Queue: queueReq})
	if err != nil || res.Outcome != domain.Created {
		e.t.Fatalf("register %s: %+v %v", id, res, err)
	}
}

// TestScopedReadsAnswerAsUnknown: a cluster outside the caller's subscriptions is not shown: its
// view, history and reset status answer exactly what an unknown cluster's do.
func TestScopedReadsAnswerAsUnknown(t *testing.T) {
	e := seeded(t)
	for _, path := range []string{"/api/v1/clusters/%s", "/api/v1/clusters/%s/history", "/api/v1/machines/%s/node1/reset"} {
		// Same body as for an unknown cluster, the ID aside.
		want := problem(t, e.call("GET", fmt.Sprintf(path, unknown), adminHere, ""), http.StatusNotFound, domain.CodeUnknownCluster)
		want.Detail = strings.ReplaceAll(want.Detail, unknown, cluster1)
		got := problem(t, e.call("GET", fmt.Sprintf(path, cluster1), adminElsewhere, ""), http.StatusNotFound, domain.CodeUnknownCluster)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GET %s outside the caller's scope (-unknown cluster's answer +got):\n%s", path, diff)
		}
		for _, who := range []string{adminHere, readerHere} {
			if w := e.call("GET", fmt.Sprintf(path, cluster1), who, ""); w.Code != http.StatusOK {
				t.Errorf("GET %s in the caller's scope: %d %s", path, w.Code, w.Body)
			}
		}
	}
	var v domain.ClusterView
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1, readerHere, ""), &v)
	if v.SubscriptionID != subHere {
		t.Errorf("view's subscriptionId %q, want %q", v.SubscriptionID, subHere)
	}
}

// TestScopedCommandsAnswer403: a command on a cluster outside the caller's subscriptions is 403
// naming the permission and changes nothing; for a scoped caller an unknown cluster is refused the
// same way, so a 403 tells it nothing about other subscriptions.
func TestScopedCommandsAnswer403(t *testing.T) {
	e := seeded(t)
	commands := []struct{ method, path, permission string }{
		{"POST", "/api/v1/clusters/%s/repair", api.PermClustersRegister},
		{"POST", "/api/v1/machines/%s/node2/reset", api.PermMachinesReset},
		{"POST", "/api/v1/clusters/%s/unregister?dryRun=true", api.PermClustersUnregister},
		{"POST", "/api/v1/clusters/%s/unregister?dryRun=false", api.PermClustersUnregister}, // last: the others need it registered
	}
	before := historyLen(t, e, cluster1)
	for _, c := range commands {
		for _, id := range []string{cluster1, unknown} {
			p := problem(t, e.call(c.method, fmt.Sprintf(c.path, id), adminElsewhere, ""), http.StatusForbidden, auth.CodeForbidden)
			if !strings.Contains(p.Detail, c.permission) || !strings.Contains(p.Detail, id) {
				t.Errorf("%s %s: 403 detail %q names neither %s nor the cluster", c.method, c.path, p.Detail, c.permission)
			}
		}
	}
	if after := historyLen(t, e, cluster1); after != before {
		t.Fatalf("refused commands changed the cluster: history %d → %d entries", before, after)
	}
	// In scope, the same commands go through (the reset of node2 too).
	for _, c := range commands {
		if w := e.call(c.method, fmt.Sprintf(c.path, cluster1), adminHere, ""); w.Code != http.StatusOK {
			t.Errorf("%s %s in the caller's scope: %d %s", c.method, c.path, w.Code, w.Body)
		}
	}
	var v domain.ClusterView
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1, admin, ""), &v)
	if v.RegistrationStatus != domain.StatusNotYet {
		t.Errorf("unregister in scope: registrationStatus %s", v.RegistrationStatus)
	}
}

func historyLen(t *testing.T, e *env, id string) int {
	t.Helper()
	var h domain.PageOf[domain.HistoryEntry]
	decode(t, e.call("GET", "/api/v1/clusters/"+id+"/history?limit=1000", admin, ""), &h)
	return len(h.Items)
}

// TestScopesUnionPerPermission: a caller with several roles holds each permission where any of
// them grants it: here it reads subHere's clusters and unregisters subOther's, not the reverse.
func TestScopesUnionPerPermission(t *testing.T) {
	e := seeded(t)
	e.registerIn(cluster2, "hci-02", subOther)
	who := readHereUnregisterElsewhere
	if w := e.call("GET", "/api/v1/clusters/"+cluster1, who, ""); w.Code != http.StatusOK {
		t.Errorf("read in subHere: %d %s", w.Code, w.Body)
	}
	problem(t, e.call("GET", "/api/v1/clusters/"+cluster2, who, ""), http.StatusNotFound, domain.CodeUnknownCluster)
	problem(t, e.call("POST", "/api/v1/clusters/"+cluster1+"/unregister?dryRun=true", who, ""), http.StatusForbidden, auth.CodeForbidden)
	var out struct {
		Outcome domain.Outcome `json:"outcome"`
		Plan    *domain.Plan   `json:"plan"`
	}
	decode(t, e.call("POST", "/api/v1/clusters/"+cluster2+"/unregister?dryRun=true", who, ""), &out)
	if out.Plan == nil || out.Plan.ClusterID != cluster2 {
		t.Errorf("dry run in subOther: %+v", out)
	}
	problem(t, e.call("POST", "/api/v1/clusters/"+cluster2+"/repair", who, ""), http.StatusForbidden, auth.CodeForbidden)
}

// TestDeadLettersNeedAnUnscopedRole: dead letters belong to no subscription, so a role limited
// to some subscriptions does not show or replay them, even one that grants everything there.
func TestDeadLettersNeedAnUnscopedRole(t *testing.T) {
	e := seeded(t)
	for _, c := range []struct{ method, target string }{
		{"GET", "/api/v1/deadletters/" + queueReq},
		{"POST", "/api/v1/deadletters/" + queueReq + "/replay"},
	} {
		p := problem(t, e.call(c.method, c.target, adminHere, ""), http.StatusForbidden, auth.CodeForbidden)
		if !strings.Contains(p.Detail, "no subscription") {
			t.Errorf("%s %s: detail %q does not say why", c.method, c.target, p.Detail)
		}
		if w := e.call(c.method, c.target, admin, ""); w.Code != http.StatusOK {
			t.Errorf("%s %s unscoped: %d %s", c.method, c.target, w.Code, w.Body)
		}
	}
	if len(e.dl.replayed) != 1 {
		t.Errorf("replays %v: want only the unscoped caller's", e.dl.replayed)
	}
}

// orphan3 is a suspected orphan of subHere whose grace has ended.
const orphan3 = "2d9e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6"

// scopedEnv is seeded's fleet (cluster1 in subHere, a reset in progress) with cluster2 in subOther,
// orphan3 a suspected orphan in subHere, and rejections: of a message naming cluster1, one naming
// cluster2, one naming no known cluster but subOther, and one naming nothing (no subscription).
func scopedEnv(t *testing.T) *env {
	t.Helper()
	st := memory.New(nil)
	e := newEnv(t, envOptions{store: st})
	e.register(cluster1, "hci-01", "2508")
	if res, err := e.svc.Apply(context.Background(), domain.StartMachineReset{ClusterID: cluster1, Machine: "node1"},
		domain.Meta{MessageID: "reset-1", EnqueuedAt: e.clk.Now()}); err != nil || res.Outcome != domain.Updated {
		t.Fatalf("start reset: %+v %v", res, err)
	}
	e.registerIn(cluster2, "hci-02", subOther)
	e.registerIn(orphan3, "hci-03", subHere)
	rec, err := st.Load(context.Background(), orphan3, "")
	if err != nil {
		t.Fatal(err)
	}
	c := rec.Cluster
	c.Orphan, c.OrphanReason, c.GraceUntil, c.Version = domain.OrphanSuspected, domain.OrphanMachinesClaimed, e.clk.Now().Add(-time.Hour), c.Version+1
	if _, err := st.Commit(context.Background(), domain.Change{Partition: orphan3, Cluster: c, ETag: rec.ETag, Project: true}); err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{
		`{"type":"Register","clusterId":"` + cluster1 + `","clusterName":"hci-01","region":"West Europe","tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":"` + subHere + `","nodes":[{"name":"node1"}]}`,
		`{"type":"Register","clusterId":"` + cluster2 + `","clusterName":"hci-02","region":"West Europe","tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":"` + subOther + `","nodes":[{"name":"node1"}]}`,
		`{"type":"Register","clusterId":"` + unknown + `","clusterName":"hci-09","region":"Mars","tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":"` + subOther + `","nodes":[{"name":"node1"}]}`,
		`{"type":"Sync"}`,
	} {
		res, err := e.svc.HandleMessage(context.Background(), queueReq, []byte(body), domain.Meta{MessageID: fmt.Sprint("bad-", i), EnqueuedAt: e.clk.Now(), Queue: queueReq})
		if err != nil || res.Outcome != domain.Rejected {
			t.Fatalf("message %d: %+v %v, want rejected", i, res, err)
		}
	}
	return e
}

// TestEveryRouteWithScopedRoles: whatever the route, a caller whose roles hold every permission
// in another subscription is never shown subHere's clusters (cluster1, orphan3): their reads are
// 404, commands 403, lists leave them out; one limited to subHere is answered as an unscoped caller
// is (same status, on a fleet in the same state), except for what belongs to no subscription (dead
// letters, standalone machines).
func TestEveryRouteWithScopedRoles(t *testing.T) {
	unscopedOnly := map[string]bool{PathDeadLetters: true, PathReplay: true, PathStandalone: true}
	for _, r := range scopedEnv(t).h.(*Router).Routes() {
		s := samples()[r.Method+" "+r.Path]
		name := r.Method + " " + r.Path
		e := scopedEnv(t)
		elsewhere := e.call(s.method, s.target, adminElsewhere, s.body) // refused or filtered: changes nothing
		here := e.call(s.method, s.target, adminHere, s.body)
		unscoped := scopedEnv(t).call(s.method, s.target, admin, s.body)
		switch {
		case unscopedOnly[r.Path]:
			problem(t, here, http.StatusForbidden, auth.CodeForbidden)
			problem(t, elsewhere, http.StatusForbidden, auth.CodeForbidden)
			continue
		case strings.Contains(r.Path, "{clusterId}") && r.Method == http.MethodGet:
			problem(t, elsewhere, http.StatusNotFound, domain.CodeUnknownCluster)
		case strings.Contains(r.Path, "{clusterId}"):
			problem(t, elsewhere, http.StatusForbidden, auth.CodeForbidden)
		case strings.Contains(s.body, `"items"`): // a bulk request naming cluster1: refused item by item
			if elsewhere.Code != http.StatusOK || !strings.Contains(elsewhere.Body.String(), `"status":403`) {
				t.Errorf("%s elsewhere: %d %s, want each item refused 403", name, elsewhere.Code, elsewhere.Body)
			}
		default:
			if elsewhere.Code != http.StatusOK {
				t.Errorf("%s elsewhere: %d %s", name, elsewhere.Code, elsewhere.Body)
			}
			for _, id := range []string{cluster1, orphan3} {
				if strings.Contains(elsewhere.Body.String(), id) {
					t.Errorf("%s shows %s, of another subscription than the caller's: %s", name, id, elsewhere.Body)
				}
			}
		}
		if here.Code != unscoped.Code || here.Code == http.StatusForbidden || here.Code == http.StatusUnauthorized {
			t.Errorf("%s in the caller's subscription: %d %s; unscoped: %d", name, here.Code, here.Body, unscoped.Code)
		}
	}
}

// ids lists the clusterId of each item of a list answer.
func ids(t *testing.T, e *env, target, who string) []string {
	t.Helper()
	var l struct {
		Items []struct {
			ClusterID string `json:"clusterId"`
		} `json:"items"`
	}
	decode(t, e.call("GET", target, who, ""), &l)
	out := []string{}
	for _, it := range l.Items {
		out = append(out, it.ClusterID)
	}
	return out
}

// TestListsShowTheCallersSubscriptions: each list holds exactly the items of the caller's
// subscriptions, paged; the unscoped caller's lists hold the whole fleet's. A rejection is listed
// under its cluster's subscription, else its message's; one naming neither only fleet-wide.
func TestListsShowTheCallersSubscriptions(t *testing.T) {
	e := scopedEnv(t)
	for _, c := range []struct {
		target, who string
		want        []string
	}{
		{"/api/v1/clusters?limit=1", readerHere, []string{cluster1}},
		{"/api/v1/clusters", readerHere, []string{cluster1, orphan3}},
		{"/api/v1/clusters", adminElsewhere, []string{cluster2}},
		{"/api/v1/clusters?orphan=Suspected", readerHere, []string{orphan3}},
		{"/api/v1/clusters", admin, []string{cluster1, cluster2, orphan3}},
		{"/api/v1/rejections", readerHere, []string{cluster1}},
		{"/api/v1/rejections", adminElsewhere, []string{unknown, cluster2}},
		{"/api/v1/rejections", admin, []string{"", unknown, cluster2, cluster1}},
		{"/api/v1/orphans", readerHere, []string{orphan3}},
		{"/api/v1/orphans", adminElsewhere, []string{}},
		{"/api/v1/policy/upcoming?within=7d", adminElsewhere, []string{}},
	} {
		got := ids(t, e, c.target, c.who)
		slices.Sort(got)
		slices.Sort(c.want)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("GET %s as %s (-want +got):\n%s", c.target, roleOf[c.who], diff)
		}
	}
	// Upcoming in subHere: cluster1's reset-stall deadline and whatever orphan3 has, nothing else.
	for _, id := range ids(t, e, "/api/v1/policy/upcoming?within=7d", readerHere) {
		if id != cluster1 && id != orphan3 {
			t.Errorf("upcoming in subHere lists %s", id)
		}
	}
	if got := ids(t, e, "/api/v1/policy/upcoming?within=7d", readerHere); !slices.Contains(got, cluster1) {
		t.Errorf("upcoming in subHere: %v, want cluster1's reset", got)
	}
	// Paging a scoped list: every page in scope, a cursor given to another scope is refused.
	var first domain.PageOf[domain.ClusterSummary]
	decode(t, e.call("GET", "/api/v1/clusters?limit=1", readerHere, ""), &first)
	if first.NextCursor == "" {
		t.Fatal("no cursor after the first of two clusters")
	}
	if got := ids(t, e, "/api/v1/clusters?limit=1&cursor="+first.NextCursor, readerHere); !slices.Equal(got, []string{orphan3}) {
		t.Errorf("second page: %v, want [orphan3]", got)
	}
	problem(t, e.call("GET", "/api/v1/clusters?limit=1&cursor="+first.NextCursor, admin, ""), http.StatusBadRequest, domain.CodeInvalidField)
}

// TestOrphanCleanupStaysInScope: POST /orphans/cleanup cleans up only the suspects of the caller's
// subscriptions.
func TestOrphanCleanupStaysInScope(t *testing.T) {
	e := scopedEnv(t)
	var out struct {
		Items []domain.Plan `json:"items"`
	}
	decode(t, e.call("POST", "/api/v1/orphans/cleanup?dryRun=false", adminElsewhere, ""), &out)
	if len(out.Items) != 0 {
		t.Fatalf("a caller of subOther cleaned up %+v", out.Items)
	}
	decode(t, e.call("POST", "/api/v1/orphans/cleanup?dryRun=false", adminHere, ""), &out)
	if len(out.Items) != 1 || out.Items[0].ClusterID != orphan3 {
		t.Fatalf("cleanup in subHere: %+v, want orphan3's", out.Items)
	}
}
