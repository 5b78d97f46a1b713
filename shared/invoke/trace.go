package invoke

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// tracerName is the instrumentation scope of the invocation spans.
const tracerName = "github.com/azlocal/registrar/shared/invoke"

// attributeOutcome is the invocation span's outcome (created, rejected, transient, an HTTP status...).
const attributeOutcome = attribute.Key("registrar.outcome")

// tracing starts each request's span (docs/operations.md): its parent is the host's W3C
// traceparent when the request has one, and without one a new trace starts (the SDK's root span
// when tracing is on; when it is off, a fresh trace context with no span recorded). Either way the
// handler's context carries a valid trace context, which the log line and every event committed
// under it carry on.
type tracing struct {
	tracer trace.Tracer
	off    bool // a no-op provider: no span to start, the trace context is all there is
}

func newTracing(tp trace.TracerProvider) tracing {
	_, off := tp.(noop.TracerProvider)
	return tracing{tracer: tp.Tracer(tracerName), off: off}
}

// start returns ctx with r's trace and the span started for it, named name.
func (t tracing) start(ctx context.Context, r *http.Request, name string) (context.Context, trace.Span) {
	ctx = propagation.TraceContext{}.Extract(ctx, propagation.HeaderCarrier(r.Header))
	span := trace.SpanFromContext(ctx) // the host's, not recording; what a no-op tracer would start
	if !t.off {
		ctx, span = t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("faas.invocation_id", r.Header.Get(HeaderInvocationID))))
	}
	if !span.SpanContext().IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, newTrace())
	}
	return ctx, span
}

// traced runs next with each request's trace (start), the host's readiness ping (GET /) aside.
func (t tracing) traced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			next.ServeHTTP(w, r)
			return
		}
		ctx, span := t.start(r.Context(), r, spanName(r))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// spanName is the function's name for an envelope (POST /{FunctionName}), else the HTTP method
// (a forwarded request, whose route the adapter does not know).
func spanName(r *http.Request) string {
	if p := strings.TrimPrefix(r.URL.Path, "/"); r.Method == http.MethodPost && p != "" && !strings.Contains(p, "/") {
		return p
	}
	return r.Method
}

// newTrace is the context of a new trace: random IDs, sampled (so whoever continues it may
// record it).
func newTrace() trace.SpanContext {
	var tid trace.TraceID
	var sid trace.SpanID
	for !tid.IsValid() || !sid.IsValid() {
		binary.BigEndian.PutUint64(tid[:8], rand.Uint64())
		binary.BigEndian.PutUint64(tid[8:], rand.Uint64())
		binary.BigEndian.PutUint64(sid[:], rand.Uint64())
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
}
