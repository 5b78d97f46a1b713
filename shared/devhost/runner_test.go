package devhost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
)

// call is one invocation the recording handler received.
type call struct {
	fn     string
	header http.Header
	chunks []string // the request's Transfer-Encoding
	env    struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	}
}

// recorder is a custom handler that records every invocation and answers with answer.
type recorder struct {
	calls   chan call
	pending map[string][]call // received, not yet taken by next; used by the test goroutine only
	answer  func(c call) (status int, body string)
}

func (h *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusOK)
		return
	}
	c := call{fn: strings.TrimPrefix(r.URL.Path, "/"), header: r.Header.Clone(), chunks: r.TransferEncoding}
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &c.env); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	status, body := http.StatusOK, `{"Outputs":{},"Logs":[]}`
	if h.answer != nil {
		status, body = h.answer(c)
	}
	h.calls <- c
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// quiet discards the log lines of runners under test.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var start = time.Date(2026, 1, 1, 0, 0, 30, 0, time.UTC)

// harness starts a runner for the six functions around a recording handler and serves it on
// a free 127.0.0.1 port.
func harness(t *testing.T, h *recorder, opts *Options) (*Runner, *httptest.Server, *clock.Manual) {
	t.Helper()
	if h.calls == nil {
		h.calls = make(chan call, 64)
	}
	fns, err := LoadFunctions(writeApp(t, testApp), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(start)
	o := Options{}
	if opts != nil {
		o = *opts
	}
	o.Clock, o.RetryDelay, o.Logger = clk, time.Millisecond, quiet
	r, err := New(fns, &o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), h, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(func() { srv.Close(); _ = r.Close() })
	return r, srv, clk
}

// next waits for the handler's next invocation of fn, keeping others for later.
func next(t *testing.T, h *recorder, fn string) call {
	t.Helper()
	if h.pending == nil {
		h.pending = map[string][]call{}
	}
	if p := h.pending[fn]; len(p) > 0 {
		h.pending[fn] = p[1:]
		return p[0]
	}
	for c := range h.calls {
		if c.fn == fn {
			return c
		}
		h.pending[c.fn] = append(h.pending[c.fn], c)
	}
	t.Fatal("handler channel closed")
	return call{}
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a JSON string", raw)
	}
	return s
}

func post(t *testing.T, url, body string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestQueueMessageReachesTheHandlerAsTheHostSendsIt(t *testing.T) {
	h := &recorder{}
	_, srv, _ := harness(t, h, nil)
	body := `{"type":"Register","clusterId":"c1","DeliveryCount":99}`
	res := post(t, srv.URL+"/dev/servicebus/registration-requests/messages", body, map[string]string{
		"BrokerProperties": `{"MessageId":"msg-1","CorrelationId":"corr-1","Label":"reg"}`, "Content-Type": "application/json",
	})
	var ack struct{ MessageID string }
	if err := json.NewDecoder(res.Body).Decode(&ack); err != nil || res.StatusCode != http.StatusCreated || ack.MessageID != "msg-1" {
		t.Fatalf("post = %d %+v %v, want 201 msg-1", res.StatusCode, ack, err)
	}
	c := next(t, h, "RegistrationRequests")
	if len(c.chunks) != 1 || c.chunks[0] != "chunked" {
		t.Errorf("Transfer-Encoding = %v, want chunked", c.chunks)
	}
	for _, k := range []string{"X-Azure-Functions-Invocationid", "Traceparent"} {
		if c.header.Get(k) == "" {
			t.Errorf("header %s missing", k)
		}
	}
	if ct := c.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want the host's application/json; charset=utf-8", ct)
	}
	if got := str(t, json.RawMessage(str(t, c.env.Data["message"]))); got != body {
		t.Errorf("Data.message decoded twice = %q, want %q", got, body)
	}
	md := c.env.Metadata
	want := map[string]string{
		"MessageId": `"msg-1"`, "CorrelationId": `"corr-1"`, "Subject": `"reg"`, "ContentType": `"application/json"`,
		"EnqueuedTimeUtc": "2026-01-01T00:00:30", "EnqueuedTime": "2026-01-01T00:00:30+00:00", "SequenceNumber": "1",
		"type": `"Register"`, "DeliveryCount": `"99"`, // body fields leak into Metadata, as on the host
	}
	for k, v := range want {
		if got := str(t, md[k]); got != v {
			t.Errorf("Metadata.%s = %q, want %q", k, got, v)
		}
	}
	if string(md["ApplicationProperties"]) != "{}" {
		t.Errorf("ApplicationProperties = %s, want {}", md["ApplicationProperties"])
	}
}

