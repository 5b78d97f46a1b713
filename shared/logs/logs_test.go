package logs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

type idKey struct{}

func TestLinesAboutAnInvocationCarryItsID(t *testing.T) {
	var buf bytes.Buffer
	id := func(ctx context.Context) string { s, _ := ctx.Value(idKey{}).(string); return s }
	log := slog.New(WithInvocationID(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}), id)).With("component", "test")
	inv := context.WithValue(context.Background(), idKey{}, "inv-1")
	log.WarnContext(inv, "failed", Err(errors.New("boom")))
	log.InfoContext(context.Background(), "outside")
	log.InfoContext(inv, "named", InvocationIDKey, "inv-2")
	want := []string{
		`level=WARN msg=failed component=test error=boom invocationId=inv-1`,
		`level=INFO msg=outside component=test`,
		`level=INFO msg=named component=test invocationId=inv-2`,
	}
	got := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
