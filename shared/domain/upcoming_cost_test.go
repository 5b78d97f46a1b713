package domain_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// callCounter counts the store calls Upcoming makes.
type callCounter struct {
	domain.Store
	n atomic.Int64
}

func (c *callCounter) Load(ctx context.Context, id, msg string) (domain.ClusterRecord, error) {
	c.n.Add(1)
	return c.Store.Load(ctx, id, msg)
}

func (c *callCounter) LoadState(ctx context.Context, id string) (domain.ClusterRecord, error) {
	c.n.Add(1)
	return c.Store.LoadState(ctx, id)
}

func (c *callCounter) AttentionBy(ctx context.Context, after domain.AttentionRow, until time.Time, limit int) ([]domain.AttentionRow, error) {
	c.n.Add(1)
	return c.Store.AttentionBy(ctx, after, until, limit)
}

func (c *callCounter) ListIndex(ctx context.Context, kind, group string) ([]domain.IndexEntry, error) {
	c.n.Add(1)
	return c.Store.ListIndex(ctx, kind, group)
}

// A call's cost follows what it returns (docs/admin-api.md, "Costs"): /policy/upcoming with a
// ten-year window and limit 1 costs what a week's does, and each page costs about what the first
// does (the list is never recomputed from its start). 40 clusters with credentials expiring over
// nine years, one of them with a registration deadline too; counted in store calls, and on Azurite
// in HTTP requests.
func TestUpcomingCostFollowsThePage(t *testing.T) {
	counter := &tables.CountingPolicy{}
	stores := map[string]func(t *testing.T) domain.Store{
		"memory": func(*testing.T) domain.Store { return memory.New(nil) },
		"tables": func(t *testing.T) domain.Store {
			st, err := tables.New(context.Background(), tables.Config{ConnectionString: azurite.Start(t)}, &tables.Options{PerCallPolicies: []policy.Policy{counter}})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			cs := &callCounter{Store: mk(t)}
			h := harnessOn(t, cs)
			h.svc = domain.NewService(cs, h.clk, &domain.Options{Logger: slog.New(slog.DiscardHandler)})
			for i := range 40 {
				id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
				exp := t0.Add(time.Duration(3+(i*83)%3300) * swDay).Format(time.RFC3339)
				h.register(id, fmt.Sprintf("hci-%d", i), "arcSpn", map[string]any{"appId": ten, "credentialExpiresAt": exp})
			}
			h.installed(cA, "n1") // registration and cluster deadlines on day 30
			ctx := context.Background()
			cost := func(within time.Duration, p domain.Page) (domain.PageOf[domain.Deadline], int64, int64) {
				t.Helper()
				cs.n.Store(0)
				counter.Reset()
				page, err := h.svc.UpcomingPage(ctx, within, domain.Everywhere(), p)
				if err != nil {
					t.Fatal(err)
				}
				return page, cs.n.Load(), counter.Count()
			}
			week, weekCalls, weekReqs := cost(7*swDay, domain.Page{Limit: 1})
			decade, decadeCalls, decadeReqs := cost(3650*swDay, domain.Page{Limit: 1})
			t.Logf("limit=1: within=7d %d store calls (%d requests), within=3650d %d (%d)", weekCalls, weekReqs, decadeCalls, decadeReqs)
			if len(week.Items) != 1 || len(decade.Items) != 1 || decadeCalls > weekCalls+1 || decadeCalls > 4 {
				t.Errorf("within=3650d&limit=1: %d items, %d store calls; within=7d&limit=1: %d items, %d calls: want 1 item each at about the same cost",
					len(decade.Items), decadeCalls, len(week.Items), weekCalls)
			}
			if name == "tables" && decadeReqs > weekReqs+1 {
				t.Errorf("within=3650d&limit=1 made %d Table requests, within=7d %d", decadeReqs, weekReqs)
			}
			all, err := h.svc.Upcoming(ctx, 3650*swDay)
			if err != nil {
				t.Fatal(err)
			}
			var paged []domain.Deadline
			p := domain.Page{Limit: 5}
			for pages := 0; ; pages++ {
				page, calls, _ := cost(3650*swDay, p)
				if calls > 2+int64(p.Limit)+1 {
					t.Errorf("page %d cost %d store calls, want at most %d (one range read or two, a load per cluster listed)", pages, calls, 2+p.Limit+1)
				}
				paged = append(paged, page.Items...)
				if page.NextCursor == "" {
					break
				}
				p.Cursor = page.NextCursor
			}
			if diff := cmp.Diff(all, paged); diff != "" || len(all) != 42 {
				t.Errorf("paged listing differs from the whole one (%d deadlines, want 42) (-whole +paged):\n%s", len(all), diff)
			}
			for i := 1; i < len(all); i++ {
				if all[i].Deadline.Before(all[i-1].Deadline) {
					t.Fatalf("not soonest first at %d: %v after %v", i, all[i].Deadline, all[i-1].Deadline)
				}
			}
		})
	}
}

// The cursor is a position in the deadline index, not an offset: a deadline listed on page 1 that
// goes away, and one added before the cursor, neither repeat nor hide the deadlines after it.
func TestUpcomingPagesSurviveChanges(t *testing.T) {
	h := harnessOn(t, memory.New(nil))
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i+1, i+1)
		exp := t0.Add(time.Duration(10+i) * swDay).Format(time.RFC3339)
		h.register(ids[i], fmt.Sprintf("hci-%d", i), "arcSpn", map[string]any{"appId": ten, "credentialExpiresAt": exp})
	}
	ctx := context.Background()
	first, err := h.svc.UpcomingPage(ctx, 30*swDay, domain.Everywhere(), domain.Page{Limit: 2})
	if err != nil || len(first.Items) != 2 || first.NextCursor == "" {
		t.Fatalf("first page %+v, %v", first, err)
	}
	// The first cluster's credential is renewed (its deadline leaves the window) and a new
	// cluster gets a deadline before the cursor.
	h.accept(domain.QueueRegistrationRequests, map[string]any{"type": "RepairRegistration", "clusterId": ids[0],
		"arcSpn": map[string]any{"appId": ten, "credentialExpiresAt": t0.Add(400 * swDay).Format(time.RFC3339)}})
	h.installed(cA, "n1")
	h.register(cB, "hci-b", "arcSpn", map[string]any{"appId": ten, "credentialExpiresAt": t0.Add(swDay).Format(time.RFC3339)})
	var rest []string
	p := domain.Page{Limit: 2, Cursor: first.NextCursor}
	for {
		page, err := h.svc.UpcomingPage(ctx, 30*swDay, domain.Everywhere(), p)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Items {
			rest = append(rest, d.ClusterID)
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	if diff := cmp.Diff([]string{ids[2], ids[3], ids[4], cA, cA}, rest); diff != "" {
		t.Errorf("after the cursor (-want +got):\n%s", diff)
	}
}
