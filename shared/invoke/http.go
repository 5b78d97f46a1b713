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
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// decodeRequest turns Data[binding] into a real *http.Request: method, path and query from Url
// (query from the Query object when Url has none; old hosts send Query as the string "{}"),
// headers (name → array of strings, or one string), and the body (a string, absent when empty;
// decoded like every Data string). Metadata is client-controlled and not read. Data.req is read
// as encoding/json decodes it into struct{ Url, Method, Query, Body json.RawMessage; Headers
// map[string]json.RawMessage }: names in any letter case, the last of a repeated one counts,
// repeated Headers merge and a null one empties them.
func (d *decoder) decodeRequest(ctx context.Context, env *envelope, binding string) (*http.Request, error) {
	if env.data == nil {
		return nil, fmt.Errorf("Data has no %q binding", binding)
	}
	var in requestFields
	if err := d.requestFields(env.data, &in); err != nil {
		return nil, fmt.Errorf("Data.%s is not a request object", binding)
	}
	rawURL, _ := unwrap(in.url)
	u, err := url.Parse(rawURL)
	if err != nil || u.Path == "" {
		return nil, fmt.Errorf("Data.%s.Url is not a URL", binding)
	}
	if u.RawQuery == "" {
		u.RawQuery = queryValues(in.query).Encode()
	}
	method, _ := unwrap(in.method)
	if method == "" {
		method = http.MethodGet
	}
	body, _ := appendUnwrapped(nil, in.body)
	target := u.RequestURI()
	r, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("Data.%s has a bad method or URL", binding)
	}
	r.Host = u.Host
	r.RequestURI = target
	for _, p := range d.pairs {
		d.addHeader(r.Header, string(p.name), p.value)
	}
	r.ContentLength = int64(len(body))
	r.Header.Del("Content-Length")
	if len(body) > 0 {
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return r, nil
}

// requestFields are the raw values of Data.req's members; its headers are left in d.pairs.
type requestFields struct{ url, method, query, body []byte }

// pair is a name and its raw value.
type pair struct{ name, value []byte }

func (d *decoder) requestFields(raw []byte, in *requestFields) error {
	d.raws = d.raws[:0] // the Headers values, in order
	err := d.document(raw, func(n, v []byte) {
		switch {
		case d.nameFolds(n, "Url"):
			in.url = v
		case d.nameFolds(n, "Method"):
			in.method = v
		case d.nameFolds(n, "Query"):
			in.query = v
		case d.nameFolds(n, "Body"):
			in.body = v
		case d.nameFolds(n, "Headers"):
			d.raws = append(d.raws, v)
		}
	})
	d.pairs = d.pairs[:0]
	for _, h := range d.raws {
		if err != nil {
			break
		}
		if string(h) == "null" {
			d.pairs = d.pairs[:0]
		}
		err = d.document(h, func(n, v []byte) { d.addPair(stableName(n), v) })
	}
	return err
}

// stableName is the text of a quoted name, aliasing it unless it has escapes.
func stableName(quoted []byte) []byte {
	name := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		name, _ = appendUnquoted(nil, quoted) // rare: a copy of its own
	}
	return name
}

// addPair adds name's value to d.pairs, in place of an earlier one of the same name.
func (d *decoder) addPair(name, value []byte) {
	for i := range d.pairs {
		if bytes.Equal(d.pairs[i].name, name) {
			d.pairs[i].value = value
			return
		}
	}
	d.pairs = append(d.pairs, pair{name, value})
}

// addHeader adds the values raw holds to h: an array of strings (a null among them is ""),
// else the one text it carries (appendUnwrapped); none for null.
func (d *decoder) addHeader(h http.Header, name string, raw []byte) {
	switch {
	case string(raw) == "null":
	case raw[0] == '[' && d.eachString(raw, nil):
		d.eachString(raw, func(v string) { h.Add(name, v) })
	default:
		if s, ok := unwrap(raw); ok {
			h.Add(name, s)
		}
	}
}

