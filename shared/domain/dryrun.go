package domain

import (
	"context"
	"time"
)

// DryRun returns a Service that applies the same rules as s over the same store but writes
// nothing: Apply answers the outcome (or the refusal) a command would have, and commits,
// schedules and index writes are dropped. It serves the Admin API's dry runs of bulk operations
// (docs/admin-api.md, "Bulk operations"). The events and plan it returns were never committed:
// they must not be published.
func (s *Service) DryRun() *Service {
	return &Service{store: readOnly{s.store}, clock: s.clock, policy: s.policy, retry: s.retry, log: s.log}
}

// readOnly passes reads to the store and drops every write. Every write method of Store is
// overridden here; a test holds the list to the interface, so a new write method cannot pass
// through unnoticed.
type readOnly struct{ Store }

func (readOnly) Commit(context.Context, Change) (string, error)            { return "", nil }
func (readOnly) PruneMarkers(context.Context, string, time.Time) error     { return nil }
func (readOnly) NoteSync(context.Context, time.Time) error                 { return nil }
func (readOnly) PutIndex(context.Context, IndexEntry) error                { return nil }
func (readOnly) PutIndexIf(context.Context, IndexEntry, string) error      { return nil }
func (readOnly) PutIndexes(context.Context, []IndexEntry) error            { return nil }
func (readOnly) AddIndexes(context.Context, []IndexEntry) error            { return nil }
func (readOnly) DeleteIndex(context.Context, string, string, string) error { return nil }
func (readOnly) DeleteIndexIf(context.Context, string, string, string, string) error {
	return nil
}
func (readOnly) PutAttention(context.Context, []AttentionRow) error  { return nil }
func (readOnly) DropAttention(context.Context, []AttentionRow) error { return nil }
func (readOnly) Schedule(context.Context, Due) error                 { return nil }
func (readOnly) Unschedule(context.Context, Due) error               { return nil }
func (readOnly) MarkPublished(context.Context, []Event) error        { return nil }

// Pending also repairs the fleet projection, a write: a dry run lists nothing.
func (readOnly) Pending(context.Context, int) ([]Event, error) { return nil, nil }
