package invoke

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func benchInvoke(b *testing.B, h http.Handler, fn string, env []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(env)))
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/"+fn, bytes.NewReader(env))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkQueueInvocation is the adapter's cost per Service Bus invocation (decode, dispatch,
// reply, log line), without the domain.
func BenchmarkQueueInvocation(b *testing.B) {
	env := fixture(b, "servicebus-double.json")
	h := NewServer(Functions{Queues: map[string]QueueHandler{
		"RegistrationRequests": func(context.Context, Message) (string, error) { return "created", nil },
	}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	benchInvoke(b, h, "RegistrationRequests", env)
}

// BenchmarkHTTPInvocation is the adapter's cost per Admin invocation (request conversion,
// response capture, res output).
func BenchmarkHTTPInvocation(b *testing.B) {
	env := fixture(b, "http.json")
	h := NewServer(Functions{HTTP: map[string]http.Handler{
		"Admin": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"items":[{"clusterId":"6f1c0e52-3a8e-4a35-9a43-1b7f0a4c2d11"}]}`))
		}),
	}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	benchInvoke(b, h, "Admin", env)
}
