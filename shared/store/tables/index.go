package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/azlocal/registrar/shared/domain"
)

// Lookup rows: PartitionKey = key(kind|group), RowKey = key(name). Most are hints (the domain
// verifies them), so plain upserts are right; rows read-modify-written use PutIndexIf.
func indexKeys(kind, group, name string) (string, string) {
	return key(kind + "|" + group), key(name)
}

// PutIndex implements domain.IndexStore.
func (s *Store) PutIndex(ctx context.Context, e domain.IndexEntry) error {
	pk, rk := indexKeys(e.Kind, e.Group, e.Name)
	raw, _ := json.Marshal(e)
	return s.upsert(ctx, tableLookup, row{PartitionKey: pk, RowKey: rk, Data: string(raw)})
}

// PutIndexIf implements domain.IndexStore: an insert when etag is "", else a replace If-Match.
func (s *Store) PutIndexIf(ctx context.Context, e domain.IndexEntry, etag string) error {
	c, err := s.table(ctx, tableLookup)
	if err != nil {
		return err
	}
	pk, rk := indexKeys(e.Kind, e.Group, e.Name)
	raw, _ := json.Marshal(e)
	ent := row{PartitionKey: pk, RowKey: rk, Data: string(raw)}.marshal()
	if etag == "" {
		_, err = c.AddEntity(ctx, ent, nil)
	} else {
		m := azcore.ETag(etag)
		_, err = c.UpdateEntity(ctx, ent, &aztables.UpdateEntityOptions{IfMatch: &m, UpdateMode: aztables.UpdateModeReplace})
	}
	if err = translate(err); errors.Is(err, domain.ErrNotFound) {
		return domain.ErrConflict // deleted meanwhile
	}
	return err
}

// GetIndex implements domain.IndexStore.
func (s *Store) GetIndex(ctx context.Context, kind, group, name string) (domain.IndexEntry, error) {
	pk, rk := indexKeys(kind, group, name)
	r, err := s.get(ctx, tableLookup, pk, rk)
	if err != nil {
		return domain.IndexEntry{}, err
	}
	var e domain.IndexEntry
	if err := json.Unmarshal([]byte(r.Data), &e); err != nil {
		return domain.IndexEntry{}, fmt.Errorf("tables: decode index row: %w", err)
	}
	e.ETag = r.ETag
	return e, nil
}

// ListIndex implements domain.IndexStore: one partition, in row key order.
func (s *Store) ListIndex(ctx context.Context, kind, group string) ([]domain.IndexEntry, error) {
	pk, _ := indexKeys(kind, group, "")
	var out []domain.IndexEntry
	cur := ""
	for {
		rows, next, err := s.query(ctx, tableLookup, "PartitionKey eq "+quote(pk), maxLimit, cur)
		if err != nil {
			return nil, err
		}
		page, err := decodeRows[domain.IndexEntry](rows, next)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if next == "" {
			return out, nil
		}
		cur = next
	}
}

// DeleteIndex implements domain.IndexStore.
func (s *Store) DeleteIndex(ctx context.Context, kind, group, name string) error {
	pk, rk := indexKeys(kind, group, name)
	return s.remove(ctx, tableLookup, pk, rk, "")
}

// DeleteIndexIf implements domain.IndexStore: a delete If-Match.
func (s *Store) DeleteIndexIf(ctx context.Context, kind, group, name, etag string) error {
	pk, rk := indexKeys(kind, group, name)
	return s.remove(ctx, tableLookup, pk, rk, etag)
}

// The due index lives in one partition of table Schedule, RowKey = fixed-width UTC nanoseconds
// + "|" + cluster key, so DueBy is a range read of exactly what is due, earliest first.
const schedulePK = "due"

func dueKey(d domain.Due) string { return ordinal(d.At.UTC().UnixNano()) + "|" + key(d.ClusterID) }

// Schedule implements domain.ScheduleStore.
func (s *Store) Schedule(ctx context.Context, d domain.Due) error {
	raw, _ := json.Marshal(domain.Due{ClusterID: d.ClusterID, At: d.At.UTC()})
	return s.upsert(ctx, tableSchedule, row{PartitionKey: schedulePK, RowKey: dueKey(d), Data: string(raw)})
}

// DueBy implements domain.ScheduleStore.
func (s *Store) DueBy(ctx context.Context, until time.Time, limit int) ([]domain.Due, error) {
	filter := fmt.Sprintf("PartitionKey eq %s and RowKey lt %s", quote(schedulePK), quote(ordinal(until.UTC().UnixNano())+"}"))
	rows, _, err := s.query(ctx, tableSchedule, filter, limitOf(limit), "")
	if err != nil {
		return nil, err
	}
	page, err := decodeRows[domain.Due](rows, "")
	return page.Items, err
}

// Unschedule implements domain.ScheduleStore.
func (s *Store) Unschedule(ctx context.Context, d domain.Due) error {
	return s.remove(ctx, tableSchedule, schedulePK, dueKey(d), "")
}
