package admin

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
)

// The reset routes (docs/admin-api.md): a second start answers the running operation with its
// true status; restart=true replaces a Stalled one and is 409 ResetInProgress for a running one;
// DELETE cancels a Stalled one (409 while it runs), the machine staying registered.
func TestResetRestartAndCancelRoutes(t *testing.T) {
	e := seeded(t) // node1 in progress, node2 stalled
	r := "/api/v1/machines/" + cluster1 + "/"
	type answer struct {
		Outcome domain.Outcome
		Status  string
	}
	reset := func(method, target string) answer {
		t.Helper()
		var out struct {
			Outcome domain.Outcome        `json:"outcome"`
			Detail  domain.ResetOperation `json:"detail"`
		}
		decode(t, e.call(method, target, operator, ""), &out)
		return answer{out.Outcome, out.Detail.Status}
	}
	got := map[string]answer{
		"start, stalled":  reset("POST", r+"node2/reset"),
		"start, running":  reset("POST", r+"node1/reset"),
		"restart stalled": reset("POST", r+"node2/reset?restart=true"),
	}
	problem(t, e.call("POST", r+"node1/reset?restart=true", operator, ""), http.StatusConflict, domain.CodeResetInProgress)
	problem(t, e.call("DELETE", r+"node1/reset", operator, ""), http.StatusConflict, domain.CodeResetInProgress)
	problem(t, e.call("POST", r+"node1/reset?restart=yes", operator, ""), http.StatusBadRequest, domain.CodeInvalidField)
	problem(t, e.call("DELETE", r+"node1/reset?restart=true", operator, ""), http.StatusBadRequest, domain.CodeInvalidField)
	problem(t, e.call("DELETE", r+"node1/reset", reader, ""), http.StatusForbidden, "Forbidden")
	e.clk.Advance(25 * time.Hour)
	got["cancel stalled"] = reset("DELETE", r+"node1/reset")
	got["cancel again"] = reset("DELETE", r+"node1/reset")
	want := map[string]answer{
		"start, stalled":  {domain.Unchanged, domain.ResetStalled},
		"start, running":  {domain.Unchanged, domain.ResetInProgress},
		"restart stalled": {domain.Updated, domain.ResetInProgress},
		"cancel stalled":  {domain.Updated, domain.ResetCancelled},
		"cancel again":    {domain.Unchanged, domain.ResetCancelled},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	var v domain.ClusterView
	decode(t, e.call("GET", "/api/v1/clusters/"+cluster1, reader, ""), &v)
	if n := v.Nodes[0]; n.Name != "node1" || n.RegistrationStatus != domain.StatusRegistered || n.Reset.Status != domain.ResetCancelled {
		t.Errorf("node1 after the cancel: %+v", n)
	}
}
