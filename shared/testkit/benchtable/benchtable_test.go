package benchtable

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRowLine(t *testing.T) {
	cases := []struct {
		row  Row
		want []string
	}{
		{Row{"Adapter, Service Bus envelope: time", "ns/op", 8_123, 16_240, AtMost(0.6), 0},
			[]string{"benchtable", "Adapter, Service Bus envelope: time", "8.12µs", "16.2µs", "0.50", "≤ 0.6", "yes"}},
		{Row{"Adapter, Service Bus envelope: heap", "B/op", 12_000, 20_480, AtMost(0.5), 0},
			[]string{"benchtable", "Adapter, Service Bus envelope: heap", "11.7 KiB", "20 KiB", "0.59", "≤ 0.5", "NO"}},
		{Row{"Loopback", "req/s", 9_000, 10_000, AtLeast(0.9), 0},
			[]string{"benchtable", "Loopback", "9000 req/s", "10000 req/s", "0.90", "≥ 0.9", "yes"}},
		{Row{"Table requests, Register of 3 nodes", "requests", 9, 0, AtMost(8), 0},
			[]string{"benchtable", "Table requests, Register of 3 nodes", "9 requests", "—", "—", "≤ 8", "NO"}},
		{Row{Figure: "Loopback, paired", Unit: "req/s", Registrar: 8_000, Floor: 10_000, Target: AtLeast(0.9), Paired: 0.95},
			[]string{"benchtable", "Loopback, paired", "8000 req/s", "10000 req/s", "0.95", "≥ 0.9", "yes"}},
	}
	for _, c := range cases {
		got := strings.Split(c.row.Line(), "\t")
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.row.Figure, d)
		}
		if !strings.HasPrefix(c.row.Line(), Marker) {
			t.Errorf("%q does not start with the marker make bench looks for", c.row.Line())
		}
	}
}

// Registrar is twice as fast as the floor throughout, and the machine gets ten times faster after
// the fifth sample: the ratio of the medians says 0.36, the paired ratio 2.
func TestPairedRatioFollowsALoadThatChanges(t *testing.T) {
	registrar := []float64{1, 1, 1, 10, 10}
	floor := []float64{0.5, 0.5, 5, 5}
	if got := PairedRatio(registrar, floor); got != 2 {
		t.Errorf("PairedRatio = %v, want 2 (Median/Median = %.2f)", got, Median(registrar)/Median(floor))
	}
	if got := PairedRatio(nil, floor); got != 0 {
		t.Errorf("PairedRatio of no Registrar samples = %v, want 0", got)
	}
}

func TestMedian(t *testing.T) {
	xs := []float64{5, 1, 4, 2}
	if got := Median(xs); got != 3 {
		t.Errorf("Median(5 1 4 2) = %v, want 3", got)
	}
	if d := cmp.Diff([]float64{5, 1, 4, 2}, xs); d != "" {
		t.Errorf("Median changed its argument (-want +got):\n%s", d)
	}
	if got := Median([]float64{7, 1, 3}); got != 3 {
		t.Errorf("Median(7 1 3) = %v, want 3", got)
	}
}

// A side's cost counts its own allocations: an operation that allocates shows its bytes, one
// that does not shows none.
func TestSamplesCountEachSidesAllocations(t *testing.T) {
	var sink []byte
	var alloc, none samples
	for range 3 {
		alloc.measure(10, func() { sink = make([]byte, 4096) })
		none.measure(10, func() {})
	}
	_ = sink
	a, n := alloc.cost(), none.cost()
	if a.BytesPerOp < 4096 || a.AllocsPerOp < 1 || n.BytesPerOp != 0 || n.AllocsPerOp != 0 || len(alloc.ns) != 3 {
		t.Errorf("allocating %+v, not allocating %+v: want ≥ 4096 B and ≥ 1 alloc per op against none, 3 batches", a, n)
	}
}
