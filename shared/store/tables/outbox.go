package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
)

// The outbox (docs/storage.md, "Outbox"): a partition's pending events are its evt| rows; what
// leads the relay to them are the commit markers (preCommit: a commit whose landed batch may not
// have run) and the publish markers (prePublish: a landed commit with unpublished events), both
// in the Fleet partition, so Pending reads one key range and its cost follows what is pending.

// Pending implements domain.OutboxStore. It reads the markers, settles each marked partition
// (settle: the landed work of an interrupted commit redone from the committed state; markers
// with nothing left removed) and returns its evt| rows in key (commit) order: at most limit and
// whole commits only (one commit larger than limit is returned whole). It then brings the counts
// up to date (fold); an error of the fold is returned with the events read.
func (s *Store) Pending(ctx context.Context, limit int) ([]domain.Event, error) {
	limit = domain.Page{Limit: limit}.Size()
	marks, err := s.markers(ctx)
	if err != nil {
		return nil, err
	}
	var order []string
	byPart := map[string][]row{}
	for _, m := range marks {
		if _, ok := byPart[m.Partition]; !ok {
			order = append(order, m.Partition)
		}
		byPart[m.Partition] = append(byPart[m.Partition], m)
	}
	out := []domain.Event{}
	for _, part := range order {
		if len(out) >= limit {
			break
		}
		evs, err := s.PendingIn(ctx, part, maxLimit)
		if err != nil {
			return nil, err
		}
		if err := s.settle(ctx, part, byPart[part], evs); err != nil {
			return nil, err
		}
		out = append(out, evs[:wholeCommits(evs, limit-len(out))]...)
	}
	return out, s.fold(ctx)
}

// wholeCommits is how many of a partition's pending events (in commit order) fit in room without
// splitting a commit, so that MarkPublished removes each commit's publish marker with its events
// (a commit cut in two keeps its marker until a later Pending finds nothing left). A first commit
// larger than room is taken whole.
func wholeCommits(evs []domain.Event, room int) int {
	if room >= len(evs) {
		return len(evs)
	}
	n := room
	for n > 0 && sameCommit(evs[n-1].Key, evs[n].Key) {
		n--
	}
	if n > 0 {
		return n
	}
	for n = 1; n < len(evs) && sameCommit(evs[n-1].Key, evs[n].Key); n++ {
	}
	return n
}

// sameCommit says whether two event keys belong to one commit.
func sameCommit(a, b string) bool {
	ca, _, oka := commitOf(a)
	cb, _, okb := commitOf(b)
	return oka && okb && ca == cb
}

// PendingIn implements domain.OutboxStore: one page request on the partition's evt| range,
// whose keys sort in commit order. It does not follow a continuation (the service may end a
// page early, or point past the partition): what it returns is the oldest of them, in order.
func (s *Store) PendingIn(ctx context.Context, partition string, limit int) ([]domain.Event, error) {
	c, err := s.table(ctx, tableClusters)
	if err != nil {
		return nil, err
	}
	filter := prefixFilter(key(partition), preEvent)
	top := int32(domain.Page{Limit: limit}.Size())
	page, err := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &top}).NextPage(ctx)
	if err != nil {
		return nil, translate(err)
	}
	rows := make([]row, 0, len(page.Entities))
	for _, raw := range page.Entities {
		r, err := parseRow(raw)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	out, err := decodeRows[domain.Event](rows, "")
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}

// markers lists the commit and publish markers: one key range (nothing else sorts between them).
func (s *Store) markers(ctx context.Context) ([]row, error) {
	filter := fmt.Sprintf("PartitionKey eq %s and RowKey ge %s and RowKey lt %s", quote(fleetPK), quote(preCommit), quote(prefixEnd(prePublish)))
	var all []row
	cur := ""
	for {
		rows, next, err := s.query(ctx, tableFleet, filter, maxLimit, cur)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
		if next == "" {
			return all, nil
		}
		cur = next
	}
}

