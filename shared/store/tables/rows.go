package tables

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// row is the common shape of every entity this store writes: keys, a JSON payload and a few
// typed columns. Numbers are kept as fixed-width strings (JSON numbers would become Int32/Double).
type row struct {
	PartitionKey string `json:"PartitionKey"`
	RowKey       string `json:"RowKey"`
	ETag         string `json:"odata.etag,omitempty"`
	Data         string `json:"Data,omitempty"`
	Version      string `json:"Version,omitempty"`
	At           string `json:"At,omitempty"`
	AtType       string `json:"At@odata.type,omitempty"`
	Partition    string `json:"Partition,omitempty"`
	Rej          string `json:"Rej,omitempty"`
	// Nonce on an idempotency marker names the commit attempt that wrote it.
	Nonce string `json:"Nonce,omitempty"`
	// ClusterSummary columns of the fleet projection, filterable server-side.
	RegistrationStatus string `json:"RegistrationStatus,omitempty"`
	ConnectionStatus   string `json:"ConnectionStatus,omitempty"`
	Orphan             string `json:"Orphan,omitempty"`
	CredentialExpired  *bool  `json:"CredentialExpired,omitempty"` // set on every projection row (false too)
	// Counted on a fleet list row is the summary (JSON) the counts include (fold.go).
	Counted string `json:"Counted,omitempty"`
}

func (r *row) setAt(t time.Time) {
	r.At, r.AtType = t.UTC().Format(time.RFC3339Nano), "Edm.DateTime"
}

// at is the row's At column; an unreadable one is an error, never a zero time (a marker read as
// ancient would be deleted while its commit may still be in flight).
func (r row) at() (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, r.At)
	if err != nil {
		return time.Time{}, fmt.Errorf("tables: %s/%s: unreadable At column", r.PartitionKey, r.RowKey)
	}
	return t, nil
}

func (r row) marshal() []byte {
	r.ETag = ""
	raw, _ := json.Marshal(r)
	return raw
}

func parseRow(raw []byte) (row, error) {
	var r row
	err := json.Unmarshal(raw, &r)
	return r, err
}

// get reads one row; ErrNotFound when absent.
func (s *Store) get(ctx context.Context, table, pk, rk string) (row, error) {
	c, err := s.table(ctx, table)
	if err != nil {
		return row{}, err
	}
	resp, err := c.GetEntity(ctx, pk, rk, nil)
	if err != nil {
		return row{}, translate(err)
	}
	r, err := parseRow(resp.Value)
	r.ETag = string(resp.ETag)
	return r, err
}

// upsert inserts or replaces an idempotent hint row (never a contended one).
func (s *Store) upsert(ctx context.Context, table string, r row) error {
	c, err := s.table(ctx, table)
	if err != nil {
		return err
	}
	_, err = c.UpsertEntity(ctx, r.marshal(), &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	return translate(err)
}

// remove deletes a row; absent is fine. etag "" deletes unconditionally.
func (s *Store) remove(ctx context.Context, table, pk, rk, etag string) error {
	c, err := s.table(ctx, table)
	if err != nil {
		return err
	}
	var opts *aztables.DeleteEntityOptions
	if etag != "" {
		e := azcore.ETag(etag)
		opts = &aztables.DeleteEntityOptions{IfMatch: &e}
	}
	_, err = c.DeleteEntity(ctx, pk, rk, opts)
	if err = translate(err); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// query reads rows matching filter, up to limit, from the continuation in cur; it keeps asking
// until it has limit rows or the table has no more, and returns the next opaque cursor.
func (s *Store) query(ctx context.Context, table, filter string, limit int, cur string) ([]row, string, error) {
	c, err := s.table(ctx, table)
	if err != nil {
		return nil, "", err
	}
	npk, nrk, err := decodeCursor(cur)
	if err != nil {
		return nil, "", err
	}
	var out []row
	for {
		top := int32(limit - len(out))
		pager := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &top, NextPartitionKey: npk, NextRowKey: nrk})
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, "", translate(err)
		}
		for _, raw := range page.Entities {
			r, err := parseRow(raw)
			if err != nil {
				return nil, "", err
			}
			out = append(out, r)
		}
		npk, nrk = page.NextPartitionKey, page.NextRowKey
		if npk == nil && nrk == nil {
			return out, "", nil
		}
		if len(out) >= limit {
			return out, encodeCursor(npk, nrk), nil
		}
	}
}
