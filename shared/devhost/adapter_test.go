package devhost

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/invoke"
)

// TestTheProjectsHostAdapterReadsTheRunnersEnvelopes drives the real host adapter
// (shared/invoke) through the runner: what the runner sends is what the adapter understands,
// and what the adapter answers comes back to the client as the host would serve it.
func TestTheProjectsHostAdapterReadsTheRunnersEnvelopes(t *testing.T) {
	msgs := make(chan invoke.Message, 16)
	ticks := make(chan invoke.Timer, 4)
	var failures atomic.Int32
	failures.Store(1)
	page := "<!doctype html><title>x</title>\n\x00 caf\u00e9 & <b>"
	fns := invoke.Functions{
		Queues: map[string]invoke.QueueHandler{
			"RegistrationRequests": func(_ context.Context, m invoke.Message) (string, error) {
				msgs <- m
				if failures.Add(-1) >= 0 {
					return "", errors.New("storage unavailable")
				}
				return "created", nil
			},
		},
		Timers: map[string]invoke.TimerHandler{
			"OrphanSweep": func(_ context.Context, tm invoke.Timer) (string, error) { ticks <- tm; return "unchanged", nil },
		},
		HTTP: map[string]http.Handler{"Admin": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/dashboard" {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				_, _ = io.WriteString(w, page)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTeapot)
			_ = json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "principal": r.Header.Get(headerPrincipal)})
		})},
	}
	fnsDef, err := LoadFunctions(writeApp(t, testApp), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(start)
	r, err := New(fnsDef, &Options{Clock: clk, RetryDelay: 1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), invoke.NewServer(fns, &invoke.ServerOptions{Logger: quiet}), nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(func() { srv.Close(); _ = r.Close() })

	body := `{"type":"Register","clusterId":"3f2b","nodes":[{"name":"n1"}]}`
	post(t, srv.URL+"/dev/servicebus/registration-requests/messages", body, map[string]string{
		"BrokerProperties": `{"MessageId":"m-1","CorrelationId":"c-1"}`, "Content-Type": "application/json",
	})
	for want := 1; want <= 2; want++ { // the first delivery fails and is redelivered
		m := <-msgs
		if string(m.Body) != body || m.MessageID != "m-1" || m.CorrelationID != "c-1" || m.DeliveryCount != want ||
			!m.EnqueuedTime.Equal(start) || m.ContentType != "application/json" {
			t.Errorf("delivery %d as the adapter read it: %+v", want, m)
		}
	}

	post(t, srv.URL+"/dev/clock", `{"advance":"2h"}`, nil)
	if tm := <-ticks; !tm.IsPastDue {
		t.Errorf("timer after the clock moved: %+v", tm)
	}

	res, err := http.Get(srv.URL + "/api/v1/clusters/abc")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	_ = json.NewDecoder(res.Body).Decode(&got)
	res.Body.Close()
	if res.StatusCode != http.StatusTeapot || got["path"] != "/api/v1/clusters/abc" || got["principal"] == "" {
		t.Errorf("admin answer: %d %v", res.StatusCode, got)
	}
	res, err = http.Get(srv.URL + "/api/v1/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(raw) != page || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("dashboard = %q (%s), want the exact bytes", raw, res.Header.Get("Content-Type"))
	}
}
