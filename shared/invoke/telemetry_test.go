package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The traceparent post sends: its trace ID and span ID.
const (
	hostTraceID = "0af7651916cd43dd8448eb211c80319c"
	hostSpanID  = "b7ad6b7169203331"
)

var duration = regexp.MustCompile(`durationMs=[0-9.]+`)

// logsOf returns the reply's Logs with the durations blanked.
func logsOf(t *testing.T, w *httptest.ResponseRecorder) []string {
	t.Helper()
	var rep reply
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("reply is not JSON: %q", w.Body.String())
	}
	for i, l := range rep.Logs {
		rep.Logs[i] = duration.ReplaceAllString(l, "durationMs=D")
	}
	return rep.Logs
}

// The host attaches a 2xx reply's Logs to the invocation at Information whatever they say
// (host src/WebJobs.Script/Workers/Http/DefaultHttpWorkerService.cs, ProcessLogsFromHttpResponse):
// so every record the function logs with the invocation's context lands there too, its level in
// the text, and the invocation's own line (outcome, identifiers, trace ID) comes last.
func TestLogsCarryTheInvocationsRecordsAndOutcome(t *testing.T) {
	var stdout lockedBuffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&stdout, nil)))
	h := NewServer(Functions{
		Queues: map[string]QueueHandler{"RegistrationRequests": func(ctx context.Context, m Message) (string, error) {
			log.InfoContext(ctx, "message rejected", "code", "InvalidField", "reason", "clusterId is not a GUID")
			log.With("queue", "registration-requests").WarnContext(ctx, "publish after commit failed; the outbox relay will retry", "events", 2)
			log.DebugContext(ctx, "not for the host")
			return "rejected", nil
		}},
		Timers: map[string]TimerHandler{"OutboxRelay": func(ctx context.Context, _ Timer) (string, error) {
			return "published=0", nil
		}},
	}, &ServerOptions{Logger: log})

	got := logsOf(t, post(t, h, "RegistrationRequests", fixture(t, "servicebus-double.json")))
	want := []string{
		`level=INFO msg="message rejected" code=InvalidField reason="clusterId is not a GUID"`,
		`level=WARN msg="publish after commit failed; the outbox relay will retry" queue=registration-requests events=2`,
		`level=INFO msg=invocation function=RegistrationRequests invocationId=inv-1 traceId=` + hostTraceID +
			` messageId=msg-1 correlationId=corr-1 deliveryCount=3 outcome=rejected durationMs=D`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("queue reply Logs (-want +got):\n%s", d)
	}
	got = logsOf(t, post(t, h, "OutboxRelay", fixture(t, "timer.json")))
	want = []string{`level=INFO msg=invocation function=OutboxRelay invocationId=inv-1 traceId=` + hostTraceID +
		` outcome="published=0" durationMs=D`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("timer reply Logs (-want +got):\n%s", d)
	}
	if o := Outcome(got); o != "published=0" {
		t.Errorf("Outcome(timer Logs) = %q, want published=0", o)
	}
	// The process log has the same records as JSON lines (the debug one is below its level).
	if n := strings.Count(stdout.String(), "\n"); n != 4 {
		t.Errorf("process log has %d lines, want 4 (2 records + 2 invocation lines):\n%s", n, stdout.String())
	}
}

// A transient failure answers 500, and the host drops a non-2xx reply's Logs: its record is the
// process's line at ERROR with the error and the trace ID (the host logs a stderr line that says
// "error" at Error, src/WebJobs.Script/Workers/ProcessManagement/WorkerProcess.cs), and the reply
// carries no Logs at all.
func TestTransientFailureIsLoggedAtErrorWithTheTraceID(t *testing.T) {
	var stdout lockedBuffer
	h := NewServer(Functions{Queues: map[string]QueueHandler{
		"RegistrationRequests": func(context.Context, Message) (string, error) {
			return "", errors.New("storage unavailable")
		},
	}}, &ServerOptions{Logger: slog.New(slog.NewJSONHandler(&stdout, nil))})
	w := post(t, h, "RegistrationRequests", fixture(t, "servicebus-double.json"))
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "Logs") {
		t.Fatalf("reply %d %s, want 500 without Logs", w.Code, w.Body.String())
	}
	var line struct{ Level, Msg, Function, TraceID, Outcome, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &line); err != nil {
		t.Fatalf("process log %q: %v", stdout.String(), err)
	}
	want := struct{ Level, Msg, Function, TraceID, Outcome, Error string }{
		"ERROR", "invocation", "RegistrationRequests", hostTraceID, "transient", "storage unavailable"}
	if d := cmp.Diff(want, line); d != "" {
		t.Errorf("process log line (-want +got):\n%s", d)
	}
}

