package tables

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/azlocal/registrar/shared/domain"
)

// Rows kept per subscription, so that a caller limited to some subscriptions (docs/admin-api.md,
// "Scopes") reads its clusters, counts and rejections at a cost bounded by its page and its number
// of subscriptions, never the fleet (docs/storage.md):
//   - Fleet/summary `s|<sub>|<cluster>`: the cluster's list row again, under its subscription,
//     written in the same transaction as the fleet list row (listActs);
//   - Fleet/summary `n|<sub>`: that subscription's counts, kept by fold with the fleet's;
//   - Rejections/r `s|<sub>|<inverted At>|<MessageId>`: the rejection again, under its
//     subscription, written in the same transaction as the fleet-wide one.
const (
	preSubSummary = "s|"
	preSubCounts  = "n|"
	preSubReject  = "s|"
)

func subSummaryPrefix(sub string) string { return preSubSummary + key(sub) + "|" }

// summaryRow is a list row of sum under rk, with its filterable columns.
func summaryRow(rk string, sum domain.ClusterSummary, version string) row {
	data, _ := json.Marshal(sum)
	return row{PartitionKey: fleetPK, RowKey: rk, Data: string(data), Version: version,
		RegistrationStatus: sum.RegistrationStatus, ConnectionStatus: sum.ConnectionStatus, Orphan: sum.Orphan,
		CredentialExpired: &sum.CredentialExpired}
}

// statusFilter is the OData condition of f's status fields ("" for none), each " and ..."-prefixed.
func statusFilter(f domain.ClusterFilter) string {
	var b strings.Builder
	for _, c := range []struct{ col, v string }{
		{"RegistrationStatus", f.RegistrationStatus}, {"ConnectionStatus", f.ConnectionStatus}, {"Orphan", f.Orphan},
	} {
		if c.v != "" {
			fmt.Fprintf(&b, " and %s eq %s", c.col, quote(c.v))
		}
	}
	if f.CredentialExpired != nil {
		fmt.Fprintf(&b, " and CredentialExpired eq %t", *f.CredentialExpired)
	}
	return b.String()
}

// listScoped lists the `s|` rows of subs matching f, by subscription then cluster: one range read
// per subscription the page reaches. The cursor is the last row key listed, so the next page reads
// each range after it; the page is read one row beyond the limit to know whether another follows.
func (s *Store) listScoped(ctx context.Context, subs []string, f domain.ClusterFilter, p domain.Page) (domain.PageOf[domain.ClusterSummary], error) {
	after, err := rowCursor(p.Cursor)
	if err != nil {
		return domain.PageOf[domain.ClusterSummary]{}, err
	}
	limit := p.Size()
	var rows []row
	for _, sub := range slices.Compact(slices.Sorted(slices.Values(subs))) {
		prefix := subSummaryPrefix(sub)
		end := prefixEnd(prefix)
		if after >= end || len(rows) > limit {
			continue
		}
		filter := fmt.Sprintf("PartitionKey eq %s and RowKey gt %s and RowKey lt %s%s",
			quote(fleetPK), quote(max(after, prefix)), quote(end), statusFilter(f))
		got, _, err := s.query(ctx, tableFleet, filter, limit+1-len(rows), "")
		if err != nil {
			return domain.PageOf[domain.ClusterSummary]{}, err
		}
		rows = append(rows, got...)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = rowCursorOf(rows[limit-1].RowKey)
	}
	return decodeRows[domain.ClusterSummary](rows, next)
}

// rowCursorOf is a cursor holding a row key; rowCursor reads one back ("" for none).
func rowCursorOf(rk string) string { return encodeCursor(nil, &rk) }

func rowCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	pk, rk, err := decodeCursor(c)
	if err != nil || *pk != "" || *rk == "" {
		return "", fmt.Errorf("tables: %w: malformed cursor", domain.ErrInvalidCursor)
	}
	return *rk, nil
}

// CountsIn implements domain.FleetStore: one row read per subscription.
func (s *Store) CountsIn(ctx context.Context, subscriptions []string) (domain.FleetCounts, error) {
	sum := domain.FleetCounts{}
	for _, sub := range slices.Compact(slices.Sorted(slices.Values(subscriptions))) {
		r, err := s.get(ctx, tableFleet, fleetPK, preSubCounts+key(sub))
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return domain.FleetCounts{}, err
		}
		var c domain.FleetCounts
		if err := json.Unmarshal([]byte(r.Data), &c); err != nil {
			return domain.FleetCounts{}, fmt.Errorf("tables: decode counts of a subscription: %w", err)
		}
		sum.Merge(c)
	}
	return withEmptyMaps(sum), nil
}

// withEmptyMaps gives c's nil maps as empty ones (the JSON answer lists {} rather than null).
func withEmptyMaps(c domain.FleetCounts) domain.FleetCounts {
	orEmpty := func(m map[string]int) map[string]int {
		if m == nil {
			return map[string]int{}
		}
		return m
	}
	c.RegistrationStatus, c.ClusterStatus = orEmpty(c.RegistrationStatus), orEmpty(c.ClusterStatus)
	c.ConnectionStatus, c.Orphan = orEmpty(c.ConnectionStatus), orEmpty(c.Orphan)
	return c
}

// rejectionKey is a rejection's row key in the fleet-wide list; its subscription copy is prefixed.
func rejectionKey(rj domain.Rejection) string {
	return inverted(rj.At.UnixNano()) + "|" + key(rj.MessageID)
}

func subRejectionPrefix(sub string) string { return preSubReject + key(sub) + "|" }

// RejectionsIn implements domain.ClusterStore: the subscriptions' rows merged newest first, one
// range read per subscription and page. The cursor is the last listed row's fleet-wide key (the
// same in every subscription's range), each range read one row beyond the limit.
func (s *Store) RejectionsIn(ctx context.Context, subscriptions []string, p domain.Page) (domain.PageOf[domain.Rejection], error) {
	after, err := rowCursor(p.Cursor)
	if err != nil {
		return domain.PageOf[domain.Rejection]{}, err
	}
	limit := p.Size()
	type keyed struct {
		k string
		r row
	}
	var all []keyed
	for _, sub := range slices.Compact(slices.Sorted(slices.Values(subscriptions))) {
		prefix := subRejectionPrefix(sub)
		end := prefixEnd(prefix)
		filter := fmt.Sprintf("PartitionKey eq %s and RowKey gt %s and RowKey lt %s",
			quote(rejectionPK), quote(prefix+after), quote(end))
		rows, _, err := s.query(ctx, tableRejections, filter, limit+1, "")
		if err != nil {
			return domain.PageOf[domain.Rejection]{}, err
		}
		for _, r := range rows {
			all = append(all, keyed{strings.TrimPrefix(r.RowKey, prefix), r})
		}
	}
	slices.SortFunc(all, func(a, b keyed) int { return cmp.Compare(a.k, b.k) })
	next := ""
	if len(all) > limit {
		all = all[:limit]
		next = rowCursorOf(all[limit-1].k)
	}
	rows := make([]row, 0, len(all))
	for _, x := range all {
		rows = append(rows, x.r)
	}
	return decodeRows[domain.Rejection](rows, next)
}
