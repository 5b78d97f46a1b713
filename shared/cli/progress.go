package cli

import (
	"fmt"
	"io"
	"strings"
)

// progress draws one line, "label [####......] 300/1000", redrawn in place on a terminal; it
// draws nothing when standard error is not one (docs/cli.md, "Bulk").
type progress struct {
	w     io.Writer
	on    bool
	label string
	total int
}

// barWidth is the bar's width in characters.
const barWidth = 30

func (s *session) progress(label string, total int) *progress {
	return &progress{w: s.Stderr, on: s.StderrTerminal, label: label, total: total}
}

// set shows done of total.
func (p *progress) set(done int) {
	if !p.on {
		return
	}
	n := barWidth * done / max(p.total, 1)
	fmt.Fprintf(p.w, "\r\x1b[K%s [%s%s] %d/%d", p.label, strings.Repeat("#", n), strings.Repeat(".", barWidth-n), done, p.total)
}

// end clears the line.
func (p *progress) end() {
	if p.on {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