func TestUnknownQueueAndBadBrokerProperties(t *testing.T) {
	_, srv, _ := harness(t, &recorder{}, nil)
	if res := post(t, srv.URL+"/dev/servicebus/nope/messages", "{}", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown queue: %d, want 404", res.StatusCode)
	}
	res := post(t, srv.URL+"/dev/servicebus/machine-events/messages", "{}", map[string]string{"BrokerProperties": "{"})
	var p struct{ Code string }
	_ = json.NewDecoder(res.Body).Decode(&p)
	if res.StatusCode != http.StatusBadRequest || p.Code != "InvalidBrokerProperties" {
		t.Errorf("bad BrokerProperties: %d %q", res.StatusCode, p.Code)
	}
}

func TestFailedDeliveriesAreRetriedThenDeadLettered(t *testing.T) {
	fail := true
	h := &recorder{answer: func(c call) (int, string) {
		if fail {
			return http.StatusInternalServerError, `{"Outputs":{},"Logs":["transient"]}`
		}
		return http.StatusOK, `{}`
	}}
	r, srv, _ := harness(t, h, nil)
	post(t, srv.URL+"/dev/servicebus/machine-events/messages", `{"type":"Sync"}`, map[string]string{"BrokerProperties": `{"MessageId":"m-9"}`})
	for want := 1; want <= MaxDeliveryCount; want++ {
		c := next(t, h, "MachineEvents")
		if got := str(t, c.env.Metadata["DeliveryCount"]); got != itoa(want) {
			t.Fatalf("delivery %d has DeliveryCount %q", want, got)
		}
		if want == MaxDeliveryCount {
			fail = false // read by the handler only after this delivery's answer: the next call is the replay
		}
	}
	var dls []bus.DeadLetter
	for len(dls) == 0 { // the dead-lettering follows the tenth answer; wait for it
		var err error
		if dls, err = r.DeadLetters(context.Background(), "machine-events", 0, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	d := dls[0]
	if d.MessageID != "m-9" || d.Reason != ReasonMaxDelivery || d.DeliveryCount != MaxDeliveryCount || d.Preview != `{"type":"Sync"}` {
		t.Errorf("dead letter = %+v", d)
	}
	rep, err := r.Replay(context.Background(), "machine-events", []string{"m-9", "other"})
	if err != nil || len(rep.Replayed) != 1 || len(rep.NotFound) != 1 || rep.NotFound[0] != "other" {
		t.Fatalf("Replay = %+v, %v", rep, err)
	}
	c := next(t, h, "MachineEvents")
	if str(t, c.env.Metadata["DeliveryCount"]) != "1" || str(t, c.env.Metadata["MessageId"]) != `"m-9"` {
		t.Errorf("replayed delivery: DeliveryCount %s MessageId %s", c.env.Metadata["DeliveryCount"], c.env.Metadata["MessageId"])
	}
	if dls, _ := r.DeadLetters(context.Background(), "machine-events", 0, 0); len(dls) != 0 {
		t.Errorf("replayed message still dead-lettered: %+v", dls)
	}
	if _, err := r.DeadLetters(context.Background(), "nope", 0, 0); err == nil {
		t.Error("DeadLetters of an unknown queue succeeded")
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

type timerData struct {
	Schedule       struct{ AdjustForDST bool }
	ScheduleStatus *struct{ Last, Next, LastUpdated time.Time }
	IsPastDue      bool
}

func timerOf(t *testing.T, c call) timerData {
	t.Helper()
	var d timerData
	if err := json.Unmarshal(c.env.Data["timer"], &d); err != nil {
		t.Fatalf("Data.timer %s: %v", c.env.Data["timer"], err)
	}
	return d
}

func TestTimerRunOnDemand(t *testing.T) {
	h := &recorder{}
	_, srv, _ := harness(t, h, nil)
	res := post(t, srv.URL+"/admin/functions/OutboxRelay", `{"input":""}`, map[string]string{"Content-Type": "application/json"})
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("run = %d, want 202", res.StatusCode)
	}
	c := next(t, h, "OutboxRelay")
	d := timerOf(t, c)
	if !d.Schedule.AdjustForDST || d.IsPastDue || d.ScheduleStatus != nil {
		t.Errorf("Data.timer = %s", c.env.Data["timer"])
	}
	if !strings.Contains(string(c.env.Metadata["sys"]), `"MethodName":"OutboxRelay"`) {
		t.Errorf("Metadata.sys = %s", c.env.Metadata["sys"])
	}
	if res := post(t, srv.URL+"/admin/functions/Nope", `{"input":""}`, nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown function: %d, want 404", res.StatusCode)
	}
}

func TestMovingTheClockFiresPassedTimersOnce(t *testing.T) {
	h := &recorder{}
	r, srv, _ := harness(t, h, nil)
	res := post(t, srv.URL+"/dev/clock", `{"advance":"1h"}`, nil)
	var now struct{ Now time.Time }
	if err := json.NewDecoder(res.Body).Decode(&now); err != nil || !now.Now.Equal(start.Add(time.Hour)) {
		t.Fatalf("POST /dev/clock = %d %v %v", res.StatusCode, now.Now, err)
	}
	// Each timer fires once, past due; a run asked for afterwards comes next, not a second
	// past-due run, and its ScheduleStatus records the occurrence that fired.
	lastDue := map[string]time.Time{
		"OutboxRelay":       time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC),
		"PolicyExpiryCheck": time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC),
		"OrphanSweep":       time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC),
	}
	for fn, due := range lastDue {
		if d := timerOf(t, next(t, h, fn)); !d.IsPastDue {
			t.Errorf("%s after the move: IsPastDue false", fn)
		}
		if err := r.RunNow(fn); err != nil {
			t.Fatal(err)
		}
		d := timerOf(t, next(t, h, fn))
		if d.IsPastDue || d.ScheduleStatus == nil || !d.ScheduleStatus.Last.Equal(due) {
			t.Errorf("%s run after the move: %+v, want not past due with Last %v", fn, d, due)
		}
	}
	if res := post(t, srv.URL+"/dev/clock", `{"advance":"soon"}`, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("bad advance: %d, want 400", res.StatusCode)
	}
}

