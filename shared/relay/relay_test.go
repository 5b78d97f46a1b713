package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
)

type fakeOutbox struct {
	pending    []domain.Event
	marked     []string
	pendingIn  error // returned by PendingIn when set
	pendingErr error // returned by Pending with the events, as a store's failed fold is
}

func (f *fakeOutbox) Pending(_ context.Context, limit int) ([]domain.Event, error) {
	return slices.Clone(f.pending[:min(limit, len(f.pending))]), f.pendingErr
}

func (f *fakeOutbox) PendingIn(_ context.Context, partition string, limit int) ([]domain.Event, error) {
	if f.pendingIn != nil {
		return nil, f.pendingIn
	}
	var out []domain.Event
	for _, e := range f.pending {
		if e.SessionID() == partition && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeOutbox) MarkPublished(_ context.Context, events []domain.Event) error {
	for _, e := range events {
		f.marked = append(f.marked, e.ID)
		f.pending = slices.DeleteFunc(f.pending, func(p domain.Event) bool { return p.ID == e.ID })
	}
	return nil
}

type partial struct{ ids []string }

func (p partial) Error() string     { return "unavailable" }
func (p partial) SentIDs() []string { return p.ids }

type fakePub struct {
	fail bool
	got  []string
}

func (f *fakePub) Publish(_ context.Context, events []domain.Event) error {
	if f.fail && len(events) > 1 {
		f.got = append(f.got, events[0].ID)
		return partial{ids: []string{events[0].ID}}
	}
	for _, e := range events {
		f.got = append(f.got, e.ID)
	}
	return nil
}

func events(n int) []domain.Event {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []domain.Event
	for i := range n {
		out = append(out, domain.NewEvent("m1", i, domain.EvPolicyWarning, "c1", "m1", at, nil))
	}
	return out
}

func TestRunPublishesPendingAndMarksThem(t *testing.T) {
	evs := events(3)
	store := &fakeOutbox{pending: slices.Clone(evs)}
	pub := &fakePub{}
	n, err := New(store, pub, nil).Run(context.Background(), 10)
	if err != nil || n != 3 {
		t.Fatalf("Run = %d, %v; want 3, nil", n, err)
	}
	if len(store.pending) != 0 || len(store.marked) != 3 {
		t.Fatalf("pending %d marked %d, want 0 and 3", len(store.pending), len(store.marked))
	}
}

// TestRunPublishesDespiteTheStoresBookkeepingError: a store's Pending that read events but failed
// its later bookkeeping (the Table store's counts fold) does not stop the OutboxRelay from
// publishing them; the error is still returned.
func TestRunPublishesDespiteTheStoresBookkeepingError(t *testing.T) {
	fold := errors.New("fold failed")
	store := &fakeOutbox{pending: events(2), pendingErr: fold}
	pub := &fakePub{}
	n, err := New(store, pub, nil).Run(context.Background(), 10)
	if n != 2 || !errors.Is(err, fold) {
		t.Fatalf("Run = %d, %v; want 2 published and the fold's error", n, err)
	}
	if len(store.pending) != 0 {
		t.Fatalf("%d events left pending, want 0", len(store.pending))
	}
}

func TestPartialFailureMarksOnlyWhatWasSent(t *testing.T) {
	evs := events(3)
	store := &fakeOutbox{pending: slices.Clone(evs)}
	pub := &fakePub{fail: true}
	err := New(store, pub, nil).Flush(context.Background(), evs)
	var p partial
	if !errors.As(err, &p) {
		t.Fatalf("Flush error = %v, want the publisher's", err)
	}
	if !slices.Equal(store.marked, []string{evs[0].ID}) || len(store.pending) != 2 {
		t.Fatalf("marked %v pending %d; want only the first marked", store.marked, len(store.pending))
	}
	pub.fail = false
	n, err := New(store, pub, nil).Run(context.Background(), 10)
	if err != nil || n != 2 {
		t.Fatalf("Run = %d, %v; want 2, nil", n, err)
	}
	want := []string{evs[0].ID, evs[1].ID, evs[2].ID}
	if !slices.Equal(pub.got, want) {
		t.Fatalf("published %v, want each once in order %v", pub.got, want)
	}
}

func TestNilPublisherLeavesEventsInOutbox(t *testing.T) {
	store := &fakeOutbox{pending: events(2)}
	r := New(store, nil, nil)
	if err := r.Flush(context.Background(), store.pending); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Run(context.Background(), 10); n != 0 || err != nil {
		t.Fatalf("Run = %d, %v; want 0, nil", n, err)
	}
	if len(store.pending) != 2 || len(store.marked) != 0 {
		t.Fatalf("pending %d marked %d; want events left in the outbox", len(store.pending), len(store.marked))
	}
}

func TestFlushHoldsBackAClusterBehindAFailure(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a1 := domain.NewEvent("m1", 0, domain.EvArcEnabled, "a", "", at, nil)
	a2 := domain.NewEvent("m1", 1, domain.EvArcEnabled, "a", "", at, nil)
	a3 := domain.NewEvent("m2", 0, domain.EvArcEnabled, "a", "", at, nil)
	b1 := domain.NewEvent("m3", 0, domain.EvArcEnabled, "b", "", at, nil)
	store := &fakeOutbox{pending: []domain.Event{a1, a2}}
	pub := &fakePub{fail: true}
	r := New(store, pub, nil)
	if err := r.Flush(context.Background(), []domain.Event{a1, a2}); err == nil {
		t.Fatal("Flush succeeded, want the publisher's failure")
	}
	pub.fail = false
	store.pending = append(store.pending, a3, b1)
	if err := r.Flush(context.Background(), []domain.Event{a3}); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(context.Background(), []domain.Event{b1}); err != nil {
		t.Fatal(err)
	}
	if want := []string{a1.ID, b1.ID}; !slices.Equal(pub.got, want) {
		t.Fatalf("published %v, want %v: a3 must wait behind a2", pub.got, want)
	}
	if n, err := r.Run(context.Background(), 10); n != 2 || err != nil {
		t.Fatalf("Run = %d, %v; want 2", n, err)
	}
	a4 := domain.NewEvent("m4", 0, domain.EvArcEnabled, "a", "", at, nil)
	store.pending = append(store.pending, a4)
	if err := r.Flush(context.Background(), []domain.Event{a4}); err != nil {
		t.Fatal(err)
	}
	if want := []string{a1.ID, b1.ID, a2.ID, a3.ID, a4.ID}; !slices.Equal(pub.got, want) {
		t.Fatalf("published %v, want %v", pub.got, want)
	}
}

// Flush publishes what it is given, in order, and never reads the outbox: the order behind older
// pending events is the caller's (domain.Result.Publish), at no extra read.
func TestFlushPublishesWhatItIsGivenWithoutReading(t *testing.T) {
	evs := events(2)
	store := &fakeOutbox{pending: slices.Clone(evs), pendingIn: domain.ErrTransient}
	pub := &fakePub{}
	if err := New(store, pub, nil).Flush(context.Background(), evs); err != nil {
		t.Fatalf("Flush = %v, want nil: it must not read the outbox", err)
	}
	if want := []string{evs[0].ID, evs[1].ID}; !slices.Equal(pub.got, want) || len(store.pending) != 0 {
		t.Fatalf("published %v, pending %d; want %v published and marked", pub.got, len(store.pending), want)
	}
}

// Each OutboxRelay run that finds events pending logs how many and the age of the oldest (on the
// domain's clock), at Warn once it passed StaleAfter; the line is logged before publishing, so a
// run whose publish fails reports too. A run with nothing pending logs nothing.
func TestRunReportsTheOldestPendingAge(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	type line struct {
		Level             string
		Pending, OldestS  int64
		PublishedAfterLog bool
	}
	for _, tc := range []struct {
		name string
		ages []time.Duration
		fail bool
		want []line
	}{
		{"nothing pending", nil, false, nil},
		{"fresh", []time.Duration{30 * time.Second, 90 * time.Second}, false, []line{{"INFO", 2, 90, false}}},
		{"stale, publish fails", []time.Duration{time.Minute, StaleAfter + 5*time.Second}, true, []line{{"WARN", 2, 605, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &fakeOutbox{}
			for i, age := range tc.ages {
				out.pending = append(out.pending, domain.NewEvent("m", i, domain.EvArcEnabled, fmt.Sprint("c-", i), "", now.Add(-age), nil))
			}
			pub := &fakePub{fail: tc.fail}
			var got []line
			log := slog.New(handlerFunc(func(r slog.Record) {
				if !strings.HasPrefix(r.Message, "relay: events pending in the outbox") {
					return
				}
				l := line{Level: r.Level.String(), PublishedAfterLog: len(pub.got) > 0}
				r.Attrs(func(a slog.Attr) bool {
					switch a.Key {
					case LogPending:
						l.Pending = a.Value.Int64()
					case LogOldestPendingSeconds:
						l.OldestS = a.Value.Int64()
					}
					return true
				})
				got = append(got, l)
			}))
			r := New(out, pub, &Options{Logger: log, Now: func() time.Time { return now }})
			_, _ = r.Run(context.Background(), 100)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("report lines (-want +got):\n%s", d)
			}
		})
	}
}

// handlerFunc is a slog.Handler calling fn for every record.
type handlerFunc func(slog.Record)

func (h handlerFunc) Enabled(context.Context, slog.Level) bool      { return true }
func (h handlerFunc) Handle(_ context.Context, r slog.Record) error { h(r); return nil }
func (h handlerFunc) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h handlerFunc) WithGroup(string) slog.Handler                 { return h }

// What a publish sent is logged with the events' MessageIds (the first 20), so an invocation's
// Logs say which events it published, and an event published later is found by its ID.
func TestPublishLogsTheEventIDs(t *testing.T) {
	out := &fakeOutbox{}
	for i := range 25 {
		out.pending = append(out.pending, domain.NewEvent("m", i, domain.EvPolicyWarning, "c-1", "", time.Time{}, nil))
	}
	var got []string
	log := slog.New(handlerFunc(func(r slog.Record) {
		if r.Message != "relay: published" {
			return
		}
		r.Attrs(func(a slog.Attr) bool { got = append(got, a.Key+"="+a.Value.String()); return true })
	}))
	var ids []string
	for _, e := range out.pending[:20] {
		ids = append(ids, e.ID)
	}
	want := []string{"events=25", LogEventIDs + "=" + strings.Join(ids, ",") + ",..."}
	r := New(out, &fakePub{}, &Options{Logger: log})
	if err := r.Flush(context.Background(), out.pending); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("published line (-want +got):\n%s", d)
	}
}
