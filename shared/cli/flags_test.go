package cli

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a fake endpoint: it keeps the bodies posted to each path and answers GETs with
// the registered answers (404 otherwise).
type recorder struct {
	mu     sync.Mutex
	bodies map[string][]map[string]any
	gets   map[string]string
}

func newRecorder(t *testing.T, gets map[string]string) (*recorder, string) {
	rec := &recorder{bodies: map[string][]map[string]any{}, gets: gets}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.Method == http.MethodGet {
		body, ok := r.gets[req.URL.Path]
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"code":"UnknownCluster","status":404}`))
			return
		}
		w.Write([]byte(body))
		return
	}
	var m map[string]any
	raw, _ := io.ReadAll(req.Body)
	_ = json.Unmarshal(raw, &m)
	r.bodies[req.Method+" "+req.URL.Path] = append(r.bodies[req.Method+" "+req.URL.Path], m)
	w.Write([]byte(`{"outcome":"updated","messageId":"x"}`))
}

func (r *recorder) sent(key string) []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[key]
}

// register takes every value a Register-AzStackHCI user gives: the resource name and the Arc
// onboarding SPN; repair takes a regenerated SPN credential's expiry.
func TestRegisterAndRepairTakeTheCmdletsValues(t *testing.T) {
	rec, base := newRecorder(t, nil)
	args := append(append([]string(nil), registerArgs[:len(registerArgs)-1]...), // without --wait
		"--resource-name", "hci-res", "--arc-spn-app-id", "0B7E5D1A-1F0E-4E5A-9A9E-2F7B3C4D5E6F", "--arc-spn-expires", "2027-11-01")
	if code, _, stderr := runCLI(t, App{}, base, args...); code != 0 {
		t.Fatalf("register: exit %d %s", code, stderr)
	}
	msgs := rec.sent("POST /dev/servicebus/registration-requests/messages")
	if len(msgs) != 1 {
		t.Fatalf("%d messages sent", len(msgs))
	}
	got := map[string]any{"resourceName": msgs[0]["resourceName"], "arcSpn": msgs[0]["arcSpn"]}
	want := map[string]any{"resourceName": "hci-res", "arcSpn": map[string]any{"appId": "0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f", "credentialExpiresAt": "2027-11-01T00:00:00Z"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Register body (-want +got):\n%s", diff)
	}

	if code, _, stderr := runCLI(t, App{}, base, "repair", e2eCluster, "--arc-spn-app-id", "0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f",
		"--arc-spn-expires", "2028-01-31T12:00:00+01:00"); code != 0 {
		t.Fatalf("repair: exit %d %s", code, stderr)
	}
	bodies := rec.sent("POST /api/v1/clusters/" + e2eCluster + "/repair")
	want = map[string]any{"arcSpn": map[string]any{"appId": "0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f", "credentialExpiresAt": "2028-01-31T11:00:00Z"}}
	if len(bodies) != 1 || !cmp.Equal(want, bodies[0]) {
		t.Errorf("repair bodies %v, want one %v", bodies, want)
	}

	for _, bad := range [][]string{
		{"repair", e2eCluster, "--arc-spn-app-id", "0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f"},
		{"repair", e2eCluster, "--arc-spn-app-id", "nope", "--arc-spn-expires", "2027-11-01"},
		{"repair", e2eCluster, "--arc-spn-app-id", "0b7e5d1a-1f0e-4e5a-9a9e-2f7b3c4d5e6f", "--arc-spn-expires", "soon"},
		append(append([]string(nil), registerArgs...), "--timeout", "0s"),
	} {
		if code, _, stderr := runCLI(t, App{}, base, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", bad, code, stderr)
		}
	}
	if n := len(rec.sent("POST /api/v1/clusters/"+e2eCluster+"/repair")) + len(rec.sent("POST /dev/servicebus/registration-requests/messages")); n != 2 {
		t.Errorf("a refused command line sent something: %d requests in all, want the 2 above", n)
	}
}

// register --wait gives up after --timeout with exit 1 and the last registration status it saw.
func TestRegisterWaitTimesOut(t *testing.T) {
	_, base := newRecorder(t, map[string]string{
		"/api/v1/rejections":                          `{"items":[]}`,
		"/api/v1/clusters/" + e2eCluster + "/history": `{"items":[]}`,
		"/api/v1/clusters/" + e2eCluster:              `{"clusterId":"` + e2eCluster + `","registrationStatus":"NotYet","nodes":[]}`,
	})
	code, _, stderr := runCLI(t, App{}, base, append(append([]string(nil), registerArgs...), "--timeout", "100ms")...)
	if code != 1 || !strings.Contains(stderr, "Timeout") || !strings.Contains(stderr, "registration status NotYet") {
		t.Errorf("register --wait --timeout: exit %d, stderr %q; want 1, WaitTimedOut and the last status", code, stderr)
	}
}
