package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// conflicting is a store whose first n commits fail with ErrConflict, as if another writer had
// committed the partition each time between the read and the write.
type conflicting struct {
	domain.Store
	mu      sync.Mutex
	n       int
	commits int
}

func (c *conflicting) Commit(ctx context.Context, ch domain.Change) (string, error) {
	c.mu.Lock()
	c.commits++
	fail := c.commits <= c.n
	c.mu.Unlock()
	if fail {
		return "", domain.ErrConflict
	}
	return c.Store.Commit(ctx, ch)
}

// waits records the backoff's sleeps without sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
	return ctx.Err()
}

func (w *waits) total() time.Duration {
	var t time.Duration
	for _, d := range w.d {
		t += d
	}
	return t
}

func registerRaw(t *testing.T) []byte {
	raw, err := json.Marshal(register(cA, "hci-01", "n1"))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A conflict is retried after waits that double from Base, each drawn below its bound (here
// half of it), and the message then commits in the same call.
func TestConflictRetriesBackOffExponentially(t *testing.T) {
	st := &conflicting{Store: memory.New(nil), n: 4}
	w := &waits{}
	svc := domain.NewService(st, fixedClock(t0), &domain.Options{Retry: &domain.Retry{
		Base: 10 * time.Millisecond, Max: time.Second, Sleep: w.sleep, Jitter: func() float64 { return 0.5 }}})
	res, err := svc.HandleMessage(context.Background(), domain.QueueRegistrationRequests, registerRaw(t), domain.Meta{MessageID: "m1", EnqueuedAt: t0})
	if err != nil || res.Outcome != domain.Created {
		t.Fatalf("after 4 conflicts: outcome %q, err %v; want created in the same call", res.Outcome, err)
	}
	want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	if !slices.Equal(w.d, want) {
		t.Fatalf("waits %v, want %v (jitter 0.5 of a bound doubling from 10ms)", w.d, want)
	}
}

// Each wait is capped at Max, the waits of one call never exceed Budget, and then the conflict
// is transient (the platform redelivers), wrapping ErrConflict.
func TestConflictRetriesStopAtTheBudget(t *testing.T) {
	st := &conflicting{Store: memory.New(nil), n: 1 << 30}
	w := &waits{}
	svc := domain.NewService(st, fixedClock(t0), &domain.Options{Retry: &domain.Retry{
		Base: 10 * time.Millisecond, Max: 40 * time.Millisecond, Budget: 200 * time.Millisecond, Attempts: 1000,
		Sleep: w.sleep, Jitter: func() float64 { return 0.99 }}})
	_, err := svc.HandleMessage(context.Background(), domain.QueueRegistrationRequests, registerRaw(t), domain.Meta{MessageID: "m1", EnqueuedAt: t0})
	if !errors.Is(err, domain.ErrTransient) || !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("err %v, want a transient ErrConflict", err)
	}
	if w.total() > 200*time.Millisecond || w.total() < 150*time.Millisecond {
		t.Fatalf("waited %v in all (%v), want just under the 200ms budget", w.total(), w.d)
	}
	for _, d := range w.d {
		if d > 40*time.Millisecond {
			t.Fatalf("a wait of %v exceeds Max 40ms (%v)", d, w.d)
		}
	}
	if st.commits != len(w.d)+1 {
		t.Fatalf("%d commits for %d waits: each wait must be followed by one more read and commit", st.commits, len(w.d))
	}
}

// Attempts caps the reads and commits of one call.
func TestConflictRetriesStopAtAttempts(t *testing.T) {
	st := &conflicting{Store: memory.New(nil), n: 1 << 30}
	w := &waits{}
	svc := domain.NewService(st, fixedClock(t0), &domain.Options{Retry: &domain.Retry{Attempts: 3, Sleep: w.sleep}})
	_, err := svc.HandleMessage(context.Background(), domain.QueueRegistrationRequests, registerRaw(t), domain.Meta{MessageID: "m1", EnqueuedAt: t0})
	if !errors.Is(err, domain.ErrTransient) || st.commits != 3 || len(w.d) != 2 {
		t.Fatalf("err %v, %d commits, %d waits; want a transient error after 3 commits and 2 waits", err, st.commits, len(w.d))
	}
}

// A wait that would end past the context's deadline (the invocation's time budget) is not begun:
// the call fails at once, transiently, and leaves the rest of the budget to the platform.
func TestConflictRetriesRespectTheDeadline(t *testing.T) {
	st := &conflicting{Store: memory.New(nil), n: 1 << 30}
	w := &waits{}
	svc := domain.NewService(st, fixedClock(t0), &domain.Options{Retry: &domain.Retry{
		Base: time.Hour, Max: time.Hour, Budget: 10 * time.Hour, Sleep: w.sleep, Jitter: func() float64 { return 0.5 }}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := svc.HandleMessage(ctx, domain.QueueRegistrationRequests, registerRaw(t), domain.Meta{MessageID: "m1", EnqueuedAt: t0})
	if !errors.Is(err, domain.ErrTransient) || len(w.d) != 0 {
		t.Fatalf("err %v, waits %v; want a transient error without waiting 30m past a 1m deadline", err, w.d)
	}
}

// Standalone machines' records are read-modify-written under the same policy.
func TestStandaloneConflictsBackOff(t *testing.T) {
	st := &conflictingIndex{Store: memory.New(nil), n: 2}
	w := &waits{}
	svc := domain.NewService(st, fixedClock(t0), &domain.Options{Retry: &domain.Retry{Sleep: w.sleep, Jitter: func() float64 { return 0.5 }}})
	raw, _ := json.Marshal(map[string]any{"type": "MachineInstalled", "machine": "n1", "installedAt": "2026-10-01T00:00:00Z"})
	res, err := svc.HandleMessage(context.Background(), domain.QueueMachineEvents, raw, domain.Meta{MessageID: "m1", EnqueuedAt: t0})
	if err != nil || res.Outcome != domain.Created || len(w.d) != 2 || w.d[1] != 2*w.d[0] {
		t.Fatalf("outcome %q err %v waits %v; want created after two growing waits", res.Outcome, err, w.d)
	}
}

type conflictingIndex struct {
	domain.Store
	n int
}

func (c *conflictingIndex) PutIndexIf(ctx context.Context, e domain.IndexEntry, etag string) error {
	if c.n > 0 {
		c.n--
		return domain.ErrConflict
	}
	return c.Store.PutIndexIf(ctx, e, etag)
}

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
