package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

func TestClusterView(t *testing.T) {
	e := seeded(t)
	var v domain.ClusterView
	decode(t, e.call("GET", "/api/v1/clusters/"+strings.ToUpper(cluster1), reader, ""), &v)
	if v.ClusterID != cluster1 || v.ClusterName != "hci-01" || v.Region != "eastus" || len(v.Nodes) != 2 || v.Nodes[0].Reset == nil {
		t.Fatalf("view %+v", v)
	}
	p := problem(t, e.call("GET", "/api/v1/clusters/"+unknown, reader, ""), http.StatusNotFound, domain.CodeUnknownCluster)
	if !strings.Contains(p.Detail, unknown) {
		t.Fatalf("detail %q", p.Detail)
	}
	problem(t, e.call("GET", "/api/v1/clusters/"+unknown+"/history", reader, ""), http.StatusNotFound, domain.CodeUnknownCluster)
}

// TestInjectionAttempts: IDs and filters carrying quotes, OData operators or path tricks are
// refused as InvalidField naming the field, before anything reaches the store.
func TestInjectionAttempts(t *testing.T) {
	e := seeded(t)
	c := "/api/v1/clusters/"
	for _, tc := range []struct{ target, field string }{
		{c + url.PathEscape(cluster1+"' or 1 eq 1"), "clusterId"},
		{c + cluster1 + "%27", "clusterId"},
		{c + "%27%20or%20PartitionKey%20ne%20%27", "clusterId"},
		{c + "..%2F..%2Fetc", "clusterId"},
		{c + "not-a-guid", "clusterId"},
		{"/api/v1/machines/" + cluster1 + "/node1%27/reset", "machine"},
		{"/api/v1/machines/" + cluster1 + "/..%2Fnode1/reset", "machine"},
		{"/api/v1/machines/" + cluster1 + "/" + strings.Repeat("a", 64) + "/reset", "machine"},
		{"/api/v1/clusters?registrationStatus=" + url.QueryEscape("Registered' or 'a' eq 'a"), "registrationStatus"},
		{"/api/v1/clusters?connectionStatus=" + url.QueryEscape("Connected or true"), "connectionStatus"},
		{"/api/v1/clusters?orphan=" + url.QueryEscape("None') or (1 eq 1"), "orphan"},
		{"/api/v1/clusters?registrationStatus=registered", "registrationStatus"},
		{"/api/v1/clusters?credentialExpired=yes", "credentialExpired"},
		{"/api/v1/clusters?credentialExpired=" + url.QueryEscape("true or 1 eq 1"), "credentialExpired"},
		{"/api/v1/clusters?$filter=" + url.QueryEscape("PartitionKey ne ''"), "$filter"},
		{"/api/v1/clusters?cursor=" + url.QueryEscape("x' or 1 eq 1"), "cursor"},
		{"/api/v1/clusters?cursor=bm90LWEtY3Vyc29y", "cursor"},
		{"/api/v1/rejections?cursor=bm90LWEtY3Vyc29y", "cursor"},
		{"/api/v1/deadletters/" + url.PathEscape("registration-requests/$DeadLetterQueue"), "queue"},
		{"/api/v1/deadletters/..%2Fother", "queue"},
		{"/api/v1/deadletters/other-queue", "queue"},
	} {
		p := problem(t, e.call("GET", tc.target, admin, ""), http.StatusBadRequest, domain.CodeInvalidField)
		if p.Field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.target, p.Field, tc.field)
		}
	}
}

