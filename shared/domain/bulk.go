package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Codes of a bulk request whose Idempotency-Key cannot be honoured (docs/admin-api.md, "Bulk
// operations").
const (
	// CodeRequestInProgress: the same key's request is still running; retry after it (409).
	CodeRequestInProgress = "RequestInProgress"
	// CodeIdempotencyKeyReused: the key was used for another request body (422).
	CodeIdempotencyKeyReused = "IdempotencyKeyReused"
)

// bulkAttempts bounds BeginBulk's re-reads: its record conflicts only with another request
// carrying the same key at the same moment.
const bulkAttempts = 5

// bulkRecord is the index row of one Idempotency-Key: which body it was first used with, and
// whether a request with it is running.
type bulkRecord struct {
	Digest  string    `json:"digest"`
	Running bool      `json:"running"`
	At      time.Time `json:"at"` // when it last started or ended
}

// BeginBulk claims the bulk request key (already scoped to its caller) for a request whose body
// has digest. A key first used more than MarkerRetention ago is forgotten, as are the item
// commands' idempotency markers. It refuses, as a *Problem:
//   - CodeIdempotencyKeyReused when the key was used with another digest;
//   - CodeRequestInProgress when a request with the key started less than stale ago and has
//     not ended (one older than stale is taken to have died, and is taken over).
//
// The same key and digest again, once ended, is allowed: its items' commands are duplicates.
func (s *Service) BeginBulk(ctx context.Context, key, digest string, stale time.Duration) error {
	for range bulkAttempts {
		now := s.clock.Now().UTC()
		e, err := s.store.GetIndex(ctx, kindBulk, "", key)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err == nil {
			var rec bulkRecord
			if json.Unmarshal([]byte(e.Value), &rec) == nil && now.Sub(rec.At) < MarkerRetention {
				switch {
				case rec.Digest != digest:
					return Reject(CodeIdempotencyKeyReused, "this Idempotency-Key was used with another request body: use a new key for a new request")
				case rec.Running && now.Sub(rec.At) < stale:
					return Reject(CodeRequestInProgress, "a request with this Idempotency-Key started at %s and is still running: retry when it has ended", rec.At.Format(time.RFC3339))
				}
			}
		}
		raw, _ := json.Marshal(bulkRecord{Digest: digest, Running: true, At: now})
		err = s.store.PutIndexIf(ctx, IndexEntry{Kind: kindBulk, Name: key, Value: string(raw)}, e.ETag)
		if !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("domain: bulk key: %w after %d attempts: %w", ErrConflict, bulkAttempts, ErrTransient)
}

// EndBulk records that the request BeginBulk claimed key for has ended.
func (s *Service) EndBulk(ctx context.Context, key, digest string) error {
	raw, _ := json.Marshal(bulkRecord{Digest: digest, At: s.clock.Now().UTC()})
	return s.store.PutIndex(ctx, IndexEntry{Kind: kindBulk, Name: key, Value: string(raw)})
}
