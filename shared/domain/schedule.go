package domain

import "time"

// NextCheck is the earliest time at which the sweeps must look at c again, or zero when no
// deadline, warning, grace period or reset stall is pending. It may be early (the sweep then
// re-evaluates and reschedules) but never late; it lies in the past when something is overdue
// (the next sweep applies it). A silence-based check that is overdue (waiting for the newest sync
// to catch up with the clock) is retried 15 minutes on.
func (p Policy) NextCheck(c *Cluster, now time.Time) time.Time {
	next, _ := p.nextCheck(c, now, false)
	return next
}

// nextCheck is NextCheck; with hold (the mass-disconnect guard is active) overdue silence-based
// checks are left out and held reports one was: the sweep parks the cluster in the held index
// instead, so while the guard holds, a held cluster costs the sweeps nothing (docs/policy.md).
func (p Policy) nextCheck(c *Cluster, now time.Time, hold bool) (next time.Time, held bool) {
	times, held := p.checkTimes(c, now, hold)
	for _, t := range times {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next.UTC(), held
}
