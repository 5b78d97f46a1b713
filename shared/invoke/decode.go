package invoke

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The envelope decoder (docs/architecture.md, "The host adapter"). One streaming pass (jsontext)
// over the host's {"Data":{...},"Metadata":{...}} keeps only Data's binding and the Metadata keys
// the adapter uses, as slices of the request's bytes, and skips the rest (SDK objects, the body
// fields the host copies into Metadata). What it keeps is what encoding/json gives for
// struct{ Data, Metadata map[string]json.RawMessage }: the two member names match in any letter
// case, a repeated member merges into the earlier one and a null one empties it, and the last of
// a repeated key counts. decode_diff_test.go holds it to encoding/json's results.

// decodeOptions make jsontext accept what encoding/json accepts: repeated names, and invalid UTF-8
// (replaced by U+FFFD when unquoted).
var decodeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// The Service Bus trigger's system metadata keys the adapter reads; the string ones come first.
const (
	keyMessageID = iota
	keyCorrelationID
	keySessionID
	keySubject
	keyLabel
	keyContentType
	keyLockToken
	keyDeliveryCount // the first key that is not a string
	keyEnqueuedTime
	keyEnqueuedTimeUtc
	keySequenceNumber
	keyApplicationProperties
	keyUserProperties
	numKeys
)

// systemKeys names the keys, by index.
var systemKeys = [numKeys]string{"MessageId", "CorrelationId", "SessionId", "Subject", "Label", "ContentType",
	"LockToken", "DeliveryCount", "EnqueuedTime", "EnqueuedTimeUtc", "SequenceNumber",
	"ApplicationProperties", "UserProperties"}

// stringKey: the host copies these values as they are (see trusted).
func stringKey(k int) bool { return k < keyDeliveryCount }

// envelope is what the adapter keeps of an envelope: raw JSON values, slices of its bytes.
type envelope struct {
	data []byte // Data[binding]; nil when absent
	meta [numKeys]metaValue
}

// metaValue is a system key's value in Metadata: under its exact name, and under another letter
// case (the last such). The exact one counts when there is one.
type metaValue struct{ exact, folded []byte }

func (v metaValue) raw() []byte {
	if v.exact != nil {
		return v.exact
	}
	return v.folded
}

// decoder holds one invocation's reusable buffers: the envelope's bytes, the streaming decoder,
// and scratch space for unquoting. Decoders are pooled; one that grew past maxPooledBytes (a
// large envelope) is dropped instead, so the pool never holds much memory.
type decoder struct {
	in      bytes.Buffer
	dec     jsontext.Decoder
	scratch []byte
	text    []byte
	inner   []byte // a document's text, when it came as a string
	fields  []field
	raws    [][]byte
	pairs   []pair
	none    bytes.Buffer // empty: what dec reads between invocations
	logs    []byte       // the invocation's Logs lines
	out     []byte       // the reply
}

const maxPooledBytes = 1 << 20

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func getDecoder() *decoder { return decoders.Get().(*decoder) }

func (d *decoder) release() {
	if max(d.in.Cap(), cap(d.scratch), cap(d.text), cap(d.inner), cap(d.logs), cap(d.out)) > maxPooledBytes {
		return
	}
	d.in.Reset()
	d.dec.Reset(&d.none) // let go of the last body it read
	clear(d.fields[:cap(d.fields)])
	clear(d.raws[:cap(d.raws)])
	clear(d.pairs[:cap(d.pairs)])
	decoders.Put(d)
}

// read reads the whole envelope from body.
func (d *decoder) read(body io.Reader) error {
	_, err := d.in.ReadFrom(body)
	return err
}

var errNotObject = errors.New("envelope is not a JSON object")

// parse decodes the envelope read: Data's binding, and the system keys of Metadata when meta.
func (d *decoder) parse(binding string, meta bool) (env envelope, err error) {
	dec := &d.dec
	dec.Reset(&d.in, decodeOptions...)
	if kind := dec.PeekKind(); kind != '{' {
		if _, err = dec.ReadToken(); err == nil && kind != 'n' {
			err = errNotObject
		}
		return env, err // null: an empty envelope
	}
	if _, err = dec.ReadToken(); err != nil {
		return env, err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return env, err
		}
		switch {
		case d.nameFolds(name, "Data"):
			err = d.members(func(n, v []byte) {
				if d.nameIs(n, binding) {
					env.data = v
				}
			}, func() { env.data = nil })
		case d.nameFolds(name, "Metadata") && meta:
			err = d.members(func(n, v []byte) { d.setMeta(&env, n, v) }, func() { env.meta = [numKeys]metaValue{} })
		case d.nameFolds(name, "Metadata"):
			err = d.members(nil, func() {})
		default:
			err = dec.SkipValue()
		}
		if err != nil {
			return env, err
		}
	}
	_, err = dec.ReadToken()
	return env, err
}

// members reads an object member's value, calling member for each of its names and values (the
// rest skipped when member is nil), or null for a null value; anything else is an error.
func (d *decoder) members(member func(name, value []byte), null func()) error {
	dec := &d.dec
	switch dec.PeekKind() {
	case 'n':
		null()
		_, err := dec.ReadToken()
		return err
	case '{':
	default:
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		return errNotObject
	}
	if member == nil {
		return dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return err
		}
		value, err := dec.ReadValue()
		if err != nil {
			return err
		}
		member(name, value)
	}
	_, err := dec.ReadToken()
	return err
}