func TestQueryValidation(t *testing.T) {
	e := seeded(t)
	for _, tc := range []struct{ method, target, field string }{
		{"GET", "/api/v1/clusters?limit=0", "limit"},
		{"GET", "/api/v1/clusters?limit=1001", "limit"},
		{"GET", "/api/v1/clusters?limit=ten", "limit"},
		{"GET", "/api/v1/clusters?limit=1&limit=2", "limit"},
		{"GET", "/api/v1/clusters/" + cluster1 + "?verbose=true", "verbose"},
		{"GET", "/api/v1/policy/upcoming?within=7", "within"},
		{"GET", "/api/v1/policy/upcoming?within=-1h", "within"},
		{"GET", "/api/v1/policy/upcoming?within=3651d", "within"},
		{"POST", "/api/v1/clusters/" + cluster1 + "/unregister", "dryRun"},
		{"POST", "/api/v1/clusters/" + cluster1 + "/unregister?dryRun=yes", "dryRun"},
		{"POST", "/api/v1/clusters/" + cluster1 + "/unregister?dryRun=TRUE", "dryRun"},
		{"POST", "/api/v1/clusters/" + cluster1 + "/unregister?dryRun=true&disableOnlyArc=1", "disableOnlyArc"},
		{"POST", "/api/v1/orphans/cleanup", "dryRun"},
		{"POST", "/api/v1/orphans/cleanup?dryRun=", "dryRun"},
	} {
		p := problem(t, e.call(tc.method, tc.target, admin, ""), http.StatusBadRequest, domain.CodeInvalidField)
		if p.Field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.target, p.Field, tc.field)
		}
	}
}

func TestBodies(t *testing.T) {
	e := seeded(t)
	repair := "/api/v1/clusters/" + cluster1 + "/repair"
	for _, tc := range []struct{ body, field string }{
		{`{"arcSpn":{"appId":"x","credentialExpiresAt":"2027-11-01T00:00:00Z"}}`, "arcSpn.appId"},
		{`{"arcSpn":{"appId":"33333333-3333-4333-8333-333333333333"}}`, "arcSpn.credentialExpiresAt"},
		{`{"arcSpn":{"appId":"33333333-3333-4333-8333-333333333333","credentialExpiresAt":"tomorrow"}}`, "body"},
		{`{"arcSpn":{"appId":"33333333-3333-4333-8333-333333333333","credentialExpiresAt":"9999-12-31T00:00:00Z"}}`, "arcSpn.credentialExpiresAt"},
		{`{"arcSpn":{"appId":"33333333-3333-4333-8333-333333333333","credentialExpiresAt":"1600-01-01T00:00:00Z"}}`, "arcSpn.credentialExpiresAt"},
		{`{"arcSpn":{"appId":"33333333-3333-4333-8333-333333333333","credentialExpiresAt":"0001-01-01T00:00:00Z"}}`, "arcSpn.credentialExpiresAt"},
		{`{"clusterId":"` + unknown + `"}`, "clusterId"},
		{`{"arcSpn":5}`, "arcSpn"},
		{`[]`, "body"},
		{`{} {}`, "body"},
		{`not json`, "body"},
	} {
		p := problem(t, e.call("POST", repair, operator, tc.body), http.StatusBadRequest, domain.CodeInvalidField)
		if p.Field != tc.field {
			t.Errorf("%s: field %q, want %q", tc.body, p.Field, tc.field)
		}
	}
	big := `{"messageIds":["` + strings.Repeat("a", MaxBody) + `"]}`
	problem(t, e.call("POST", "/api/v1/deadletters/"+queueReq+"/replay", admin, big), http.StatusRequestEntityTooLarge, CodeRequestTooLarge)
	p := problem(t, e.call("POST", "/api/v1/deadletters/"+queueReq+"/replay", admin, `{"messageIds":["ok","bad id"]}`), http.StatusBadRequest, domain.CodeInvalidField)
	if p.Field != "messageIds" || len(e.dl.replayed) != 0 {
		t.Fatalf("field %q, replayed %v", p.Field, e.dl.replayed)
	}
	problem(t, e.call("POST", "/api/v1/clusters/"+cluster1+"/unregister?dryRun=true", admin, `{"force":true}`), http.StatusBadRequest, domain.CodeInvalidField)
}

