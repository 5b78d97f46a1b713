package devhost

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// This file is the runner's model of how the host turns an envelope reply's http output into the
// client's response (docs/architecture.md). Each rule names the host source it comes from, and
// the runner's rules test (TestRunnerFollowsTheHostsRules) holds the runner to it.

// httpResponse is what the host writes to the client.
type httpResponse struct {
	Status  int
	Headers http.Header
	Body    []byte
}

// errOutput is an http output the host cannot read or write: the invocation fails (500).
var errOutput = errors.New("http output the host cannot write")

// textPlain is the Content-Type the host writes when an output gives none.
const textPlain = "text/plain; charset=utf-8"

// hostResponse is the response the host writes for fn's http output in the reply: the named
// output (res), or the ReturnValue when the output is named $return.
func hostResponse(fn Function, rep reply) (httpResponse, error) {
	if fn.Output == "$return" {
		return returnResponse(rep.ReturnValue, fn.OutputDataType)
	}
	return resResponse(rep.Outputs[fn.Output])
}

// resResponse writes an http output not named $return (host
// Workers/Http/HttpScriptInvocationResultExtensions.cs GetHttpOutputBindingResponse, then
// Binding/Http/HttpBinding.cs and RawScriptResult.cs):
//   - the output is read as {statusCode, status, body, headers} (keys in any case), from an object
//     or from a string holding one; anything else fails the invocation. An absent or null output
//     is an empty response object, written as the text {}.
//   - statusCode, a number or a string, else 200; status is never read.
//   - header values are written as text; Content-Type is written with charset=utf-8.
//   - a string body is written as it is, never base64-decoded; an object or array body is
//     re-serialized as indented JSON.
func resResponse(raw json.RawMessage) (httpResponse, error) {
	if isNull(raw) {
		return httpResponse{Status: http.StatusOK, Headers: http.Header{"Content-Type": {textPlain}}, Body: []byte("{}")}, nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		if strings.TrimSpace(text) == "" {
			return resResponse(nil)
		}
		raw = json.RawMessage(text)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return httpResponse{}, fmt.Errorf("%w: the output is not a JSON object", errOutput)
	}
	field := func(name string) json.RawMessage {
		for k, v := range obj {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return nil
	}
	status, err := statusCode(field("statusCode"))
	if err != nil {
		return httpResponse{}, err
	}
	headers, err := headerValues(field("headers"))
	if err != nil {
		return httpResponse{}, err
	}
	body, err := bodyText(field("body"))
	if err != nil {
		return httpResponse{}, err
	}
	return httpResponse{Status: status, Headers: headers, Body: body}, nil
}

// statusCode reads statusCode as the host's string property does: a number or a string that
// parses as an integer, else 200; a status outside 100-999 cannot be written.
func statusCode(raw json.RawMessage) (int, error) {
	if isNull(raw) {
		return http.StatusOK, nil
	}
	s := string(raw)
	if json.Unmarshal(raw, &s) != nil && (raw[0] == '{' || raw[0] == '[') {
		return 0, fmt.Errorf("%w: statusCode %s is not a string or a number", errOutput, raw)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil:
		return http.StatusOK, nil // not an integer: the host keeps 200
	case n < 100 || n > 999:
		return 0, fmt.Errorf("%w: status %d", errOutput, n)
	}
	return n, nil
}

// headerValues reads headers (name → value): each value is written as its text (a string as it
// is, a number as written, true/false as True/False); a null, array or object value cannot be
// written. Content-Type, given or not, is written with charset=utf-8 (RawScriptResult: the
// response's content type, then the string formatter's charset).
func headerValues(raw json.RawMessage) (http.Header, error) {
	h := http.Header{}
	var obj map[string]json.RawMessage
	if !isNull(raw) {
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("%w: headers is not an object", errOutput)
		}
	}
	contentType := ""
	for k, v := range obj {
		text, ok := scalarText(v)
		if !ok {
			return nil, fmt.Errorf("%w: header %s is %s, not one string", errOutput, k, v)
		}
		if strings.EqualFold(k, "Content-Type") {
			contentType = text
			continue
		}
		h.Add(k, text)
	}
	h.Set("Content-Type", withCharset(contentType))
	return h, nil
}

