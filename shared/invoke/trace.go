package invoke

import (
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of the invocation spans.
const tracerName = "github.com/azlocal/registrar/shared/invoke"

// attributeOutcome is the invocation span's outcome (created, rejected, transient, an HTTP status...).
const attributeOutcome = attribute.Key("registrar.outcome")

// traced starts each request's span (docs/operations.md): its parent is the host's W3C
// traceparent when the request has one, and without one a new trace starts (the SDK's root span
// when tracing is on; when it is off, a fresh trace context with no span recorded). Either way the
// handler's context carries a valid trace context, which the log line and every event committed
// under it carry on. The host's readiness ping (GET /) is not traced.
func traced(tp trace.TracerProvider, next http.Handler) http.Handler {
	tracer := tp.Tracer(tracerName)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := propagation.TraceContext{}.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, spanName(r), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("faas.invocation_id", r.Header.Get(HeaderInvocationID))))
		defer span.End()
		if !span.SpanContext().IsValid() {
			ctx = trace.ContextWithSpanContext(ctx, newTrace())
		}
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
