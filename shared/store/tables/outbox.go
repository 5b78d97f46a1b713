package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
)

// Outbox markers: table Outbox, one partition, RowKey = partition key + "|" + commit ordinal.
// Commit writes its marker before its transaction, so every committed event, projection and
// rejection has a marker until Pending/MarkPublished find nothing left to do for it.
const outboxPK = "o"

// Pending implements domain.OutboxStore. It reads the markers (cost ∝ pending commits), repairs
// each marked partition's projection and rejection (idempotent), and returns its evt| rows in
// key (commit) order. A partition with nothing pending loses its markers once they are older
// than the grace period.
func (s *Store) Pending(ctx context.Context, limit int) ([]domain.Event, error) {
	limit = limitOf(limit)
	markers, err := s.markers(ctx, "")
	if err != nil {
		return nil, err
	}
	var order []string
	byPart := map[string][]row{}
	for _, m := range markers {
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
		if err := s.repair(ctx, part, byPart[part]); err != nil {
			return nil, err
		}
		rows, _, err := s.query(ctx, tableClusters, prefixFilter(key(part), preEvent), limit-len(out), "")
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			if err := s.dropMarkers(ctx, byPart[part]); err != nil {
				return nil, err
			}
			continue
		}
		page, err := decodeRows[domain.Event](rows, "")
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
	}
	return out, nil
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
	top := int32(limitOf(limit))
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

// markers lists the outbox markers, of one partition when part is not "".
func (s *Store) markers(ctx context.Context, part string) ([]row, error) {
	filter := "PartitionKey eq " + quote(outboxPK)
	if part != "" {
		filter = prefixFilter(outboxPK, key(part)+"|")
	}
	var all []row
	cur := ""
	for {
		rows, next, err := s.query(ctx, tableOutbox, filter, maxLimit, cur)
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

// repair redoes the after-commit writes of the marked commits: the projection and the due rows
// from the committed state (a due row only when the state's version shows its commit landed),
// and rejections recorded on committed idempotency markers.
func (s *Store) repair(ctx context.Context, part string, marks []row) error {
	project, dues := false, false
	for _, m := range marks {
		project, dues = project || m.Project, dues || m.Due != ""
		if err := s.repairRejection(ctx, part, m); err != nil {
			return err
		}
	}
	if !project && !dues {
		return nil
	}
	st, err := s.get(ctx, tableClusters, key(part), rkState)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var c domain.Cluster
	if err := json.Unmarshal([]byte(st.Data), &c); err != nil {
		return fmt.Errorf("tables: decode cluster %s: %w", part, err)
	}
	if err := s.repairDues(ctx, c.Version, marks); err != nil || !project {
		return err
	}
	return s.project(ctx, c.Summary(), c.Version)
}

// repairDues writes the due rows of the marked commits that landed (the state's version is at
// least the marker's).
func (s *Store) repairDues(ctx context.Context, version int64, marks []row) error {
	for _, m := range marks {
		var d domain.Due
		if m.Due == "" || json.Unmarshal([]byte(m.Due), &d) != nil || m.Version > ordinal(version) {
			continue // none, unreadable, or its commit did not land
		}
		if err := s.Schedule(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// repairRejection rewrites the rejection row a marker points at, when its commit landed.
func (s *Store) repairRejection(ctx context.Context, part string, m row) error {
	if m.Rej == "" {
		return nil
	}
	r, err := s.get(ctx, tableClusters, key(part), m.Rej)
	if isNotFound(err) || err == nil && r.Rej == "" {
		return nil // that commit never happened, or recorded no rejection
	}
	if err != nil {
		return err
	}
	var rj domain.Rejection
	if err := json.Unmarshal([]byte(r.Rej), &rj); err != nil {
		return fmt.Errorf("tables: decode rejection: %w", err)
	}
	return s.putRejection(ctx, rj)
}

// dropMarkers deletes the markers older than the grace period. A younger marker may belong to
// a commit still in flight: its writer upserts the marker and only then submits the
// transaction, so deleting it now could leave that transaction's events without a marker, and
// a crash before their publication would lose them for ever.
func (s *Store) dropMarkers(ctx context.Context, marks []row) error {
	cutoff := s.now().Add(-s.grace)
	for _, m := range marks {
		if at, err := m.at(); err == nil && at.Before(cutoff) { // an unreadable marker is kept
			if err := s.remove(ctx, tableOutbox, outboxPK, m.RowKey, m.ETag); err != nil && !isConflict(err) {
				return err
			}
		}
	}
	return nil
}

// MarkPublished implements domain.OutboxStore: it deletes the events' rows (absent ones are
// fine), then the outbox markers with nothing left to repair (Commit finished its after-commit
// writes): those of the commits whose events were just published at once (their transaction
// landed), and, in a partition left with no events, the others past the grace period. A marker
// whose repair is not known done is left to Pending.
func (s *Store) MarkPublished(ctx context.Context, events []domain.Event) error {
	var order []string
	byPart := map[string][]string{}
	landed := map[string]bool{} // marker RowKey prefixes (partition key|ordinal.) of published commits
	for _, e := range events {
		p := e.SessionID()
		if _, ok := byPart[p]; !ok {
			order = append(order, p)
		}
		byPart[p] = append(byPart[p], preEvent+key(e.Key))
		if f := strings.Split(e.Key, "."); len(f) == 4 {
			landed[key(p)+"|"+f[2]+"."] = true
		}
	}
	for _, part := range order {
		pk := key(part)
		rks := byPart[part]
		for len(rks) > 0 {
			n := min(len(rks), maxOps)
			acts := make([]aztables.TransactionAction, 0, n)
			for _, rk := range rks[:n] {
				acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: row{PartitionKey: pk, RowKey: rk}.marshal()})
			}
			if _, err := s.transact(ctx, tableClusters, acts); isNotFound(err) {
				for _, rk := range rks[:n] { // one was already gone: delete one by one
					if err := s.remove(ctx, tableClusters, pk, rk, ""); err != nil {
						return err
					}
				}
			} else if err != nil {
				return err
			}
			rks = rks[n:]
		}
		left, _, err := s.query(ctx, tableClusters, prefixFilter(pk, preEvent), 1, "")
		if err != nil {
			return err
		}
		marks, err := s.markers(ctx, part)
		if err != nil {
			return err
		}
		var aged []row
		for _, m := range marks {
			switch {
			case m.toRepair(): // Pending repairs it first
			case landed[m.RowKey[:strings.LastIndexByte(m.RowKey, '.')+1]]:
				if err := s.remove(ctx, tableOutbox, outboxPK, m.RowKey, m.ETag); err != nil && !isConflict(err) {
					return err
				}
			case len(left) == 0:
				aged = append(aged, m)
			}
		}
		if err := s.dropMarkers(ctx, aged); err != nil {
			return err
		}
	}
	return nil
}

func isConflict(err error) bool { return errors.Is(err, domain.ErrConflict) }
