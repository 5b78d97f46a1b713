package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/domain"
)

// Principals of the scoped test roles (testRoles).
var (
	adminHere      = principalHeader("hanna@contoso.com", "Admin.Here")
	adminElsewhere = principalHeader("erik@contoso.com", "Admin.Elsewhere")
	readerHere     = principalHeader("rhea@contoso.com", "Reader.Here")
	// readHereUnregisterElsewhere holds clusters/read in subHere and clusters/unregister in subOther.
	readHereUnregisterElsewhere = principalHeader("uma@contoso.com", "Reader.Here", "Unregister.Elsewhere")
)

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
		{"POST", "/api/v1/clusters/%s/repair", auth.ClustersRegister},
		{"POST", "/api/v1/machines/%s/node2/reset", auth.MachinesReset},
		{"POST", "/api/v1/clusters/%s/unregister?dryRun=true", auth.ClustersUnregister},
		{"POST", "/api/v1/clusters/%s/unregister?dryRun=false", auth.ClustersUnregister}, // last: the others need it registered
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