func TestManualTimersIgnoreTheMovedClock(t *testing.T) {
	h := &recorder{}
	r, srv, _ := harness(t, h, &Options{ManualTimers: true})
	post(t, srv.URL+"/dev/clock", `{"now":"2026-02-01T00:00:00Z"}`, nil)
	if err := r.RunNow("OrphanSweep"); err != nil {
		t.Fatal(err)
	}
	if d := timerOf(t, next(t, h, "OrphanSweep")); d.IsPastDue || d.ScheduleStatus != nil {
		t.Errorf("first OrphanSweep run = %+v, want the requested run only", d)
	}
}

func TestEventsAreListedOnceOldestFirst(t *testing.T) {
	r, srv, _ := harness(t, &recorder{}, nil)
	at := start
	a := domain.NewEvent("m1", 0, domain.EvClusterRegistered, "c1", "corr", at, nil)
	b := domain.NewEvent("m1", 1, domain.EvArcEnabled, "c1", "", at, nil) // an admin call's: no correlation
	if err := r.Publish(context.Background(), []domain.Event{a}); err != nil {
		t.Fatal(err)
	}
	_ = r.Publish(context.Background(), []domain.Event{a, b}) // a re-publish after a crash
	res, err := http.Get(srv.URL + "/dev/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct{ Items []PublishedEvent }
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 2 || got.Items[0].MessageID != a.ID || got.Items[1].MessageID != b.ID {
		t.Fatalf("events = %+v", got.Items)
	}
	e := got.Items[0]
	if e.Subject != "ClusterRegistered" || e.SessionID != "c1" || e.CorrelationID != "corr" ||
		e.ApplicationProperties["eventType"] != "ClusterRegistered" || e.ApplicationProperties["schemaVersion"] != float64(1) ||
		!strings.Contains(string(e.Body), `"type":"ClusterRegistered"`) {
		t.Errorf("event = %+v", e)
	}
	if got.Items[1].CorrelationID != b.ID {
		t.Errorf("event without a correlation: correlationId %q, want its own ID %s (as on Service Bus)", got.Items[1].CorrelationID, b.ID)
	}
}

// adminReq is the Data.req the handler received.
type adminReq struct {
	URL        string              `json:"Url"`
	Method     string              `json:"Method"`
	Query      map[string]string   `json:"Query"`
	Headers    map[string][]string `json:"Headers"`
	Params     map[string]string   `json:"Params"`
	Body       *string             `json:"Body"`
	Identities []any               `json:"Identities"`
}

func TestAdminRequestsCarryThePrincipal(t *testing.T) {
	h := &recorder{answer: func(c call) (int, string) {
		return http.StatusOK, `{"Outputs":{"res":{"statusCode":"200","headers":{"Content-Type":"application/json"},"body":{"ok":true}}}}`
	}}
	_, srv, _ := harness(t, h, &Options{Roles: []string{"Registrar.Reader"}})

	res, err := http.Get(srv.URL + "/api/v1/clusters/abc?limit=5")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// The host re-serializes an object body, indented, and gives the Content-Type its charset.
	if res.StatusCode != 200 || string(got) != "{\n  \"ok\": true\n}" || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("response = %d %q %v", res.StatusCode, got, res.Header)
	}
	var req adminReq
	c := next(t, h, "Admin")
	if err := json.Unmarshal(c.env.Data["req"], &req); err != nil {
		t.Fatal(err)
	}
	if req.Method != "GET" || req.Params["path"] != "clusters/abc" || req.Query["limit"] != "5" || req.Body != nil ||
		!strings.HasSuffix(req.URL, "/api/v1/clusters/abc?limit=5") || req.Identities == nil {
		t.Errorf("Data.req = %+v", req)
	}
	raw, err := base64.StdEncoding.DecodeString(req.Headers["X-Ms-Client-Principal"][0])
	if err != nil {
		t.Fatalf("local principal is not base64: %v", err)
	}
	var p struct {
		Claims []struct{ Typ, Val string }
	}
	_ = json.Unmarshal(raw, &p)
	roles, name := []string{}, ""
	for _, cl := range p.Claims {
		switch cl.Typ {
		case "roles":
			roles = append(roles, cl.Val)
		case "name":
			name = cl.Val
		}
	}
	if name != "local-operator" || strings.Join(roles, ",") != "Registrar.Reader" {
		t.Errorf("local principal = %s", raw)
	}

	// A caller's own principal passes through unchanged; a body is passed as a string.
	res = post(t, srv.URL+"/api/v1/clusters/abc/repair", `{"x":1}`, map[string]string{"X-MS-CLIENT-PRINCIPAL": "caller-value"})
	if res.StatusCode != 200 {
		t.Fatalf("POST = %d", res.StatusCode)
	}
	c = next(t, h, "Admin")
	_ = json.Unmarshal(c.env.Data["req"], &req)
	if v := req.Headers["X-Ms-Client-Principal"]; len(v) != 1 || v[0] != "caller-value" || req.Body == nil || *req.Body != `{"x":1}` {
		t.Errorf("Data.req = %+v", req)
	}

	// Unknown routes and methods are not the function's.
	dreq, _ := http.NewRequest(http.MethodPut, srv.URL+"/api/v1/clusters", nil)
	if res, err := http.DefaultClient.Do(dreq); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("PUT = %v %v, want 404", res.StatusCode, err)
	}
}

