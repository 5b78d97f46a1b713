package tables

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// TestOrderDoesNotDependOnClocks: two instances whose clocks are ten seconds apart commit one
// cluster's changes in turn (the ETag serialises them); its history and pending events come back
// in commit order, not in the order of the instances' clocks.
func TestOrderDoesNotDependOnClocks(t *testing.T) {
	ctx := context.Background()
	conn := azurite.Start(t)
	base := time.Now()
	ahead, err := New(ctx, Config{ConnectionString: conn}, &Options{Now: func() time.Time { return base.Add(10 * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	behind, err := New(ctx, Config{ConnectionString: conn}, &Options{Now: func() time.Time { return base }})
	if err != nil {
		t.Fatal(err)
	}
	const id = "c1"
	etag := ""
	commit := func(s *Store, version int64, msg, what string, withState bool) {
		t.Helper()
		ch := domain.Change{Partition: id, MessageID: msg, Follows: version - 1,
			History: []domain.HistoryEntry{{What: what}},
			Events:  []domain.Event{domain.NewEvent(msg, 0, what, id, "", base, nil)}}
		if withState {
			ch.Cluster, ch.ETag = &domain.Cluster{ID: id, Version: version}, etag
		}
		e, err := s.Commit(ctx, ch)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if withState {
			etag = e
		}
	}
	commit(ahead, 1, "m1", "first", true)
	commit(behind, 2, "m2", "second", true)
	commit(behind, 3, "m3", "third", false) // a rejection after version 2: no state written
	commit(ahead, 3, "m4", "fourth", true)

	evs, err := behind.PendingIn(ctx, id, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Type)
	}
	if want := "first second third fourth"; strings.Join(got, " ") != want {
		t.Errorf("pending events %q, want %q", strings.Join(got, " "), want)
	}
	h, err := behind.History(ctx, id, domain.Page{})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, e := range h.Items {
		got = append(got, e.What)
	}
	if want := "fourth third second first"; strings.Join(got, " ") != want {
		t.Errorf("history %q, want newest first %q", strings.Join(got, " "), want)
	}
}
