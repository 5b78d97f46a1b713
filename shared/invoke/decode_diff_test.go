package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The streaming decoder (decode.go) must give every function what the first, encoding/json one
// (reference_test.go) gave it, for any envelope: the committed corpus, generated envelopes full of
// the host's oddities, and fuzzed bytes.

// trigger is the kind of function an envelope is decoded for.
type trigger int

const (
	queueTrigger trigger = iota
	timerTrigger
	httpTrigger
)

var triggerBinding = map[trigger]string{queueTrigger: BindingMessage, timerTrigger: BindingTimer, httpTrigger: BindingRequest}

// decoded is what an envelope gives the function, or that it is refused (400).
type decoded struct {
	Refused bool
	Message Message
	Timer   Timer
	Request *requestSeen
}

// requestSeen is what an HTTP function sees of its request (header values sorted: the reference
// adds them in map order).
type requestSeen struct {
	Method, URL, Host, Body string
	ContentLength           int64
	Header                  http.Header
}

func seeRequest(r *http.Request) *requestSeen {
	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body)
	h := r.Header.Clone()
	for _, vs := range h {
		slices.Sort(vs)
	}
	return &requestSeen{r.Method, r.URL.String(), r.Host, body.String(), r.ContentLength, h}
}

func fastDecode(kind trigger, env []byte) decoded {
	d := getDecoder()
	defer d.release()
	d.in.Write(env)
	binding := triggerBinding[kind]
	e, err := d.parse(binding, kind == queueTrigger)
	if err != nil {
		return decoded{Refused: true}
	}
	var out decoded
	switch kind {
	case queueTrigger:
		out.Message, err = d.decodeMessage(&e, binding)
	case timerTrigger:
		out.Timer, err = d.decodeTimer(&e, binding)
	case httpTrigger:
		var r *http.Request
		if r, err = d.decodeRequest(context.Background(), &e, binding); err == nil {
			out.Request = seeRequest(r)
		}
	}
	return decoded{Refused: err != nil, Message: out.Message, Timer: out.Timer, Request: out.Request}
}

// refDecode is the reference's result; ambiguous when it depends on Go's map order.
func refDecode(kind trigger, env []byte) (out decoded, ambiguous bool) {
	e, err := refParse(env)
	if err != nil {
		return decoded{Refused: true}, false
	}
	binding := triggerBinding[kind]
	switch kind {
	case queueTrigger:
		out.Message, err = refDecodeMessage(e, binding)
		ambiguous = err == nil && (foldTwins(e.Metadata) || lowerTwins(out.Message.Body))
	case timerTrigger:
		out.Timer, err = refDecodeTimer(e, binding)
	case httpTrigger:
		var r *http.Request
		if r, err = refDecodeRequest(context.Background(), e, binding); err == nil {
			out.Request = seeRequest(r)
		}
	}
	out.Refused = err != nil
	return out, ambiguous
}

// foldTwins: a system key absent under its own name but present in two other letter cases (the
// reference takes either).
func foldTwins(md map[string]json.RawMessage) bool {
	for _, key := range refSystemKeys {
		if _, ok := md[key]; ok {
			continue
		}
		n := 0
		for k := range md {
			if strings.EqualFold(k, key) {
				n++
			}
		}
		if n > 1 {
			return true
		}
	}
	return false
}

// lowerTwins: two body fields whose lower-case names are one system key's (the reference keeps either).
func lowerTwins(body []byte) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return false
	}
	seen := map[string]int{}
	for k := range obj {
		seen[strings.ToLower(k)]++
	}
	for _, key := range refSystemKeys {
		if seen[strings.ToLower(key)] > 1 {
			return true
		}
	}
	return false
}

// sameAsReference fails t when the two decoders disagree on env.
func sameAsReference(t *testing.T, kind trigger, env []byte) {
	t.Helper()
	want, ambiguous := refDecode(kind, env)
	if ambiguous {
		return
	}
	if d := cmp.Diff(want, fastDecode(kind, env)); d != "" {
		t.Errorf("envelope %q (trigger %d): streaming decoder differs from encoding/json (-reference +streaming):\n%s", env, kind, d)
	}
}

// Every committed envelope decodes as before, for every kind of trigger.
func TestDecoderMatchesReferenceOnTheCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, f := range files {
		env, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []trigger{queueTrigger, timerTrigger, httpTrigger} {
			sameAsReference(t, kind, env)
		}
	}
}

// Generated envelopes with the host's oddities (strings encoded once or twice, names in any letter
// case, repeated and null members, body fields copying system keys, escapes, invalid UTF-8, lone
// surrogates, numbers as strings) decode as before.
func TestDecoderMatchesReferenceOnGeneratedEnvelopes(t *testing.T) {
	const n = 20_000
	rng := rand.New(rand.NewPCG(21, 4))
	compared := 0
	for range n {
		kind := trigger(rng.IntN(3))
		env := genEnvelope(rng, kind)
		if _, ambiguous := refDecode(kind, env); ambiguous {
			continue
		}
		compared++
		sameAsReference(t, kind, env)
		if t.Failed() {
			return
		}
	}
	if compared < n/2 {
		t.Errorf("only %d of %d generated envelopes were unambiguous: the generator needs fixing", compared, n)
	}
}

