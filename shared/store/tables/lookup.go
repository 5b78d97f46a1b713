package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
)

// Lookup rows (docs/storage.md): PartitionKey = key("g|" + group), or the kind itself for the
// empty group; RowKey = kind + "|" + key(name). The rows of one group share a partition whatever
// their kind, so a Register writes its machines' rows and its Arc resource group's row in one
// transaction. Most rows are hints (the domain verifies them), so plain upserts are right; rows
// read-modify-written use PutIndexIf.
func indexKeys(kind, group, name string) (string, string) {
	pk := kind
	if group != "" {
		pk = key("g|" + group) // never plain ("|"), so never a kind
	}
	return pk, key(kind) + "|" + key(name)
}

func indexRow(e domain.IndexEntry) row {
	pk, rk := indexKeys(e.Kind, e.Group, e.Name)
	raw, _ := json.Marshal(e)
	return row{PartitionKey: pk, RowKey: rk, Data: string(raw)}
}

// PutIndex implements domain.IndexStore.
func (s *Store) PutIndex(ctx context.Context, e domain.IndexEntry) error {
	return s.upsert(ctx, tableLookup, indexRow(e))
}

// PutIndexes implements domain.IndexStore: one transaction per partition and 100 rows.
func (s *Store) PutIndexes(ctx context.Context, entries []domain.IndexEntry) error {
	return s.writeIndexes(ctx, entries, aztables.TransactionTypeInsertReplace)
}

// AddIndexes implements domain.IndexStore: one transaction of inserts.
func (s *Store) AddIndexes(ctx context.Context, entries []domain.IndexEntry) error {
	if len(entries) > maxOps {
		return ErrTooLarge
	}
	for _, e := range entries {
		if indexRow(e).PartitionKey != indexRow(entries[0]).PartitionKey {
			return errors.New("tables: AddIndexes spans two partitions")
		}
	}
	return s.writeIndexes(ctx, entries, aztables.TransactionTypeAdd)
}

// writeIndexes writes entries with action, one transaction per partition and 100 rows (a single
// row as a plain request).
func (s *Store) writeIndexes(ctx context.Context, entries []domain.IndexEntry, action aztables.TransactionType) error {
	byPart := map[string][]aztables.TransactionAction{}
	var order []string
	for _, e := range entries {
		r := indexRow(e)
		if _, ok := byPart[r.PartitionKey]; !ok {
			order = append(order, r.PartitionKey)
		}
		byPart[r.PartitionKey] = append(byPart[r.PartitionKey], aztables.TransactionAction{ActionType: action, Entity: r.marshal()})
	}
	for _, pk := range order {
		for acts := range slices.Chunk(byPart[pk], maxOps) {
			if err := s.submit(ctx, tableLookup, acts); err != nil {
				return err
			}
		}
	}
	return nil
}

// PutIndexIf implements domain.IndexStore: an insert when etag is "", else a replace If-Match.
func (s *Store) PutIndexIf(ctx context.Context, e domain.IndexEntry, etag string) error {
	c, err := s.table(ctx, tableLookup)
	if err != nil {
		return err
	}
	ent := indexRow(e).marshal()
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
	return decodeIndex(r)
}

// GetIndexes implements domain.IndexStore: one query naming each row key, bounded to the range
// they span, so the service reads that part of one partition only.
func (s *Store) GetIndexes(ctx context.Context, kind, group string, names []string) ([]domain.IndexEntry, error) {
	if len(names) == 0 {
		return nil, nil
	}
	pk, _ := indexKeys(kind, group, "")
	var rks []string
	for _, n := range names {
		_, rk := indexKeys(kind, group, n)
		rks = append(rks, quote(rk))
	}
	slices.Sort(rks)
	rks = slices.Compact(rks)
	filter := fmt.Sprintf("PartitionKey eq %s and RowKey ge %s and RowKey le %s and (RowKey eq %s)",
		quote(pk), rks[0], rks[len(rks)-1], strings.Join(rks, " or RowKey eq "))
	rows, _, err := s.query(ctx, tableLookup, filter, len(rks), "")
	if err != nil {
		return nil, err
	}
	out := make([]domain.IndexEntry, 0, len(rows))
	for _, r := range rows {
		e, err := decodeIndex(r)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func decodeIndex(r row) (domain.IndexEntry, error) {
	var e domain.IndexEntry
	if err := json.Unmarshal([]byte(r.Data), &e); err != nil {
		return domain.IndexEntry{}, fmt.Errorf("tables: decode index row: %w", err)
	}
	e.ETag = r.ETag
	return e, nil
}

// ListIndex implements domain.IndexStore: one kind's range of one partition, in row key order.
func (s *Store) ListIndex(ctx context.Context, kind, group string) ([]domain.IndexEntry, error) {
	pk, _ := indexKeys(kind, group, "")
	var out []domain.IndexEntry
	cur := ""
	for {
		rows, next, err := s.query(ctx, tableLookup, prefixFilter(pk, key(kind)+"|"), maxLimit, cur)
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

// ListIndexPage implements domain.IndexStore: one query of at most the page's rows.
func (s *Store) ListIndexPage(ctx context.Context, kind, group string, p domain.Page) (domain.PageOf[domain.IndexEntry], error) {
	pk, _ := indexKeys(kind, group, "")
	rows, next, err := s.query(ctx, tableLookup, prefixFilter(pk, key(kind)+"|"), p.Size(), p.Cursor)
	if err != nil {
		return domain.PageOf[domain.IndexEntry]{}, err
	}
	page, err := decodeRows[domain.IndexEntry](rows, next)
	for i := range page.Items {
		page.Items[i].ETag = rows[i].ETag
	}
	return page, err
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
