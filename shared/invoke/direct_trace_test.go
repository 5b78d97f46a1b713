package invoke

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A proxied or forwarded request has no Logs channel: its record is the host's request telemetry
// and the handler's stdout line (docs/operations.md), which carries the host's traceparent's trace
// ID like an envelope invocation's line.
func TestDirectRequestLineCarriesTheTraceID(t *testing.T) {
	var logs lockedBuffer
	h := NewServer(Functions{HTTP: map[string]http.Handler{"Admin": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
	})}}, &ServerOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	r := httptest.NewRequest(http.MethodGet, "/api/v1/clusters", nil)
	r.Header.Set(HeaderInvocationID, "5f0c1e2d-3b4a-4c5d-9e6f-708192a3b4c5")
	r.Header.Set("traceparent", "00-"+hostTraceID+"-b7ad6b7169203331-01")
	h.ServeHTTP(httptest.NewRecorder(), r)
	type record struct {
		Function, InvocationID, TraceID, Outcome string
		Status                                   int
	}
	var line record
	if err := json.Unmarshal(bytes.TrimSpace([]byte(logs.String())), &line); err != nil {
		t.Fatalf("want one JSON log line, got %q", logs.String())
	}
	want := record{"Admin", "5f0c1e2d-3b4a-4c5d-9e6f-708192a3b4c5", hostTraceID, "answered", http.StatusOK}
	if d := cmp.Diff(want, line); d != "" {
		t.Errorf("proxied request's log line (-want +got):\n%s", d)
	}
}
