package devhost

import (
	"fmt"
	"sync"
	"time"

	"github.com/azlocal/registrar/shared/logs"
)

// timer is one timer function's schedule state.
type timer struct {
	fn  Function
	run chan TimerInfo // pending runs; holds one, further triggers coalesce

	mu       sync.Mutex
	next     time.Time // the next occurrence due
	last     time.Time // the occurrence that ran last; zero before the first run
	recorded time.Time // when last was recorded
}

func newTimer(fn Function, now time.Time) *timer {
	return &timer{fn: fn, run: make(chan TimerInfo, 1), next: fn.schedule.Next(now)}
}

// status is the ScheduleStatus the host would send: nil until the timer first ran.
func (t *timer) status() *ScheduleStatus {
	if t.last.IsZero() {
		return nil
	}
	return &ScheduleStatus{Last: t.last, Next: t.next, LastUpdated: t.recorded}
}

// due fires the timer if its next occurrence is not after now (once, however many
// occurrences were passed) and moves next past now. It reports whether it fired.
func (t *timer) due(now time.Time, pastDue bool) bool {
	t.mu.Lock()
	if now.Before(t.next) {
		t.mu.Unlock()
		return false
	}
	occurrence := t.next
	info := TimerInfo{ScheduleStatus: t.status(), IsPastDue: pastDue}
	t.last, t.recorded, t.next = occurrence, now, t.fn.schedule.Next(now)
	t.mu.Unlock()
	t.trigger(info)
	return true
}

// trigger queues a run; a run already pending absorbs it, as only one instance of a timer
// runs at a time.
func (t *timer) trigger(info TimerInfo) {
	select {
	case t.run <- info:
	default:
	}
}

// RunNow runs a timer function now, as POST /admin/functions/{name} does (IsPastDue false).
func (r *Runner) RunNow(name string) error {
	t, ok := r.timers[name]
	if !ok {
		return fmt.Errorf("devhost: %q is not a timer function", name)
	}
	t.mu.Lock()
	info := TimerInfo{ScheduleStatus: t.status()}
	t.mu.Unlock()
	t.trigger(info)
	return nil
}

// runTimer invokes t's function for each run, one at a time. A failed run is logged and
// not retried before the next occurrence, as on the host.
func (r *Runner) runTimer(t *timer) {
	for {
		select {
		case info := <-t.run:
			if _, err := r.invoke(r.ctx, t.fn, timerEnvelope(t.fn, info, r.clock.Now())); err != nil && r.ctx.Err() == nil {
				r.log.Warn("devhost: timer run failed", "function", t.fn.Name, logs.Err(err))
			}
		case <-r.ctx.Done():
			return
		}
	}
}

// schedule checks the timers against the clock every Tick.
func (r *Runner) schedule() {
	tick := time.NewTicker(r.opts.Tick)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			now := r.clock.Now()
			for _, t := range r.timers {
				t.due(now, false)
			}
		case <-r.ctx.Done():
			return
		}
	}
}

// clockMoved fires, once each with IsPastDue, the timers whose next occurrence the moved
// clock passed, and re-plans every timer from the new time (a clock moved back re-plans too).
func (r *Runner) clockMoved(now time.Time) {
	for _, t := range r.timers {
		if r.opts.ManualTimers || !t.due(now, true) {
			t.mu.Lock()
			t.next = t.fn.schedule.Next(now)
			t.mu.Unlock()
		}
	}
}
