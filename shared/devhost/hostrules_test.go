package devhost

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// seenRequest is one request the runner made to the custom handler.
type seenRequest struct {
	Method, Path, RawQuery, Host string
	Header                       http.Header
	Body                         []byte
	ContentLength                int64
	Chunked                      bool
}

// scripted is a custom handler that records every request the runner makes and answers it
// with answer (nil: 200 {"Outputs":{},"Logs":[]} as JSON).
type scripted struct {
	mu     sync.Mutex
	seen   []seenRequest
	answer func(r seenRequest) (int, http.Header, []byte)
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	req := seenRequest{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Host, r.Header.Clone(), b, r.ContentLength,
		len(r.TransferEncoding) > 0 && r.TransferEncoding[0] == "chunked"}
	s.mu.Lock()
	s.seen = append(s.seen, req)
	s.mu.Unlock()
	status, h, body := http.StatusOK, http.Header{"Content-Type": {"application/json"}}, []byte(`{"Outputs":{},"Logs":[]}`)
	if s.answer != nil && r.URL.Path != "/" {
		status, h, body = s.answer(req)
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// requests returns the requests the handler saw so far, the readiness pings (GET /) aside
// unless pings is true.
func (s *scripted) requests(pings bool) []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []seenRequest
	for _, r := range s.seen {
		if pings || r.Path != "/" {
			out = append(out, r)
		}
	}
	return out
}

// last is the last request the handler saw (the readiness pings aside).
func (s *scripted) last(t *testing.T) seenRequest {
	t.Helper()
	all := s.requests(false)
	if len(all) == 0 {
		t.Fatal("the handler saw no request")
	}
	return all[len(all)-1]
}

// resReply answers an envelope invocation with res as the Admin function's res output.
func resReply(res string) func(seenRequest) (int, http.Header, []byte) {
	return func(seenRequest) (int, http.Header, []byte) {
		return 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"Outputs":{"res":` + res + `},"Logs":["done"]}`)
	}
}

// logBuffer collects the runner's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hostRig is a runner (in HTTP mode mode, "" for host.json's) around a scripted handler.
type hostRig struct {
	runner *Runner
	url    string
	h      *scripted
	logs   *logBuffer
}

func newRig(t *testing.T, app map[string]string, hostJSON string, mode HTTPMode, answer func(seenRequest) (int, http.Header, []byte)) *hostRig {
	t.Helper()
	root := writeApp(t, app)
	if hostJSON != "" {
		if err := os.WriteFile(filepath.Join(root, "host.json"), []byte(hostJSON), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fns, err := LoadFunctions(root, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	r, err := New(fns, &Options{HTTPMode: mode, ManualTimers: true, RetryDelay: time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := &scripted{answer: answer}
	if err := r.Start(context.Background(), h, nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(func() { srv.Close(); _ = r.Close() })
	return &hostRig{runner: r, url: srv.URL, h: h, logs: logs}
}

// got is a response as the client received it.
type got struct {
	Status      int
	ContentType string
	Body        string
}

func do(t *testing.T, method, url string, header http.Header, body io.Reader) (got, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := (&http.Client{CheckRedirect: noRedirects}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return got{res.StatusCode, res.Header.Get("Content-Type"), string(b)}, res.Header
}

// envelopeOf decodes the envelope a request carried.
func envelopeOf(t *testing.T, r seenRequest) (data, meta map[string]json.RawMessage) {
	t.Helper()
	var env struct{ Data, Metadata map[string]json.RawMessage }
	if err := json.Unmarshal(r.Body, &env); err != nil {
		t.Fatalf("%s %s: body is not an envelope: %v", r.Method, r.Path, err)
	}
	return env.Data, env.Metadata
}

func want(t *testing.T, what string, wantV, gotV any) {
	t.Helper()
	if d := cmp.Diff(wantV, gotV); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// returnApp has an HTTP function whose http output is $return (dataType binary in returnBinary).
var returnApp = map[string]string{
	"Admin":        `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","route":"v1/{*path}"},{"name":"$return","type":"http","direction":"out"}]}`,
	"ReturnBinary": `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","route":"bin/{*path}"},{"name":"$return","type":"http","direction":"out","dataType":"binary"}]}`,
}

const bothKeys = `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableForwardingHttpRequest":true,"enableProxyingHttpRequest":true}}`

// TestRunnerFollowsTheHostsRules holds the local runner to each rule of the Functions host it
// plays (docs/architecture.md, "What the host really does"). Each row's comment names the host
// source file (github.com/Azure/azure-functions-host, src/WebJobs.Script/ unless said) the rule
// comes from; when a rule turns out wrong, the fix is the runner's code and that one row.
func TestRunnerFollowsTheHostsRules(t *testing.T) {
	rules := []struct {
		name   string
		app    map[string]string // nil: testApp
		host   string            // host.json; "": {"version":"2.0"}
		mode   HTTPMode
		answer func(seenRequest) (int, http.Header, []byte)
		check  func(t *testing.T, rig *hostRig)
	}{
		// Workers/Http/DefaultHttpWorkerService.cs IsWorkerReady: GET / every 25 ms until any answer,
		// before the first invocation.
		{name: "readiness ping before any invocation", check: func(t *testing.T, rig *hostRig) {
			all := rig.h.requests(true)
			if len(all) == 0 || all[0].Method != "GET" || all[0].Path != "/" {
				t.Errorf("first request %+v, want GET /", all)
			}
		}},
		// Workers/HttpScriptInvocationContextExtensions.cs ToHttpRequestMessage: POST /{Function},
		// ObjectContent with the JSON formatter (application/json; charset=utf-8, no Content-Length:
		// chunked); DefaultHttpWorkerService.cs AddHeaders: invocation ID, host version, user agent.
		{name: "envelope request: POST /{Function}, chunked JSON, host headers", check: func(t *testing.T, rig *hostRig) {
			do(t, "GET", rig.url+"/api/v1/clusters", nil, nil)
			r := rig.h.last(t)
			want(t, "envelope request", []string{"POST", "/Admin", "application/json; charset=utf-8", "true", HostVersion, userAgent},
				[]string{r.Method, r.Path, r.Header.Get("Content-Type"), map[bool]string{true: "true", false: "false"}[r.Chunked && r.ContentLength == -1],
					r.Header.Get("X-Azure-Functions-HostVersion"), r.Header.Get("User-Agent")})
			if len(r.Header.Get("X-Azure-Functions-InvocationId")) != 36 {
				t.Errorf("invocation ID %q is not a GUID", r.Header.Get("X-Azure-Functions-InvocationId"))
			}
		}},
		// Workers/ScriptInvocationContextExtensions.cs ToHttpScriptInvocationContext: every string
		// value serialized again (JsonConvert.SerializeObject: encoded twice in the envelope, <>&
		// not escaped); null binding data left out.
		{name: "strings in Data and Metadata encoded twice, no HTML escaping", check: func(t *testing.T, rig *hostRig) {
			if _, err := rig.runner.Enqueue("registration-requests", Message{MessageID: "m<1>", Body: []byte(`a<b>&"c"`)}); err != nil {
				t.Fatal(err)
			}
			r := waitFor(t, rig.h, "/RegistrationRequests")
			data, meta := envelopeOf(t, r)
			want(t, "Data.message and Metadata.MessageId", []string{`"\"a<b>&\\\"c\\\"\""`, `"\"m<1>\""`},
				[]string{string(data["message"]), string(meta["MessageId"])})
			if _, ok := meta["CorrelationId"]; ok {
				t.Error("an absent CorrelationId is in Metadata")
			}
		}},
		// Service Bus extension ServiceBusTriggerBindingStrategy.cs (binding data: DeliveryCount int,
		// EnqueuedTimeUtc DateTime, ...) and WebJobs BindingDataProvider.cs (a JSON body's top-level
		// fields join the binding data, over the system keys), serialized as above.
		{name: "Service Bus metadata: counts as strings, zone-less *Utc, body fields over system keys", check: func(t *testing.T, rig *hostRig) {
			if _, err := rig.runner.Enqueue("machine-events", Message{MessageID: "m-2", Body: []byte(`{"type":"Sync","DeliveryCount":9}`)}); err != nil {
				t.Fatal(err)
			}
			_, meta := envelopeOf(t, waitFor(t, rig.h, "/MachineEvents"))
			var utc string
			_ = json.Unmarshal(meta["EnqueuedTimeUtc"], &utc)
			if _, err := time.Parse("2006-01-02T15:04:05", utc); err != nil {
				t.Errorf("EnqueuedTimeUtc %s is not a zone-less time", meta["EnqueuedTimeUtc"])
			}
			want(t, "Metadata", []string{`"\"9\""`, `"\"Sync\""`}, []string{string(meta["DeliveryCount"]), string(meta["type"])})
		}},
		// azure-webjobs-sdk-extensions Timers/TimerInfo.cs (Schedule, ScheduleStatus, IsPastDue),
		// serialized as an object by ScriptInvocationContextExtensions.cs (JObject.FromObject).
		{name: "timer Data: Schedule, ScheduleStatus null before the first run, IsPastDue", check: func(t *testing.T, rig *hostRig) {
			if err := rig.runner.RunNow("OrphanSweep"); err != nil {
				t.Fatal(err)
			}
			data, _ := envelopeOf(t, waitFor(t, rig.h, "/OrphanSweep"))
			want(t, "Data.timer", `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":null,"IsPastDue":false}`, string(data["timer"]))
		}},
		// Service Bus extension (peek-lock, autoCompleteMessages): a failed invocation abandons the
		// message, which comes back with DeliveryCount + 1 (dead-lettered at the queue's
		// MaxDeliveryCount, 10 by default: TestFailedDeliveriesAreRetriedThenDeadLettered).
		{name: "a failed delivery is redelivered with DeliveryCount + 1", answer: func(r seenRequest) (int, http.Header, []byte) {
			if bytes.Contains(r.Body, []byte(`"DeliveryCount":"1"`)) {
				return 500, http.Header{"Content-Type": {"application/json"}}, []byte(`{}`)
			}
			return 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"Outputs":{}}`)
		}, check: func(t *testing.T, rig *hostRig) {
			if _, err := rig.runner.Enqueue("registration-requests", Message{MessageID: "m-3", Body: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			var counts []string
			for len(counts) < 2 {
				counts = nil
				for _, r := range rig.h.requests(false) {
					if r.Path == "/RegistrationRequests" {
						_, meta := envelopeOf(t, r)
						counts = append(counts, string(meta["DeliveryCount"]))
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			want(t, "DeliveryCount of each delivery", []string{`"1"`, `"2"`}, counts)
		}},
		// Extensions/HttpRequestExtensions.cs GetRequestAsJObject: Url, Method, Query object, Headers
		// (name → array), Params, Identities; Body only with a Content-Length, base64 for
		// application/octet-stream and multipart/*.
		{name: "HTTP Data.req: body only with a Content-Length, base64 for octet-stream", check: func(t *testing.T, rig *hostRig) {
			bodies := map[string]string{}
			for name, c := range map[string]struct {
				ct      string
				body    io.Reader
				chunked bool
			}{"sized JSON": {"application/json", strings.NewReader(`{"a":1}`), false},
				"chunked": {"application/json", io.MultiReader(strings.NewReader(`{"a":1}`)), true},
				"octet":   {"application/octet-stream", strings.NewReader("\x00\x01"), false}} {
				do(t, "POST", rig.url+"/api/v1/x?q=1&q=2", http.Header{"Content-Type": {c.ct}}, c.body)
				data, _ := envelopeOf(t, rig.h.last(t))
				var req struct {
					URL   string `json:"Url"`
					Query map[string]string
					Body  *string
				}
				_ = json.Unmarshal(data["req"], &req)
				bodies[name] = "<absent>"
				if req.Body != nil {
					bodies[name] = *req.Body
				}
				if req.Query["q"] != "1,2" || !strings.HasSuffix(req.URL, "/api/v1/x?q=1&q=2") {
					t.Errorf("%s: Url %q Query %v", name, req.URL, req.Query)
				}
			}
			want(t, "Data.req.Body", map[string]string{"sized JSON": `{"a":1}`, "chunked": "<absent>", "octet": "AAE="}, bodies)
		}},
		// Workers/Http/DefaultHttpWorkerService.cs ProcessDefaultInvocationRequest: a non-2xx reply fails
		// the invocation (EnsureSuccessStatusCode) before Outputs and Logs are read.
		{name: "non-2xx reply fails the invocation; its Logs are dropped", answer: func(seenRequest) (int, http.Header, []byte) {
			return 500, http.Header{"Content-Type": {"application/json"}}, []byte(`{"Outputs":{"res":{"statusCode":200,"body":"x"}},"Logs":["dropped-line"]}`)
		}, check: func(t *testing.T, rig *hostRig) {
			g, _ := do(t, "GET", rig.url+"/api/v1/x", nil, nil)
			if g.Status != 500 || strings.Contains(rig.logs.String(), "dropped-line") {
				t.Errorf("status %d, logs %q: want 500 and the reply's Logs dropped", g.Status, rig.logs.String())
			}
		}},
		// Workers/Http/DefaultHttpWorkerService.cs GetHttpScriptInvocationResult: ReadAsAsync with the
		// JSON formatters only (application/json, text/json).
		{name: "2xx reply of another content type fails the invocation", answer: func(seenRequest) (int, http.Header, []byte) {
			return 200, http.Header{"Content-Type": {"text/plain"}}, []byte(`{"Outputs":{"res":{"statusCode":200,"body":"x"}}}`)
		}, check: func(t *testing.T, rig *hostRig) {
			if g, _ := do(t, "GET", rig.url+"/api/v1/x", nil, nil); g.Status != 500 {
				t.Errorf("status %d, want 500", g.Status)
			}
		}},
		// Workers/Http/DefaultHttpWorkerService.cs ProcessDefaultInvocationRequest: a null result sets
		// no result, so the invocation waits until functionTimeout; the runner fails it at once.
		{name: "2xx reply with an empty body never completes", answer: func(seenRequest) (int, http.Header, []byte) {
			return 200, http.Header{"Content-Type": {"application/json"}}, nil
		}, check: func(t *testing.T, rig *hostRig) {
			g, _ := do(t, "GET", rig.url+"/api/v1/x", nil, nil)
			if g.Status != 500 || !strings.Contains(rig.logs.String(), "functionTimeout") {
				t.Errorf("status %d, logs %q", g.Status, rig.logs.String())
			}
		}},
		// Workers/Http/DefaultHttpWorkerService.cs ProcessLogsFromHttpResponse: each Logs entry logged at
		// Information with the invocation.
		{name: "Logs of a 2xx reply are logged at Information", answer: resReply(`{"statusCode":200}`), check: func(t *testing.T, rig *hostRig) {
			do(t, "GET", rig.url+"/api/v1/x", nil, nil)
			if !strings.Contains(rig.logs.String(), "level=INFO msg=done") {
				t.Errorf("logs %q lack the reply's line at INFO", rig.logs.String())
			}
		}},
		// Workers/Http/HttpOutputBindingResponse.cs (StatusCode is a string) and
		// Binding/Http/HttpBinding.cs TryParseStatusCode.
		{name: "statusCode as a number", answer: resReply(`{"statusCode":201,"body":"x"}`), check: status(201)},
		{name: "statusCode as a string", answer: resReply(`{"statusCode":"202","body":"x"}`), check: status(202)},
		{name: "status alone is ignored: 200", answer: resReply(`{"status":404,"body":"x"}`), check: status(200)},
		{name: "a statusCode that is not an integer: 200", answer: resReply(`{"statusCode":"teapot","body":"x"}`), check: status(200)},
		// Workers/Http/HttpScriptInvocationResultExtensions.cs GetOutputValue: an http output not named
		// $return skips GetBindingValue (no base64); Binding/Http/RawScriptResult.cs writes a string
		// with the string formatter.
		{name: "a string body is written as it is, never base64-decoded", answer: resReply(`{"statusCode":200,"body":"PGI+aGk8L2I+"}`),
			check: body(got{200, "text/plain; charset=utf-8", "PGI+aGk8L2I+"})},
		// Binding/Http/RawScriptResult.cs WriteResponseBodyAsync: no formatter for a JObject, so
		// content.ToString(): indented JSON.
		{name: "an object body is re-serialized as indented JSON", answer: resReply(`{"statusCode":200,"headers":{"Content-Type":"application/json"},"body":{"a":1,"b":[true]}}`),
			check: body(got{200, "application/json; charset=utf-8", "{\n  \"a\": 1,\n  \"b\": [\n    true\n  ]\n}"})},
		// Binding/Http/RawScriptResult.cs: the string formatter's media type when none is given; a
		// given Content-Type gets the formatter's charset (ASP.NET TextOutputFormatter).
		{name: "no Content-Type: text/plain; charset=utf-8", answer: resReply(`{"statusCode":200,"body":"<p>"}`),
			check: body(got{200, "text/plain; charset=utf-8", "<p>"})},
		{name: "a given Content-Type gets charset=utf-8", answer: resReply(`{"statusCode":200,"headers":{"content-type":"text/html"},"body":"<p>"}`),
			check: body(got{200, "text/html; charset=utf-8", "<p>"})},
		{name: "a Content-Type with charset=utf-8 is kept", answer: resReply(`{"statusCode":200,"headers":{"Content-Type":"text/css; charset=utf-8"},"body":"p{}"}`),
			check: body(got{200, "text/css; charset=utf-8", "p{}"})},
		// Binding/Http/RawScriptResult.cs ExecuteResultAsync: header.Value.ToString().
		{name: "header values are written as text", answer: resReply(`{"statusCode":200,"headers":{"X-N":5,"X-B":true,"X-S":"a, b"},"body":""}`),
			check: func(t *testing.T, rig *hostRig) {
				_, h := do(t, "GET", rig.url+"/api/v1/x", nil, nil)
				want(t, "headers", []string{"5", "True", "a, b"}, []string{h.Get("X-N"), h.Get("X-B"), h.Get("X-S")})
			}},
		{name: "an array header value cannot be written: 500", answer: resReply(`{"statusCode":200,"headers":{"X-A":["a","b"]},"body":""}`), check: status(500)},
		// Workers/Http/HttpScriptInvocationResultExtensions.cs GetHttpOutputBindingResponse: an absent
		// output is an empty response object, which RawScriptResult.cs serializes: {}.
		{name: "no res output: 200 with the text {}", answer: func(seenRequest) (int, http.Header, []byte) {
			return 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"Outputs":{}}`)
		}, check: body(got{200, "text/plain; charset=utf-8", "{}"})},
		// Same file: outputBindingValue.ToString() is parsed, so a string holding the object works.
		{name: "res given as a JSON string holding the object", answer: resReply(`"{\"statusCode\":203,\"body\":\"s\"}"`),
			check: body(got{203, "text/plain; charset=utf-8", "s"})},
		{name: "res that is not an object fails the invocation", answer: resReply(`[1]`), check: status(500)},
		// Workers/Http/HttpScriptInvocationResultExtensions.cs GetBindingValue: $return (and every
		// non-http output) has a valid base64 string decoded, unless dataType is binary; then
		// Binding/Http/HttpBinding.cs writes bytes as they are.
		{name: "$return: a base64 string is decoded", app: returnApp, answer: func(seenRequest) (int, http.Header, []byte) {
			return 200, http.Header{"Content-Type": {"application/json"}}, []byte(`{"Outputs":{},"ReturnValue":"aGVsbG8="}`)
		}, check: func(t *testing.T, rig *hostRig) {
			g, _ := do(t, "GET", rig.url+"/api/v1/x", nil, nil)
			want(t, "$return with base64", got{200, "application/octet-stream", "hello"}, g)
			g, _ = do(t, "GET", rig.url+"/api/bin/x", nil, nil)
			want(t, "$return of a binary binding", got{200, "text/plain; charset=utf-8", "aGVsbG8="}, g)
		}},
		// Extensions/FunctionMetadataExtensions.cs IsHttpInAndOutFunction; Workers/Http/
		// DefaultHttpWorkerService.cs InvokeAsync: proxying first, then forwarding, only for a function
		// with one input (an httpTrigger) and one output (http).
		{name: "forwarding and proxying apply only to one httpTrigger in, one http out", host: bothKeys, check: func(t *testing.T, rig *hostRig) {
			root := writeApp(t, map[string]string{
				"Plain":      testApp["Admin"],
				"WithOutput": `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","route":"w"},{"name":"res","type":"http","direction":"out"},{"name":"q","type":"serviceBus","direction":"out","queueName":"x"}]}`,
			})
			_ = os.WriteFile(filepath.Join(root, "host.json"), []byte(bothKeys), 0o644)
			fns, err := LoadFunctions(root, testEnv)
			if err != nil {
				t.Fatal(err)
			}
			modes := map[string]HTTPMode{}
			for _, f := range fns {
				modes[f.Name] = f.HTTPMode
			}
			want(t, "modes", map[string]HTTPMode{"Plain": HTTPProxy, "WithOutput": HTTPEnvelope}, modes)
			forwardOnly := strings.Replace(bothKeys, `"enableProxyingHttpRequest":true`, `"enableProxyingHttpRequest":false`, 1)
			_ = os.WriteFile(filepath.Join(root, "host.json"), []byte(forwardOnly), 0o644)
			if fns, _ = LoadFunctions(root, testEnv); fns[0].HTTPMode != HTTPForward {
				t.Errorf("forwarding only: %s is %s, want forward", fns[0].Name, fns[0].HTTPMode)
			}
		}},
		// Workers/Http/DefaultHttpWorkerService.cs ProxyInvocationRequest (AddProxyingHeaders: set, not
		// added) and HttpProxyService/DefaultHttpProxyService.cs (YARP's forwarder: path and query
		// as they are, X-Forwarded-*, Host the destination's); the response streams back unchanged.
		{name: "proxying: the request at its own path, the response's bytes unchanged", host: bothKeys,
			answer: func(seenRequest) (int, http.Header, []byte) {
				return 207, http.Header{"Content-Type": {"image/png"}, "X-Own": {"1"}}, []byte("\x89PNG\xff")
			}, check: func(t *testing.T, rig *hostRig) {
				g, h := do(t, "POST", rig.url+"/api/v1/a%2Fb?q=1&q=2", http.Header{"X-Azure-Functions-Invocationid": {"client"}, "Content-Type": {"application/json"}},
					io.MultiReader(strings.NewReader(`{"x":1}`)))
				r := rig.h.last(t)
				want(t, "proxied request", []string{"POST", "/api/v1/a%2Fb", "q=1&q=2", rig.runner.target[len("http://"):], `{"x":1}`, HostVersion, "http"},
					[]string{r.Method, r.Path, r.RawQuery, r.Host, string(r.Body), r.Header.Get("X-Azure-Functions-HostVersion"), r.Header.Get("X-Forwarded-Proto")})
				if ids := r.Header.Values("X-Azure-Functions-InvocationId"); len(ids) != 1 || ids[0] == "client" {
					t.Errorf("invocation IDs %v, want the host's only", ids)
				}
				if r.Header.Get("X-Forwarded-Host") == "" || r.Header.Get("X-Forwarded-For") == "" || r.Header.Get(headerPrincipal) == "" {
					t.Errorf("proxied headers %v lack X-Forwarded-Host/-For or the principal", r.Header)
				}
				want(t, "proxied response", got{207, "image/png", "\x89PNG\xff"}, g)
				if h.Get("X-Own") != "1" {
					t.Error("the handler's own header was not passed back")
				}
			}},
		// Extensions/HttpRequestExtensions.cs ToHttpRequestMessage (query rebuilt from the parsed
		// values; the client's headers; a body only with a Content-Length) and Workers/Http/
		// DefaultHttpWorkerService.cs (GetPathValue: the request's path; AddHeaders: added after the
		// client's; CreateHttpClient: redirects not followed).
		{name: "forwarding: a rebuilt request, the buffered response as it is", host: bothKeys, mode: HTTPForward,
			answer: func(seenRequest) (int, http.Header, []byte) {
				return 302, http.Header{"Location": {"/elsewhere"}, "Content-Type": {"text/plain"}}, []byte("moved")
			}, check: func(t *testing.T, rig *hostRig) {
				g, h := do(t, "POST", rig.url+"/api/v1/a?q=1&q=2&s=a+b", http.Header{"X-Azure-Functions-Invocationid": {"client"}, "Content-Type": {"application/json"}},
					strings.NewReader(`{"x":1}`))
				r := rig.h.last(t)
				want(t, "forwarded request", []string{"POST", "/api/v1/a", "q=1%2C2&s=a%20b", `{"x":1}`, "application/json"},
					[]string{r.Method, r.Path, r.RawQuery, string(r.Body), r.Header.Get("Content-Type")})
				if ids := r.Header.Values("X-Azure-Functions-InvocationId"); len(ids) != 2 || ids[0] != "client" {
					t.Errorf("invocation IDs %v, want the client's, then the host's", ids)
				}
				want(t, "forwarded response (redirect not followed)", got{302, "text/plain", "moved"}, g)
				if h.Get("Location") != "/elsewhere" {
					t.Errorf("Location %q", h.Get("Location"))
				}
				do(t, "POST", rig.url+"/api/v1/a", nil, io.MultiReader(strings.NewReader(`{"chunked":1}`)))
				if r := rig.h.last(t); len(r.Body) != 0 {
					t.Errorf("a chunked request's body was forwarded: %q", r.Body)
				}
			}},
	}
	for _, rule := range rules {
		t.Run(rule.name, func(t *testing.T) {
			app := rule.app
			if app == nil {
				app = testApp
			}
			rule.check(t, newRig(t, app, rule.host, rule.mode, rule.answer))
		})
	}
}

// status checks the status a GET of an Admin route answers.
func status(code int) func(t *testing.T, rig *hostRig) {
	return func(t *testing.T, rig *hostRig) {
		t.Helper()
		if g, _ := do(t, "GET", rig.url+"/api/v1/x", nil, nil); g.Status != code {
			t.Errorf("status %d, want %d (body %q)", g.Status, code, g.Body)
		}
	}
}

// body checks the whole response a GET of an Admin route answers.
func body(w got) func(t *testing.T, rig *hostRig) {
	return func(t *testing.T, rig *hostRig) {
		t.Helper()
		g, _ := do(t, "GET", rig.url+"/api/v1/x", nil, nil)
		want(t, "response", w, g)
	}
}

// waitFor waits for the handler's first request to path.
func waitFor(t *testing.T, h *scripted, path string) seenRequest {
	t.Helper()
	for {
		for _, r := range h.requests(false) {
			if r.Path == path {
				return r
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}
