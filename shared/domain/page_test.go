package domain_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
)

// A page holds Limit items, 100 when none (or a negative number) is asked for, never more than 1000.
func TestPageSize(t *testing.T) {
	limits := []int{-5, 0, 1, 99, 100, 101, 999, 1000, 1001, 1 << 40}
	want := []int{100, 100, 1, 99, 100, 101, 999, 1000, 1000, 1000}
	got := make([]int, 0, len(limits))
	for _, l := range limits {
		got = append(got, domain.Page{Limit: l, Cursor: "c"}.Size())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Page{Limit: %v}.Size() (-want +got):\n%s", limits, diff)
	}
}
