package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/telemetry"
)

// syncBuffer is a log sink the runner's goroutines write to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The app runs in the runner's process and logs each record itself, so the runner does not print
// a reply's Logs again: an envelope invocation's line appears once in the runner's log (the
// runner answers the client only after it has read the reply, so the count is final then).
func TestEachInvocationIsLoggedOnce(t *testing.T) {
	var logs syncBuffer
	base, _ := startDevhostWith(t, &logs, noEnv, "-http", "envelope", "-timers=false")
	for range 2 {
		res, err := http.Get(base + "/api/v1/clusters")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "msg=invocation function=Admin") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Errorf("2 Admin invocations logged %d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set the runner exports the app's spans over OTLP, as
// cmd/handler does (docs/operations.md): a collector on loopback gets them when the runner stops.
func TestRunnerExportsSpansWhenTheEndpointIsSet(t *testing.T) {
	var mu sync.Mutex
	var got []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+map[bool]string{true: "registrar spans", false: "other"}[bytes.Contains(body, []byte(telemetry.ServiceName))])
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	env := map[string]string{telemetry.EnvEndpoint: collector.URL}
	base, stop := startDevhostWith(t, io.Discard, func(k string) string { return env[k] }, "-timers=false")
	res, err := http.Get(base + "/api/v1/clusters")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	stop()
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff([]string{"POST /v1/traces registrar spans"}, got); d != "" {
		t.Errorf("requests to the OTLP endpoint (-want +got):\n%s", d)
	}
}
