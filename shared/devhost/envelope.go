package devhost

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Time layouts of the Service Bus trigger metadata (docs/architecture.md).
const (
	utcLayout    = "2006-01-02T15:04:05"       // *Utc keys: no zone
	offsetLayout = "2006-01-02T15:04:05+00:00" // EnqueuedTime, ExpiresAt
)

// envelope is the body the host POSTs to /{FunctionName}.
type envelope struct {
	Data     map[string]any `json:"Data"`
	Metadata map[string]any `json:"Metadata"`
}

// quote JSON-encodes s as a string as the host's serializer does (control characters, quotes
// and backslashes escaped; <, > and & left as they are); applying it twice gives the host's
// double encoding (host ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue).
func quote(s string) string {
	b, _ := hostJSON(s)
	return string(b)
}

// hostJSON serializes v without HTML escaping, as the host's Newtonsoft serializer does.
func hostJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func sysMeta(fn string, now time.Time) map[string]any {
	return map[string]any{"MethodName": fn, "UtcNow": now.UTC().Format(time.RFC3339Nano), "RandGuid": newID()}
}

// httpEnvelope builds Data.req (and the Metadata the host adds) for an HTTP trigger (host
// Extensions/HttpRequestExtensions.cs GetRequestAsJObject): the body only when the request has
// a Content-Length (a chunked request's body is not passed), base64-encoded when it is
// application/octet-stream or multipart/*.
func httpEnvelope(fn Function, r *http.Request, body []byte, params map[string]string, now time.Time) envelope {
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	headers := map[string][]string{}
	metaHeaders := map[string]string{}
	for k, vs := range r.Header {
		headers[k] = append([]string(nil), vs...)
		metaHeaders[k] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		headers["Host"] = []string{r.Host}
		metaHeaders["Host"] = r.Host
	}
	req := map[string]any{
		"Url":        "http://" + r.Host + r.URL.RequestURI(),
		"Method":     r.Method,
		"Query":      query,
		"Headers":    headers,
		"Params":     params,
		"Identities": []any{},
	}
	if r.ContentLength > 0 && len(body) > 0 {
		req["Body"] = string(body)
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/octet-stream" || strings.HasPrefix(mt, "multipart/") {
			req["Body"] = base64.StdEncoding.EncodeToString(body)
		}
	}
	return envelope{
		Data: map[string]any{fn.Binding: req},
		Metadata: map[string]any{
			"Query": query, "Headers": metaHeaders, "Params": params,
			"sys": sysMeta(fn.Name, now),
		},
	}
}

// messageEnvelope builds the Service Bus trigger envelope of one delivery of m.
func messageEnvelope(fn Function, m *Message, deliveryCount int, lockToken string, now time.Time) envelope {
	props := map[string]any{}
	maps.Copy(props, m.ApplicationProperties)
	meta := map[string]any{
		"MessageReceiver": map[string]any{}, "MessageSession": map[string]any{},
		"MessageActions": map[string]any{}, "SessionActions": map[string]any{}, "ReceiveActions": map[string]any{},
		"Client": map[string]any{
			"FullyQualifiedNamespace": "devhost.local", "IsClosed": false, "TransportType": 0,
			"Identifier": "devhost.local-" + lockToken,
		},
		"DeliveryCount":         strconv.Itoa(deliveryCount),
		"LockToken":             quote(lockToken),
		"ExpiresAtUtc":          "9999-12-31T23:59:59",
		"ExpiresAt":             "9999-12-31T23:59:59+00:00",
		"EnqueuedTimeUtc":       m.EnqueuedTime.UTC().Format(utcLayout),
		"EnqueuedTime":          m.EnqueuedTime.UTC().Format(offsetLayout),
		"MessageId":             quote(m.MessageID),
		"SequenceNumber":        strconv.FormatInt(m.SequenceNumber, 10),
		"ApplicationProperties": props,
		"UserProperties":        props,
		"sys":                   sysMeta(fn.Name, now),
	}
	for k, v := range map[string]string{"ContentType": m.ContentType, "CorrelationId": m.CorrelationID, "SessionId": m.SessionID, "Subject": m.Subject} {
		if v != "" {
			meta[k] = quote(v)
		}
	}
	// Like the host, copy a JSON object body's top-level fields into Metadata (they may
	// overwrite system keys); null values are left out.
	var fields map[string]json.RawMessage
	if json.Unmarshal(m.Body, &fields) == nil {
		for k, raw := range fields {
			var s string
			switch {
			case bytes.Equal(raw, []byte("null")):
				continue
			case json.Unmarshal(raw, &s) == nil:
			default:
				s = string(compact(raw))
			}
			meta[k] = quote(s)
		}
	}
	return envelope{Data: map[string]any{fn.Binding: quote(string(m.Body))}, Metadata: meta}
}

// MessageEnvelope is the body the host POSTs for one delivery of m to fn (a Service Bus trigger),
// with the given DeliveryCount and lock token, at now: what the runner sends, for tests that play
// the host in front of several handler processes (send it with NewInvocation).
func MessageEnvelope(fn Function, m Message, deliveryCount int, lockToken string, now time.Time) ([]byte, error) {
	return hostJSON(messageEnvelope(fn, &m, deliveryCount, lockToken, now))
}

// TimerEnvelope is the body the host POSTs for one run of fn (a timer trigger) at now.
func TimerEnvelope(fn Function, info TimerInfo, now time.Time) ([]byte, error) {
	return hostJSON(timerEnvelope(fn, info, now))
}

func compact(raw []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

// TimerInfo is the host's Data.timer.
type TimerInfo struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	ScheduleStatus *ScheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool            `json:"IsPastDue"`
}

// ScheduleStatus is the timer's recorded schedule: the last occurrence, the next, and when
// it was recorded.
type ScheduleStatus struct {
	Last        time.Time `json:"Last"`
	Next        time.Time `json:"Next"`
	LastUpdated time.Time `json:"LastUpdated"`
}

func timerEnvelope(fn Function, info TimerInfo, now time.Time) envelope {
	info.Schedule.AdjustForDST = true
	return envelope{
		Data:     map[string]any{fn.Binding: info},
		Metadata: map[string]any{"sys": sysMeta(fn.Name, now)},
	}
}

// reply is the handler's answer to an invocation.
type reply struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}
