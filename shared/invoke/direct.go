package invoke

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// direct serves a request the host forwarded or proxied to its own path (host.json's
// enableForwardingHttpRequest, enableProxyingHttpRequest; docs/architecture.md) with the HTTP
// function h: no envelope, the handler's status, headers and body go back to the client as they
// are. The response carries the Content-Type the host would write for the envelope form of the
// same response, so both forms answer the same bytes. One log line per request, as for envelopes.
func (s *server) direct(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := record{function: name, invocationID: invocationID(r.Header), start: time.Now()}
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetName(name) // traced named it after the method: it does not know the route
		}
		tw := &typedWriter{ResponseWriter: w}
		ctx := context.WithValue(r.Context(), ctxKey{}, rec.invocationID)
		_, rec.err = guard(func() (string, error) { h.ServeHTTP(tw, r.WithContext(ctx)); return "", nil })
		switch {
		case rec.err != nil && tw.status == 0:
			// As a failed envelope invocation: the host answers 500 without a body.
			tw.WriteHeader(http.StatusInternalServerError)
			rec.outcome = OutcomeTransient
		case rec.err != nil:
			rec.outcome = OutcomeTransient
		default:
			if tw.status == 0 {
				tw.WriteHeader(http.StatusOK)
			}
			rec.outcome, rec.status = OutcomeAnswered, tw.status
		}
		s.logLine(r.Context(), &rec)
	})
}

// typedWriter gives a direct response the Content-Type the host would write (hostContentType)
// when its header is written.
type typedWriter struct {
	http.ResponseWriter
	status int
}

func (w *typedWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		h := w.ResponseWriter.Header()
		h.Set("Content-Type", hostContentType(h.Get("Content-Type")))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *typedWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer (Flush, deadlines).
func (w *typedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
