package invoke

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// answer is one response an HTTP function gives, as a client receives it.
type answer struct {
	Status      int
	ContentType string
	Headers     map[string]string // the other headers the handler set
	Body        string
}

// responder answers every request with a.
func responder(a answer, contentTypeSet bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if contentTypeSet {
			w.Header().Set("Content-Type", a.ContentType)
		}
		for k, v := range a.Headers {
			w.Header().Set(k, v)
		}
		if a.Status != 0 {
			w.WriteHeader(a.Status)
		}
		_, _ = io.WriteString(w, a.Body)
	})
}

// The res output carries what the host needs to write exactly the handler's answer: statusCode
// always, a Content-Type with the charset the host would add, the body as the JSON string of its
// text (never base64, never an object the host would re-indent). A forwarded or proxied request
// gets the same status, Content-Type and bytes directly (docs/architecture.md).
func TestEnvelopeAndDirectAnswerTheSameBytes(t *testing.T) {
	cases := []struct {
		name    string
		give    answer
		setType bool
		want    answer
	}{
		{"JSON keeps its exact bytes", answer{200, "application/json", nil, `{"a":1.50,"b":"2026-05-01T10:00:00.000Z"}` + "\n"}, true,
			answer{200, "application/json; charset=utf-8", nil, `{"a":1.50,"b":"2026-05-01T10:00:00.000Z"}` + "\n"}},
		{"problem details", answer{409, "application/problem+json", map[string]string{"Cache-Control": "no-store"}, `{"code":"NotRegistered"}`}, true,
			answer{409, "application/problem+json; charset=utf-8", map[string]string{"Cache-Control": "no-store"}, `{"code":"NotRegistered"}`}},
		{"HTML with its charset", answer{200, "text/html; charset=utf-8", nil, "<!doctype html><p>caf\u00e9 & \"x\"</p>"}, true,
			answer{200, "text/html; charset=utf-8", nil, "<!doctype html><p>caf\u00e9 & \"x\"</p>"}},
		{"another charset is made utf-8", answer{200, "text/css; charset=iso-8859-1", nil, "p{}"}, true,
			answer{200, "text/css; charset=utf-8", nil, "p{}"}},
		{"no Content-Type is text/plain", answer{200, "", nil, "plain"}, false,
			answer{200, "text/plain; charset=utf-8", nil, "plain"}},
		{"no body", answer{204, "", nil, ""}, false,
			answer{204, "text/plain; charset=utf-8", nil, ""}},
		{"a base64-looking text stays text", answer{200, "text/plain", nil, "aGVsbG8="}, true,
			answer{200, "text/plain; charset=utf-8", nil, "aGVsbG8="}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fns := Functions{HTTP: map[string]http.Handler{"Admin": responder(c.give, c.setType)}}
			h := NewServer(fns, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})

			env := `{"Data":{"req":{"Url":"https://registrar.example/api/v1/x","Method":"GET","Headers":{}}},"Metadata":{}}`
			status, headers, body := resOutput(t, post(t, h, "Admin", []byte(env)))
			enveloped := answer{status, headers["Content-Type"], headers, body}
			delete(enveloped.Headers, "Content-Type")

			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/x", nil))
			direct := answer{w.Code, w.Header().Get("Content-Type"), map[string]string{}, w.Body.String()}
			for k := range w.Header() {
				if k != "Content-Type" {
					direct.Headers[k] = w.Header().Get(k)
				}
			}
			if c.want.Headers == nil {
				c.want.Headers = map[string]string{}
			}
			if d := cmp.Diff(c.want, enveloped); d != "" {
				t.Errorf("envelope form (-want +got):\n%s", d)
			}
			if d := cmp.Diff(c.want, direct); d != "" {
				t.Errorf("direct form (-want +got):\n%s", d)
			}
		})
	}
}

