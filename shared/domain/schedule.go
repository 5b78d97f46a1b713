package domain

import "time"

// NextCheck is the earliest time at which the sweeps must look at c again, or zero when no
// deadline, warning, grace period or reset stall is pending. It may be early (the sweep then
// re-evaluates and reschedules) but never late.
func (p Policy) NextCheck(c *Cluster, now time.Time) time.Time {
	return time.Time{} // built by issue 6
}
