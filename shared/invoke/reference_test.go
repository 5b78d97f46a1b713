package invoke

// The adapter's first decoder, built on encoding/json maps (as of 3e20afc), kept as the
// reference the streaming decoder is held to (decode_diff_test.go): same input, same result.
// Where it depended on map order (several Metadata keys or body fields naming one system key in
// different letter cases) the differential tests skip the input.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// refParse decodes an envelope as the first adapter did.
func refParse(body []byte) (refEnvelope, error) {
	var env refEnvelope
	err := json.NewDecoder(bytes.NewReader(body)).Decode(&env)
	return env, err
}

// refEnvelope is what the host POSTs: {"Data":{...},"Metadata":{...}}.
type refEnvelope struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// refUnwrap returns the text a Data or Metadata string carries. Current hosts encode strings twice
// ("\"abc\""), older ones once ("abc"): a JSON string whose decoded text is itself a JSON string
// literal is decoded once more. A non-string value (object, array, number) is returned as its
// raw JSON text; null or absent gives "", false.
func refUnwrap(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	if raw[0] != '"' {
		return string(raw), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	if t := strings.TrimSpace(s); len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		var inner string
		if json.Unmarshal([]byte(t), &inner) == nil {
			return inner, true
		}
	}
	return s, true
}

// refInteger reads a number sent as a JSON number or as a (possibly double-encoded) string.
func refInteger(raw json.RawMessage) (int64, bool) {
	s, ok := refUnwrap(raw)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}

// refTimeLayouts are the shapes the host sends: RFC 3339 with zone or offset, and the *Utc keys'
// zone-less form (which is UTC).
var refTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05.9999999"}

// refTimestamp reads a time; a time without zone is UTC. The result is in UTC.
func refTimestamp(raw json.RawMessage) (time.Time, bool) {
	s, ok := refUnwrap(raw)
	if !ok {
		return time.Time{}, false
	}
	s = strings.TrimSpace(s)
	for _, layout := range refTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// refStringKeys are the system keys whose values the host copies as they are: one that differs from
// the body's same-named field cannot be that field's copy. The host reformats the others (times,
// numbers, objects), so any same-named body field makes them untrusted.
var refStringKeys = map[string]bool{"MessageId": true, "CorrelationId": true, "SessionId": true, "Subject": true,
	"Label": true, "ContentType": true, "LockToken": true}

// refSystemKeys are the Service Bus trigger's system metadata keys the adapter reads.
var refSystemKeys = []string{"MessageId", "CorrelationId", "SessionId", "Subject", "Label", "ContentType",
	"LockToken", "DeliveryCount", "EnqueuedTime", "EnqueuedTimeUtc", "SequenceNumber",
	"ApplicationProperties", "UserProperties"}

// refDecodeMessage builds a Message from a Service Bus trigger refEnvelope.
//
// The body comes only from Data[binding]. System refProperties come from Metadata, with one rule
// against leaked body fields: the host copies a JSON body's top-level fields into Metadata, where
// they can overwrite system keys. When the body itself has a top-level field named like a system
// key (case-insensitively), the key may have been overwritten: it is not trusted and is left at
// its zero value (for the enqueue time the other of EnqueuedTime/EnqueuedTimeUtc is used when it
// is not shadowed). Only a string key (refStringKeys) whose Metadata value differs from the body's
// is kept: the host copies strings as they are, so it cannot have come from the body. Values that
// do not parse as their type (a non-refInteger DeliveryCount) are also left at zero.
func refDecodeMessage(env refEnvelope, binding string) (Message, error) {
	raw, ok := env.Data[binding]
	if !ok {
		return Message{}, fmt.Errorf("Data has no %q binding", binding)
	}
	var m Message
	if body, ok := refUnwrap(raw); ok {
		m.Body = []byte(body)
	}
	fields := refBodyFields(m.Body)
	meta := make(map[string]json.RawMessage, len(refSystemKeys))
	for _, k := range refSystemKeys {
		v, ok := refLookup(env.Metadata, k)
		if !ok {
			continue
		}
		if bv, inBody := fields[strings.ToLower(k)]; inBody {
			if mv, _ := refUnwrap(v); !refStringKeys[k] || mv == bv {
				continue // possibly the body's value: not trusted
			}
		}
		meta[k] = v
	}
	str := func(k string) string { s, _ := refUnwrap(meta[k]); return s }
	m.MessageID = str("MessageId")
	m.CorrelationID = str("CorrelationId")
	m.SessionID = str("SessionId")
	m.Subject = str("Subject")
	if m.Subject == "" {
		m.Subject = str("Label")
	}
	m.ContentType = str("ContentType")
	m.LockToken = str("LockToken")
	if n, ok := refInteger(meta["DeliveryCount"]); ok && n >= 0 && n <= 1<<31-1 {
		m.DeliveryCount = int(n)
	}
	if n, ok := refInteger(meta["SequenceNumber"]); ok {
		m.SequenceNumber = n
	}
	if t, ok := refTimestamp(meta["EnqueuedTime"]); ok {
		m.EnqueuedTime = t
	} else if t, ok := refTimestamp(meta["EnqueuedTimeUtc"]); ok {
		m.EnqueuedTime = t
	}
	m.ApplicationProperties = refProperties(meta["ApplicationProperties"])
	if m.ApplicationProperties == nil {
		m.ApplicationProperties = refProperties(meta["UserProperties"])
	}
	return m, nil
}

// refLookup finds a Metadata key, exactly or else case-insensitively.
func refLookup(md map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := md[key]; ok {
		return v, true
	}
	for k, v := range md {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// refBodyFields maps a JSON object body's top-level field names (lower case) to their values as
// Metadata would show them (a string unquoted, anything else as its JSON text); nil for another body.
func refBodyFields(body []byte) map[string]string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil
	}
	fields := make(map[string]string, len(obj))
	for k, v := range obj {
		s, _ := refUnwrap(v)
		fields[strings.ToLower(k)] = s
	}
	return fields
}

// refProperties decodes application refProperties sent as a JSON object (or an encoded one).
func refProperties(raw json.RawMessage) map[string]any {
	s, ok := refUnwrap(raw)
	if !ok {
		return nil
	}
	var props map[string]any
	if json.Unmarshal([]byte(s), &props) != nil || len(props) == 0 {
		return nil
	}
	return props
}

// refDecodeTimer reads Data[binding] of a timer trigger; ScheduleStatus may be null.
func refDecodeTimer(env refEnvelope, binding string) (Timer, error) {
	raw, ok := env.Data[binding]
	if !ok {
		return Timer{}, fmt.Errorf("Data has no %q binding", binding)
	}
	s, _ := refUnwrap(raw)
	var in struct {
		IsPastDue      json.RawMessage
		ScheduleStatus *struct{ Last, Next, LastUpdated json.RawMessage }
	}
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return Timer{}, fmt.Errorf("Data.%s is not a timer object", binding)
	}
	var t Timer
	if v, ok := refUnwrap(in.IsPastDue); ok {
		t.IsPastDue = strings.EqualFold(v, "true")
	}
	if st := in.ScheduleStatus; st != nil {
		t.Last, _ = refTimestamp(st.Last)
		t.Next, _ = refTimestamp(st.Next)
		t.LastUpdated, _ = refTimestamp(st.LastUpdated)
	}
	return t, nil
}

