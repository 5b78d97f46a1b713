package bus_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

// BenchmarkPublish100 publishes 100 events of 10 clusters per operation to the test double.
func BenchmarkPublish100(b *testing.B) {
	c, err := newBenchClient(sbdouble.Start(b))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		evs := make([]domain.Event, 100)
		for j := range evs {
			evs[j] = domain.NewEvent(fmt.Sprint("bench-", i), j, domain.EvPolicyWarning, fmt.Sprint("c-", j/10), "", at, nil)
		}
		if err := c.Publish(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
}