// withCharset is a given Content-Type as the host's text formatter writes it (ASP.NET
// MediaType.ReplaceEncoding): unchanged when its charset is utf-8, the charset replaced when it
// names another, "; charset=utf-8" appended when it names none; text/plain; charset=utf-8 when
// none is given.
func withCharset(ct string) string {
	if strings.TrimSpace(ct) == "" {
		return textPlain
	}
	mt, params, err := mime.ParseMediaType(ct)
	cs, has := params["charset"]
	switch {
	case err != nil || !has:
		return ct + "; charset=utf-8"
	case strings.EqualFold(cs, "utf-8"):
		return ct
	}
	params["charset"] = "utf-8"
	return mime.FormatMediaType(mt, params)
}

// bodyText is the body the host writes: nothing for null, a string as it is, an object or array
// as indented JSON (JToken.ToString; "\n" line ends, as on the Linux host), a number as written,
// true/false as True/False.
func bodyText(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case isNull(raw):
		return nil, nil
	case raw[0] == '{' || raw[0] == '[':
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return nil, fmt.Errorf("%w: body: %v", errOutput, err)
		}
		return b.Bytes(), nil
	}
	text, _ := scalarText(raw)
	return []byte(text), nil
}

// scalarText is a JSON scalar as .NET writes it with ToString: a string as it is, a number as
// written, a boolean as True/False. Null, objects and arrays are not scalars.
func scalarText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) || raw[0] == '{' || raw[0] == '[' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	switch string(raw) {
	case "true":
		return "True", true
	case "false":
		return "False", true
	}
	return string(raw), true
}

// returnResponse writes an http output named $return, which goes through the host's general
// output conversion first (HttpScriptInvocationResultExtensions.GetBindingValue: a string that
// is valid base64 is decoded, unless the binding's dataType is binary), then HttpBinding.cs:
// bytes are written as application/octet-stream; a JSON object, or a string holding one, is a
// response object ({statusCode or status, headers, body}; an object body as compact JSON); any
// other string is text; no value is 204.
func returnResponse(raw json.RawMessage, dataType string) (httpResponse, error) {
	if isNull(raw) {
		return httpResponse{Status: http.StatusNoContent, Headers: http.Header{}}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if b, ok := hostBase64(s); ok && !strings.EqualFold(dataType, "binary") {
			return httpResponse{Status: http.StatusOK, Headers: http.Header{"Content-Type": {"application/octet-stream"}}, Body: b}, nil
		}
		if t := strings.TrimSpace(s); !strings.HasPrefix(t, "{") || !json.Valid([]byte(t)) {
			return httpResponse{Status: http.StatusOK, Headers: http.Header{"Content-Type": {textPlain}}, Body: []byte(s)}, nil
		}
		raw = json.RawMessage(s)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		b, err := bodyText(raw)
		return httpResponse{Status: http.StatusOK, Headers: http.Header{"Content-Type": {textPlain}}, Body: b}, err
	}
	return responseObject(obj)
}

// responseObject is HttpBinding.ParseResponseObject over a $return object: with a body, its
// statusCode (else status), headers and body (an object as compact JSON); without one, the object
// itself is the body.
func responseObject(obj map[string]json.RawMessage) (httpResponse, error) {
	get := func(name string) (json.RawMessage, bool) {
		for k, v := range obj {
			if strings.EqualFold(k, name) {
				return v, true
			}
		}
		return nil, false
	}
	body, ok := get("body")
	if !ok {
		whole, _ := json.Marshal(obj)
		return httpResponse{Status: http.StatusOK, Headers: http.Header{"Content-Type": {textPlain}}, Body: whole}, nil
	}
	code, found := get("statusCode")
	if !found {
		code, _ = get("status")
	}
	status, err := statusCode(code)
	if err != nil {
		return httpResponse{}, err
	}
	hv, _ := get("headers")
	headers, err := headerValues(hv)
	if err != nil {
		return httpResponse{}, err
	}
	var text []byte
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '{' {
		var c bytes.Buffer
		_ = json.Compact(&c, b)
		text = c.Bytes()
	} else if text, err = bodyText(body); err != nil {
		return httpResponse{}, err
	}
	return httpResponse{Status: status, Headers: headers, Body: text}, nil
}

// hostBase64 decodes s as .NET's Convert.FromBase64String does (white space ignored, padding
// required).
func hostBase64(s string) ([]byte, bool) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	return b, err == nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}
