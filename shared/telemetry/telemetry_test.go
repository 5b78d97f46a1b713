package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/trace"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// Spans are exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT when it is set: an OTLP
// receiver on loopback gets the span on shutdown. Without the setting nothing is set up.
func TestExportsOverOTLPOnlyWhenTheEndpointIsSet(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-Tenant"))
		mu.Unlock()
		if !bytes.Contains(body, []byte("exported-span")) || !bytes.Contains(body, []byte(ServiceName)) {
			t.Errorf("export body lacks the span name or the service name: %q", body)
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()

	off, err := New(context.Background(), env(nil))
	if err != nil || off.Enabled() || off.Azure().NewTracer("aztables", "v1").Enabled() {
		t.Fatalf("without %s: enabled %v, Azure tracer on %v (%v)", EnvEndpoint, off.Enabled(), off.Azure().NewTracer("aztables", "v1").Enabled(), err)
	}
	if _, ok := off.Provider().Tracer("t").Start(context.Background(), "x"); ok.IsRecording() {
		t.Error("without an endpoint the tracer records spans")
	}

	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "X-Tenant=t1") // read by the exporter itself
	on, err := New(context.Background(), env(map[string]string{EnvEndpoint: srv.URL}))
	if err != nil || !on.Enabled() || !on.Azure().NewTracer("aztables", "v1").Enabled() {
		t.Fatalf("with %s: enabled %v (%v)", EnvEndpoint, on.Enabled(), err)
	}
	_, span := on.Provider().Tracer("t").Start(context.Background(), "exported-span")
	span.End()
	if err := on.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff([]string{"POST /v1/traces application/x-protobuf t1"}, got); d != "" {
		t.Errorf("requests to the OTLP endpoint (-want +got):\n%s", d)
	}
}

// Settings that would silently export nothing stop start-up instead; OTEL_SDK_DISABLED wins.
func TestSettings(t *testing.T) {
	if _, err := New(context.Background(), env(map[string]string{EnvEndpoint: "http://127.0.0.1:4318", EnvProtocol: "grpc"})); err == nil ||
		!strings.Contains(err.Error(), EnvProtocol) {
		t.Errorf("protocol grpc: %v, want an error naming %s", err, EnvProtocol)
	}
	tr, err := New(context.Background(), env(map[string]string{EnvEndpoint: "http://127.0.0.1:4318", EnvSDKDisabled: "true"}))
	if err != nil || tr.Enabled() {
		t.Errorf("%s=true: enabled %v (%v)", EnvSDKDisabled, tr.Enabled(), err)
	}
}

// Traceparent and SpanContext are inverse: a context's span context is written as the W3C header.
func TestTraceparentRoundTrip(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	sc := SpanContext(tp)
	if !sc.IsValid() {
		t.Fatalf("SpanContext(%q) is not valid", tp)
	}
	if got := Traceparent(trace.ContextWithSpanContext(context.Background(), sc)); got != tp {
		t.Errorf("Traceparent = %q, want %q", got, tp)
	}
	if got := Traceparent(context.Background()); got != "" {
		t.Errorf("Traceparent of a context without a span = %q, want empty", got)
	}
	if SpanContext("not-a-traceparent").IsValid() {
		t.Error("a malformed traceparent parsed as valid")
	}
}

// Records below Warn go to stdout, the others to stderr, each a JSON line whose text holds the
// word the host keys the level on: "warn" for Warning, "error" for Error
// (host src/WebJobs.Script/Workers/ProcessManagement/WorkerProcess.cs, ParseErrorMessageAndLog).
func TestConsoleHandlerSplitsByLevel(t *testing.T) {
	var stdout, stderr bytes.Buffer
	log := slog.New(ConsoleHandler(&stdout, &stderr)).With("function", "OutboxRelay")
	log.Info("invocation", "outcome", "published=3")
	log.Warn("relay: events pending in the outbox longer than 10m0s")
	log.Error("invocation", "outcome", "transient")
	lines := func(b *bytes.Buffer) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Fatalf("not a JSON line: %q", l)
			}
			out = append(out, rec["level"].(string)+" "+rec["function"].(string))
		}
		return out
	}
	if d := cmp.Diff([]string{"INFO OutboxRelay"}, lines(&stdout)); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"WARN OutboxRelay", "ERROR OutboxRelay"}, lines(&stderr)); d != "" {
		t.Errorf("stderr (-want +got):\n%s", d)
	}
	errLines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if !strings.Contains(strings.ToLower(errLines[0]), "warn") || strings.Contains(strings.ToLower(errLines[1]), "warn") ||
		!strings.Contains(strings.ToLower(errLines[1]), "error") {
		t.Errorf("the host would not read these levels: %q", errLines)
	}
}