// The handler's context carries the invocation's trace: the host's traceparent's trace ID when it
// sent one; without one a new trace, different for each invocation (tracing off: no span is
// recorded, but the context is valid, so events and logs carry it).
func TestInvocationContextCarriesTheTrace(t *testing.T) {
	var seen []trace.SpanContext
	h := NewServer(Functions{Queues: map[string]QueueHandler{
		"RegistrationRequests": func(ctx context.Context, _ Message) (string, error) {
			seen = append(seen, trace.SpanContextFromContext(ctx))
			return "created", nil
		},
	}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	post(t, h, "RegistrationRequests", fixture(t, "servicebus-double.json"))
	for range 2 {
		r := httptest.NewRequest(http.MethodPost, "/RegistrationRequests", bytes.NewReader(fixture(t, "servicebus-double.json")))
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if len(seen) != 3 {
		t.Fatalf("%d invocations ran, want 3", len(seen))
	}
	if got := seen[0].TraceID().String(); got != hostTraceID {
		t.Errorf("with a traceparent: trace ID %s, want the host's %s", got, hostTraceID)
	}
	if !seen[1].IsValid() || !seen[2].IsValid() || seen[1].TraceID() == seen[2].TraceID() || !seen[1].IsSampled() {
		t.Errorf("without a traceparent: %v and %v, want two new valid, sampled and different traces", seen[1], seen[2])
	}
}

// With an SDK tracer provider each invocation is a server span, child of the host's traceparent,
// named after the function, marked as an error when the invocation fails.
func TestInvocationSpanIsAChildOfTheHostsTraceparent(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var fail bool
	h := NewServer(Functions{Queues: map[string]QueueHandler{
		"RegistrationRequests": func(ctx context.Context, _ Message) (string, error) {
			if fail {
				return "", errors.New("boom")
			}
			return "created", nil
		},
	}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler), TracerProvider: tp})
	post(t, h, "RegistrationRequests", fixture(t, "servicebus-double.json"))
	fail = true
	post(t, h, "RegistrationRequests", fixture(t, "servicebus-double.json"))

	type span struct{ Name, TraceID, ParentID, Kind, Status, Outcome string }
	var got []span
	for _, s := range rec.Ended() {
		outcome := ""
		for _, a := range s.Attributes() {
			if a.Key == attributeOutcome {
				outcome = a.Value.AsString()
			}
		}
		got = append(got, span{s.Name(), s.SpanContext().TraceID().String(), s.Parent().SpanID().String(),
			s.SpanKind().String(), s.Status().Code.String(), outcome})
	}
	want := []span{
		{"RegistrationRequests", hostTraceID, hostSpanID, "server", codes.Unset.String(), "created"},
		{"RegistrationRequests", hostTraceID, hostSpanID, "server", codes.Error.String(), "transient"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("spans (-want +got):\n%s", d)
	}
}

// A reply's Logs are bounded; the last entry says how many were left out.
func TestLogsAreBounded(t *testing.T) {
	log := slog.New(LogHandler(slog.DiscardHandler))
	h := NewServer(Functions{Queues: map[string]QueueHandler{
		"RegistrationRequests": func(ctx context.Context, _ Message) (string, error) {
			for i := range MaxLogs + 10 {
				log.InfoContext(ctx, "step", "i", i)
			}
			return "created", nil
		},
	}}, &ServerOptions{Logger: log})
	got := logsOf(t, post(t, h, "RegistrationRequests", fixture(t, "servicebus-double.json")))
	if len(got) != MaxLogs+1 {
		t.Fatalf("%d Logs entries, want %d", len(got), MaxLogs+1)
	}
	if want := fmt.Sprintf(`level=WARN msg="%d more log entries left out of this reply; see the process log"`, 11); got[MaxLogs] != want {
		t.Errorf("last entry %q, want %q", got[MaxLogs], want)
	}
}

// Each record is one Logs entry, whatever newlines its message, keys or values hold (the text
// form quotes them), and a record logged after the reply was written (by a goroutine that
// outlived its invocation) reaches neither that reply nor the next invocation's.
func TestLogsEntriesStayWithTheirInvocation(t *testing.T) {
	log := slog.New(LogHandler(slog.DiscardHandler))
	late := make(chan context.Context, 1)
	h := NewServer(Functions{Queues: map[string]QueueHandler{
		"RegistrationRequests": func(ctx context.Context, m Message) (string, error) {
			if m.MessageID == "msg-1" {
				log.InfoContext(ctx, "two\nlines", "k\ney", "v\r\nw")
				late <- ctx
				return "created", nil
			}
			return "updated", nil
		},
	}}, &ServerOptions{Logger: log})

	first := logsOf(t, post(t, h, "RegistrationRequests", fixture(t, "servicebus-double.json")))
	log.InfoContext(<-late, "after the reply")
	second := logsOf(t, post(t, h, "RegistrationRequests", fixture(t, "servicebus-single.json")))

	want := []string{`level=INFO msg="two\nlines" "k\ney"="v\r\nw"`,
		`level=INFO msg=invocation function=RegistrationRequests invocationId=inv-1 traceId=` + hostTraceID +
			` messageId=msg-1 correlationId=corr-1 deliveryCount=3 outcome=created durationMs=D`}
	if d := cmp.Diff(want, first); d != "" {
		t.Errorf("first reply's Logs (-want +got):\n%s", d)
	}
	if len(second) != 1 || Outcome(second) != "updated" {
		t.Errorf("second reply's Logs %q, want only its own invocation line", second)
	}
}

// BenchmarkTracing is a queue invocation's cost with tracing off (no-op provider: the trace
// context flows, nothing is recorded) and on (an SDK provider that records every span and drops
// it), with a traceparent from the host.
func BenchmarkTracing(b *testing.B) {
	env := fixture(b, "servicebus-double.json")
	for name, tp := range map[string]trace.TracerProvider{
		"off": nil,
		"on":  sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder())),
	} {
		b.Run(name, func(b *testing.B) {
			h := NewServer(Functions{Queues: map[string]QueueHandler{
				"RegistrationRequests": func(context.Context, Message) (string, error) { return "created", nil },
			}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler), TracerProvider: tp})
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/RegistrationRequests", bytes.NewReader(env))
				r.Header.Set(HeaderTraceparent, "00-"+hostTraceID+"-"+hostSpanID+"-01")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
