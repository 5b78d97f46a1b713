package cli

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// style decides how text for people looks: colour only when enabled.
type style struct{ color bool }

// attention are statuses that need an operator's attention (highlighted in red).
var attention = map[string]bool{
	"OutOfPolicy": true, "Disconnected": true, "Suspected": true, "Failed": true, "Stalled": true,
	"credentialExpired": true,
}

// status returns s, in red when it needs attention and colour is on.
func (st style) status(s string) string {
	if st.color && attention[s] {
		return "\x1b[31m" + s + "\x1b[0m"
	}
	return s
}

// table writes aligned columns (two spaces apart); widths come from the plain text, so colour
// added by paint never breaks the alignment. paint (nil: none) may colour a cell by its text.
func table(w io.Writer, header []string, rows [][]string, paint func(string) string) {
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