// TestPaging walks the fleet list across pages and checks every cluster comes exactly once.
func TestPaging(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	const n = 57
	want := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		e.register(id, fmt.Sprintf("hci-%02d", i), "23H2")
		want[id] = true
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		target := "/api/v1/clusters?registrationStatus=Registered&limit=10"
		if cursor != "" {
			target += "&cursor=" + url.QueryEscape(cursor)
		}
		var pg domain.PageOf[domain.ClusterSummary]
		decode(t, e.call("GET", target, reader, ""), &pg)
		pages++
		for _, c := range pg.Items {
			if seen[c.ClusterID] || !want[c.ClusterID] {
				t.Fatalf("cluster %s again or unexpected", c.ClusterID)
			}
			seen[c.ClusterID] = true
		}
		if pg.NextCursor == "" {
			break
		}
		if len(pg.Items) != 10 {
			t.Fatalf("page %d has %d items", pages, len(pg.Items))
		}
		cursor = pg.NextCursor
	}
	if len(seen) != n || pages != 6 {
		t.Fatalf("saw %d clusters in %d pages", len(seen), pages)
	}
	var none domain.PageOf[domain.ClusterSummary]
	decode(t, e.call("GET", "/api/v1/clusters?registrationStatus=NotYet", reader, ""), &none)
	if none.Items == nil || len(none.Items) != 0 || none.NextCursor != "" {
		t.Fatalf("empty filter: %+v", none)
	}
}

func TestUnregisterDryRunThenReal(t *testing.T) {
	e := seeded(t)
	u := "/api/v1/clusters/" + cluster1 + "/unregister"
	var dry outcome
	decode(t, e.call("POST", u+"?dryRun=true", operator, ""), &dry)
	if !dry.DryRun || dry.Outcome != domain.Unchanged || dry.Plan == nil || len(dry.Plan.Steps) == 0 {
		t.Fatalf("dry run %+v", dry)
	}
	var onlyArc outcome
	decode(t, e.call("POST", u+"?dryRun=true&disableOnlyArc=true", operator, ""), &onlyArc)
	if onlyArc.Plan == nil || len(onlyArc.Plan.Steps) >= len(dry.Plan.Steps) || !onlyArc.Plan.DisableOnlyArc {
		t.Fatalf("disableOnlyArc plan %+v vs %+v", onlyArc.Plan, dry.Plan)
	}
	var v domain.ClusterView
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1, reader, ""), &v)
	if v.RegistrationStatus != domain.StatusRegistered {
		t.Fatalf("dry run changed the cluster: %s", v.RegistrationStatus)
	}

	var done outcome
	decode(t, e.call("POST", u+"?dryRun=false", operator, ""), &done)
	if done.DryRun || done.Outcome != domain.Updated || done.ClusterID != cluster1 {
		t.Fatalf("unregister %+v", done)
	}
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1, reader, ""), &v)
	if v.RegistrationStatus != domain.StatusNotYet {
		t.Fatalf("after unregister: %s", v.RegistrationStatus)
	}
	// The principal and the route are in the history.
	var h domain.PageOf[domain.HistoryEntry]
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1+"/history?limit=1000", reader, ""), &h)
	if !slices.ContainsFunc(h.Items, func(x domain.HistoryEntry) bool {
		return x.Principal == "otto@contoso.com" && x.Cause == "POST /clusters/{clusterId}/unregister" && strings.HasPrefix(x.MessageID, "admin-")
	}) {
		t.Fatalf("history lacks the caller: %+v", h.Items)
	}
	// A second unregister, dry or not, is refused by the rules: 409 NotRegistered.
	p := problem(t, e.call("POST", u+"?dryRun=false", operator, ""), http.StatusConflict, domain.CodeNotRegistered)
	if p.Number != 9115 {
		t.Fatalf("number %d", p.Number)
	}
	problem(t, e.call("POST", u+"?dryRun=true", operator, ""), http.StatusConflict, domain.CodeNotRegistered)
	problem(t, e.call("POST", "/api/v1/clusters/"+cluster1+"/repair", operator, ""), http.StatusConflict, domain.CodeCannotRepairNotRegistered)
	problem(t, e.call("POST", "/api/v1/clusters/"+unknown+"/unregister?dryRun=true", operator, ""), http.StatusNotFound, domain.CodeUnknownCluster)
}

