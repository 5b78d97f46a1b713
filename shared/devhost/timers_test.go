package devhost

import (
	"testing"
	"time"
)

func TestTimersFireOnTheirScheduleAsTheClockRuns(t *testing.T) {
	h := &recorder{}
	_, _, clk := harness(t, h, &Options{Tick: time.Millisecond})
	// The clock reaches the next minute by itself (not through /dev/clock): OutboxRelay's
	// occurrence at 00:01:00 fires on time, not past due, and the next one is planned.
	clk.Set(time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC))
	c := next(t, h, "OutboxRelay")
	d := timerOf(t, c)
	if d.IsPastDue || d.ScheduleStatus != nil {
		t.Errorf("first scheduled run = %+v", d)
	}
	clk.Set(time.Date(2026, 1, 1, 0, 2, 0, 0, time.UTC))
	d = timerOf(t, next(t, h, "OutboxRelay"))
	want := time.Date(2026, 1, 1, 0, 1, 0, 0, time.UTC)
	if d.IsPastDue || d.ScheduleStatus == nil || !d.ScheduleStatus.Last.Equal(want) {
		t.Errorf("second scheduled run = %+v, want Last %v", d, want)
	}
}

func TestClockKeepsRunningAfterAMove(t *testing.T) {
	c := NewClock()
	target := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	if got := c.Set(target); !got.Equal(target) {
		t.Fatalf("Set = %v", got)
	}
	if now := c.Now(); now.Before(target) || now.Sub(target) > time.Hour {
		t.Errorf("Now after Set = %v, want just after %v", now, target)
	}
	if got := c.Advance(720 * time.Hour); got.Before(target.Add(720 * time.Hour)) {
		t.Errorf("Advance = %v", got)
	}
	if d, err := parseDuration("30d"); err != nil || d != 720*time.Hour {
		t.Errorf("parseDuration(30d) = %v, %v", d, err)
	}
}
