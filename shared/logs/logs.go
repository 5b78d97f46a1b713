// Package logs is Registrar's one log schema (docs/operations.md): the keys every line uses for
// an error, an outcome, an HTTP status and the invocation, and the handler that stamps each line
// logged about an invocation with its id. It imports only the standard library, so the domain
// uses it too.
package logs

import (
	"context"
	"log/slog"
)

// Keys of the schema.
const (
	ErrorKey        = "error"        // a failure's text: the one key for errors
	OutcomeKey      = "outcome"      // how an invocation, message or command ended (a typed enum)
	StatusKey       = "status"       // an HTTP response's status code
	InvocationIDKey = "invocationId" // the host's invocation ID the line belongs to
)

// Err is the error attribute of a line: key "error", the error's text.
func Err(err error) slog.Attr {
	if err == nil {
		return slog.String(ErrorKey, "")
	}
	return slog.String(ErrorKey, err.Error())
}

// WithInvocationID returns a handler that adds invocationId to every record logged with a
// context that belongs to an invocation (id(ctx) != ""), unless the record names one already.
// The id comes from whoever owns the invocation (the host adapter), injected as id.
func WithInvocationID(h slog.Handler, id func(context.Context) string) slog.Handler {
	if id == nil {
		return h
	}
	return &invocationHandler{next: h, id: id}
}

type invocationHandler struct {
	next slog.Handler
	id   func(context.Context) string
}

func (h *invocationHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *invocationHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := h.id(ctx); id != "" && !hasKey(r, InvocationIDKey) {
		r = r.Clone()
		r.AddAttrs(slog.String(InvocationIDKey, id))
	}
	return h.next.Handle(ctx, r)
}

func (h *invocationHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &invocationHandler{next: h.next.WithAttrs(attrs), id: h.id}
}

func (h *invocationHandler) WithGroup(name string) slog.Handler {
	return &invocationHandler{next: h.next.WithGroup(name), id: h.id}
}

func hasKey(r slog.Record, key string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