// FuzzDecoderMatchesReference: any bytes, decoded for each kind of trigger, as before.
func FuzzDecoderMatchesReference(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		f.Add(genEnvelope(rng, trigger(rng.IntN(3))))
	}
	f.Fuzz(func(t *testing.T, env []byte) {
		for _, kind := range []trigger{queueTrigger, timerTrigger, httpTrigger} {
			sameAsReference(t, kind, env)
		}
	})
}

// mostly returns usual nine times in ten, else one of the others.
func mostly[T any](rng *rand.Rand, usual T, others ...T) T {
	if rng.IntN(10) > 0 {
		return usual
	}
	return pick(rng, others...)
}

// pick returns one of xs.
func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// texts are strings that exercise unquoting.
var texts = []string{"", "abc", "msg-1", " msg-1 ", "3", " 42 ", "-1", "2147483648", "9007199254740993", "x1",
	"true", "TRUE", "false", "null", `"quoted"`, ` "spaced" `, `"`, `\`, "tab\there", "caf\u00e9", "\u2028",
	"\x01ctl", "a\u0000b", "\xff\xfeinvalid", "2026-05-01T10:00:00", "2026-05-01T12:00:00.5+02:00",
	"2026-05-01 10:00:00.1234567", "2026-13-01T10:00:00Z", `{"a":1}`, `{"source":"deployer"}`, `{}`, `[1,2]`}

// quote is s as a JSON string literal, sometimes written with needless escapes or with a lone
// surrogate or raw invalid UTF-8 (which encoding/json accepts).
func quote(rng *rand.Rand, s string) string {
	switch rng.IntN(12) {
	case 0:
		var b strings.Builder
		b.WriteByte('"')
		for _, r := range s {
			if r < 0x10000 {
				b.WriteString(`\u` + hex4(r))
			} else {
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
		return b.String()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	q := strings.TrimSuffix(b.String(), "\n")
	switch rng.IntN(10) {
	case 0:
		return q[:len(q)-1] + `\ud800"` // a lone surrogate
	case 1:
		return `"\/` + q[1:]
	case 2:
		return q[:len(q)-1] + "\xff\"" // raw invalid UTF-8
	}
	return q
}

// quoteName is a member name: plain, or now and then all \u escapes.
func quoteName(rng *rand.Rand, name string) string {
	if rng.IntN(6) == 0 {
		var b strings.Builder
		b.WriteByte('"')
		for _, r := range name {
			b.WriteString(`\u` + hex4(r))
		}
		b.WriteByte('"')
		return b.String()
	}
	b, _ := json.Marshal(name)
	return string(b)
}

func hex4(r rune) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[r>>12&15], digits[r>>8&15], digits[r>>4&15], digits[r&15]})
}

// hostValue is text as the host may send it: encoded twice or once, or raw JSON.
func hostValue(rng *rand.Rand, text string) string {
	switch rng.IntN(6) {
	case 0, 1, 2:
		return quote(rng, quote(rng, text))
	case 3:
		return quote(rng, text)
	case 4:
		return pick(rng, "1", "3", "-7", "1e2", "2.5", "true", "null", `{"k":"v"}`, `[]`, `{"legacy":true}`)
	}
	return quote(rng, " "+quote(rng, text)+" ")
}

// caseOf is name in a random letter case (or with a Kelvin sign or long s where it has k or s).
func caseOf(rng *rand.Rand, name string) string {
	switch rng.IntN(6) {
	case 0:
		return strings.ToLower(name)
	case 1:
		return strings.ToUpper(name)
	case 2:
		return strings.NewReplacer("k", "\u212a", "s", "\u017f").Replace(name)
	}
	return name
}

// genBody is a message body: often a JSON object with fields named like system keys.
func genBody(rng *rand.Rand, meta map[string]string) string {
	if rng.IntN(4) == 0 {
		return pick(rng, texts...)
	}
	var fields []string
	for range rng.IntN(5) {
		key := pick(rng, append(refSystemKeys, "type", "clusterId", "note")...)
		val := pick(rng, texts...)
		if v, ok := meta[key]; ok && rng.IntN(2) == 0 {
			val = v // the value the host would copy over the system key
		}
		fields = append(fields, quoteName(rng, caseOf(rng, key))+":"+pick(rng, quote(rng, val), "7", "null", `{"x":1}`))
	}
	body := "{" + strings.Join(fields, ",") + "}"
	if rng.IntN(10) == 0 {
		body += pick(rng, " ", "x", "}", "\n")
	}
	return body
}

