package devhost

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/invoke"
)

// benchRunner serves the six test functions through the project's host adapter.
func benchRunner(b *testing.B, fns invoke.Functions) (*Runner, *httptest.Server) {
	b.Helper()
	defs, err := LoadFunctions(writeApp(b, testApp), testEnv)
	if err != nil {
		b.Fatal(err)
	}
	r, err := New(defs, &Options{Clock: clock.NewManual(start), Logger: quiet, ManualTimers: true})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(context.Background(), invoke.NewServer(fns, &invoke.ServerOptions{Logger: quiet}), nil); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(r)
	b.Cleanup(func() { srv.Close(); _ = r.Close() })
	return r, srv
}

// BenchmarkAdminRoundTrip measures one /api/v1 request: client → runner → envelope → adapter →
// handler → res output → client.
func BenchmarkAdminRoundTrip(b *testing.B) {
	_, srv := benchRunner(b, invoke.Functions{HTTP: map[string]http.Handler{"Admin": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"items":[]}`)
	})}})
	client := srv.Client()
	for b.Loop() {
		res, err := client.Get(srv.URL + "/api/v1/clusters?limit=10")
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}

// BenchmarkQueueDelivery measures enqueue → delivery → completion of one message.
func BenchmarkQueueDelivery(b *testing.B) {
	done := make(chan struct{}, 1024)
	r, _ := benchRunner(b, invoke.Functions{Queues: map[string]invoke.QueueHandler{
		"MachineEvents": func(context.Context, invoke.Message) (string, error) { done <- struct{}{}; return "updated", nil },
	}})
	body := []byte(`{"type":"Sync","clusterId":"6f1c1a52-6f7e-4a5e-9a43-2d1f0c0b9e11","machine":"node1"}`)
	for b.Loop() {
		if _, err := r.Enqueue("machine-events", Message{Body: body}); err != nil {
			b.Fatal(err)
		}
		<-done
	}
}