func TestMatchRoute(t *testing.T) {
	cases := []struct {
		route, path string
		ok          bool
		params      map[string]string
	}{
		{"v1/{*path}", "v1/clusters/x", true, map[string]string{"path": "clusters/x"}},
		{"v1/{*path}", "V1", true, map[string]string{}},
		{"v1/{*path}", "v2/x", false, nil},
		{"items/{id}", "items/7", true, map[string]string{"id": "7"}},
		{"items/{id}", "items/7/more", false, nil},
	}
	for _, c := range cases {
		p, ok := matchRoute(c.route, c.path)
		if ok != c.ok || (ok && len(p) != len(c.params)) || (ok && p["path"] != c.params["path"]) || (ok && p["id"] != c.params["id"]) {
			t.Errorf("matchRoute(%q, %q) = %v %v", c.route, c.path, p, ok)
		}
	}
}

func TestRunningAQueueFunctionEnqueuesItsInput(t *testing.T) {
	h := &recorder{}
	_, srv, _ := harness(t, h, nil)
	res := post(t, srv.URL+"/admin/functions/MachineEvents", `{"input":"plain text"}`, nil)
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("run = %d, want 202", res.StatusCode)
	}
	c := next(t, h, "MachineEvents")
	if got := str(t, json.RawMessage(str(t, c.env.Data["message"]))); got != "plain text" {
		t.Errorf("message = %q", got)
	}
	if _, leaked := c.env.Metadata["type"]; leaked || str(t, c.env.Metadata["DeliveryCount"]) != "1" {
		t.Errorf("Metadata of a text body = %v", c.env.Metadata)
	}
	if res := post(t, srv.URL+"/admin/functions/Admin", `{"input":""}`, nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("running the HTTP function = %d, want 400", res.StatusCode)
	}
}

