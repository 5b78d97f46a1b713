package apihttp

import (
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/api"
)

// WriteProblem answers RFC 9457 problem details, uncached, with about:blank as the default type.
func TestWriteProblem(t *testing.T) {
	w := httptest.NewRecorder()
	WriteProblem(w, &api.Problem{Title: "Not Found", Status: 404, Code: "NotFound"})
	got := map[string]string{"status": w.Result().Status, "type": w.Header().Get("Content-Type"),
		"cache": w.Header().Get("Cache-Control"), "nosniff": w.Header().Get("X-Content-Type-Options"), "body": w.Body.String()}
	want := map[string]string{"status": "404 Not Found", "type": "application/problem+json", "cache": "no-store", "nosniff": "nosniff",
		"body": `{"type":"about:blank","title":"Not Found","status":404,"code":"NotFound"}` + "\n"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
}
