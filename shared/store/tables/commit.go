package tables

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/azlocal/registrar/shared/domain"
)

// The commit path (docs/storage.md, "Commit: order of writes"): planCommit decides every row a
// Change writes before any request; Commit then writes the commit marker, the partition's
// transaction, and, once it landed, one transaction in the Fleet partition (afterLanding).

// Row key prefixes of the commit path's rows in the Fleet partition.
const (
	// preCommit + partition key + "|" + commit key: a commit that may have landed with work left
	// after it (written before its transaction, removed by the landed batch or by Pending).
	preCommit = "o|"
	// prePublish + partition key + "|" + commit key: a landed commit whose events are not all
	// published (removed by MarkPublished). Nothing but these two prefixes sorts between them.
	prePublish = "p|"
	// preFold + cluster key + "|" + version: a list row the counts do not include yet (fleet.go).
	preFold = "f|"
)

// commitPlan is every row one Change writes.
type commitPlan struct {
	pk  string
	key string // <version>.<0 writes, 1 follows>.<ordinal>: the commit's place in its partition
	// nonce names this attempt on the idempotency marker (landed tells a retried transaction).
	nonce string
	acts  []aztables.TransactionAction // the partition's transaction
	// marker is the commit marker written before the transaction; RowKey "" when nothing is
	// left to do once it landed.
	marker row
	// landed is the Fleet transaction once the transaction landed (the marker's removal aside):
	// the publish marker, the due row, the list rows and the fold pointer.
	landed []aztables.TransactionAction
	// moved is the subscription the cluster's list row leaves ("" when none).
	moved string
}

// planCommit plans ch's writes at now. It assigns each empty event key in place, in ch.Events:
// the caller publishes and marks these very events.
func planCommit(ch domain.Change, now time.Time) (commitPlan, error) {
	switch {
	case ch.Partition == "":
		return commitPlan{}, errors.New("tables: commit without a partition")
	case (ch.Due != nil || len(ch.Attention) > 0) && ch.Cluster == nil:
		return commitPlan{}, errors.New("tables: due and deadline rows are committed with a state only")
	}
	// History and events are keyed by the version they belong to, then by whether the change wrote
	// it (0) or followed it without writing state (1), then by the clock: commits of one
	// partition are serialised by the state row's ETag, so their order does not depend on the
	// instances' clocks agreeing.
	ord := now.UnixNano()
	ver, follows := ch.Follows, 1
	if ch.Cluster != nil {
		ver, follows = ch.Cluster.Version, 0
	}
	p := commitPlan{pk: key(ch.Partition), key: fmt.Sprintf("%s.%d.%s", ordinal(ver), follows, ordinal(ord)),
		nonce: ordinal(ord) + "." + strconv.Itoa(rand.IntN(1e9))}
	var err error
	if p.acts, err = partitionActs(ch, p, ver, follows, now); err != nil {
		return commitPlan{}, err
	}
	if p.landed, err = landedActs(ch, p.pk, p.key, now); err != nil {
		return commitPlan{}, err
	}
	p.moved = movedFrom(ch)
	if len(p.landed) > 0 || ch.Rejection != nil || p.moved != "" {
		p.marker = commitMarker(ch, p, now)
	}
	return p, nil
}

// movedFrom is the subscription a projected change's cluster leaves ("" when none).
func movedFrom(ch domain.Change) string {
	if !ch.Project || ch.Cluster == nil || ch.Replaces == nil || ch.Replaces.SubscriptionID == ch.Cluster.SubscriptionID {
		return ""
	}
	return ch.Replaces.SubscriptionID
}

// commitMarker is p's commit marker; it names the idempotency marker that records a rejection,
// for Pending to repair the rejection row from.
func commitMarker(ch domain.Change, p commitPlan, now time.Time) row {
	m := row{PartitionKey: fleetPK, RowKey: preCommit + p.pk + "|" + p.key, Partition: ch.Partition}
	if ch.Rejection != nil && ch.MessageID != "" {
		m.Rej = preMarker + key(ch.MessageID)
	}
	m.setAt(now)
	return m
}

