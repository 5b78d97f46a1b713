package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The floors of the adapter's figures (docs/performance.md): custom handlers as small as
// encoding/json and net/http make them, doing what a working handler must and no more. Each
// decodes the whole envelope into maps of raw values, reads the fields the function needs
// (strings the host may have encoded twice are decoded twice), calls the function and writes the
// reply with json.Marshal. No routing, no log line, no checks beyond what decoding does.

// floorEnvelope is the envelope as encoding/json decodes it most simply.
type floorEnvelope struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
}

// floorReply is the host's reply.
type floorReply struct {
	Outputs     map[string]any
	Logs        []string
	ReturnValue any
}

// floorString is the text of a string the host encoded once or twice (a number's text as it is).
func floorString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	var inner string
	if json.Unmarshal([]byte(s), &inner) == nil {
		return inner
	}
	return s
}

func floorWrite(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// floorQueue is the floor of a Service Bus trigger: the body, MessageId and DeliveryCount.
func floorQueue(fn QueueHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env floorEnvelope
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			floorWrite(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		m := Message{Body: []byte(floorString(env.Data[BindingMessage])), MessageID: floorString(env.Metadata["MessageId"])}
		m.DeliveryCount, _ = strconv.Atoi(floorString(env.Metadata["DeliveryCount"]))
		outcome, err := fn(r.Context(), m)
		if err != nil {
			floorWrite(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		floorWrite(w, http.StatusOK, floorReply{Outputs: map[string]any{}, Logs: []string{outcome}})
	})
}

// floorTimer is the floor of a timer trigger.
func floorTimer(fn TimerHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env floorEnvelope
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			floorWrite(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		var in struct {
			IsPastDue      bool
			ScheduleStatus *struct{ Last, Next, LastUpdated time.Time }
		}
		if err := json.Unmarshal(env.Data[BindingTimer], &in); err != nil {
			floorWrite(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		t := Timer{IsPastDue: in.IsPastDue}
		if in.ScheduleStatus != nil {
			t.Last, t.Next, t.LastUpdated = in.ScheduleStatus.Last, in.ScheduleStatus.Next, in.ScheduleStatus.LastUpdated
		}
		outcome, err := fn(r.Context(), t)
		if err != nil {
			floorWrite(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		floorWrite(w, http.StatusOK, floorReply{Outputs: map[string]any{}, Logs: []string{outcome}})
	})
}

// floorHTTP is the floor of an HTTP trigger: the request rebuilt from Url, Method, Headers and
// Body, the function's response captured and sent as the res output.
func floorHTTP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env floorEnvelope
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			floorWrite(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		var in struct {
			URL     string `json:"Url"`
			Method  string
			Headers map[string][]string
			Body    string
		}
		if err := json.Unmarshal(env.Data[BindingRequest], &in); err != nil {
			floorWrite(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), in.Method, in.URL, bytes.NewReader([]byte(in.Body)))
		if err != nil {
			floorWrite(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		for k, vs := range in.Headers {
			req.Header[http.CanonicalHeaderKey(k)] = vs
		}
		res := &floorRecorder{header: http.Header{}, status: http.StatusOK}
		h.ServeHTTP(res, req)
		headers := make(map[string]string, len(res.header))
		for k, v := range res.header {
			headers[k] = v[0]
		}
		out := map[string]any{"statusCode": res.status, "headers": headers, "body": res.body.String()}
		floorWrite(w, http.StatusOK, floorReply{Outputs: map[string]any{BindingResult: out}, Logs: []string{}})
	})
}

// floorRecorder is the least http.ResponseWriter that captures a response.
type floorRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *floorRecorder) Header() http.Header         { return r.header }
func (r *floorRecorder) WriteHeader(code int)        { r.status = code }
func (r *floorRecorder) Write(p []byte) (int, error) { return r.body.Write(p) }

// The floors do the work the adapter does for the figures' envelopes: the function gets the same
// body, MessageId and DeliveryCount, the same timer, the same request; the HTTP reply carries the
// function's answer. A floor that skipped work would flatter the ratios.
func TestFloorsDecodeWhatTheAdapterDecodes(t *testing.T) {
	type queued struct {
		Body          string
		MessageID     string
		DeliveryCount int
	}
	var msgs []queued
	var timers []Timer
	var reqs []string
	fns := Functions{
		Queues: map[string]QueueHandler{"Q": func(_ context.Context, m Message) (string, error) {
			msgs = append(msgs, queued{string(m.Body), m.MessageID, m.DeliveryCount})
			return "created", nil
		}},
		Timers: map[string]TimerHandler{"T": func(_ context.Context, tk Timer) (string, error) {
			timers = append(timers, tk)
			return "swept", nil
		}},
		HTTP: map[string]http.Handler{"H": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			reqs = append(reqs, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Ms-Client-Principal")+" "+string(b))
			_, _ = io.WriteString(w, adminPage)
		})},
	}
	registrar := NewServer(fns, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	for _, c := range []struct {
		function, fixture string
		floor             http.Handler
	}{
		{"Q", "servicebus-double.json", floorQueue(fns.Queues["Q"])},
		{"Q", "servicebus-single.json", floorQueue(fns.Queues["Q"])},
		{"T", "timer.json", floorTimer(fns.Timers["T"])},
		{"H", "http.json", floorHTTP(fns.HTTP["H"])},
	} {
		for _, h := range []http.Handler{registrar, c.floor} {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/"+c.function, bytes.NewReader(fixture(t, c.fixture))))
			if w.Code != http.StatusOK || (c.function == "H" && !strings.Contains(w.Body.String(), strconv.Quote(adminPage))) {
				t.Errorf("%s: answer %d %s", c.fixture, w.Code, w.Body)
			}
		}
	}
	for _, pair := range [][2]any{{msgs[0], msgs[1]}, {msgs[2], msgs[3]}, {timers[0], timers[1]}, {reqs[0], reqs[1]}} {
		if d := cmp.Diff(pair[0], pair[1]); d != "" {
			t.Errorf("Registrar gave the function one thing, the floor another (-Registrar +floor):\n%s", d)
		}
	}
}
