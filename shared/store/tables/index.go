package tables

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

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
