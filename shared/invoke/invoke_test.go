package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends an envelope like the host: POST /{fn}, JSON, invocation ID and traceparent headers.
func post(t *testing.T, h http.Handler, fn string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/"+fn, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(HeaderInvocationID, "inv-1")
	r.Header.Set(HeaderTraceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// reply is the body the host expects from every invocation.
type reply struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

func decodeReply(t *testing.T, w *httptest.ResponseRecorder) reply {
	t.Helper()
	var rep reply
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("reply is not JSON: %q", w.Body.String())
	}
	if rep.Outputs == nil {
		t.Fatalf("reply has no Outputs object: %s", w.Body.String())
	}
	return rep
}

func queueServer(got *Message, outcome string, err error) http.Handler {
	return NewServer(Functions{Queues: map[string]QueueHandler{
		"RegistrationRequests": func(_ context.Context, m Message) (string, error) { *got = m; return outcome, err },
	}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
}

func TestQueueDoubleEncoded(t *testing.T) {
	var m Message
	w := post(t, queueServer(&m, "created", nil), "RegistrationRequests", fixture(t, "servicebus-double.json"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	decodeReply(t, w)
	if string(m.Body) != `{"type":"Register","clusterId":"6f1c0e52-3a8e-4a35-9a43-1b7f0a4c2d11","clusterName":"hci-01"}` {
		t.Fatalf("body %q", m.Body)
	}
	want := time.Date(2026, 5, 1, 10, 0, 0, 5e8, time.UTC)
	if m.MessageID != "msg-1" || m.CorrelationID != "corr-1" || m.LockToken != "lock-1" || m.ContentType != "application/json" ||
		m.DeliveryCount != 3 || m.SequenceNumber != 9007199254740993 || !m.EnqueuedTime.Equal(want) || m.EnqueuedTime.Location() != time.UTC {
		t.Fatalf("metadata %+v", m)
	}
	if m.ApplicationProperties["source"] != "deployer" {
		t.Fatalf("properties %v", m.ApplicationProperties)
	}
}

func TestQueueSingleEncoded(t *testing.T) {
	var m Message
	w := post(t, queueServer(&m, "unchanged", nil), "RegistrationRequests", fixture(t, "servicebus-single.json"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if !strings.HasPrefix(string(m.Body), `{"type":"Register"`) || m.MessageID != "msg-2" || m.CorrelationID != "corr-2" ||
		m.DeliveryCount != 2 || m.SequenceNumber != 5 || !m.EnqueuedTime.Equal(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("message %+v", m)
	}
	if m.ApplicationProperties["legacy"] != true {
		t.Fatalf("UserProperties not used as application properties: %v", m.ApplicationProperties)
	}
}

// Body fields named like system keys leak into Metadata: those keys are not trusted.
func TestQueueLeakedBodyFieldsNotTrusted(t *testing.T) {
	var m Message
	w := post(t, queueServer(&m, "rejected", nil), "RegistrationRequests", fixture(t, "servicebus-double-leaked.json"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if m.DeliveryCount != 0 || m.MessageID != "" {
		t.Fatalf("trusted a leaked key: deliveryCount %d messageId %q", m.DeliveryCount, m.MessageID)
	}
	if m.CorrelationID != "corr-42" || m.SessionID != "s-1" || m.Subject != "Sync" || m.SequenceNumber != 17 {
		t.Fatalf("unshadowed keys lost: %+v", m)
	}
	var body map[string]any
	if err := json.Unmarshal(m.Body, &body); err != nil || body["type"] != "Sync" {
		t.Fatalf("body %q", m.Body)
	}
}

// A body field named like a string system key whose Metadata value differs from the body's was
// not copied over it: the host's value is kept (a message carrying its own "messageId" keeps its
// idempotency key). A number is reformatted by the host, so its twin stays untrusted.
func TestQueueSystemKeyDifferentFromBodyTrusted(t *testing.T) {
	var env struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}
	if err := json.Unmarshal(fixture(t, "servicebus-double-leaked.json"), &env); err != nil {
		t.Fatal(err)
	}
	env.Metadata["MessageId"] = json.RawMessage(`"\"real-1\""`)
	env.Metadata["DeliveryCount"] = json.RawMessage(`"3"`)
	b, _ := json.Marshal(env)
	var m Message
	if w := post(t, queueServer(&m, "updated", nil), "RegistrationRequests", b); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if m.MessageID != "real-1" || m.DeliveryCount != 0 {
		t.Fatalf("messageId %q deliveryCount %d, want real-1 and 0", m.MessageID, m.DeliveryCount)
	}
}

// A text body is passed through unwrapped; its rejection is the domain's, answered 2xx.
func TestQueueTextBodyPassedThrough(t *testing.T) {
	var m Message
	w := post(t, queueServer(&m, "rejected", nil), "RegistrationRequests", fixture(t, "servicebus-text.json"))
	if w.Code != http.StatusOK || string(m.Body) != "hello world" || m.MessageID != "msg-3" {
		t.Fatalf("status %d body %q id %q", w.Code, m.Body, m.MessageID)
	}
	rep := decodeReply(t, w)
	if len(rep.Logs) != 1 || !strings.Contains(rep.Logs[0], "rejected") {
		t.Fatalf("logs %v", rep.Logs)
	}
}

func TestQueueTransientIs500(t *testing.T) {
	var m Message
	w := post(t, queueServer(&m, "", errors.New("storage unavailable")), "RegistrationRequests", fixture(t, "servicebus-double.json"))
	if w.Code != http.StatusInternalServerError || !json.Valid(w.Body.Bytes()) || strings.Contains(w.Body.String(), "storage unavailable") {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
}

func TestPanicIsTransient(t *testing.T) {
	h := NewServer(Functions{Queues: map[string]QueueHandler{
		"MachineEvents": func(context.Context, Message) (string, error) { panic("boom") },
	}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	w := post(t, h, "MachineEvents", fixture(t, "servicebus-single.json"))
	if w.Code != http.StatusInternalServerError || !json.Valid(w.Body.Bytes()) {
		t.Fatalf("status %d body %s", w.Code, w.Body)
	}
}

func TestMalformedEnvelopeIsNon2xx(t *testing.T) {
	var m Message
	h := queueServer(&m, "created", nil)
	for name, body := range map[string]string{
		"not JSON":       `{"Data":`,
		"no binding":     `{"Data":{"msg":"x"},"Metadata":{}}`,
		"not an object":  `[1,2]`,
		"wrong function": ``,
	} {
		fn := "RegistrationRequests"
		if name == "wrong function" {
			fn = "Nope"
		}
		w := post(t, h, fn, []byte(body))
		if w.Code < 400 || !json.Valid(w.Body.Bytes()) {
			t.Errorf("%s: status %d body %s", name, w.Code, w.Body)
		}
	}
}

func timerServer(got *Timer) http.Handler {
	return NewServer(Functions{Timers: map[string]TimerHandler{
		"OrphanSweep": func(ctx context.Context, tk Timer) (string, error) {
			if InvocationID(ctx) != "inv-1" {
				return "", errors.New("no invocation ID in context")
			}
			*got = tk
			return "swept", nil
		},
	}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
}

func TestTimer(t *testing.T) {
	var tk Timer
	w := post(t, timerServer(&tk), "OrphanSweep", fixture(t, "timer.json"))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	decodeReply(t, w)
	if !tk.IsPastDue || !tk.Next.Equal(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)) || tk.LastUpdated.Nanosecond() != 1234500 {
		t.Fatalf("timer %+v", tk)
	}
}

func TestTimerNullScheduleStatus(t *testing.T) {
	tk := Timer{IsPastDue: true}
	w := post(t, timerServer(&tk), "OrphanSweep", fixture(t, "timer-null-status.json"))
	if w.Code != http.StatusOK || tk.IsPastDue || !tk.Last.IsZero() || !tk.Next.IsZero() {
		t.Fatalf("status %d timer %+v", w.Code, tk)
	}
}

type seen struct {
	method, uri, host, body, principal, accept, ctype string
	clen                                              int64
}

func httpServer(got *seen, status int, ctype string, body []byte) http.Handler {
	return NewServer(Functions{HTTP: map[string]http.Handler{
		"Admin": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			*got = seen{r.Method, r.URL.RequestURI(), r.Host, string(b), r.Header.Get("X-Ms-Client-Principal"),
				strings.Join(r.Header.Values("Accept"), "|"), r.Header.Get("Content-Type"), r.ContentLength}
			w.Header().Set("Content-Type", ctype)
			w.WriteHeader(status)
			_, _ = w.Write(body)
		}),
	}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
}

func resOutput(t *testing.T, w *httptest.ResponseRecorder) (status int, headers map[string]string, body string) {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("host reply status %d: %s", w.Code, w.Body)
	}
	var rep struct {
		Outputs struct {
			Res struct {
				StatusCode json.RawMessage   `json:"statusCode"`
				Headers    map[string]string `json:"headers"`
				Body       json.RawMessage   `json:"body"`
			} `json:"res"`
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	res := rep.Outputs.Res
	if err := json.Unmarshal(res.StatusCode, &status); err != nil {
		t.Fatalf("res.statusCode %s is not a number: the host would answer 200", res.StatusCode)
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		t.Fatalf("res.body %s is not a JSON string: the host would re-serialize it", res.Body)
	}
	return status, res.Headers, body
}

func TestHTTPRequestAndJSONResponse(t *testing.T) {
	var got seen
	h := httpServer(&got, http.StatusConflict, "application/problem+json", []byte(`{"code":"NotRegistered"}`))
	status, headers, body := resOutput(t, post(t, h, "Admin", fixture(t, "http.json")))
	want := seen{"POST", "/api/v1/clusters/abc/unregister?dryRun=true", "registrar.example", `{"messageIds": ["m1"]}`,
		"eyJ9", "application/json|text/plain", "application/json", 22}
	if got != want {
		t.Fatalf("request\n got %+v\nwant %+v", got, want)
	}
	if status != http.StatusConflict || headers["Content-Type"] != "application/problem+json; charset=utf-8" || body != `{"code":"NotRegistered"}` {
		t.Fatalf("res %d %v %s", status, headers, body)
	}
}

// A text body goes as the JSON string of its exact text, never base64: the host writes an http
// output's string body as it is (docs/architecture.md).
func TestHTTPOldQueryStringAndTextBody(t *testing.T) {
	var got seen
	page := "<!doctype html><p>fleet & caf\u00e9</p>"
	h := httpServer(&got, http.StatusOK, "text/html; charset=utf-8", []byte(page))
	status, headers, body := resOutput(t, post(t, h, "Admin", fixture(t, "http-old-query.json")))
	if got.method != "GET" || got.uri != "/api/v1/clusters" || got.body != "" || got.clen != 0 {
		t.Fatalf("request %+v", got)
	}
	if status != 200 || body != page || headers["Content-Type"] != "text/html; charset=utf-8" {
		t.Fatalf("res %d %q %q, want 200, the page's exact text and its Content-Type", status, body, headers["Content-Type"])
	}
}

// Query from the Query object when Url carries none.
func TestHTTPQueryObject(t *testing.T) {
	var got seen
	h := httpServer(&got, 200, "application/json", []byte(`[]`))
	env := `{"Data":{"req":{"Url":"http://h/api/v1/clusters","Method":"GET","Query":{"limit":"5"},"Headers":{}}},"Metadata":{}}`
	status, _, body := resOutput(t, post(t, h, "Admin", []byte(env)))
	if got.uri != "/api/v1/clusters?limit=5" || status != 200 || body != "[]" {
		t.Fatalf("uri %q status %d body %s", got.uri, status, body)
	}
}

// The host sends chunked envelopes without Content-Length; large ones (2 MiB+) are read whole.
func TestChunkedLargeEnvelope(t *testing.T) {
	var m Message
	srv := httptest.NewServer(queueServer(&m, "rejected", nil))
	defer srv.Close()
	big := strings.Repeat("x", 3<<20)
	raw, _ := json.Marshal(map[string]any{"Data": map[string]string{"message": string(mustJSON(big))}, "Metadata": map[string]string{"MessageId": `"big"`}})
	pr, pw := io.Pipe()
	go func() { _, _ = pw.Write(raw); _ = pw.Close() }()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/RegistrationRequests", pr)
	req.ContentLength = -1
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || len(m.Body) != len(big) || m.MessageID != "big" {
		t.Fatalf("status %d body %d id %q", resp.StatusCode, len(m.Body), m.MessageID)
	}
}

func TestEnvelopeOverCapIsRefused(t *testing.T) {
	h := NewServer(Functions{Queues: map[string]QueueHandler{"Q": func(context.Context, Message) (string, error) { return "x", nil }}},
		&ServerOptions{Logger: slog.New(slog.DiscardHandler), MaxEnvelopeBytes: MinEnvelopeBytes})
	raw, _ := json.Marshal(map[string]any{"Data": map[string]string{"message": strings.Repeat("y", MinEnvelopeBytes+10)}})
	if w := post(t, h, "Q", raw); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", w.Code)
	}
}

func TestReadinessAndUnknownRoutes(t *testing.T) {
	h := NewServer(Functions{}, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != 200 || !json.Valid(w.Body.Bytes()) {
		t.Fatalf("GET / = %d", w.Code)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/Admin", nil))
	if w.Code < 400 {
		t.Fatalf("GET /Admin = %d", w.Code)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

// One JSON log line per invocation, with the invocation's identifiers and never the payload.
func TestOneLogLinePerInvocation(t *testing.T) {
	var buf lockedBuffer
	h := NewServer(Functions{Queues: map[string]QueueHandler{
		"RegistrationRequests": func(context.Context, Message) (string, error) { return "created", nil },
	}}, &ServerOptions{Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	post(t, h, "RegistrationRequests", fixture(t, "servicebus-double.json"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d log lines: %s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"function": "RegistrationRequests", "invocationId": "inv-1", "messageId": "msg-1",
		"correlationId": "corr-1", "deliveryCount": 3.0, "outcome": "created",
		"traceId": "0af7651916cd43dd8448eb211c80319c"} {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v", k, rec[k], v)
		}
	}
	if _, ok := rec["durationMs"].(float64); !ok {
		t.Errorf("no durationMs: %v", rec)
	}
	if strings.Contains(lines[0], "hci-01") {
		t.Errorf("payload logged: %s", lines[0])
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// A body field naming a reformatted system key (a time, a number) makes it untrusted even when
// the host's copy is written differently: a sender cannot set its own enqueue time.
func TestQueueBodyCannotSetTheEnqueueTime(t *testing.T) {
	body := `{"type":"Sync","EnqueuedTimeUtc":"2030-01-01T00:00:00Z","EnqueuedTime":"2030-01-01T00:00:00Z","DeliveryCount":"1"}`
	env := `{"Data":{"message":` + strconv.Quote(body) + `},"Metadata":{"MessageId":"m-1",` +
		`"EnqueuedTimeUtc":"2030-01-01T00:00:00","EnqueuedTime":"2030-01-01T00:00:00+00:00","DeliveryCount":1}}`
	var m Message
	if w := post(t, queueServer(&m, "updated", nil), "RegistrationRequests", []byte(env)); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if !m.EnqueuedTime.IsZero() || m.DeliveryCount != 0 || m.MessageID != "m-1" {
		t.Fatalf("enqueued %v, deliveryCount %d, messageId %q: want zero, 0 and m-1", m.EnqueuedTime, m.DeliveryCount, m.MessageID)
	}
}
