package domain_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// TestUpcomingFullPageHasACursor: with more deadlines than one full page (1000), the page of
// limit 1000 names a cursor and Upcoming (all pages) lists every deadline (a store reads at most
// a full page: asking for one more than the page must not end the list).
func TestUpcomingFullPageHasACursor(t *testing.T) {
	h := harnessOn(t, memory.New(nil))
	const n = 1001
	exp := t0.Add(10 * swDay).Format(time.RFC3339)
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		h.register(id, fmt.Sprintf("hci-%d", i), "arcSpn", map[string]any{"appId": ten, "credentialExpiresAt": exp})
	}
	ctx := context.Background()
	page, err := h.svc.UpcomingPage(ctx, 30*swDay, domain.Everywhere(), domain.Page{Limit: 1000})
	noErr(t, "UpcomingPage", err)
	all, err := h.svc.Upcoming(ctx, 30*swDay)
	noErr(t, "Upcoming", err)
	got := fields{"page": len(page.Items), "cursor": page.NextCursor != "", "all": len(all)}
	wantFields(t, "1001 deadlines", fields{"page": 1000, "cursor": true, "all": n}, got)
}

// TestSweepReportsMoreBeyondAFullPage: with more rows due than a run's default limit (a full page
// of the due index), the run handles a page and says more are due, on a store that reads at most
// a full page.
func TestSweepReportsMoreBeyondAFullPage(t *testing.T) {
	st := memory.New(nil)
	h := harnessOn(t, st)
	ctx := context.Background()
	for i := range domain.DefaultSweepLimit + 1 {
		noErr(t, "schedule", st.Schedule(ctx, domain.Due{ClusterID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), At: t0.Add(-time.Hour)}))
	}
	rep, err := h.svc.CheckPolicies(ctx, domain.SweepRun{ID: "run-full"})
	noErr(t, "CheckPolicies", err)
	wantFields(t, "one run over 1001 due rows", fields{"examined": domain.DefaultSweepLimit, "more": true},
		fields{"examined": rep.Examined, "more": rep.More})
}
