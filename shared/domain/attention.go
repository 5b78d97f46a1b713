package domain

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"
)

// The deadline index answers Upcoming at a cost proportional to what it returns, not to the fleet
// or the window (docs/policy.md, "Upcoming"). The due index cannot: every connected cluster has its
// routine daily Connected → Disconnected check there. Each deadline Upcoming lists has one row
// (AttentionRow: its time, cluster and slot), exactly at the deadline, in one range ordered by
// time; Cluster.Attention records a cluster's rows so readers can tell a current row from one left
// behind. Deadlines move only when their cluster is written, and every write moves the rows with
// them (new and moved ones with the commit, Change.Attention, which a crash does not lose; old ones
// after it). A Connected cluster's 30-day offline deadline moves with each Sync: it is
// listed only once the cluster has been silent for ConnectedWindow (a sweep evaluation then writes
// its row), so a Sync writes no row.

// attentionRow is the index row of a cluster's deadline in slot; the one place rows are built.
func attentionRow(at time.Time, clusterID, slot string) AttentionRow {
	return AttentionRow{At: at.UTC(), ClusterID: clusterID, Slot: slot}
}

// attention lists c's deadlines that Upcoming lists, by slot: every pending deadline except the
// routine daily check, and the offline one only once c is not Connected or has been silent for
// ConnectedWindow at now.
func (p Policy) attention(c *Cluster, now time.Time) map[string]pending {
	out := map[string]pending{}
	for _, d := range p.pendingOf(c) {
		if d.routine {
			continue
		}
		if d.Policy == PolicyConnection && c.ConnectionStatus == StatusConnected && now.Sub(silenceBase(c)) < p.ConnectedWindow {
			continue
		}
		out[d.slot] = d
	}
	return out
}

// placeAttention sets c.Attention to the rows c's listed deadlines need at now and returns the new
// or moved rows (puts, for Change.Attention: written with the commit) and the removal of the rows
// no longer needed, and of a row of the earlier layout (drop, to run after the commit; nil when
// there is none).
func (s *Service) placeAttention(c *Cluster, now time.Time) (puts []AttentionRow, drop func(context.Context) error) {
	want := s.policy.attention(c, now)
	next := make(map[string]time.Time, len(want))
	var drops []AttentionRow
	for _, slot := range slices.Sorted(maps.Keys(want)) {
		at := want[slot].Deadline.Deadline
		next[slot] = at
		if have, ok := c.Attention[slot]; !ok || !have.Equal(at) {
			puts = append(puts, attentionRow(at, c.ID, slot))
		}
	}
	for _, slot := range slices.Sorted(maps.Keys(c.Attention)) {
		if at, ok := next[slot]; !ok || !at.Equal(c.Attention[slot]) {
			drops = append(drops, attentionRow(c.Attention[slot], c.ID, slot))
		}
	}
	legacy := c.AttentionAt
	c.AttentionAt, c.Attention = time.Time{}, next
	if len(next) == 0 {
		c.Attention = nil
	}
	if len(drops) > 0 || !legacy.IsZero() {
		drop = func(ctx context.Context) error {
			if !legacy.IsZero() {
				day, name := legacy.UTC().Format(time.DateOnly), legacy.UTC().Format("2006-01-02T15:04:05.000000000Z")+"|"+c.ID
				if err := s.store.DeleteIndex(ctx, legacyDeadlineKind, day, name); err != nil {
					return err
				}
			}
			if len(drops) == 0 {
				return nil
			}
			return s.store.DropAttention(ctx, drops)
		}
	}
	return puts, drop
}

// UpcomingPage lists one page of the deadlines of scope's clusters falling by now + within
// (overdue ones included), soonest first, from the deadline index: it reads the rows after
// p.Cursor as one range, and loads each cluster found once, until it has p.Limit deadlines (and
// one more, to know whether more remain). Its cost follows the page, whatever the window (for a
// scoped caller, plus the rows of other subscriptions it passes over). Rows left behind by an
// interrupted move are skipped. NextCursor is this service's own opaque position.
func (s *Service) UpcomingPage(ctx context.Context, within time.Duration, scope Scope, p Page) (PageOf[Deadline], error) {
	until := s.clock.Now().UTC().Add(within)
	limit := p.Size()
	after, err := attentionCursor(p.Cursor)
	if err != nil {
		return PageOf[Deadline]{}, err
	}
	type item struct {
		row AttentionRow
		d   Deadline
	}
	var out []item
	clusters := map[string]*Cluster{}
	for len(out) <= limit {
		want := min(limit+1-len(out), maxPageLimit) // a store reads at most a full page
		rows, err := s.store.AttentionBy(ctx, after, until, want)
		if err != nil {
			return PageOf[Deadline]{}, err
		}
		for _, r := range rows {
			after = r
			c, loaded := clusters[r.ClusterID]
			if !loaded {
				rec, err := s.store.LoadState(ctx, r.ClusterID)
				if err != nil {
					return PageOf[Deadline]{}, err
				}
				c, clusters[r.ClusterID] = rec.Cluster, rec.Cluster
			}
			if d, ok := s.current(c, r); ok && len(out) <= limit && scope.allowsCluster(c) {
				out = append(out, item{r, d})
			}
		}
		if len(rows) < want {
			break
		}
	}
	page := PageOf[Deadline]{Items: []Deadline{}}
	for i, it := range out {
		if i == limit {
			page.NextCursor = attentionCursorOf(out[limit-1].row)
			break
		}
		page.Items = append(page.Items, it.d)
	}
	return page, nil
}

// current returns the deadline row r stands for in c, when r is one of c's current rows.
func (s *Service) current(c *Cluster, r AttentionRow) (Deadline, bool) {
	if c == nil || !c.Attention[r.Slot].Equal(r.At) {
		return Deadline{}, false // left behind by an interrupted move: the cluster has another row
	}
	for _, d := range s.policy.pendingOf(c) {
		if d.slot == r.Slot && !d.routine {
			return d.Deadline, true
		}
	}
	return Deadline{}, false
}

// Upcoming lists every deadline falling by now + within, soonest first (UpcomingPage, all pages).
func (s *Service) Upcoming(ctx context.Context, within time.Duration) ([]Deadline, error) {
	return s.UpcomingIn(ctx, within, Everywhere())
}

// UpcomingIn is Upcoming of the clusters of scope only.
func (s *Service) UpcomingIn(ctx context.Context, within time.Duration, scope Scope) ([]Deadline, error) {
	out := []Deadline{}
	p := Page{Limit: maxPageLimit}
	for {
		page, err := s.UpcomingPage(ctx, within, scope, p)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out, nil
		}
		p.Cursor = page.NextCursor
	}
}

// attentionCursorOf is the position after row r: its time, cluster and slot.
func attentionCursorOf(r AttentionRow) string {
	return r.At.UTC().Format(time.RFC3339Nano) + "|" + r.ClusterID + "|" + r.Slot
}

// attentionCursor reads attentionCursorOf's form; "" is the start.
func attentionCursor(c string) (AttentionRow, error) {
	if c == "" {
		return AttentionRow{}, nil
	}
	f := strings.SplitN(c, "|", 3)
	if len(f) != 3 {
		return AttentionRow{}, ErrInvalidCursor
	}
	at, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil || !IsGUID(f[1]) || f[2] == "" {
		return AttentionRow{}, ErrInvalidCursor
	}
	return AttentionRow{At: at.UTC(), ClusterID: f[1], Slot: f[2]}, nil
}
