package domain

import "time"

// NextCheck is the earliest time at which the sweeps must look at c again, or zero when no
// deadline, warning, grace period or reset stall is pending. It may be early (the sweep then
// re-evaluates and reschedules) but never late; it lies in the past when something is overdue
// (the next sweep applies it). A silence-based check that is overdue (held back by the
// mass-disconnect guard, or waiting for the newest sync to catch up) is retried 15 minutes on.
func (p Policy) NextCheck(c *Cluster, now time.Time) time.Time {
	return p.nextCheck(c, now, silenceRetry)
}

// nextCheck is NextCheck with overdue silence-based checks retried retry on: heldRetry while the
// guard is active, so a long outage costs the sweeps 24 evaluations per cluster a day, not 96.
func (p Policy) nextCheck(c *Cluster, now time.Time, retry time.Duration) time.Time {
	var next time.Time
	for _, t := range p.checkTimes(c, now, retry) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next.UTC()
}
