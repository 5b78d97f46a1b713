package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
)

// Row key prefixes of a cluster's partition in table Clusters.
const (
	rkState   = "state"
	preMarker = "msg|"
	preHist   = "hist|"
	preEvent  = "evt|"
)

// maxOps is the Table service's limit of operations in one entity-group transaction.
const maxOps = 100

// ErrTooLarge is returned by Commit for a change of more rows than one transaction holds
// (state + marker + history + events > 100). The domain never builds one; it is not retried.
var ErrTooLarge = errors.New("tables: change exceeds the 100 operations of one transaction")

// Load implements domain.ClusterStore: one query reads the state row, the marker and the
// pending events (the evt| range); in key order the events come first.
func (s *Store) Load(ctx context.Context, clusterID, messageID string) (domain.ClusterRecord, error) {
	pk := key(clusterID)
	rows := fmt.Sprintf("RowKey eq %s", quote(rkState))
	if messageID != "" {
		rows += fmt.Sprintf(" or RowKey eq %s", quote(preMarker+key(messageID)))
	}
	filter := fmt.Sprintf("PartitionKey eq %s and (%s or RowKey ge %s and RowKey lt %s)", quote(pk), rows, quote(preEvent), quote(prefixEnd(preEvent)))
	var rec domain.ClusterRecord
	cur := ""
	for {
		page, next, err := s.query(ctx, tableClusters, filter, maxLimit, cur)
		if err != nil {
			return domain.ClusterRecord{}, err
		}
		for _, r := range page {
			if err := loadRow(&rec, r); err != nil {
				return domain.ClusterRecord{}, fmt.Errorf("tables: cluster %s: %w", clusterID, err)
			}
		}
		if next == "" {
			return rec, nil
		}
		cur = next
	}
}

// LoadState implements domain.ClusterStore: one point read of the state row.
func (s *Store) LoadState(ctx context.Context, clusterID string) (domain.ClusterRecord, error) {
	rec := domain.ClusterRecord{StateOnly: true}
	r, err := s.get(ctx, tableClusters, key(clusterID), rkState)
	if isNotFound(err) {
		return rec, nil
	} else if err != nil {
		return domain.ClusterRecord{}, err
	}
	if err := loadRow(&rec, r); err != nil {
		return domain.ClusterRecord{}, fmt.Errorf("tables: cluster %s: %w", clusterID, err)
	}
	return rec, nil
}

// loadRow adds one row of Load's query to rec.
func loadRow(rec *domain.ClusterRecord, r row) error {
	switch {
	case strings.HasPrefix(r.RowKey, preEvent):
		if len(rec.Pending) == domain.MaxLoadPending {
			rec.PendingMore = true
			return nil
		}
		var e domain.Event
		if err := json.Unmarshal([]byte(r.Data), &e); err != nil {
			return fmt.Errorf("decode event %s: %w", r.RowKey, err)
		}
		rec.Pending = append(rec.Pending, e)
	case r.RowKey == rkState:
		rec.ETag = r.ETag
		rec.Cluster = &domain.Cluster{}
		if err := json.Unmarshal([]byte(r.Data), rec.Cluster); err != nil {
			return fmt.Errorf("decode state: %w", err)
		}
	default:
		rec.Seen = true
	}
	return nil
}

// Commit implements domain.ClusterStore (docs/storage.md, "Commit: order of writes"): the commit
// marker, when anything is left to do once the transaction landed; the partition's transaction;
// the rejection row; then the landed batch, which also removes the marker. A crash after the
// marker leaves it for Pending, which redoes the landed work from the committed state.
func (s *Store) Commit(ctx context.Context, ch domain.Change) (string, error) {
	p, err := planCommit(ch, s.now().UTC())
	if err != nil {
		return "", err
	}
	if len(p.acts) == 0 {
		return ch.ETag, nil
	}
	if p.marker.RowKey != "" {
		if err := s.upsert(ctx, tableFleet, p.marker); err != nil {
			return "", err
		}
	}
	etag, err := s.transact(ctx, tableClusters, p.acts)
	if errors.Is(err, domain.ErrConflict) && ch.MessageID != "" {
		etag, err = s.landed(ctx, p.pk, ch, p.nonce, err)
		if errors.Is(err, domain.ErrConflict) && p.marker.RowKey != "" {
			// It did not land, so its marker leads nowhere: removed now rather than by Pending
			// after its grace (a failure here is harmless, Pending still does).
			_ = s.remove(ctx, tableFleet, fleetPK, p.marker.RowKey, "")
		}
	}
	if err != nil {
		return "", err
	}
	if ch.Cluster == nil {
		etag = ch.ETag // the state row is untouched
	}
	if ch.Rejection != nil {
		if err := s.putRejection(ctx, *ch.Rejection); err != nil {
			return etag, err
		}
	}
	return etag, s.afterLanding(ctx, p)
}

