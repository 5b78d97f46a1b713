package domain_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

// countingIndex counts the deadline-index rows written for one cluster: by PutAttention, and with
// a commit (Change.Attention).
type countingIndex struct {
	domain.Store
	cluster string
	puts    atomic.Int64
}

func (c *countingIndex) count(rows []domain.AttentionRow) {
	for _, r := range rows {
		if r.ClusterID == c.cluster {
			c.puts.Add(1)
		}
	}
}

func (c *countingIndex) PutAttention(ctx context.Context, rows []domain.AttentionRow) error {
	c.count(rows)
	return c.Store.PutAttention(ctx, rows)
}

func (c *countingIndex) Commit(ctx context.Context, ch domain.Change) (string, error) {
	etag, err := c.Store.Commit(ctx, ch)
	if err == nil {
		c.count(ch.Attention)
	}
	return etag, err
}

// Upcoming lists what needs attention, not every healthy cluster: a cluster that syncs is never
// listed (its daily Connected → Disconnected check is routine) and writes no deadline-index row
// (its offline deadline moves with every sync: it is listed once the cluster falls silent); one
// that stopped syncing is listed once its 30-day offline deadline comes within the window.
func TestUpcomingListsWhatNeedsAttention(t *testing.T) {
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) {
			st := &countingIndex{Store: mk(t), cluster: cA}
			h := harnessOn(t, st)
			h.register(cA, "hci-a")
			h.register(cB, "hci-b")
			for day := 1; day <= 40; day++ {
				h.at(float64(day))
				h.sync(cA, "hci-a")
				if day <= 5 {
					h.sync(cB, "hci-b")
				}
				h.check(0)
				up, err := h.svc.Upcoming(context.Background(), 7*swDay)
				if err != nil {
					t.Fatal(err)
				}
				wantB := day >= 28 // last sync on day 5: offline deadline on day 35
				gotB := false
				for _, d := range up {
					if d.ClusterID == cA {
						t.Fatalf("day %d: the syncing cluster is listed: %+v", day, d)
					}
					if d.ClusterID == cB && d.Policy == domain.PolicyConnection {
						gotB = true
						if !d.Deadline.Equal(t0.Add(35 * swDay)) {
							t.Errorf("day %d: offline deadline %v, want day 35", day, d.Deadline)
						}
					}
				}
				if day < 35 && gotB != wantB { // on day 35 the check applies it: no longer pending
					t.Fatalf("day %d: silent cluster listed = %v, want %v (%+v)", day, gotB, wantB, up)
				}
			}
			if n := st.puts.Load(); n != 0 {
				t.Errorf("the syncing cluster wrote %d deadline rows in 40 days, want none", n)
			}
		})
	}
}

// A deadline overdue for long (held back by the mass-disconnect guard) stays listed, and does not
// hide the cluster's other deadlines from Upcoming; holding it rewrites no row.
func TestUpcomingKeepsAClusterHeldByTheGuard(t *testing.T) {
	for name, mk := range storeFactories {
		t.Run(name, func(t *testing.T) {
			st := &countingIndex{Store: mk(t), cluster: cA}
			h := harnessOn(t, st)
			h.register(cA, "hci-a", "arcSpn", map[string]any{"appId": ten, "credentialExpiresAt": t0.Add(38 * swDay).Format(time.RFC3339)})
			h.register(cB, "hci-b")
			for day := 1; day <= 28; day++ { // cA never syncs; the fleet (cB) stops on day 28
				h.at(float64(day))
				h.sync(cB, "hci-b")
				h.check(0)
			}
			before := st.puts.Load()
			for hour := 29 * 24; hour <= 34*24; hour += 6 { // the guard holds cA's offline deadline (day 30)
				h.at(float64(hour) / 24)
				if rep := h.check(0); !rep.GuardActive {
					t.Fatalf("hour %d: the guard is off", hour)
				}
			}
			if v := h.view(cA); v.ConnectionStatus == domain.StatusOutOfPolicy {
				t.Fatalf("the guard did not hold the offline transition: %s", v.ConnectionStatus)
			}
			up, err := h.svc.Upcoming(context.Background(), 7*swDay)
			if err != nil {
				t.Fatal(err)
			}
			var policies []string
			for _, d := range up {
				if d.ClusterID == cA {
					policies = append(policies, d.Policy)
				}
			}
			if !slices.Contains(policies, domain.PolicyCredential) || !slices.Contains(policies, domain.PolicyConnection) {
				t.Errorf("day 34: cA's deadlines listed %v, want the overdue connection one and the credential expiring on day 38", policies)
			}
			if n := st.puts.Load() - before; n > 6 {
				t.Errorf("%d deadline-row writes in 5 days of guard, want at most one a day", n)
			}
		})
	}
}
