package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// httpRequest is Data.req of an HTTP trigger.
type httpRequest struct {
	URL     json.RawMessage            `json:"Url"`
	Method  json.RawMessage            `json:"Method"`
	Query   json.RawMessage            `json:"Query"`
	Headers map[string]json.RawMessage `json:"Headers"`
	Body    json.RawMessage            `json:"Body"`
}

// decodeRequest turns Data[binding] into a real *http.Request: method, path and query from Url
// (query from the Query object when Url has none; old hosts send Query as the string "{}"),
// headers (name → array of strings, or one string), and the body (a string, absent when empty;
// decoded like every Data string). Metadata is client-controlled and not read.
func decodeRequest(ctx context.Context, env *envelope, binding string) (*http.Request, error) {
	raw := env.data
	if raw == nil {
		return nil, fmt.Errorf("Data has no %q binding", binding)
	}
	var in httpRequest
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("Data.%s is not a request object", binding)
	}
	rawURL, _ := unwrap(in.URL)
	u, err := url.Parse(rawURL)
	if err != nil || u.Path == "" {
		return nil, fmt.Errorf("Data.%s.Url is not a URL", binding)
	}
	if u.RawQuery == "" {
		u.RawQuery = queryValues(in.Query).Encode()
	}
	method, _ := unwrap(in.Method)
	if method == "" {
		method = http.MethodGet
	}
	var body []byte
	if b, ok := unwrap(in.Body); ok {
		body = []byte(b)
	}
	target := u.RequestURI()
	r, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("Data.%s has a bad method or URL", binding)
	}
	r.Host = u.Host
	r.RequestURI = target
	for name, v := range in.Headers {
		for _, s := range headerValues(v) {
			r.Header.Add(name, s)
		}
	}
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Length")
	if len(body) > 0 {
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return r, nil
}

// queryValues reads Query: an object of name → string (or array of strings), or that object
// JSON-encoded in a string ("{}" from old hosts).
func queryValues(raw json.RawMessage) url.Values {
	q := url.Values{}
	s, ok := unwrap(raw)
	if !ok {
		return q
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &obj) != nil {
		return q
	}
	for k, v := range obj {
		for _, s := range headerValues(v) {
			q.Add(k, s)
		}
	}
	return q
}

// headerValues reads a value that is an array of strings or a single string.
func headerValues(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	if s, ok := unwrap(raw); ok {
		return []string{s}
	}
	return nil
}

// recorder captures an http.Handler's response, at most limit body bytes.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	limit  int
	over   bool
}

func newRecorder(limit int) *recorder { return &recorder{header: http.Header{}, limit: limit} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.body.Len()+len(p) > r.limit {
		r.over = true
		return 0, fmt.Errorf("invoke: response body over %d bytes", r.limit)
	}
	return r.body.Write(p)
}

// httpOutput is the `res` output binding as the host reads it (docs/architecture.md): statusCode
// always, each header as one string, Content-Type always and with the charset the host would give
// it, and the body as a JSON string of its exact text. The host writes a string body as it is and
// never base64-decodes an http output; an object body it would re-serialize (indented), so the
// exact bytes of a JSON body go as a string too.
type httpOutput struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

// errUnrepresentable is a response body that is not UTF-8 text: the envelope form cannot carry it.
var errUnrepresentable = errors.New("response body is not UTF-8 text: the host's res output cannot carry it")

// output is the recorded response as the res output. A body that is not UTF-8 text cannot be
// sent (the host would mangle it): it becomes a 500 problem, and the error is returned.
func (r *recorder) output() (httpOutput, error) {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	b := r.body.Bytes()
	if !utf8.Valid(b) {
		return httpOutput{StatusCode: http.StatusInternalServerError, Headers: map[string]string{
			"Content-Type": hostContentType("application/problem+json")},
			Body: `{"type":"about:blank","title":"Internal Server Error","status":500,"code":"UnrepresentableResponse"}`,
		}, errUnrepresentable
	}
	headers := make(map[string]string, len(r.header)+1)
	for k, v := range r.header {
		if k != "Content-Length" && k != "Transfer-Encoding" && k != "Connection" {
			headers[k] = strings.Join(v, ", ")
		}
	}
	headers["Content-Type"] = hostContentType(r.header.Get("Content-Type"))
	return httpOutput{StatusCode: status, Headers: headers, Body: string(b)}, nil
}

// hostContentType is the Content-Type the host writes for a res output that gives ct: without
// one, text/plain; charset=utf-8; otherwise ct with its charset made utf-8 (appended when ct
// names none). The handler sends it so, in both forms, so that forwarded and enveloped answers
// carry the same header (docs/architecture.md).
func hostContentType(ct string) string {
	if strings.TrimSpace(ct) == "" {
		return "text/plain; charset=utf-8"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	cs, ok := params["charset"]
	switch {
	case !ok:
		return ct + "; charset=utf-8"
	case strings.EqualFold(cs, "utf-8"):
		return ct
	}
	params["charset"] = "utf-8"
	return mime.FormatMediaType(mt, params)
}
