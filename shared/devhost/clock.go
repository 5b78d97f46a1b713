package devhost

import (
	"sync"
	"time"
)

// Clock is the system time plus an offset that Set and Advance change: it keeps running in
// real time after it is moved. It is safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a clock at the system time.
func NewClock() *Clock { return &Clock{} }

// Now returns the system time (UTC) plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

// Set moves the clock to t and returns it.
func (c *Clock) Set(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(t)
	return t.UTC()
}

// Advance moves the clock by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
	return time.Now().UTC().Add(c.offset)
}
