package cli

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/azlocal/registrar/shared/api"
)

// style decides how text for people looks: colour only when enabled.
type style struct{ color bool }

// attention are statuses that need an operator's attention (highlighted in red).
var attention = map[string]bool{
	api.StatusOutOfPolicy: true, api.StatusDisconnect: true, api.OrphanSuspected: true, api.ResetFailed: true,
	api.ResetStalled: true, "credentialExpired": true,
}

// status returns s, in red when it needs attention and colour is on.
func (st style) status(s string) string {
	if st.color && attention[s] {
		return "\x1b[31m" + s + "\x1b[0m"
	}
	return s
}

// table writes aligned columns (two spaces apart); widths come from the plain text (escaped by
// text), so colour added by paint never breaks the alignment. paint (nil: none) may colour a cell
// by its text.
func table(w io.Writer, header []string, rows [][]string, paint func(string) string) {
	for _, r := range rows { // cells are plain text: whatever their source, nothing a terminal acts on
		for i, c := range r {
			r[i] = text(c)
		}
	}
	widths := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	line := func(r []string, p func(string) string) {
		var b strings.Builder
		for i, c := range r {
			pad := ""
			if i < len(r)-1 {
				pad = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2)
			}
			if p != nil {
				c = p(c)
			}
			b.WriteString(c + pad)
		}
		fmt.Fprintln(w, b.String())
	}
	line(header, nil)
	for _, r := range rows {
		line(r, paint)
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "(none)")
	}
}

// ago says how far t is from now for people: "just now", "in 6 days", "3 h ago".
func ago(t, now time.Time) string {
	d := t.Sub(now)
	future := d > 0
	if !future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// when shows an exact RFC 3339 UTC time with its human distance from now; "-" for none.
func when(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339) + " (" + ago(*t, now) + ")"
}

// orDash returns s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Everything the service answers is text from other systems (names, reasons, errors): before it
// reaches a terminal, each character a terminal could act on instead of showing is written as its
// Go escape (docs/cli.md, "Output"): C0 and C1 controls (ESC, BEL, CR, backspace, the one-byte CSI
// U+009B...), DEL, bidirectional and other format characters, separators other than the space,
// and bytes that are not UTF-8. The command line's own colours and progress lines are added after.

// text returns s with every character that is not printable escaped (\x1b, \u202e, \xff).
func text(s string) string {
	clean := true
	for _, r := range s {
		clean = clean && r != utf8.RuneError && unicode.IsPrint(r)
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// sanitize applies text to every string reachable from v (a pointer to decoded JSON: struct
// fields, slices, maps, pointers and interfaces), in place.
func sanitize(v any) { sanitizeValue(reflect.ValueOf(v)) }

func sanitizeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if v.Kind() == reflect.Interface && e.Kind() == reflect.String {
			v.Set(reflect.ValueOf(text(e.String())))
			return
		}
		sanitizeValue(e)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				sanitizeValue(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // raw bytes (json.RawMessage) are not printed as text
		}
		for i := range v.Len() {
			sanitizeValue(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			sanitizeValue(e)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		if v.CanSet() {
			v.SetString(text(v.String()))
		}
	}
}

// jsonText is an API answer for -o json: the same JSON, with each character inside a string that
// is not printable (a C1 control, a bidirectional override... which encoding/json leaves raw)
// written as its JSON escape \uXXXX, so the value is unchanged and the terminal sees none of them.
func jsonText(b []byte) []byte {
	var out bytes.Buffer
	inString, escaped := false, false
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case inString && escaped:
			escaped = false
		case inString && r == '\\':
			escaped = true
		case r == '"':
			inString = !inString
		}
		if (inString || !strings.ContainsRune(" \t\r\n", r)) && (r == utf8.RuneError && size <= 1 || !unicode.IsPrint(r)) {
			if r == utf8.RuneError && size <= 1 {
				r = utf8.RuneError // not UTF-8: JSON has no escape for a raw byte
			}
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&out, `\u%04x`, u)
			}
		} else {
			out.Write(b[i : i+size])
		}
		i += size
	}
	return out.Bytes()
}