// eachString calls f (when not nil) with the text of each element of raw, a JSON array of strings
// (a null element is ""), and reports whether raw is one.
func (d *decoder) eachString(raw []byte, f func(string)) bool {
	dec := &d.dec
	dec.Reset(bytes.NewBuffer(raw), decodeOptions...)
	if _, err := dec.ReadToken(); err != nil {
		return false
	}
	for dec.PeekKind() != ']' {
		v, err := dec.ReadValue()
		switch {
		case err != nil || (v[0] != '"' && v[0] != 'n'):
			return false
		case f == nil:
		case v[0] == 'n':
			f("")
		default:
			b, _ := appendUnquoted(d.scratch[:0], v)
			d.scratch = b[:0]
			f(string(b))
		}
	}
	return true
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

// errUnrepresentable is a response body that is not UTF-8 text: the envelope form cannot carry it.
var errUnrepresentable = errors.New("response body is not UTF-8 text: the host's res output cannot carry it")

// unrepresentable is the res output's body in place of one that is not UTF-8 text.
const unrepresentable = `{"type":"about:blank","title":"Internal Server Error","status":500,"code":"UnrepresentableResponse"}`

// result is the status the res output gives. A body that is not UTF-8 text cannot be sent (the
// host would mangle it): the output is then a 500 problem, and the error says why.
func (r *recorder) result() (int, error) {
	switch {
	case !utf8.Valid(r.body.Bytes()):
		return http.StatusInternalServerError, errUnrepresentable
	case r.status == 0:
		return http.StatusOK, nil
	}
	return r.status, nil
}

// appendJSON appends the res output as the host reads it (docs/architecture.md): statusCode
// always, each header as one string (in name order), Content-Type always and with the charset the
// host would give it, and the body as a JSON string of its exact text. The host writes a string
// body as it is and never base64-decodes an http output; an object body it would re-serialize
// (indented), so the exact bytes of a JSON body go as a string too.
func (r *recorder) appendJSON(b []byte) []byte {
	status, err := r.result()
	b = append(b, `{"statusCode":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	if err != nil {
		b = append(b, `,"headers":{"Content-Type":`...)
		b = appendString(b, hostContentType("application/problem+json"))
		b = append(b, `},"body":`...)
		return append(appendString(b, unrepresentable), '}')
	}
	var keys [16]string
	names := append(keys[:0], "Content-Type")
	for k := range r.header {
		if k != "Content-Length" && k != "Transfer-Encoding" && k != "Connection" && k != "Content-Type" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	b = append(b, `,"headers":{`...)
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		if k == "Content-Type" {
			b = appendString(b, hostContentType(r.header.Get("Content-Type")))
			continue
		}
		b = appendJoined(b, r.header[k])
	}
	b = append(b, `},"body":`...)
	return append(appendString(b, r.body.Bytes()), '}')
}

// appendJoined appends the values as one JSON string, joined by ", ".
func appendJoined(b []byte, values []string) []byte {
	if len(values) == 1 {
		return appendString(b, values[0])
	}
	return appendString(b, strings.Join(values, ", "))
}

// hostContentType is the Content-Type the host writes for a res output that gives ct: without
// one, text/plain; charset=utf-8; otherwise ct with its charset made utf-8 (appended when ct
// names none). The handler sends it so, in both forms, so that forwarded and enveloped answers
// carry the same header (docs/architecture.md). A handler uses few content types: the answers for
// the first ones seen are kept.
func hostContentType(ct string) string {
	contentTypes.RLock()
	v, ok := contentTypes.m[ct]
	contentTypes.RUnlock()
	if ok {
		return v
	}
	v = contentTypeFor(ct)
	contentTypes.Lock()
	if len(contentTypes.m) < 64 {
		contentTypes.m[ct] = v
	}
	contentTypes.Unlock()
	return v
}

var contentTypes = struct {
	sync.RWMutex
	m map[string]string
}{m: map[string]string{}}

func contentTypeFor(ct string) string {
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
