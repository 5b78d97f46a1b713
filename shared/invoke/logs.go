package invoke

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// An envelope invocation's log records go to two places (docs/operations.md). The host attaches
// the reply's Logs to the invocation (traces with its operation_Id and InvocationId), each at
// Information whatever it says and only for a 2xx reply; the process's stdout and stderr it
// records without the invocation's id (category Host.Function.Console). So every record logged
// at Info or above with an envelope invocation's context goes both to the process's log and into
// that invocation's Logs, as a text line that states its level:
//
//	level=WARN msg="publish after commit failed; the outbox relay will retry" events=2 error="..."

// MaxLogs bounds the Logs entries of one reply; past it one entry says how many were left out.
const MaxLogs = 50

type logsKey struct{}

// collector gathers one invocation's Logs entries. Records logged after the reply was built (by a
// goroutine that outlived the invocation) are ignored.
type collector struct {
	mu      sync.Mutex
	lines   []string
	dropped int
	closed  bool
}

func (c *collector) add(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
	case len(c.lines) < MaxLogs:
		c.lines = append(c.lines, line)
	default:
		c.dropped++
	}
}

// take returns the entries and closes the collector.
func (c *collector) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.dropped > 0 {
		c.lines = append(c.lines, `level=WARN msg="`+strconv.Itoa(c.dropped)+` more log entries left out of this reply; see the process log"`)
	}
	return c.lines
}

// withLogs returns ctx collecting its records into a new collector.
func withLogs(ctx context.Context) (context.Context, *collector) {
	c := &collector{lines: make([]string, 0, 2)}
	return context.WithValue(ctx, logsKey{}, c), c
}

// LogHandler returns a slog.Handler that passes records to h and also adds those logged (at Info
// or above) with an envelope invocation's context to that invocation's reply Logs. NewServer wraps
// its Logger with it; wrap the logger the functions log with too, so what they log about an
// invocation is attached to it in Application Insights.
func LogHandler(h slog.Handler) slog.Handler {
	if _, ok := h.(*logHandler); ok {
		return h
	}
	return &logHandler{next: h}
}

type logHandler struct {
	next slog.Handler
	ops  []func(slog.Handler) slog.Handler // WithAttrs and WithGroup calls, replayed on the text form
}

func (h *logHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return (l >= slog.LevelInfo && ctx.Value(logsKey{}) != nil) || h.next.Enabled(ctx, l)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	if c, ok := ctx.Value(logsKey{}).(*collector); ok && r.Level >= slog.LevelInfo {
		c.add(h.text(ctx, r))
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	op := func(t slog.Handler) slog.Handler { return t.WithAttrs(attrs) }
	return &logHandler{next: h.next.WithAttrs(attrs), ops: append(slices.Clip(h.ops), op)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	op := func(t slog.Handler) slog.Handler { return t.WithGroup(name) }
	return &logHandler{next: h.next.WithGroup(name), ops: append(slices.Clip(h.ops), op)}
}

// text is r as one logfmt line without the time (the host stamps each entry).
func (h *logHandler) text(ctx context.Context, r slog.Record) string {
	var b strings.Builder
	var t slog.Handler = slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: dropTime})
	for _, op := range h.ops {
		t = op(t)
	}
	_ = t.Handle(ctx, r)
	return strings.TrimSuffix(b.String(), "\n")
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// Outcome returns the outcome a reply's Logs state: the outcome= value of their last entry, the
// invocation's own line ("" when that entry is not such a line). For tests and tools that read
// replies; the format is LogHandler's.
func Outcome(logs []string) string {
	if len(logs) == 0 {
		return ""
	}
	line := logs[len(logs)-1]
	if !strings.Contains(line, " msg=invocation ") {
		return ""
	}
	_, v, ok := strings.Cut(line, " outcome=")
	if !ok {
		return ""
	}
	if strings.HasPrefix(v, `"`) {
		if q, err := strconv.QuotedPrefix(v); err == nil {
			s, _ := strconv.Unquote(q)
			return s
		}
		return ""
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}