// genProperties is an ApplicationProperties value: an object of any JSON (repeated names, nested
// values, numbers out of range now and then), or its encoded text.
func genProperties(rng *rand.Rand) string {
	var value func(depth int) string
	value = func(depth int) string {
		if depth > 2 {
			return pick(rng, "1", "-2.5e3", "1e400", "true", "null", quote(rng, pick(rng, texts...)))
		}
		switch rng.IntN(6) {
		case 0:
			return "[" + value(depth+1) + "," + value(depth+1) + "]"
		case 1:
			return pick(rng, "[]", "{}")
		case 2:
			return "{" + quoteName(rng, pick(rng, "a", "b", "a")) + ":" + value(depth+1) + "," + quoteName(rng, pick(rng, "a", "c")) + ":" + value(depth+1) + "}"
		}
		return value(3)
	}
	obj := value(1)
	if !strings.HasPrefix(obj, "{") {
		obj = "{" + quoteName(rng, "source") + ":" + obj + "}"
	}
	return mostly(rng, obj, quote(rng, obj), quote(rng, quote(rng, obj)))
}

// genEnvelope is an envelope for kind, now and then broken.
func genEnvelope(rng *rand.Rand, kind trigger) []byte {
	meta := map[string]string{}
	var metaFields []string
	for range rng.IntN(8) {
		key := mostly(rng, pick(rng, append(refSystemKeys, "sys", "Client", "type", "ExpiresAt")...), "MessageId", "DeliveryCount")
		text := pick(rng, texts...)
		meta[key] = text
		value := hostValue(rng, text)
		if strings.HasSuffix(key, "Properties") && rng.IntN(4) > 0 {
			value = genProperties(rng)
		}
		metaFields = append(metaFields, quoteName(rng, caseOf(rng, key))+":"+value)
	}
	var data string
	switch kind {
	case queueTrigger:
		data = hostValue(rng, genBody(rng, meta))
	case timerTrigger:
		status := func() string {
			return mostly(rng, `{`+quoteName(rng, caseOf(rng, "Last"))+`:`+hostValue(rng, pick(rng, texts...))+
				`,"Next":"2026-05-01T10:00:00+00:00",`+quoteName(rng, caseOf(rng, pick(rng, "LastUpdated", "Next")))+`:`+
				quote(rng, pick(rng, texts...))+`}`, "null", `"x"`, `{}`)
		}
		members := []string{`"Schedule":{"AdjustForDST":true}`, quoteName(rng, caseOf(rng, "IsPastDue")) + `:` +
			pick(rng, "true", "false", `"true"`, `"\"True\""`, "1", "null"), quoteName(rng, caseOf(rng, "ScheduleStatus")) + `:` + status()}
		for range rng.IntN(3) {
			members = append(members, quoteName(rng, caseOf(rng, pick(rng, "ScheduleStatus", "IsPastDue")))+`:`+status())
		}
		timer := "{" + strings.Join(members, ",") + "}"
		data = mostly(rng, timer, quote(rng, timer), "null", "[]")
	case httpTrigger:
		headers := func() string {
			var hs []string
			for range rng.IntN(4) {
				hs = append(hs, quoteName(rng, pick(rng, "Accept", "accept", "X-Y", "Content-Length", "X-Ms-Client-Principal"))+":"+
					pick(rng, `["a","b"]`, `"c"`, `[null,"d"]`, `["e",1]`, `[]`, `null`, `7`, hostValue(rng, pick(rng, texts...))))
			}
			return mostly(rng, "{"+strings.Join(hs, ",")+"}", "null", "[]", `"x"`)
		}
		data = `{"Url":` + quote(rng, mostly(rng, pick(rng, "http://h/api/v1/x?a=1", "https://registrar.example/api/v1/clusters"), "::", "")) +
			`,"Method":` + mostly(rng, pick(rng, `"get"`, `"POST"`, `""`, `null`), `"B AD"`) +
			`,"Query":` + mostly(rng, pick(rng, `"{}"`, `{"limit":"5"}`, `{"a":["1","2"]}`), `7`) +
			`,"Headers":` + headers() + pick(rng, "", `,"Body":`+hostValue(rng, pick(rng, texts...))) +
			pick(rng, "", `,`+quoteName(rng, caseOf(rng, "Headers"))+`:`+headers(), `,"url":"http://other/api/x"`) + `}`
	}
	dataName := mostly(rng, pick(rng, "Data", "Data", "data", "DATA"), "Dat")
	binding := mostly(rng, triggerBinding[kind], "Message", "other")
	members := []string{
		quoteName(rng, dataName) + ":" + mostly(rng, "{"+quoteName(rng, binding)+":"+data+"}", "null", `{"x":1}`, `"s"`),
		quoteName(rng, mostly(rng, pick(rng, "Metadata", "metadata"), "Meta")) + ":" +
			mostly(rng, "{"+strings.Join(metaFields, ",")+"}", "null", "[]"),
	}
	if rng.IntN(5) == 0 {
		members = append(members, members[rng.IntN(2)])
	}
	if rng.IntN(5) == 0 {
		members = append(members, `"Other":{"Data":{}}`)
	}
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	env := "{" + strings.Join(members, ",") + "}"
	switch rng.IntN(30) {
	case 0:
		return []byte(env[:rng.IntN(len(env))])
	case 1:
		return []byte(pick(rng, "null", "[]", "7", `"x"`, ""))
	case 2:
		return []byte(env + pick(rng, " ", "garbage", "{}"))
	}
	return []byte(env)
}
