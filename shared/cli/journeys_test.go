package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/azlocal/registrar/shared/domain"
)

// devPost posts body to one of the runner's own routes (/dev/..., /admin/...) and returns the answer.
func devPost(t *testing.T, base, path, body string) []byte {
	t.Helper()
	res, err := http.Post(base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		t.Fatalf("POST %s = %d %s", path, res.StatusCode, b)
	}
	return b
}

// clusterOf reads the cluster's §3 view from the Admin API.
func clusterOf(t *testing.T, base, id string) domain.ClusterView {
	t.Helper()
	var v domain.ClusterView
	if err := json.Unmarshal(apiGet(t, base, "/clusters/"+id), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRegisterWaitSeesItsOwnOutcome: re-registering a registered cluster waits for that
// message's own outcome, not for the status the cluster already had.
func TestRegisterWaitSeesItsOwnOutcome(t *testing.T) {
	base := startRunner(t, nil, true)
	if code, _, stderr := runCLI(t, App{}, base, registerArgs...); code != 0 {
		t.Fatalf("first register: exit %d: %s", code, stderr)
	}
	before := clusterOf(t, base, e2eCluster)

	// Another region: rejected (9104), although the cluster is Registered all along.
	other := append([]string(nil), registerArgs...)
	other[6] = "West US"
	code, _, stderr := runCLI(t, App{}, base, other...)
	if code != 1 || !strings.Contains(stderr, "ResourceExistsInDifferentRegion") {
		t.Errorf("re-register in another region: exit %d, stderr %q; want 1 with ResourceExistsInDifferentRegion", code, stderr)
	}

	// The same registration again, a minute later on the runner's clock: it changes nothing
	// (no history entry), and the wait ends once it moved lastConnected to its enqueue time.
	devPost(t, base, "/dev/clock", `{"advance":"1m"}`)
	code, out, stderr := runCLI(t, App{}, base, registerArgs...)
	if code != 0 || !strings.Contains(out, "is Registered") {
		t.Fatalf("same re-register: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	after := clusterOf(t, base, e2eCluster)
	if after.LastConnected == nil || before.LastConnected == nil || !after.LastConnected.After(*before.LastConnected) {
		t.Errorf("register --wait ended before its message was processed: lastConnected %v, before the send %v", after.LastConnected, before.LastConnected)
	}
	if after.Region != before.Region || after.RegistrationStatus != domain.StatusRegistered {
		t.Errorf("after the re-register: region %s, status %s", after.Region, after.RegistrationStatus)
	}

	// -o json with --wait prints the rejection as the API lists it.
	code, out, _ = runCLI(t, App{}, base, append(other, "-o", "json")...)
	var r domain.Rejection
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 1 || r.Code != domain.CodeResourceExistsInDiffRegn || r.Number != 9104 {
		t.Errorf("-o json rejection: exit %d, %q (%v)", code, out, err)
	}
}