// settle finishes what a partition's markers leave to do, given its pending events evs. A commit
// marker belongs to a commit interrupted before its landed batch, or still in flight: its landed
// work is redone from the committed state (repair, level-based, so doing it for a commit in
// flight is harmless) with publish markers for the pending events' commits, and it is removed
// once older than the grace period (a younger one may belong to a commit in flight: its writer
// upserts it before its transaction), in one transaction. With no event pending, the publish
// markers are removed.
func (s *Store) settle(ctx context.Context, part string, marks []row, evs []domain.Event) error {
	commits, stale, published := s.sortMarkers(marks, evs)
	if len(commits) > 0 {
		acts, err := s.repair(ctx, part, commits, evs)
		if err != nil {
			return err
		}
		for _, m := range stale {
			e := azcore.ETag(m.ETag)
			acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: m.marshal(), IfMatch: &e})
		}
		for chunk := range slices.Chunk(acts, maxOps) {
			if err := s.submit(ctx, tableFleet, chunk); err != nil && !isConflict(err) && !isNotFound(err) {
				return err
			}
		}
	}
	for _, m := range published {
		if err := s.remove(ctx, tableFleet, fleetPK, m.RowKey, m.ETag); err != nil && !isConflict(err) {
			return err
		}
	}
	return nil
}

// sortMarkers sorts a partition's markers given its pending events: its commit markers, those of
// them past the grace period (kept while a backlog hides some of the partition's events, and when
// unreadable), and the publish markers left with no event pending.
func (s *Store) sortMarkers(marks []row, evs []domain.Event) (commits, stale, published []row) {
	cutoff := s.now().Add(-s.grace)
	for _, m := range marks {
		if strings.HasPrefix(m.RowKey, prePublish) {
			if len(evs) == 0 {
				published = append(published, m)
			}
			continue
		}
		commits = append(commits, m)
		if at, err := m.at(); err == nil && at.Before(cutoff) && len(evs) < maxLimit {
			stale = append(stale, m)
		}
	}
	return commits, stale, published
}

// repair is the landed work of a partition's marked commits, redone from what is committed
// (level-based, so repeating it is harmless): the rejection rows recorded on their idempotency
// markers (written here), and as Fleet rows the state's due row and deadline-index rows, a fold
// pointer at its version (the fold rebuilds the list rows from the state when they lag it) and a
// publish marker for each commit with pending events.
func (s *Store) repair(ctx context.Context, part string, marks []row, evs []domain.Event) ([]aztables.TransactionAction, error) {
	for _, m := range marks {
		if m.Rej == "" {
			continue
		}
		r, err := s.get(ctx, tableClusters, key(part), m.Rej)
		if isNotFound(err) {
			continue // that commit never happened
		}
		if err != nil {
			return nil, err
		}
		var rj domain.Rejection
		if err := json.Unmarshal([]byte(r.Rej), &rj); err != nil {
			return nil, fmt.Errorf("tables: decode rejection: %w", err)
		}
		if err := s.putRejection(ctx, rj); err != nil {
			return nil, err
		}
	}
	var acts []aztables.TransactionAction
	put := func(r row) {
		acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: r.marshal()})
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if ck, _, ok := commitOf(e.Key); ok && !seen[ck] {
			seen[ck] = true
			m := row{PartitionKey: fleetPK, RowKey: prePublish + key(part) + "|" + ck, Partition: part}
			m.setAt(s.now())
			put(m)
		}
	}
	rows, err := s.stateRows(ctx, part)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		put(r)
	}
	return acts, nil
}

// stateRows are the Fleet rows a partition's committed state needs (none when it has no state):
// its due row, its deadline-index rows, and a fold pointer at its version. The list rows are the
// fold's to rebuild from the state (fold.go): it writes them only conditionally on what it read,
// so a repair racing a commit in flight never sets them back.
func (s *Store) stateRows(ctx context.Context, part string) ([]row, error) {
	rec, err := s.LoadState(ctx, part)
	if err != nil || rec.Cluster == nil {
		return nil, err
	}
	c := rec.Cluster
	var rows []row
	if !c.ScheduledCheck.IsZero() {
		if r, err := dueRow(domain.Due{ClusterID: c.ID, At: c.ScheduledCheck}); err == nil {
			rows = append(rows, r)
		}
	}
	for _, slot := range slices.Sorted(maps.Keys(c.Attention)) {
		if r, err := attentionEntity(domain.AttentionRow{At: c.Attention[slot], ClusterID: c.ID, Slot: slot}); err == nil {
			rows = append(rows, r)
		}
	}
	return append(rows, row{PartitionKey: fleetPK, RowKey: preFold + key(part) + "|" + ordinal(c.Version)}), nil
}

