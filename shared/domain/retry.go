package domain

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry is the policy of the commit loop on an ETag conflict: another writer (perhaps another
// instance) committed the partition between this call's read and its write. The call waits a
// jittered, exponentially growing time, re-reads and decides again, so writers contending for one
// cluster spread out and all commit within one delivery instead of failing it
// (docs/architecture.md#conflicts). Zero fields take DefaultRetry's values.
type Retry struct {
	// Base is the upper bound of the first wait; it doubles on each conflict up to Max. A wait is
	// drawn uniformly from [0, bound) ("full jitter"): writers that collided do not collide again
	// in step.
	Base, Max time.Duration
	// Budget bounds the total wait of one call, and the context's deadline bounds it further: a
	// wait that would end past the deadline is not begun. The conflict is then transient, so the
	// platform redelivers the message.
	Budget time.Duration
	// Attempts caps the reads and commits of one call.
	Attempts int
	// Sleep waits d or until ctx ends, returning ctx's error then; nil is a timer. Tests inject one
	// that returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); nil is math/rand/v2's Float64.
	Jitter func() float64
}

// DefaultRetry is the policy NewService uses. A commit's critical section (read, index hints,
// transaction) is a few storage round trips, about 10–50 ms, so the first waits are of that
// order; 20 s of waiting at most keeps a delivery well inside the 5-minute function timeout and
// the message lock, while 12 writers on one cluster need well under a second.
func DefaultRetry() Retry {
	return Retry{Base: 10 * time.Millisecond, Max: time.Second, Budget: 20 * time.Second, Attempts: 64}
}

// withDefaults fills r's zero fields from DefaultRetry.
func (r Retry) withDefaults() Retry {
	d := DefaultRetry()
	if r.Base <= 0 {
		r.Base = d.Base
	}
	if r.Max <= 0 {
		r.Max = d.Max
	}
	if r.Budget <= 0 {
		r.Budget = d.Budget
	}
	if r.Attempts <= 0 {
		r.Attempts = d.Attempts
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	if r.Jitter == nil {
		r.Jitter = rand.Float64
	}
	return r
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is one call's progress through its Retry policy.
type backoff struct {
	r        Retry
	attempts int           // reads and commits so far
	waited   time.Duration // total wait so far
}

func (r Retry) start() *backoff { return &backoff{r: r} }

// again is called after a conflict: it waits and reports true when the caller should read and
// decide again, false when the policy is spent (attempts, budget, deadline or ctx).
func (b *backoff) again(ctx context.Context) bool {
	b.attempts++
	if b.attempts >= b.r.Attempts {
		return false
	}
	bound := b.r.Max
	if shift := b.attempts - 1; shift < 32 && b.r.Base<<shift < b.r.Max {
		bound = b.r.Base << shift
	}
	d := time.Duration(b.r.Jitter() * float64(bound))
	if b.waited+d > b.r.Budget {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return false
	}
	if b.r.Sleep(ctx, d) != nil {
		return false
	}
	b.waited += d
	return true
}

// spent is the transient error of a call whose conflicts outlasted its policy.
func (b *backoff) spent(what string) error {
	return fmt.Errorf("domain: %s: %w after %d attempts (%s waited): %w", what, ErrConflict, b.attempts, b.waited.Round(time.Millisecond), ErrTransient)
}
