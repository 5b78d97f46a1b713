package dashboard_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/azlocal/registrar/shared/testkit/localrun"
)

// TestScopedDashboardInBrowser: an operator whose only role is limited to one subscription, as
// the custom registration role of docs/admin-api.md#scopes is, opens the dashboard through the local runner and sees
// that subscription's clusters only, and why.
func TestScopedDashboardInBrowser(t *testing.T) {
	const mine, theirs = "aaaaaaaa-1111-4111-8111-11111111111a", "bbbbbbbb-2222-4222-8222-22222222222b"
	rn := localrun.Start(t, &localrun.Options{Roles: []string{"Contoso registration"},
		RoleDefinitions: `[{"Name":"Contoso registration","Id":null,"IsCustom":true,"Actions":["*/read","clusters/register"],` +
			`"NotActions":[],"AssignableScopes":["/subscriptions/` + mine + `"]}]`})
	r := &runner{t: t, url: rn.URL, root: rn.Root}
	subOf := map[string]string{}
	for i := 1; i <= 5; i++ {
		sub := theirs
		if i <= 3 {
			sub = mine
		}
		subOf[guid(i)] = sub
		r.post("registration-requests", map[string]any{"type": "Register", "clusterId": guid(i), "clusterName": "hci-" + strconv.Itoa(i),
			"region": "eastus", "tenantId": mine, "subscriptionId": sub, "nodes": []map[string]any{{"name": "node1"}}})
	}
	// The whole fleet, as an unscoped admin sees it (the runner passes a supplied principal through).
	admin := base64.StdEncoding.EncodeToString([]byte(`{"claims":[{"typ":"name","val":"ada"},{"typ":"roles","val":"Registrar.Admin"}]}`))
	r.waitFor("5 registered clusters", func() bool {
		req, _ := http.NewRequest(http.MethodGet, r.url+"/api/v1/clusters?registrationStatus=Registered", nil)
		req.Header.Set("X-MS-CLIENT-PRINCIPAL", admin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var l struct{ Items []any }
		return res.StatusCode == http.StatusOK && json.NewDecoder(res.Body).Decode(&l) == nil && len(l.Items) == 5
	})

	ctx, con := browser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(r.url+"/api/v1/dashboard")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the scope banner", `!!document.querySelector('#scope') && document.querySelector('#scope').textContent.includes('`+mine+`')`)
	poll(t, ctx, "3 clusters", `document.querySelector('[data-count="clusters"]').textContent === "3"`)
	poll(t, ctx, "why dead letters are not shown", `document.querySelector('#deadletters').textContent.includes('no subscription')`)
	screenshot(t, ctx, r.root, "scoped-overview")

	run(t, ctx, chromedp.Evaluate[any](`location.hash = "#/clusters"`))
	poll(t, ctx, "the cluster table", `document.querySelectorAll('#cluster-table tbody tr').length === 3`)
	shown := run(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#cluster-table tbody tr')].map(e => e.dataset.cluster)`))
	for _, id := range shown {
		if subOf[id] != mine {
			t.Errorf("the table shows %s, of subscription %s", id, subOf[id])
		}
	}
	if body := run(t, ctx, chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(body, "hci-4") || strings.Contains(body, "hci-5") {
		t.Errorf("the page names a cluster of another subscription: %q", body)
	}
	for _, p := range con.problems() {
		t.Errorf("console problem: %q", p)
	}
}
