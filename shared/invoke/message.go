package invoke

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The Service Bus message: its body from Data, its system properties from Metadata
// (docs/architecture.md, "The host adapter").

// decodeMessage builds a Message from a Service Bus trigger envelope.
//
// The body comes only from Data[binding]. System properties come from Metadata, except those a
// body field may have overwritten (see trusted). Values that do not parse as their type (a
// non-integer DeliveryCount) are left at zero.
func (d *decoder) decodeMessage(env *envelope, binding string) (Message, error) {
	if env.data == nil {
		return Message{}, fmt.Errorf("Data has no %q binding", binding)
	}
	var m Message
	if body, ok := appendUnwrapped(d.scratch[:0], env.data); ok {
		m.Body = append([]byte{}, body...)
		d.scratch = body[:0]
	}
	meta := d.trusted(env, m.Body)
	d.setStrings(&m, &meta)
	if n, ok := d.integer(meta[keyDeliveryCount]); ok && n >= 0 && n <= 1<<31-1 {
		m.DeliveryCount = int(n)
	}
	if n, ok := d.integer(meta[keySequenceNumber]); ok {
		m.SequenceNumber = n
	}
	if t, ok := d.timestamp(meta[keyEnqueuedTime]); ok {
		m.EnqueuedTime = t
	} else if t, ok := d.timestamp(meta[keyEnqueuedTimeUtc]); ok {
		m.EnqueuedTime = t
	}
	m.ApplicationProperties = d.properties(meta[keyApplicationProperties])
	if m.ApplicationProperties == nil {
		m.ApplicationProperties = d.properties(meta[keyUserProperties])
	}
	return m, nil
}

// trusted returns, by key, the raw values of the system keys that can be believed (nil: absent
// or not believed). The host copies a JSON body's top-level fields into Metadata, where they can
// overwrite system keys. When the body has a top-level field named like a system key (in any
// letter case), the key may have been overwritten and is not believed (for the enqueue time, the
// other of EnqueuedTime/EnqueuedTimeUtc is used when it is not shadowed). Only a string key whose
// value differs from the body's is kept: the host copies strings as they are, so it cannot have
// come from the body. The host reformats times, numbers and objects, so a body field of their
// name always makes them untrusted (a body cannot set its own enqueue time).
func (d *decoder) trusted(env *envelope, body []byte) (meta [numKeys][]byte) {
	present := false
	for k := range numKeys {
		meta[k] = env.meta[k].raw()
		present = present || meta[k] != nil
	}
	if !present {
		return meta
	}
	for _, f := range d.bodyFields(body) {
		if meta[f.key] != nil && (!stringKey(f.key) || d.sameText(meta[f.key], f.value)) {
			meta[f.key] = nil
		}
	}
	return meta
}

// field is a body's top-level field named like a system key.
type field struct {
	key         int
	name, value []byte
}

// bodyFields returns the fields of a JSON object body whose names are a system key's in any
// letter case (a name given twice: its last value); none for a body that is not a JSON object.
func (d *decoder) bodyFields(body []byte) []field {
	dec := &d.dec
	dec.Reset(bytes.NewBuffer(body), decodeOptions...)
	if dec.PeekKind() != '{' {
		return nil
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil
	}
	d.fields = d.fields[:0]
	for dec.PeekKind() != '}' {
		quoted, err := dec.ReadValue()
		if err != nil {
			return nil
		}
		key, name := bodyKey(quoted)
		value, err := dec.ReadValue()
		if err != nil {
			return nil
		}
		if key >= 0 {
			d.addField(field{key, name, value})
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil
	}
	return d.fields
}

// bodyKey returns the system key a body field's quoted name names once in lower case (-1: none),
// and the name.
func bodyKey(quoted []byte) (int, []byte) {
	name := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		name, _ = appendUnquoted(nil, quoted) // rare: a copy of its own
	}
	ascii := isASCII(name)
	for k, key := range systemKeys {
		switch {
		case ascii && len(name) == len(key) && bytes.EqualFold(name, []byte(key)):
			return k, name
		case !ascii && strings.ToLower(string(name)) == strings.ToLower(key):
			return k, name
		}
	}
	return -1, name
}

// addField adds f to d.fields, in place of an earlier one of the same name.
func (d *decoder) addField(f field) {
	for i := range d.fields {
		if bytes.Equal(d.fields[i].name, f.name) {
			d.fields[i].value = f.value
			return
		}
	}
	d.fields = append(d.fields, f)
}

// sameText reports whether two raw values carry the same text (appendUnwrapped).
func (d *decoder) sameText(a, b []byte) bool {
	x, _ := appendUnwrapped(d.scratch[:0], a)
	n := len(x)
	y, _ := appendUnwrapped(x, b)
	d.scratch = y[:0]
	return bytes.Equal(y[:n], y[n:])
}

// setStrings sets the Message's string properties, all in one allocation.
func (d *decoder) setStrings(m *Message, meta *[numKeys][]byte) {
	var ends [keyDeliveryCount]int
	d.text = d.text[:0]
	for k := range keyDeliveryCount {
		d.text, _ = appendUnwrapped(d.text, meta[k])
		ends[k] = len(d.text)
	}
	all := string(d.text)
	str := func(k int) string {
		if k == 0 {
			return all[:ends[0]]
		}
		return all[ends[k-1]:ends[k]]
	}
	m.MessageID, m.CorrelationID, m.SessionID = str(keyMessageID), str(keyCorrelationID), str(keySessionID)
	m.Subject, m.ContentType, m.LockToken = str(keySubject), str(keyContentType), str(keyLockToken)
	if m.Subject == "" {
		m.Subject = str(keyLabel)
	}
}

// properties decodes application properties sent as a JSON object (or an encoded one).
func (d *decoder) properties(raw []byte) map[string]any {
	b, ok := appendUnwrapped(d.scratch[:0], raw)
	d.scratch = b[:0]
	if !ok {
		return nil
	}
	var props map[string]any
	if json.Unmarshal(b, &props) != nil || len(props) == 0 {
		return nil
	}
	return props
}