// TestDeadLettersPageBySequenceNumber: dead letters are listed in sequence-number order (not
// the order they were dead-lettered in) from the asked-for sequence number on, max at a time.
func TestDeadLettersPageBySequenceNumber(t *testing.T) {
	fns, err := LoadFunctions(writeApp(t, testApp), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(fns, &Options{Clock: clock.NewManual(start), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	q := r.queues["machine-events"]
	for _, seq := range []int64{5, 2, 9, 3, 7, 1, 8} {
		q.dead = append(q.dead, &Message{MessageID: fmt.Sprint("m", seq), SequenceNumber: seq})
	}
	var got []string
	var sizes []int
	for from := int64(0); ; {
		page, err := r.DeadLetters(context.Background(), "machine-events", from, 3)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page))
		for _, d := range page {
			got = append(got, d.MessageID)
		}
		if len(page) < 3 {
			break
		}
		from = page[len(page)-1].SequenceNumber + 1
	}
	if fmt.Sprint(sizes) != "[3 3 1]" || fmt.Sprint(got) != "[m1 m2 m3 m5 m7 m8 m9]" {
		t.Fatalf("pages %v of %v, want [3 3 1] of m1 m2 m3 m5 m7 m8 m9", sizes, got)
	}
}

// The runner is the Admin API's dead-letter queue locally.
var _ admin.DeadLetterQueue = (*Runner)(nil)