// eventKey is the key the store assigns to event i of the n events of the commit commitKey:
// <commitKey>.<n>.<i>, fixed-width, so keys sort in commit, then index order (docs/storage.md).
func eventKey(commitKey string, n, i int) string { return fmt.Sprintf("%s.%03d.%03d", commitKey, n, i) }

// commitOf is the commit key of an event key the store assigned (eventKey) and the commit's event
// count; the count is 0 for a key of the older form <commitKey>.<i>, which does not carry it.
func commitOf(eventKey string) (commitKey string, n int, ok bool) {
	parts := strings.Split(eventKey, ".")
	switch len(parts) {
	case 4:
		return strings.Join(parts[:3], "."), 0, true
	case 5:
		n, err := strconv.Atoi(parts[3])
		if err != nil || n <= 0 {
			return "", 0, false
		}
		return strings.Join(parts[:3], "."), n, true
	}
	return "", 0, false
}

// MarkPublished implements domain.OutboxStore: it deletes the events' rows (absent ones are
// fine), then the publish marker of each commit all of whose events are among them (one
// transaction for all of them: they share the Fleet partition); a commit whose key does not carry
// its event count (the older form) counts as complete. The marker of a commit published in part
// stays, so Pending still finds its rest; once that is published in a later call, Pending removes
// the marker (a partition with nothing pending). A partition's other markers are Pending's to settle.
func (s *Store) MarkPublished(ctx context.Context, events []domain.Event) error {
	var order []string
	byPart := map[string][]string{}
	for _, e := range events {
		p := e.SessionID()
		if _, ok := byPart[p]; !ok {
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], preEvent+key(e.Key))
	}
	for _, part := range order {
		if err := s.deleteRows(ctx, tableClusters, key(part), byPart[part]); err != nil {
			return err
		}
	}
	return s.deleteRows(ctx, tableFleet, fleetPK, publishedMarkers(events))
}

// publishedMarkers are the publish markers (row keys) of the commits all of whose events are
// among events, in the order first seen.
func publishedMarkers(events []domain.Event) []string {
	var marks []string
	want := map[string]int{}             // marker → the commit's event count (0: unknown)
	seen := map[string]map[string]bool{} // marker → its events' keys among events
	for _, e := range events {
		ck, n, ok := commitOf(e.Key)
		if !ok {
			continue
		}
		m := prePublish + key(e.SessionID()) + "|" + ck
		if _, ok := seen[m]; !ok {
			marks = append(marks, m)
			seen[m] = map[string]bool{}
		}
		want[m] = n
		seen[m][e.Key] = true
	}
	return slices.DeleteFunc(marks, func(m string) bool { return len(seen[m]) < want[m] })
}

// deleteRows deletes rows of one partition, 100 per transaction; when one of them was already
// gone, that transaction's rows one by one.
func (s *Store) deleteRows(ctx context.Context, table, pk string, rks []string) error {
	for chunk := range slices.Chunk(rks, maxOps) {
		acts := make([]aztables.TransactionAction, 0, len(chunk))
		for _, rk := range chunk {
			acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: row{PartitionKey: pk, RowKey: rk}.marshal()})
		}
		err := s.submit(ctx, table, acts)
		if !isNotFound(err) {
			if err != nil {
				return err
			}
			continue
		}
		for _, rk := range chunk {
			if err := s.remove(ctx, table, pk, rk, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

func isConflict(err error) bool { return errors.Is(err, domain.ErrConflict) }