func TestRepair(t *testing.T) {
	e := seeded(t)
	var out outcome
	body := `{"arcSpn":{"appId":"33333333-3333-4333-8333-333333333333","credentialExpiresAt":"2027-11-01T00:00:00Z"}}`
	decode(t, e.call("POST", "/api/v1/clusters/"+cluster1+"/repair", operator, body), &out)
	if out.Outcome != domain.Updated {
		t.Fatalf("repair %+v", out)
	}
	var v domain.ClusterView
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1, reader, ""), &v)
	if v.CredentialExpiresAt == nil || v.CredentialExpiresAt.Year() != 2027 {
		t.Fatalf("credential %v", v.CredentialExpiresAt)
	}
}

func TestMachineReset(t *testing.T) {
	e := newEnv(t, envOptions{store: memory.New(nil)})
	e.register(cluster1, "hci-01", "23H2")
	r := "/api/v1/machines/" + cluster1 + "/"
	problem(t, e.call("POST", r+"node1/reset", operator, ""), http.StatusConflict, domain.CodeResetNotSupported)
	problem(t, e.call("GET", r+"node1/reset", reader, ""), http.StatusNotFound, CodeNoResetOperation)
	problem(t, e.call("GET", r+"node9/reset", reader, ""), http.StatusNotFound, domain.CodeUnknownMachine)
	problem(t, e.call("GET", "/api/v1/machines/"+unknown+"/node1/reset", reader, ""), http.StatusNotFound, domain.CodeUnknownCluster)

	e = seeded(t) // 2508, with a reset of node1 started
	var again outcome
	decode(t, e.call("POST", r+"node1/reset", operator, ""), &again)
	if again.Outcome != domain.Unchanged {
		t.Fatalf("second start %+v", again)
	}
	problem(t, e.call("POST", r+"node9/reset", operator, ""), http.StatusNotFound, domain.CodeUnknownMachine)
	var st domain.ResetStatusView
	decode(t, e.call("GET", r+"node1/reset", reader, ""), &st)
	if st.Status != domain.ResetInProgress || len(st.Stages) != 4 || st.Machine != "node1" {
		t.Fatalf("status %+v", st)
	}
}

func TestRejectionsList(t *testing.T) {
	e := seeded(t)
	_, err := e.svc.HandleMessage(context.Background(), queueReq, []byte(`{"type":"Unregister","clusterId":"`+unknown+`"}`),
		domain.Meta{MessageID: "msg-42", EnqueuedAt: e.clk.Now(), Queue: queueReq})
	if err != nil {
		t.Fatal(err)
	}
	var pg domain.PageOf[domain.Rejection]
	decode(t, e.call("GET", "/api/v1/rejections?limit=5", reader, ""), &pg)
	if len(pg.Items) != 1 || pg.Items[0].MessageID != "msg-42" || pg.Items[0].Code == "" || pg.Items[0].Reason == "" {
		t.Fatalf("rejections %+v", pg.Items)
	}
}

func TestDeadLetters(t *testing.T) {
	e := seeded(t)
	var l struct{ Items []bus.DeadLetter }
	decode(t, e.call("GET", "/api/v1/deadletters/"+queueMachine+"?limit=5", reader, ""), &l)
	if len(l.Items) != 1 || l.Items[0].Preview != queueMachine {
		t.Fatalf("dead letters %+v", l)
	}
	var rep bus.ReplayReport
	decode(t, e.call("POST", "/api/v1/deadletters/"+queueReq+"/replay", admin, `{"messageIds":["m1","m2"]}`), &rep)
	decode(t, e.call("POST", "/api/v1/deadletters/"+queueReq+"/replay", admin, ""), &rep)
	if got := e.dl.replayed[queueReq]; len(got) != 2 || got[0] != "m1" || got[1] != "m2" {
		t.Fatalf("replayed %v", got)
	}

	noBus := newEnv(t, envOptions{store: memory.New(nil)})
	noBus.h.(*Router).d.DeadLetters = nil
	problem(t, noBus.call("GET", "/api/v1/deadletters/"+queueReq, reader, ""), http.StatusServiceUnavailable, CodeUnavailable)
}