// setMeta keeps v when name is a system key's (exactly, or in another letter case as
// strings.EqualFold has it).
func (d *decoder) setMeta(env *envelope, name, v []byte) {
	n := d.name(name)
	ascii := isASCII(n) // else K (Kelvin) and ſ may fold to k and s in more bytes
	for k, key := range systemKeys {
		switch {
		case len(n) != len(key) && ascii:
		case string(n) == key:
			env.meta[k].exact = v
			return
		case bytes.EqualFold(n, []byte(key)):
			env.meta[k].folded = v
			return
		}
	}
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// name is the text of a quoted JSON name (in d.text's spare room when it has escapes).
func (d *decoder) name(quoted []byte) []byte {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return quoted[1 : len(quoted)-1]
	}
	var ok bool
	d.text, ok = appendUnquoted(d.text[:0], quoted)
	if !ok {
		return nil
	}
	return d.text
}

func (d *decoder) nameIs(quoted []byte, want string) bool { return string(d.name(quoted)) == want }

func (d *decoder) nameFolds(quoted []byte, want string) bool {
	return bytes.EqualFold(d.name(quoted), []byte(want))
}

// appendUnquoted appends the text of the JSON string literal quoted to dst, as encoding/json
// decodes it (invalid UTF-8 and lone surrogates become U+FFFD); false when it is not one.
func appendUnquoted(dst, quoted []byte) ([]byte, bool) {
	out, err := jsontext.AppendUnquote(dst, quoted)
	if err == nil {
		return out, true
	}
	var s string // rare: let encoding/json apply its rules
	if json.Unmarshal(quoted, &s) != nil {
		return dst, false
	}
	return append(dst, s...), true
}

// appendUnwrapped appends the text a Data or Metadata value carries to dst. Current hosts encode
// strings twice ("\"abc\""), older ones once ("abc"): a JSON string whose text is itself a JSON
// string literal (spaces around it aside) is decoded once more. A value that is not a string
// (object, array, number) is its JSON text; null or nothing gives false.
func appendUnwrapped(dst, raw []byte) ([]byte, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return dst, false
	}
	if raw[0] != '"' {
		return append(dst, raw...), true
	}
	start := len(dst)
	dst, ok := appendUnquoted(dst, raw)
	if !ok {
		return dst[:start], false
	}
	if t := bytes.TrimSpace(dst[start:]); len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		mid := len(dst)
		if inner, ok := appendUnquoted(dst, t); ok { // after t: they do not overlap
			n := copy(inner[start:], inner[mid:])
			return inner[:start+n], true
		}
	}
	return dst, true
}

// unwrap is appendUnwrapped's text as a string.
func unwrap(raw []byte) (string, bool) {
	b, ok := appendUnwrapped(nil, raw)
	return string(b), ok
}

// integer reads a number sent as a JSON number or as a (possibly double-encoded) string.
func (d *decoder) integer(raw []byte) (int64, bool) {
	b, ok := appendUnwrapped(d.scratch[:0], raw)
	d.scratch = b[:0]
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	return n, err == nil
}

// timeLayouts are the shapes the host sends: RFC 3339 with zone or offset, and the *Utc keys'
// zone-less form (which is UTC).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02 15:04:05.9999999"}

// timestamp reads a time; a time without zone is UTC. The result is in UTC.
func (d *decoder) timestamp(raw []byte) (time.Time, bool) {
	b, ok := appendUnwrapped(d.scratch[:0], raw)
	d.scratch = b[:0]
	if !ok {
		return time.Time{}, false
	}
	return parseTime(string(bytes.TrimSpace(b)))
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// decodeTimer reads Data[binding] of a timer trigger: the object, or its encoded text, as
// encoding/json decodes it into struct{ IsPastDue json.RawMessage; ScheduleStatus
// *struct{ Last, Next, LastUpdated json.RawMessage } } (names in any letter case, the last of a
// repeated one counts, ScheduleStatus may be null; null is an empty timer).
func (d *decoder) decodeTimer(env *envelope, binding string) (Timer, error) {
	if env.data == nil {
		return Timer{}, fmt.Errorf("Data has no %q binding", binding)
	}
	text, _ := appendUnwrapped(d.inner[:0], env.data) // not scratch: the values below alias it
	d.inner = text[:0]
	var pastDue []byte
	var status [3][]byte // Last, Next, LastUpdated
	d.raws = d.raws[:0]  // the ScheduleStatus values, in order
	err := d.document(text, func(n, v []byte) {
		switch {
		case d.nameFolds(n, "IsPastDue"):
			pastDue = v
		case d.nameFolds(n, "ScheduleStatus"):
			d.raws = append(d.raws, v)
		}
	})
	for _, raw := range d.raws {
		if err == nil {
			err = d.document(raw, func(n, v []byte) {
				for i, f := range [3]string{"Last", "Next", "LastUpdated"} {
					if d.nameFolds(n, f) {
						status[i] = v
					}
				}
			})
		}
		if string(raw) == "null" {
			status = [3][]byte{}
		}
	}
	if err != nil {
		return Timer{}, fmt.Errorf("Data.%s is not a timer object", binding)
	}
	var t Timer
	if v, ok := appendUnwrapped(d.scratch[:0], pastDue); ok {
		t.IsPastDue = bytes.EqualFold(v, []byte("true"))
	}
	t.Last, _ = d.timestamp(status[0])
	t.Next, _ = d.timestamp(status[1])
	t.LastUpdated, _ = d.timestamp(status[2])
	return t, nil
}

// document reads text, a whole JSON document that must be an object or null, calling member for
// each of the object's names and values.
func (d *decoder) document(text []byte, member func(name, value []byte)) error {
	dec := &d.dec
	dec.Reset(bytes.NewBuffer(text), decodeOptions...)
	if err := d.members(member, func() {}); err != nil {
		return err
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return errNotObject
	}
	return nil
}
