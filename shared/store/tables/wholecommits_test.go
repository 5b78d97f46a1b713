package tables

import (
	"testing"

	"github.com/azlocal/registrar/shared/domain"
)

// TestWholeCommits: Pending never splits a commit's events (MarkPublished removes a commit's
// publish marker with them, so the rest of a split commit would be left unmarked).
func TestWholeCommits(t *testing.T) {
	keys := func(ks ...string) []domain.Event {
		var out []domain.Event
		for _, k := range ks {
			out = append(out, domain.Event{Key: k})
		}
		return out
	}
	// Commits: 1 (2 events), 2 (3 events), 3 (1 event).
	evs := keys("1.0.a.0", "1.0.a.1", "2.0.b.0", "2.0.b.1", "2.0.b.2", "3.0.c.0")
	for _, tc := range []struct{ room, want int }{
		{room: 10, want: 6}, {room: 6, want: 6}, {room: 5, want: 5}, {room: 4, want: 2},
		{room: 3, want: 2}, {room: 2, want: 2}, {room: 1, want: 2}, // a first commit larger than room: whole
	} {
		if got := wholeCommits(evs, tc.room); got != tc.want {
			t.Errorf("wholeCommits(room %d) = %d, want %d", tc.room, got, tc.want)
		}
	}
}
