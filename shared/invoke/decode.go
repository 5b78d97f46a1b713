package invoke

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// envelope is what the host POSTs: {"Data":{...},"Metadata":{...}}.
type envelope struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// unwrap returns the text a Data or Metadata string carries. Current hosts encode strings twice
// ("\"abc\""), older ones once ("abc"): a JSON string whose decoded text is itself a JSON string
// literal is decoded once more. A non-string value (object, array, number) is returned as its
// raw JSON text; null or absent gives "", false.
func unwrap(raw json.RawMessage) (string, bool) {
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

// integer reads a number sent as a JSON number or as a (possibly double-encoded) string.
func integer(raw json.RawMessage) (int64, bool) {
	s, ok := unwrap(raw)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}

// timeLayouts are the shapes the host sends: RFC 3339 with zone or offset, and the *Utc keys'
// zone-less form (which is UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05.9999999"}

// timestamp reads a time; a time without zone is UTC. The result is in UTC.
func timestamp(raw json.RawMessage) (time.Time, bool) {
	s, ok := unwrap(raw)
	if !ok {
		return time.Time{}, false
	}
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// stringKeys are the system keys whose values the host copies as they are: one that differs from
// the body's same-named field cannot be that field's copy. The host reformats the others (times,
// numbers, objects), so any same-named body field makes them untrusted.
var stringKeys = map[string]bool{"MessageId": true, "CorrelationId": true, "SessionId": true, "Subject": true,
	"Label": true, "ContentType": true, "LockToken": true}

// systemKeys are the Service Bus trigger's system metadata keys the adapter reads.
var systemKeys = []string{"MessageId", "CorrelationId", "SessionId", "Subject", "Label", "ContentType",
	"LockToken", "DeliveryCount", "EnqueuedTime", "EnqueuedTimeUtc", "SequenceNumber",
	"ApplicationProperties", "UserProperties"}

// decodeMessage builds a Message from a Service Bus trigger envelope.
//
// The body comes only from Data[binding]. System properties come from Metadata, with one rule
// against leaked body fields: the host copies a JSON body's top-level fields into Metadata, where
// they can overwrite system keys. When the body itself has a top-level field named like a system
// key (case-insensitively), the key may have been overwritten: it is not trusted and is left at
// its zero value (for the enqueue time the other of EnqueuedTime/EnqueuedTimeUtc is used when it
// is not shadowed). Only a string key (stringKeys) whose Metadata value differs from the body's
// is kept: the host copies strings as they are, so it cannot have come from the body. Values that
// do not parse as their type (a non-integer DeliveryCount) are also left at zero.
func decodeMessage(env envelope, binding string) (Message, error) {
	raw, ok := env.Data[binding]
	if !ok {
		return Message{}, fmt.Errorf("Data has no %q binding", binding)
	}
	var m Message
	if body, ok := unwrap(raw); ok {
		m.Body = []byte(body)
	}
	fields := bodyFields(m.Body)
	meta := make(map[string]json.RawMessage, len(systemKeys))
	for _, k := range systemKeys {
		v, ok := lookup(env.Metadata, k)
		if !ok {
			continue
		}
		if bv, inBody := fields[strings.ToLower(k)]; inBody {
			if mv, _ := unwrap(v); !stringKeys[k] || mv == bv {
				continue // possibly the body's value: not trusted
			}
		}
		meta[k] = v
	}
	str := func(k string) string { s, _ := unwrap(meta[k]); return s }
	m.MessageID = str("MessageId")
	m.CorrelationID = str("CorrelationId")
	m.SessionID = str("SessionId")
	m.Subject = str("Subject")
	if m.Subject == "" {
		m.Subject = str("Label")
	}
	m.ContentType = str("ContentType")
	m.LockToken = str("LockToken")
	if n, ok := integer(meta["DeliveryCount"]); ok && n >= 0 && n <= 1<<31-1 {
		m.DeliveryCount = int(n)
	}
	if n, ok := integer(meta["SequenceNumber"]); ok {
		m.SequenceNumber = n
	}
	if t, ok := timestamp(meta["EnqueuedTime"]); ok {
		m.EnqueuedTime = t
	} else if t, ok := timestamp(meta["EnqueuedTimeUtc"]); ok {
		m.EnqueuedTime = t
	}
	m.ApplicationProperties = properties(meta["ApplicationProperties"])
	if m.ApplicationProperties == nil {
		m.ApplicationProperties = properties(meta["UserProperties"])
	}
	return m, nil
}

// lookup finds a Metadata key, exactly or else case-insensitively.
func lookup(md map[string]json.RawMessage, key string) (json.RawMessage, bool) {
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

// bodyFields maps a JSON object body's top-level field names (lower case) to their values as
// Metadata would show them (a string unquoted, anything else as its JSON text); nil for another body.
func bodyFields(body []byte) map[string]string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return nil
	}
	fields := make(map[string]string, len(obj))
	for k, v := range obj {
		s, _ := unwrap(v)
		fields[strings.ToLower(k)] = s
	}
	return fields
}

// properties decodes application properties sent as a JSON object (or an encoded one).
func properties(raw json.RawMessage) map[string]any {
	s, ok := unwrap(raw)
	if !ok {
		return nil
	}
	var props map[string]any
	if json.Unmarshal([]byte(s), &props) != nil || len(props) == 0 {
		return nil
	}
	return props
}

// decodeTimer reads Data[binding] of a timer trigger; ScheduleStatus may be null.
func decodeTimer(env envelope, binding string) (Timer, error) {
	raw, ok := env.Data[binding]
	if !ok {
		return Timer{}, fmt.Errorf("Data has no %q binding", binding)
	}
	s, _ := unwrap(raw)
	var in struct {
		IsPastDue      json.RawMessage
		ScheduleStatus *struct{ Last, Next, LastUpdated json.RawMessage }
	}
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return Timer{}, fmt.Errorf("Data.%s is not a timer object", binding)
	}
	var t Timer
	if v, ok := unwrap(in.IsPastDue); ok {
		t.IsPastDue = strings.EqualFold(v, "true")
	}
	if st := in.ScheduleStatus; st != nil {
		t.Last, _ = timestamp(st.Last)
		t.Next, _ = timestamp(st.Next)
		t.LastUpdated, _ = timestamp(st.LastUpdated)
	}
	return t, nil
}