// refHTTPRequest is Data.req of an HTTP trigger.
type refHTTPRequest struct {
	URL     json.RawMessage            `json:"Url"`
	Method  json.RawMessage            `json:"Method"`
	Query   json.RawMessage            `json:"Query"`
	Headers map[string]json.RawMessage `json:"Headers"`
	Body    json.RawMessage            `json:"Body"`
}

// refDecodeRequest turns Data[binding] into a real *http.Request: method, path and query from Url
// (query from the Query object when Url has none; old hosts send Query as the string "{}"),
// headers (name → array of strings, or one string), and the body (a string, absent when empty;
// decoded like every Data string). Metadata is client-controlled and not read.
func refDecodeRequest(ctx context.Context, env refEnvelope, binding string) (*http.Request, error) {
	raw, ok := env.Data[binding]
	if !ok {
		return nil, fmt.Errorf("Data has no %q binding", binding)
	}
	var in refHTTPRequest
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("Data.%s is not a request object", binding)
	}
	rawURL, _ := refUnwrap(in.URL)
	u, err := url.Parse(rawURL)
	if err != nil || u.Path == "" {
		return nil, fmt.Errorf("Data.%s.Url is not a URL", binding)
	}
	if u.RawQuery == "" {
		u.RawQuery = refQueryValues(in.Query).Encode()
	}
	method, _ := refUnwrap(in.Method)
	if method == "" {
		method = http.MethodGet
	}
	var body []byte
	if b, ok := refUnwrap(in.Body); ok {
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
		for _, s := range refHeaderValues(v) {
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

// refQueryValues reads Query: an object of name → string (or array of strings), or that object
// JSON-encoded in a string ("{}" from old hosts).
func refQueryValues(raw json.RawMessage) url.Values {
	q := url.Values{}
	s, ok := refUnwrap(raw)
	if !ok {
		return q
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &obj) != nil {
		return q
	}
	for k, v := range obj {
		for _, s := range refHeaderValues(v) {
			q.Add(k, s)
		}
	}
	return q
}

// refHeaderValues reads a value that is an array of strings or a single string.
func refHeaderValues(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	if s, ok := refUnwrap(raw); ok {
		return []string{s}
	}
	return nil
}
