package tables

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
)

// The due index lives in the Fleet partition (so a commit's due row goes in its landed batch),
// RowKey = preDue + fixed-width UTC nanoseconds + "|" + cluster key, so DueBy is a range read of
// exactly what is due, earliest first.
const preDue = "d|"

// dueKey is d's RowKey. Times outside what nanoseconds since 1970 hold (1678..2262) are clamped
// to the ends, so no time gives a negative or overflowed key (one that would sort first).
func dueKey(d domain.Due) string { return preDue + dueOrdinal(d.At) + "|" + key(d.ClusterID) }

func dueOrdinal(t time.Time) string {
	switch {
	case t.Before(time.Unix(0, 0)):
		return ordinal(0)
	case t.After(time.Unix(0, math.MaxInt64)):
		return ordinal(math.MaxInt64)
	}
	return ordinal(t.UnixNano())
}

// dueData is a due row's Data; a time JSON cannot hold is refused, never written as an
// unreadable row.
func dueData(d domain.Due) ([]byte, error) {
	raw, err := json.Marshal(domain.Due{ClusterID: d.ClusterID, At: d.At.UTC()})
	if err != nil {
		return nil, fmt.Errorf("tables: due row of %s at %s cannot be stored: %w", d.ClusterID, d.At.UTC().Format(time.RFC3339), err)
	}
	return raw, nil
}

// dueRow is d's row.
func dueRow(d domain.Due) (row, error) {
	raw, err := dueData(d)
	if err != nil {
		return row{}, err
	}
	return row{PartitionKey: fleetPK, RowKey: dueKey(d), Data: string(raw)}, nil
}

// Schedule implements domain.ScheduleStore.
func (s *Store) Schedule(ctx context.Context, d domain.Due) error {
	r, err := dueRow(d)
	if err != nil {
		return err
	}
	return s.upsert(ctx, tableFleet, r)
}

// DueBy implements domain.ScheduleStore. A row whose Data is unreadable (written by an older
// version, or by hand) is listed with what its key says, for the caller to judge and remove.
func (s *Store) DueBy(ctx context.Context, until time.Time, limit int) ([]domain.Due, error) {
	filter := fmt.Sprintf("PartitionKey eq %s and RowKey ge %s and RowKey lt %s", quote(fleetPK), quote(preDue), quote(preDue+dueOrdinal(until)+"}"))
	rows, _, err := s.query(ctx, tableFleet, filter, domain.Page{Limit: limit}.Size(), "")
	if err != nil {
		return nil, err
	}
	out := make([]domain.Due, 0, len(rows))
	for _, r := range rows {
		var d domain.Due
		if json.Unmarshal([]byte(r.Data), &d) != nil || d.ClusterID == "" {
			d = dueFromKey(r.RowKey)
		}
		d.Row = r.RowKey
		out = append(out, d)
	}
	return out, nil
}

// dueFromKey reads a due row's key: its time (zero if unreadable) and its cluster ID (the raw
// key part when it does not decode).
func dueFromKey(rk string) domain.Due {
	ord, cluster, _ := strings.Cut(strings.TrimPrefix(rk, preDue), "|")
	var d domain.Due
	if n, err := strconv.ParseInt(ord, 10, 64); err == nil {
		d.At = time.Unix(0, n).UTC()
	}
	d.ClusterID = cluster
	if b64, ok := strings.CutPrefix(cluster, "~"); ok { // key's escaped form (a hashed one reads as junk)
		if raw, err := base64.RawURLEncoding.DecodeString(b64); err == nil {
			d.ClusterID = string(raw)
		}
	}
	return d
}

// Unschedule implements domain.ScheduleStore: the row DueBy read (d.Row), else d's own.
func (s *Store) Unschedule(ctx context.Context, d domain.Due) error {
	rk := d.Row
	if rk == "" {
		rk = dueKey(d)
	}
	return s.remove(ctx, tableFleet, fleetPK, rk, "")
}

// The deadline index lives in the Fleet partition too, RowKey = preAttention + fixed-width UTC
// nanoseconds (as due rows) + "|" + cluster key + "|" + slot key, so AttentionBy is one range read
// in (At, ClusterID, Slot) order: cluster IDs are GUIDs (fixed width), and slots are plain.
const preAttention = "a|"

func attentionKey(r domain.AttentionRow) string {
	return preAttention + dueOrdinal(r.At) + "|" + key(r.ClusterID) + "|" + key(r.Slot)
}

// attentionEntity is the Fleet row of a deadline-index row.
func attentionEntity(r domain.AttentionRow) (row, error) {
	raw, err := json.Marshal(domain.AttentionRow{At: r.At.UTC(), ClusterID: r.ClusterID, Slot: r.Slot})
	if err != nil {
		return row{}, fmt.Errorf("tables: deadline row of %s cannot be stored: %w", r.ClusterID, err)
	}
	return row{PartitionKey: fleetPK, RowKey: attentionKey(r), Data: string(raw)}, nil
}

// PutAttention implements domain.ScheduleStore: one transaction per 100 rows.
func (s *Store) PutAttention(ctx context.Context, rows []domain.AttentionRow) error {
	return s.attentionBatch(ctx, rows, aztables.TransactionTypeInsertReplace)
}

// DropAttention implements domain.ScheduleStore: one transaction per 100 rows; when one row was
// already gone, the rows are deleted one by one.
func (s *Store) DropAttention(ctx context.Context, rows []domain.AttentionRow) error {
	err := s.attentionBatch(ctx, rows, aztables.TransactionTypeDelete)
	if !isNotFound(err) {
		return err
	}
	for _, r := range rows {
		if err := s.remove(ctx, tableFleet, fleetPK, attentionKey(r), ""); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) attentionBatch(ctx context.Context, rows []domain.AttentionRow, op aztables.TransactionType) error {
	for len(rows) > 0 {
		n := min(len(rows), maxOps)
		acts := make([]aztables.TransactionAction, 0, n)
		seen := map[string]bool{}
		for _, r := range rows[:n] {
			rk := attentionKey(r)
			if seen[rk] { // a transaction may name a row once
				continue
			}
			seen[rk] = true
			a, err := attentionEntity(r)
			if err != nil {
				return err
			}
			acts = append(acts, aztables.TransactionAction{ActionType: op, Entity: a.marshal()})
		}
		if err := s.submit(ctx, tableFleet, acts); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// AttentionBy implements domain.ScheduleStore: one range read.
func (s *Store) AttentionBy(ctx context.Context, after domain.AttentionRow, until time.Time, limit int) ([]domain.AttentionRow, error) {
	filter := fmt.Sprintf("PartitionKey eq %s and RowKey ge %s and RowKey lt %s", quote(fleetPK), quote(preAttention), quote(preAttention+dueOrdinal(until)+"}"))
	if after != (domain.AttentionRow{}) {
		filter += " and RowKey gt " + quote(attentionKey(after))
	}
	rows, _, err := s.query(ctx, tableFleet, filter, domain.Page{Limit: limit}.Size(), "")
	if err != nil {
		return nil, err
	}
	page, err := decodeRows[domain.AttentionRow](rows, "")
	return page.Items, err
}
