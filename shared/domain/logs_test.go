package domain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

type invocationKey struct{}

// Every line the domain logs about an invocation carries its id, injected through
// Options.InvocationID (the domain never reads the adapter), under the schema's key.
func TestDomainLinesCarryTheInvocationID(t *testing.T) {
	var buf bytes.Buffer
	svc := domain.NewService(memory.New(nil), clock.NewManual(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), &domain.Options{
		Logger:       slog.New(slog.NewJSONHandler(&buf, nil)),
		InvocationID: func(ctx context.Context) string { s, _ := ctx.Value(invocationKey{}).(string); return s },
	})
	ctx := context.WithValue(context.Background(), invocationKey{}, "inv-42")
	if _, err := svc.CheckPolicies(ctx, domain.SweepRun{ID: "inv-42"}); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) == 0 || len(lines[0]) == 0 {
		t.Fatal("the sweep logged nothing")
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if rec["invocationId"] != "inv-42" {
			t.Errorf("line %s: invocationId = %v, want inv-42", l, rec["invocationId"])
		}
	}
}
