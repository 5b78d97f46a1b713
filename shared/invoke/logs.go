package invoke

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
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

// invocation is the context of an envelope invocation: its parent's, plus the host's
// invocation ID (InvocationID) and the collector of the reply's Logs, in one allocation.
type invocation struct {
	context.Context
	id   string
	logs collector
}

// newInvocation returns the context of invocation id, collecting its Logs into buf's room.
func newInvocation(parent context.Context, id string, buf []byte) *invocation {
	return &invocation{Context: parent, id: id, logs: collector{text: buf[:0]}}
}

func (c *invocation) Value(key any) any {
	switch key.(type) {
	case ctxKey:
		return c.id
	case logsKey:
		return &c.logs
	}
	return c.Context.Value(key)
}

// collector gathers one invocation's Logs entries as text lines, each ended by a newline (the
// text form quotes a newline inside a key or value). Records logged once the reply is built (by
// a goroutine that outlived the invocation) are ignored.
type collector struct {
	mu      sync.Mutex
	text    []byte
	lines   int
	dropped int
	closed  bool
}

func (c *collector) add(ctx context.Context, h *logHandler, r slog.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
	case c.lines < MaxLogs:
		c.text = h.appendText(ctx, c.text, r)
		c.lines++
	default:
		c.dropped++
	}
}

// close closes the collector and returns its lines, a note of how many were left out last.
func (c *collector) close() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed && c.dropped > 0 {
		c.text = append(c.text, `level=WARN msg="`...)
		c.text = strconv.AppendInt(c.text, int64(c.dropped), 10)
		c.text = append(c.text, " more log entries left out of this reply; see the process log\"\n"...)
	}
	c.closed = true
	return c.text
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
		c.add(ctx, h, r)
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

// textLine is slog's TextHandler writing into a buffer of its own, reused (pooled).
type textLine struct {
	buf bytes.Buffer
	h   slog.Handler
}

var textLines = sync.Pool{New: func() any {
	t := new(textLine)
	t.h = slog.NewTextHandler(&t.buf, nil)
	return t
}}

// appendText appends r to dst as one logfmt line without the time (the host stamps each entry),
// ended by a newline.
func (h *logHandler) appendText(ctx context.Context, dst []byte, r slog.Record) []byte {
	r.Time = time.Time{} // slog's handlers leave out a zero time
	t := textLines.Get().(*textLine)
	t.buf.Reset()
	th := t.h
	for _, op := range h.ops {
		th = op(th)
	}
	_ = th.Handle(ctx, r)
	dst = append(dst, t.buf.Bytes()...)
	if t.buf.Cap() <= maxPooledBytes {
		textLines.Put(t)
	}
	return dst
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
