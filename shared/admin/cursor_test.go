package admin

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

func orphanAt(i int, grace time.Time) domain.OrphanView {
	return domain.OrphanView{ClusterID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), GraceUntil: grace}
}

// pageAll follows every page of all with limit, checking the cursors, and returns the IDs.
func pageAll(t *testing.T, all []domain.OrphanView, limit int) (ids []string, sizes []int) {
	t.Helper()
	var after []string
	for range len(all) + 2 {
		p := keyPage(all, after, limit, orphansList, orphanKey)
		sizes = append(sizes, len(p.Items))
		for _, o := range p.Items {
			ids = append(ids, o.ClusterID)
		}
		if p.NextCursor == "" {
			return ids, sizes
		}
		last := p.Items[len(p.Items)-1].ClusterID
		if !cursorRE.MatchString(p.NextCursor) || strings.Contains(p.NextCursor, last) {
			t.Fatalf("cursor %q is not opaque and URL-safe", p.NextCursor)
		}
		var pr *Problem
		if after, pr = orphansList.after(domain.Page{Cursor: p.NextCursor}); pr != nil {
			t.Fatalf("own cursor %q refused: %+v", p.NextCursor, pr)
		}
	}
	t.Fatal("paging did not end")
	return nil, nil
}

func TestKeyPageSevenByThree(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var all []domain.OrphanView
	for i := range 7 {
		// two share a grace end: the cluster ID orders them
		all = append(all, orphanAt(7-i, base.Add(time.Duration(i/2)*time.Hour)))
	}
	ids, sizes := pageAll(t, all, 3)
	if fmt.Sprint(sizes) != "[3 3 1]" {
		t.Fatalf("page sizes %v, want [3 3 1]", sizes)
	}
	want := []string{}
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b domain.OrphanView) int { return slices.Compare(orphanKey(a), orphanKey(b)) })
	for _, o := range sorted {
		want = append(want, o.ClusterID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want %v (no duplicates, no gaps, grace end then cluster ID)", ids, want)
	}
	if ids, sizes := pageAll(t, all, 7); len(ids) != 7 || len(sizes) != 1 {
		t.Fatalf("limit 7: %v %v, want one page of 7", ids, sizes)
	}
}

// TestKeyPageListChanges: the cursor holds the last key, so removing an item already listed or
// adding one before the cursor neither repeats nor skips the rest.
func TestKeyPageListChanges(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var all []domain.OrphanView
	for i := range 6 {
		all = append(all, orphanAt(i, base.Add(time.Duration(i)*time.Hour)))
	}
	first := keyPage(all, nil, 3, orphansList, orphanKey)
	after, pr := orphansList.after(domain.Page{Cursor: first.NextCursor})
	if pr != nil {
		t.Fatal(pr)
	}
	changed := append(slices.Clone(all[1:]), orphanAt(9, base.Add(-time.Hour)))
	second := keyPage(changed, after, 3, orphansList, orphanKey)
	var got []string
	for _, o := range second.Items {
		got = append(got, o.ClusterID)
	}
	want := []string{all[3].ClusterID, all[4].ClusterID, all[5].ClusterID}
	if !slices.Equal(got, want) || second.NextCursor != "" {
		t.Fatalf("second page %v next %q, want %v and no next", got, second.NextCursor, want)
	}
}

func TestKeyCursorRefused(t *testing.T) {
	good := orphansList.encode(orphanKey(orphanAt(1, time.Now())))
	for _, c := range []string{
		"bm90LWEtY3Vyc29y", // not base32
		"MFRGG",            // base32 of "abc"
		upcomingList.encode([]string{"2026-03-01T00:00:00.000000000Z", "c", "p", "a"}), // another list's
		orphansList.encode([]string{"yesterday", "c"}),                                 // no time
		orphansList.encode([]string{"2026-03-01T00:00:00.000000000Z"}),                 // too few fields
		good[:len(good)-1] + "1",
	} {
		if _, pr := orphansList.after(domain.Page{Cursor: c}); pr == nil || pr.Field != "cursor" || pr.Code != domain.CodeInvalidField {
			t.Errorf("cursor %q: %+v, want InvalidField cursor", c, pr)
		}
	}
	if _, pr := orphansList.after(domain.Page{Cursor: good}); pr != nil {
		t.Errorf("own cursor refused: %+v", pr)
	}
}