// A body that is not UTF-8 text cannot go through the envelope form: the answer says so (500
// problem) instead of delivering mangled bytes, and the log line is an error.
func TestEnvelopeRefusesABinaryBody(t *testing.T) {
	var logs lockedBuffer
	fns := Functions{HTTP: map[string]http.Handler{"Admin": responder(answer{200, "image/png", nil, "\x89PNG\xff\xfe"}, true)}}
	h := NewServer(fns, &ServerOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	env := `{"Data":{"req":{"Url":"https://registrar.example/api/v1/x","Method":"GET","Headers":{}}},"Metadata":{}}`
	status, headers, body := resOutput(t, post(t, h, "Admin", []byte(env)))
	if status != 500 || !strings.Contains(body, "UnrepresentableResponse") || headers["Content-Type"] != "application/problem+json; charset=utf-8" {
		t.Errorf("res %d %q %q, want a 500 UnrepresentableResponse problem", status, headers["Content-Type"], body)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("no error logged: %s", logs.String())
	}
}

// A forwarded or proxied request reaches the HTTP function at its own path, with its query,
// headers and body; its invocation ID is the host's (the last value: a forwarding host appends
// its own to one the client sent) and one log line records it.
func TestDirectRequestIsServedByTheHTTPFunction(t *testing.T) {
	var got struct {
		method, uri, body, invocation, principal string
	}
	var logs lockedBuffer
	h := NewServer(Functions{HTTP: map[string]http.Handler{"Admin": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.uri, got.body = r.Method, r.URL.RequestURI(), string(b)
		got.invocation, got.principal = InvocationID(r.Context()), r.Header.Get("X-Ms-Client-Principal")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})}}, &ServerOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	r := httptest.NewRequest(http.MethodPost, "/api/v1/clusters/c1/repair?x=1", strings.NewReader(`{"y":2}`))
	r.Header.Add(HeaderInvocationID, "client-chosen")
	r.Header.Add(HeaderInvocationID, "5f0c1e2d-3b4a-4c5d-9e6f-708192a3b4c5")
	r.Header.Set("X-MS-CLIENT-PRINCIPAL", "p")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)

	type seen struct{ Method, URI, Body, Invocation, Principal string }
	want := seen{"POST", "/api/v1/clusters/c1/repair?x=1", `{"y":2}`, "5f0c1e2d-3b4a-4c5d-9e6f-708192a3b4c5", "p"}
	if d := cmp.Diff(want, seen{got.method, got.uri, got.body, got.invocation, got.principal}); d != "" {
		t.Errorf("request as the function saw it (-want +got):\n%s", d)
	}
	if w.Code != http.StatusAccepted || w.Body.String() != `{"ok":true}` {
		t.Errorf("answer %d %q", w.Code, w.Body)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.TrimSpace([]byte(logs.String())), &line); err != nil {
		t.Fatalf("want one JSON log line, got %q", logs.String())
	}
	if line["function"] != "Admin" || line["invocationId"] != want.Invocation || line["outcome"] != "answered" || line["status"] != 202.0 {
		t.Errorf("log line %v", line)
	}
}

// A panicking function answers a direct request 500, as the host answers a failed invocation.
func TestDirectRequestPanicIs500(t *testing.T) {
	h := NewServer(Functions{HTTP: map[string]http.Handler{"Admin": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	})}}, &ServerOptions{Logger: slog.New(slog.DiscardHandler)})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/x", nil))
	if w.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", w.Code)
	}
}

// hostString encodes s as a JSON string the way the host's serializer does (control characters,
// quotes and backslashes escaped; no HTML escaping).
func hostString(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Any body of up to 4 MiB reaches the queue function whatever its escaping, although the host's
// double encoding (and, for a JSON body, the copy of its fields in Metadata) makes the envelope up
// to seven times larger: it is answered 2xx, never 413 and redelivered.
func TestLargestBodiesReachTheFunctionWhateverTheirEscaping(t *testing.T) {
	n := (MaxMessageBytes - 32) / 2
	note := strings.Repeat(`"`, n)
	quotes := `{"type":"Sync","note":` + hostString(t, note) + `}`
	cases := map[string]struct{ body, data, meta string }{
		// 0x01 becomes \u0001, then \\u0001: 7 bytes a byte (built directly: encoding 4 MiB of
		// control characters twice takes seconds; hostTwice checks the unit).
		"control characters": {strings.Repeat("\x01", MaxMessageBytes), `"\"` + strings.Repeat(hostTwice(t, "\x01"), MaxMessageBytes) + `\""`,
			`{"MessageId":"\"big\""}`},
		// The host also copies a JSON body's top-level fields into Metadata, encoded twice.
		"escaped quotes": {quotes, hostString(t, hostString(t, quotes)),
			`{"MessageId":"\"big\"","type":"\"Sync\"","note":"\"` + strings.Repeat(hostTwice(t, `"`), n) + `\""}`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			env := `{"Data":{"message":` + c.data + `},"Metadata":` + c.meta + `}`
			if len(env) < 6*MaxMessageBytes-64 {
				t.Fatalf("envelope of %d bytes: the test does not reach the host's worst case", len(env))
			}
			var m Message
			w := post(t, queueServer(&m, "rejected", nil), "RegistrationRequests", []byte(env))
			if w.Code != http.StatusOK || len(m.Body) != len(c.body) || string(m.Body) != c.body || m.MessageID != "big" {
				t.Errorf("envelope of %d bytes: status %d, body %d bytes (want %d), id %q", len(env), w.Code, len(m.Body), len(c.body), m.MessageID)
			}
		})
	}
}

// hostTwice is what one character c becomes inside a string the host encodes twice.
func hostTwice(t *testing.T, c string) string {
	t.Helper()
	enc := hostString(t, hostString(t, c+c))
	unit := enc[3 : len(enc)-3] // strip "\" and \""
	if len(unit)%2 != 0 || unit[:len(unit)/2] != unit[len(unit)/2:] {
		t.Fatalf("%q does not encode twice as a repeatable unit: %s", c, enc)
	}
	return unit[:len(unit)/2]
}
