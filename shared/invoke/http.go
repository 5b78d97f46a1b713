package invoke

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
func decodeRequest(ctx context.Context, env envelope, binding string) (*http.Request, error) {
	raw, ok := env.Data[binding]
	if !ok {
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

// output is the `res` output binding: the body is a JSON value when the response is JSON
// (object or array), otherwise the base64 of its bytes, which the host decodes back to the
// exact bytes (SPEC §11: output strings that are valid base64 are decoded).
func (r *recorder) output() map[string]any {
	status := r.status
	if status == 0 {
		status = http.StatusOK
	}
	headers := map[string]string{}
	for k, v := range r.header {
		headers[k] = strings.Join(v, ", ")
	}
	res := map[string]any{"statusCode": status, "headers": headers}
	b := r.body.Bytes()
	switch {
	case len(b) == 0:
	case isJSONDocument(r.header.Get("Content-Type"), b):
		res["body"] = json.RawMessage(b)
	default:
		res["body"] = base64.StdEncoding.EncodeToString(b)
	}
	return res
}

// isJSONDocument reports whether body is a JSON object or array served with a JSON media type
// (application/json, application/problem+json, …).
func isJSONDocument(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return false
	}
	t := bytes.TrimSpace(body)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(t)
}

// drain reads what is left of r (bounded), so the connection can be reused.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }
