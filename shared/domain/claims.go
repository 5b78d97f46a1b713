package domain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Claims (docs/policy.md, orphans): a machine whose identity (subscription, Arc resource group,
// name) a registered cluster holds is claimed there when another cluster names it (its Register,
// even one refused NodeRegisteredElsewhere, its ClusterCreated or MachineInstalled). A registered
// cluster whose registered machines are all claimed, silent for ConnectedWindow, is suspected an
// orphan (MachinesClaimed).

// claimSet is the machines one message claims, by holding cluster.
type claimSet map[string][]string

func (cs claimSet) add(holder, machine string) { cs[holder] = append(cs[holder], machine) }

// heldMachines are named machines that registered clusters, not suspected orphans, hold: they
// refuse a Register with NodeRegisteredElsewhere (9105).
type heldMachines struct {
	claims  claimSet
	holders map[string]*Cluster
	first   string // the first held machine named, for the reason
}

// problem is the refusal before the claims are recorded (nil for none).
func (h *heldMachines) problem() *Problem {
	if h == nil {
		return nil
	}
	return Reject(CodeNodeRegisteredElsewhere, "%s", h.reason(nil, time.Time{}, 0))
}

// reason names the first held machine, its holding cluster and, once the claims are recorded
// (after: the holders' states then), whether that cluster is now suspected an orphan.
func (h *heldMachines) reason(after map[string]*Cluster, now time.Time, window time.Duration) string {
	id := h.holderOf(h.first)
	holder := h.holders[id]
	s := fmt.Sprintf("machine %s is registered to cluster %s (%s)", h.first, id, holder.Name)
	if n := len(h.claims[id]); n > 1 {
		s += fmt.Sprintf(" with %d other machine(s) named", n-1)
	}
	if others := len(h.claims) - 1; others > 0 {
		s += fmt.Sprintf("; %d other cluster(s) hold named machines too", others)
	}
	c := after[id]
	switch {
	case c == nil:
		return s + ": unregister it there, or reset the machine, first"
	case c.Orphan == OrphanSuspected:
		return s + fmt.Sprintf(", which is now suspected an orphan (MachinesClaimed: every machine claimed, silent since %s; clean-up after %s): "+
			"send the Register again to take its machines over", timeStr(orphanSilenceBase(c)), timeStr(c.GraceUntil))
	case !allClaimed(c):
		return s + fmt.Sprintf(", which is not suspected an orphan: machine(s) %s not claimed; unregister it there, or reset the machine, first",
			strings.Join(unclaimed(c), ", "))
	}
	return s + fmt.Sprintf(", which is not suspected an orphan: it was heard from at %s, less than %s before now (%s); "+
		"unregister it there, or reset the machine, first", timeStr(orphanSilenceBase(c)), window, timeStr(now))
}

func (h *heldMachines) holderOf(machine string) string {
	for id, ms := range h.claims {
		if slices.Contains(ms, machine) {
			return id
		}
	}
	return ""
}

// unclaimed lists c's registered machines no other cluster claimed.
func unclaimed(c *Cluster) []string {
	var out []string
	for _, n := range c.Nodes {
		if n.RegistrationStatus == StatusRegistered && n.ClaimedBy == "" {
			out = append(out, n.Name)
		}
	}
	return out
}

// holders finds the clusters other than self holding the named machines' identities in group
// (machine index hints, read in one request and verified against the cluster they name, each
// loaded once): claims on suspected orphans, and held, the machines of registered clusters that
// are not (nil when none).
func (s *Service) holders(ctx context.Context, group, self string, names []string) (claimSet, *heldMachines, error) {
	lower := make([]string, 0, len(names))
	for _, n := range names {
		lower = append(lower, strings.ToLower(n))
	}
	rows, err := s.store.GetIndexes(ctx, kindMachine, group, lower)
	if err != nil {
		return nil, nil, err
	}
	hint := map[string]string{}
	for _, e := range rows {
		hint[e.Name] = e.Value
	}
	claims, loaded := claimSet{}, map[string]*Cluster{}
	var held *heldMachines
	for _, name := range names {
		id := hint[strings.ToLower(name)]
		if id == "" || id == self {
			continue
		}
		other, seen := loaded[id]
		if !seen {
			if other, err = s.loadOther(ctx, id); err != nil {
				return nil, nil, err
			}
			loaded[id] = other
		}
		switch {
		case !holds(other, group, name):
		case other.Orphan == OrphanSuspected:
			claims.add(other.ID, name)
		default:
			if held == nil {
				held = &heldMachines{claims: claimSet{}, holders: map[string]*Cluster{}, first: name}
			}
			held.claims.add(other.ID, name)
			held.holders[other.ID] = other
		}
	}
	return claims, held, nil
}

// holderOf returns the registered cluster other than self whose registered node holds machine's
// identity in group, nil when none does.
func (s *Service) holderOf(ctx context.Context, group, self, machine string) (*Cluster, error) {
	e, err := s.store.GetIndex(ctx, kindMachine, group, strings.ToLower(machine))
	if errors.Is(err, ErrNotFound) || (err == nil && e.Value == self) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	other, err := s.loadOther(ctx, e.Value)
	if err != nil || !holds(other, group, machine) {
		return nil, err // none, or a stale hint
	}
	return other, nil
}

// holds reports whether cluster c (a hint's, verified) holds machine's identity in group: it is
// registered there and its node of that name is Registered.
func holds(c *Cluster, group, machine string) bool {
	if !registered(c) || identityGroup(c.SubscriptionID, c.ArcResourceGroup) != group {
		return false
	}
	n := c.node(machine)
	return n != nil && n.RegistrationStatus == StatusRegistered
}

// refuseHeld records a refused Register's claims on the holding clusters and returns what they
// committed (claimed) and the refusal, whose reason says whether the holder is now suspected.
func (s *Service) refuseHeld(ctx context.Context, held *heldMachines, by string, meta Meta) (*claimed, *Problem, error) {
	res, after, err := s.claimAll(ctx, held.claims, by, meta)
	if err != nil {
		return nil, nil, err
	}
	return res, Reject(CodeNodeRegisteredElsewhere, "%s", held.reason(after, s.clock.Now().UTC(), s.policy.ConnectedWindow)), nil
}

// claimed is what the claims of one message committed on other clusters: their events, and what
// to publish after those commits (Result.Events and Result.Publish of each).
type claimed struct{ events, publish []Event }

// addTo adds what the claims committed to res.
func (c *claimed) addTo(res *Result) {
	if c != nil {
		res.Events, res.Publish = append(res.Events, c.events...), append(res.Publish, c.publish...)
	}
}

// claimAll records the claims of one message by cluster by, one commit per holding cluster,
// and returns what they committed and the holders' states after.
func (s *Service) claimAll(ctx context.Context, cs claimSet, by string, meta Meta) (*claimed, map[string]*Cluster, error) {
	out := &claimed{}
	after := map[string]*Cluster{}
	ids := make([]string, 0, len(cs))
	for id := range cs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		res, c, err := s.claim(ctx, id, cs[id], by, meta)
		if err != nil {
			return out, after, err
		}
		out.events, out.publish, after[id] = append(out.events, res.Events...), append(out.publish, res.Publish...), c
	}
	return out, after, nil
}

