package devhost

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The runner's local principal serves only the person at this machine: a request addressed to
// another host (DNS rebinding) and a browser's cross-site write are refused with 403, before
// the local principal is given or any endpoint acts; the runner's own page, curl and the CLI
// are served.
func TestLocalPrincipalServesOnlyThisMachine(t *testing.T) {
	h := &recorder{answer: func(call) (int, string) {
		return http.StatusOK, `{"Outputs":{"res":{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{}"}}}`
	}}
	_, srv, _ := harness(t, h, nil)
	own := "http://" + strings.TrimPrefix(srv.URL, "http://")
	cases := []struct {
		name, method, path, host, origin, contentType string
		want                                          int
	}{
		{"a rebinding page's read", "GET", "/api/v1/clusters", "evil.example:7071", "", "", 403},
		{"a rebinding page's enqueue", "POST", "/dev/servicebus/registration-requests/messages", "evil.example", "", "application/json", 403},
		{"a LAN address", "GET", "/api/v1/clusters", "192.168.1.20:7071", "", "", 403},
		{"a cross-site write", "POST", "/api/v1/clusters/c/repair", "", "https://evil.example", "application/json", 403},
		{"a cross-site clock move", "POST", "/dev/clock", "", "http://localhost:3000", "application/json", 403},
		{"an opaque origin", "POST", "/api/v1/clusters/c/repair", "", "null", "", 403},
		{"a form post without Origin", "POST", "/api/v1/clusters/c/repair", "", "", "application/x-www-form-urlencoded", 403},
		{"a text/plain form", "DELETE", "/api/v1/machines/c/m/reset", "", "", "text/plain;charset=UTF-8", 403},
		{"a multipart form", "POST", "/api/v1/orphans/cleanup?dryRun=false", "", "", "multipart/form-data; boundary=x", 403},
		{"the page's own write", "POST", "/api/v1/clusters/c/repair", "", own, "application/json", 200},
		{"the CLI's write", "POST", "/api/v1/clusters/c/repair", "", "", "", 200},
		{"a cross-site read", "GET", "/api/v1/clusters", "", "https://evil.example", "", 200},
		{"localhost", "GET", "/api/v1/clusters", "localhost:7071", "", "", 200},
		{"IPv6 loopback", "GET", "/api/v1/clusters", "[::1]:7071", "", "", 200},
		{"curl -d to the queue (a form type, not an Admin route)", "POST", "/dev/servicebus/registration-requests/messages", "", "", "application/x-www-form-urlencoded", 201},
	}
	got, wantCodes := map[string]int{}, map[string]int{}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(`{}`))
		if c.host != "" {
			req.Host = c.host
		}
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		got[c.name], wantCodes[c.name] = res.StatusCode, c.want
	}
	if d := cmp.Diff(wantCodes, got); d != "" {
		t.Errorf("status by request (-want +got):\n%s", d)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	got := map[string]bool{}
	wantLoop := map[string]bool{
		"127.0.0.1:7071": true, "127.9.8.7": true, "[::1]:7071": true, "::1": true, "localhost": true, "LOCALHOST:80": true,
		"app.localhost:7071": true, "localhost.": true, "[::ffff:127.0.0.1]:1": true,
		"0.0.0.0:7071": false, ":7071": false, "[::]:7071": false, "192.168.1.2:7071": false, "evil.example": false,
		"localhost.evil.example": false, "127.0.0.1.nip.io": false, "": false,
	}
	for h := range wantLoop {
		got[h] = IsLoopbackHost(h)
	}
	if d := cmp.Diff(wantLoop, got); d != "" {
		t.Errorf("IsLoopbackHost (-want +got):\n%s", d)
	}
}