// partitionActs is the partition's transaction: the state row (inserted, or replaced If-Match),
// the idempotency marker (inserted: an existing one is a conflict), history and event rows.
func partitionActs(ch domain.Change, p commitPlan, ver int64, follows int, now time.Time) ([]aztables.TransactionAction, error) {
	var acts []aztables.TransactionAction
	add := func(r row) {
		acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeAdd, Entity: r.marshal()})
	}
	if ch.Cluster != nil {
		r, err := stateRow(ch)
		if err != nil {
			return nil, err
		}
		if ch.ETag == "" {
			add(r)
		} else {
			e := azcore.ETag(ch.ETag)
			acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeUpdateReplace, Entity: r.marshal(), IfMatch: &e})
		}
	}
	if ch.MessageID != "" {
		r := row{PartitionKey: p.pk, RowKey: preMarker + key(ch.MessageID), Nonce: p.nonce}
		r.setAt(now)
		if ch.Rejection != nil {
			raw, _ := json.Marshal(ch.Rejection)
			r.Rej = string(raw)
		}
		add(r)
	}
	for i, h := range ch.History {
		raw, _ := json.Marshal(h)
		add(row{PartitionKey: p.pk, RowKey: fmt.Sprintf("%s%s|%d|%s|%03d", preHist, inverted(ver), 1-follows, inverted(now.UnixNano()), 999-i), Data: string(raw)})
	}
	for i := range ch.Events {
		if ch.Events[i].Key == "" {
			// Plain digits and dots, so key() keeps the order; the commit's event count rides in
			// every key, so MarkPublished knows a commit fully published without a read (outbox.go).
			ch.Events[i].Key = eventKey(p.key, len(ch.Events), i)
		}
		raw, _ := json.Marshal(ch.Events[i])
		add(row{PartitionKey: p.pk, RowKey: preEvent + key(ch.Events[i].Key), Data: string(raw)})
	}
	if len(acts) > maxOps || len(ch.History) > 999 {
		return nil, ErrTooLarge
	}
	return acts, nil
}

// stateRow is the state row of a change that writes one.
func stateRow(ch domain.Change) (row, error) {
	data, err := json.Marshal(ch.Cluster)
	if err != nil {
		return row{}, fmt.Errorf("tables: encode cluster %s: %w", ch.Partition, err)
	}
	return row{PartitionKey: key(ch.Partition), RowKey: rkState, Data: string(data), Version: ordinal(ch.Cluster.Version)}, nil
}

// landedActs are the Fleet rows of a landed commit: the publish marker when it has events, its
// due row, with a projection the cluster's list rows and a fold pointer (listActs), and its new
// deadline-index rows.
func landedActs(ch domain.Change, pk, commitKey string, now time.Time) ([]aztables.TransactionAction, error) {
	var acts []aztables.TransactionAction
	put := func(r row) {
		acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: r.marshal()})
	}
	if len(ch.Events) > 0 {
		m := row{PartitionKey: fleetPK, RowKey: prePublish + pk + "|" + commitKey, Partition: ch.Partition}
		m.setAt(now)
		put(m)
	}
	if ch.Due != nil {
		r, err := dueRow(*ch.Due)
		if err != nil {
			return nil, err
		}
		put(r)
	}
	if ch.Project && ch.Cluster != nil {
		acts = append(acts, listActs(ch.Cluster.Summary(), ch.Cluster.Version)...)
	}
	for _, r := range ch.Attention {
		a, err := attentionEntity(r)
		if err != nil {
			return nil, err
		}
		put(a)
	}
	if len(acts) >= maxOps { // with the commit marker's removal
		return nil, ErrTooLarge
	}
	return acts, nil
}

// afterLanding writes the plan's landed batch and removes its commit marker, in one transaction;
// the list row left by a moved subscription is removed after it. A marker already removed (by
// Pending, past its grace) does not keep the rows out.
func (s *Store) afterLanding(ctx context.Context, p commitPlan) error {
	acts := p.landed
	if p.marker.RowKey != "" {
		acts = append([]aztables.TransactionAction{{ActionType: aztables.TransactionTypeDelete, Entity: p.marker.marshal()}}, acts...)
	}
	var err error
	if len(acts) > 0 {
		err = s.submit(ctx, tableFleet, acts)
		if isNotFound(err) && len(p.landed) > 0 {
			err = s.submit(ctx, tableFleet, p.landed)
		} else if isNotFound(err) {
			err = nil
		}
	}
	if err == nil && p.moved != "" {
		err = s.remove(ctx, tableFleet, fleetPK, subSummaryPrefix(p.moved)+p.pk, "")
	}
	return err
}
