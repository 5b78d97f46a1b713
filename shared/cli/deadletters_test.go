package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// manyDeadLetters is a bus.DeadLetterQueue holding n dead letters d-1..d-n with sequence
// numbers 10, 20, 30, ….
type manyDeadLetters struct{ n int }

func (f manyDeadLetters) DeadLetters(_ context.Context, _ string, from int64, max int) ([]bus.DeadLetter, error) {
	var out []bus.DeadLetter
	for i := 1; i <= f.n && len(out) < max; i++ {
		if seq := int64(10 * i); seq >= from {
			out = append(out, bus.DeadLetter{MessageID: fmt.Sprint("d-", i), Reason: "MaxDeliveryCountExceeded",
				DeliveryCount: 10, SequenceNumber: seq, EnqueuedTime: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)})
		}
	}
	return out, nil
}

func (manyDeadLetters) Replay(context.Context, string, []string) (bus.ReplayReport, error) {
	return bus.ReplayReport{}, nil
}

// reader is an Easy Auth principal header for a caller with the Reader role.
var reader = base64.StdEncoding.EncodeToString([]byte(`{"auth_typ":"aad","name_typ":"name","role_typ":"roles",` +
	`"claims":[{"typ":"name","val":"rita@contoso.com"},{"typ":"roles","val":"` + api.RoleReader + `"}]}`))

// TestDeadLettersFollowsEveryPage: with 250 dead letters behind the real admin route (100 a
// page), the command reads three pages and shows all 250 once, in order, as a table and as one JSON list.
func TestDeadLettersFollowsEveryPage(t *testing.T) {
	authz, err := auth.New(auth.Config{EasyAuthEnabled: true})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := admin.New(admin.Deps{Service: domain.NewService(memory.New(nil), clk, &domain.Options{Logger: quiet}), Auth: authz,
		DeadLetters: manyDeadLetters{n: 250}, Queues: []string{"machine-events"}, Clock: clk, Logger: quiet})
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		r.Header.Set(auth.HeaderPrincipal, reader) // standing in for Easy Auth
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	code, out, stderr := runCLI(t, App{}, srv.URL, "deadletters", "machine-events")
	if code != 0 || gets.Load() != 3 {
		t.Fatalf("exit %d after %d requests, stderr %q; want 0 after 3", code, gets.Load(), stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 251 || !strings.HasPrefix(lines[1], "d-1 ") || !strings.HasPrefix(lines[250], "d-250 ") {
		t.Fatalf("table has %d lines (first %q, last %q); want a header and d-1..d-250", len(lines), lines[1], lines[len(lines)-1])
	}

	gets.Store(0)
	code, out, stderr = runCLI(t, App{}, srv.URL, "deadletters", "machine-events", "-o", "json")
	var merged struct {
		Items      []bus.DeadLetter
		NextCursor *string
	}
	if code != 0 {
		t.Fatalf("-o json: exit %d, stderr %q", code, stderr)
	}
	if err := json.Unmarshal([]byte(out), &merged); err != nil || merged.NextCursor != nil {
		t.Fatalf("-o json output %.200q: %v", out, err)
	}
	items := merged.Items
	seen := map[string]bool{}
	for i, d := range items {
		if d.MessageID != fmt.Sprint("d-", i+1) || seen[d.MessageID] {
			t.Fatalf("item %d is %s: duplicate or out of order", i, d.MessageID)
		}
		seen[d.MessageID] = true
	}
	if len(items) != 250 || gets.Load() != 3 {
		t.Fatalf("-o json: %d items in %d requests, want 250 in 3", len(items), gets.Load())
	}
}