// landed tells a conflict of a transaction that in fact landed (the SDK retried it after a lost
// or failed answer, and the retry met the first attempt's rows) from a real one: the
// idempotency marker carries the attempt's nonce. It returns the state's ETag for a landed
// commit, else the conflict.
func (s *Store) landed(ctx context.Context, pk string, ch domain.Change, nonce string, conflict error) (string, error) {
	m, err := s.get(ctx, tableClusters, pk, preMarker+key(ch.MessageID))
	if isNotFound(err) || err == nil && m.Nonce != nonce {
		return "", conflict
	}
	if err != nil {
		return "", err
	}
	if ch.Cluster == nil {
		return ch.ETag, nil
	}
	st, err := s.get(ctx, tableClusters, pk, rkState)
	if err != nil {
		return "", err
	}
	return st.ETag, nil
}

// transact submits one entity-group transaction and returns the ETag of its first operation's
// row (read from the batch response, which aztables does not expose; batch.go). Only Commit needs
// it: other transactions use submit.
func (s *Store) transact(ctx context.Context, table string, acts []aztables.TransactionAction) (string, error) {
	c, err := s.table(ctx, table)
	if err != nil {
		return "", err
	}
	var resp *http.Response
	if _, err := c.SubmitTransaction(policy.WithCaptureResponse(ctx, &resp), acts, nil); err != nil {
		return "", translate(err)
	}
	return firstETag(resp)
}

// submit submits one entity-group transaction.
func (s *Store) submit(ctx context.Context, table string, acts []aztables.TransactionAction) error {
	c, err := s.table(ctx, table)
	if err != nil {
		return err
	}
	_, err = c.SubmitTransaction(ctx, acts, nil)
	return translate(err)
}

// History implements domain.ClusterStore: newest first (inverted commit time in the row key).
func (s *Store) History(ctx context.Context, clusterID string, p domain.Page) (domain.PageOf[domain.HistoryEntry], error) {
	rows, next, err := s.query(ctx, tableClusters, prefixFilter(key(clusterID), preHist), p.Size(), p.Cursor)
	if err != nil {
		return domain.PageOf[domain.HistoryEntry]{}, err
	}
	return decodeRows[domain.HistoryEntry](rows, next)
}

// Rejections implements domain.ClusterStore: newest first.
func (s *Store) Rejections(ctx context.Context, p domain.Page) (domain.PageOf[domain.Rejection], error) {
	// Below the subscription copies (preSubReject): the fleet-wide keys start with digits.
	rows, next, err := s.query(ctx, tableRejections, fmt.Sprintf("PartitionKey eq %s and RowKey lt %s", quote(rejectionPK), quote(preSubReject)), p.Size(), p.Cursor)
	if err != nil {
		return domain.PageOf[domain.Rejection]{}, err
	}
	return decodeRows[domain.Rejection](rows, next)
}

const rejectionPK = "r"

// putRejection writes the rejection's row in table Rejections, and with a subscription its copy
// under it in the same transaction; the key (inverted time and MessageId) makes a rewrite by
// Pending's repair idempotent.
func (s *Store) putRejection(ctx context.Context, rj domain.Rejection) error {
	raw, _ := json.Marshal(rj)
	r := row{PartitionKey: rejectionPK, RowKey: rejectionKey(rj), Data: string(raw)}
	if rj.SubscriptionID == "" {
		return s.upsert(ctx, tableRejections, r)
	}
	sr := r
	sr.RowKey = subRejectionPrefix(rj.SubscriptionID) + r.RowKey
	err := s.submit(ctx, tableRejections, []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeInsertReplace, Entity: r.marshal()},
		{ActionType: aztables.TransactionTypeInsertReplace, Entity: sr.marshal()},
	})
	return err
}

// PruneMarkers implements domain.ClusterStore.
func (s *Store) PruneMarkers(ctx context.Context, clusterID string, before time.Time) error {
	pk := key(clusterID)
	filter := prefixFilter(pk, preMarker) + " and At lt datetime'" + before.UTC().Format(time.RFC3339Nano) + "'"
	cur := ""
	for {
		rows, next, err := s.query(ctx, tableClusters, filter, maxOps, cur)
		if err != nil {
			return err
		}
		if len(rows) > 0 {
			acts := make([]aztables.TransactionAction, 0, len(rows))
			for _, r := range rows {
				acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: r.marshal()})
			}
			if err := s.submit(ctx, tableClusters, acts); err != nil && !isNotFound(err) {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cur = next
	}
}

func decodeRows[T any](rows []row, next string) (domain.PageOf[T], error) {
	out := domain.PageOf[T]{Items: make([]T, 0, len(rows)), NextCursor: next}
	for _, r := range rows {
		var v T
		if err := json.Unmarshal([]byte(r.Data), &v); err != nil {
			return domain.PageOf[T]{}, fmt.Errorf("tables: decode %s: %w", r.RowKey, err)
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}
