// Package benchtable measures and reports the figures of `make bench`'s table of performance
// targets (docs/performance.md). Every target is a ratio to a floor measured in the same run, so
// the load of a shared machine weighs on both sides alike: a benchmark measures Registrar and its
// floor with Interleave (or its own alternating loop) and reports one Row per figure.
//
// Report logs a row as a line that `make bench` collects into one table:
//
//	benchtable<TAB>figure<TAB>Registrar<TAB>floor<TAB>ratio<TAB>target<TAB>pass
package benchtable

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Marker starts every row line (after the test log's "file.go:N: " prefix).
const Marker = "benchtable\t"

// Target bounds a figure's ratio to its floor, or the figure itself when it has no floor.
type Target struct {
	AtMost bool // true: the figure is at most Value; false: at least Value
	Value  float64
}

// AtMost is a target that the figure does not exceed v.
func AtMost(v float64) Target { return Target{AtMost: true, Value: v} }

// AtLeast is a target that the figure reaches v.
func AtLeast(v float64) Target { return Target{Value: v} }

// Met reports whether x is within the target.
func (t Target) Met(x float64) bool {
	if t.AtMost {
		return x <= t.Value
	}
	return x >= t.Value
}

func (t Target) String() string {
	if t.AtMost {
		return "≤ " + number(t.Value)
	}
	return "≥ " + number(t.Value)
}

// Row is one figure of the table.
type Row struct {
	Figure    string  // what is measured, e.g. "Adapter, Service Bus envelope: time"
	Unit      string  // of Registrar and Floor: "ns/op", "B/op", "allocs/op", "req/s", "requests", ...
	Registrar float64 // Registrar's figure
	Floor     float64 // the floor's figure from the same run; 0: Target bounds Registrar itself
	Target    Target
	// Paired, when not 0, is the ratio measured pair by pair (PairedRatio), which a changing
	// load moves less than Registrar / Floor; Registrar and Floor are then each side's median.
	Paired float64
}

// Ratio is Paired when set, else Registrar / Floor (Registrar itself for a row without a floor).
func (r Row) Ratio() float64 {
	switch {
	case r.Floor == 0:
		return r.Registrar
	case r.Paired != 0:
		return r.Paired
	}
	return r.Registrar / r.Floor
}

// PairedRatio is the median of the ratios of Registrar's samples to the floor's taken beside
// them, for samples taken alternately: registrar[0], floor[0], registrar[1], floor[1], ... Each
// floor sample is compared with the Registrar samples just before and just after it, so a load
// that changes between samples weighs on both sides of each ratio alike. 0 for no pair.
func PairedRatio(registrar, floor []float64) float64 {
	var ratios []float64
	for i, f := range floor {
		for j := i; j <= i+1 && j < len(registrar) && f > 0; j++ {
			ratios = append(ratios, registrar[j]/f)
		}
	}
	return Median(ratios)
}

// Met reports whether the row's target holds.
func (r Row) Met() bool { return r.Target.Met(r.Ratio()) }

// Line is the row as Report logs it.
func (r Row) Line() string {
	floor, ratio := "—", "—"
	if r.Floor != 0 {
		floor, ratio = Quantity(r.Floor, r.Unit), fmt.Sprintf("%.2f", r.Ratio())
	}
	pass := "yes"
	if !r.Met() {
		pass = "NO"
	}
	return strings.Join([]string{strings.TrimSuffix(Marker, "\t"), r.Figure, Quantity(r.Registrar, r.Unit), floor, ratio,
		r.Target.String(), pass}, "\t")
}

// Report logs r for `make bench`'s table and returns whether its target holds. It never fails
// the benchmark: a target is a figure to read, not a timed assertion.
func Report(tb testing.TB, r Row) bool {
	tb.Helper()
	tb.Log(r.Line())
	return r.Met()
}

// Quantity writes v in unit for people: durations in ns, µs or ms, bytes in B or KiB.
func Quantity(v float64, unit string) string {
	switch unit {
	case "ns/op":
		return time.Duration(math.Round(v)).Round(durationPrecision(v)).String()
	case "B/op":
		if v >= 10*1024 {
			return number(v/1024) + " KiB"
		}
		return number(v) + " B"
	}
	return number(v) + " " + strings.TrimSuffix(unit, "/op")
}

// durationPrecision keeps three significant digits.
func durationPrecision(ns float64) time.Duration {
	p := time.Duration(1)
	for ns >= 1000 {
		ns /= 10
		p *= 10
	}
	return p
}

// number writes v with three significant digits, or as a whole number from 100 on.
func number(v float64) string {
	if v == math.Trunc(v) || math.Abs(v) >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// Cost is what one operation costs.
type Cost struct {
	NsPerOp, BytesPerOp, AllocsPerOp float64
}

// Interleave runs registrar and floor alternately, batch operations at a time, for as long as
// b.Loop lasts, and returns the cost of one operation of each: the median time of its batches
// (robust to another process taking the core for a while) and its mean heap allocation. It
// reports Registrar's cost as the benchmark's ns/op, B/op and allocs/op, and the floor's as
// floor-ns/op, floor-B/op and floor-allocs/op.
func Interleave(b *testing.B, batch int, registrar, floor func()) (reg, flo Cost) {
	b.Helper()
	var rs, fs samples
	for b.Loop() {
		rs.measure(batch, registrar)
		fs.measure(batch, floor)
	}
	reg, flo = rs.cost(), fs.cost()
	b.ReportMetric(reg.NsPerOp, "ns/op")
	b.ReportMetric(reg.BytesPerOp, "B/op")
	b.ReportMetric(reg.AllocsPerOp, "allocs/op")
	b.ReportMetric(flo.NsPerOp, "floor-ns/op")
	b.ReportMetric(flo.BytesPerOp, "floor-B/op")
	b.ReportMetric(flo.AllocsPerOp, "floor-allocs/op")
	return reg, flo
}

type samples struct {
	ns            []float64 // per batch, per op
	bytes, allocs uint64
	ops           int
	m0, m1        runtime.MemStats
}

func (s *samples) measure(n int, op func()) {
	runtime.ReadMemStats(&s.m0)
	start := time.Now()
	for range n {
		op()
	}
	d := time.Since(start)
	runtime.ReadMemStats(&s.m1)
	s.ns = append(s.ns, float64(d.Nanoseconds())/float64(n))
	s.bytes += s.m1.TotalAlloc - s.m0.TotalAlloc
	s.allocs += s.m1.Mallocs - s.m0.Mallocs
	s.ops += n
}

func (s *samples) cost() Cost {
	if s.ops == 0 {
		return Cost{}
	}
	return Cost{NsPerOp: Median(s.ns), BytesPerOp: float64(s.bytes) / float64(s.ops),
		AllocsPerOp: float64(s.allocs) / float64(s.ops)}
}

// Median is the median of xs (0 for none); xs is not changed.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
