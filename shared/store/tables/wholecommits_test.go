package tables

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/azlocal/registrar/shared/domain"
)

// TestWholeCommits: Pending never splits a commit's events (MarkPublished removes a commit's
// publish marker with all of them; a split commit would keep its marker for a later run).
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

// TestEventKeys: the keys the store assigns sort in commit, then index order (also past 9 and 99
// events, and beside a commit of the older form), and carry the commit's key and event count.
func TestEventKeys(t *testing.T) {
	a, b := "0000000000000000001.0.0000000000000000005", "0000000000000000001.1.0000000000000000002"
	var ks []string
	for i := range 12 {
		ks = append(ks, eventKey(a, 12, i))
	}
	ks = append(ks, b+".000", b+".001") // the older form <commit key>.<i>
	for i := range 3 {
		ks = append(ks, eventKey("0000000000000000002.0.0000000000000000001", 3, i))
	}
	if !slices.IsSorted(ks) || key(ks[11]) != ks[11] {
		t.Errorf("assigned keys not in commit then index order, or not plain: %v", ks)
	}
	type parsed struct {
		Commit string
		N      int
		OK     bool
	}
	for k, want := range map[string]parsed{
		eventKey(a, 12, 11): {a, 12, true},
		b + ".001":          {b, 0, true},
		a + ".x.001":        {},
		a + ".000.001":      {},
		"caller-key":        {},
	} {
		var got parsed
		got.Commit, got.N, got.OK = commitOf(k)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("commitOf(%q) (-want +got):\n%s", k, d)
		}
	}
}

// TestPublishedMarkers: MarkPublished removes the publish marker of a commit only when all of its
// events are marked; a key of the older form (no count) removes it as before.
func TestPublishedMarkers(t *testing.T) {
	ck, old := "0000000000000000001.0.0000000000000000005", "0000000000000000001.1.0000000000000000002"
	evs := func(keys ...string) []domain.Event {
		var out []domain.Event
		for _, k := range keys {
			out = append(out, domain.Event{ClusterID: "c1", Key: k})
		}
		return out
	}
	three := []string{eventKey(ck, 3, 0), eventKey(ck, 3, 1), eventKey(ck, 3, 2)}
	mark, oldMark := prePublish+"c1|"+ck, prePublish+"c1|"+old
	for _, tc := range []struct {
		name   string
		events []domain.Event
		want   []string
	}{
		{"all three", evs(three...), []string{mark}},
		{"two of three", evs(three[:2]...), nil},
		{"the last one alone", evs(three[2]), nil},
		{"one twice, one missing", evs(three[0], three[0], three[1]), nil},
		{"older form, one of two", evs(old + ".000"), []string{oldMark}},
		{"older commit then two of three", evs(append([]string{old + ".000", old + ".001"}, three[:2]...)...), []string{oldMark}},
	} {
		if d := cmp.Diff(tc.want, publishedMarkers(tc.events), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: markers removed (-want +got):\n%s", tc.name, d)
		}
	}
}