// claim marks machines of cluster id as claimed by cluster by, in one commit whose idempotency
// key is the message's and the machines' (each machine a message claims is recorded once, however
// many it names), and suspects the cluster at once when that completes its claims and it is
// silent enough. It returns the cluster's state after.
func (s *Service) claim(ctx context.Context, id string, machines []string, by string, meta Meta) (Result, *Cluster, error) {
	keys := make([]string, 0, len(machines))
	for _, m := range machines {
		keys = append(keys, strings.ToLower(m))
	}
	slices.Sort(keys)
	if meta.MessageID != "" {
		meta.MessageID += "|claim|" + strings.Join(keys, ",")
	}
	meta.Cause = "claimed by " + by
	var after *Cluster
	res, err := s.update(ctx, id, meta, func(rec ClusterRecord) (*Decision, error) {
		c := clone(rec.Cluster)
		after = c
		if !registered(c) {
			return &Decision{}, nil
		}
		for _, m := range machines {
			if n := c.node(m); n != nil && n.RegistrationStatus == StatusRegistered {
				n.ClaimedBy = by
			}
		}
		d := &Decision{Cluster: c}
		if ev, ok := s.policy.suspectClaimed(c, s.clock.Now().UTC()); ok {
			d.Events = append(d.Events, ev)
		}
		return d, nil
	})
	if err == nil && res.Outcome == Duplicate {
		after, err = s.loadOther(ctx, id)
	}
	return res, after, err
}
