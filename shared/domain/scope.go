package domain

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// ErrOutOfScope refuses an admin command on a cluster outside the caller's Scope (or on a cluster
// that does not exist, for a caller limited to some subscriptions: see docs/admin-api.md, "Scopes").
var ErrOutOfScope = errors.New("the cluster is outside the caller's subscriptions")

// Scope is the part of the fleet an admin caller may read or act on (docs/admin-api.md, "Scopes"):
// every cluster (All), or only the clusters of Subscriptions (lower-case subscription GUIDs, sorted,
// no repeats). A cluster with no subscription (never registered) is only in the All scope. The zero
// Scope allows nothing.
type Scope struct {
	All           bool
	Subscriptions []string
}

// Everywhere is the scope of every cluster.
func Everywhere() Scope { return Scope{All: true} }

// InSubscriptions is the scope of the clusters of the given subscriptions (any case).
func InSubscriptions(ids ...string) Scope {
	var s Scope
	for _, id := range ids {
		s.Subscriptions = append(s.Subscriptions, strings.ToLower(id))
	}
	slices.Sort(s.Subscriptions)
	s.Subscriptions = slices.Compact(s.Subscriptions)
	return s
}

// Allows reports whether a cluster of subscriptionID ("" for none) is in the scope.
func (s Scope) Allows(subscriptionID string) bool {
	if s.All {
		return true
	}
	_, found := slices.BinarySearch(s.Subscriptions, strings.ToLower(subscriptionID))
	return found && subscriptionID != ""
}

// Empty reports whether the scope allows nothing.
func (s Scope) Empty() bool { return !s.All && len(s.Subscriptions) == 0 }

// Union is the scope of the clusters either scope allows.
func (s Scope) Union(o Scope) Scope {
	if s.All || o.All {
		return Everywhere()
	}
	return InSubscriptions(slices.Concat(s.Subscriptions, o.Subscriptions)...)
}

// allowsCluster reports whether c (nil: no such cluster) is in the scope; a nil scope is no limit.
func (s *Scope) allowsCluster(c *Cluster) bool {
	if s == nil || s.All {
		return true
	}
	return c != nil && s.Allows(c.SubscriptionID)
}

// InScope returns nil when the cluster is in scope and ErrOutOfScope when it is not or does not
// exist (a caller limited to some subscriptions learns nothing of the clusters outside them).
// The All scope costs nothing; any other reads the cluster once.
func (s *Service) InScope(ctx context.Context, scope Scope, clusterID string) error {
	if scope.All {
		return nil
	}
	rec, err := s.store.LoadState(ctx, strings.ToLower(clusterID))
	if err != nil {
		return err
	}
	if !scope.allowsCluster(rec.Cluster) {
		return ErrOutOfScope
	}
	return nil
}

// rejectionScope is the subscription a rejection is listed under (docs/admin-api.md, "Scopes"): the
// named cluster's when it has one (so a message naming another subscription's cluster shows
// nothing of it there), else the one the message gave, else none.
func rejectionScope(c *Cluster, messageSubscription string) string {
	if c != nil && c.SubscriptionID != "" {
		return c.SubscriptionID
	}
	return messageSubscription
}

// subscriptionOf is the subscription a decoded message names ("" for none).
func subscriptionOf(m Message) string {
	if r, ok := m.(Register); ok {
		return r.SubscriptionID
	}
	return ""
}

// peekSubscription reads the subscriptionId of a body that failed validation: a GUID, lower-case,
// or "".
func peekSubscription(body []byte) string { return peekGUID(body, "subscriptionId") }
