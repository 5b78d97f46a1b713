package tables

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// TestPendingInIsOneRoundTrip: PendingIn reads a partition's pending events with one request,
// whatever else is pending.
func TestPendingInIsOneRoundTrip(t *testing.T) {
	cp := &CountingPolicy{}
	ctx := context.Background()
	s, err := New(ctx, Config{ConnectionString: azurite.Start(t)}, &Options{PerCallPolicies: []policy.Policy{cp}})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"c1", "c2", "c1"} {
		ev := domain.NewEvent(fmt.Sprint("m", i), 0, domain.EvPolicyWarning, p, "", time.Now(), nil)
		if _, err := s.Commit(ctx, domain.Change{Partition: p, MessageID: fmt.Sprint("m", i), Events: []domain.Event{ev}}); err != nil {
			t.Fatal(err)
		}
	}
	cp.Reset()
	evs, err := s.PendingIn(ctx, "c1", 100)
	if err != nil || len(evs) != 2 {
		t.Fatalf("PendingIn = %d events, %v; want 2", len(evs), err)
	}
	if n := cp.Count(); n != 1 {
		t.Fatalf("PendingIn made %d round trips, want 1", n)
	}
}
