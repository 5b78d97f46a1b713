package telemetry

import (
	"context"
	"io"
	"log/slog"
)

// ConsoleHandler returns the handler process's log: JSON lines, records below Warn on stdout and
// the others on stderr. The host records stdout at Information and a stderr line at Warning when
// it contains "warn", at Error when it contains "error" (docs/operations.md), and a JSON line's
// "level":"WARN" or "level":"ERROR" does: so Application Insights keeps each line's severity.
func ConsoleHandler(stdout, stderr io.Writer) slog.Handler {
	return split{out: slog.NewJSONHandler(stdout, nil), err: slog.NewJSONHandler(stderr, nil)}
}

type split struct{ out, err slog.Handler }

func (h split) Enabled(ctx context.Context, l slog.Level) bool { return h.out.Enabled(ctx, l) }

func (h split) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		return h.err.Handle(ctx, r)
	}
	return h.out.Handle(ctx, r)
}

func (h split) WithAttrs(attrs []slog.Attr) slog.Handler {
	return split{out: h.out.WithAttrs(attrs), err: h.err.WithAttrs(attrs)}
}

func (h split) WithGroup(name string) slog.Handler {
	return split{out: h.out.WithGroup(name), err: h.err.WithGroup(name)}
}
