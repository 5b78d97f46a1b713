package tables

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// TestScopedReadsCostFollowThePage: a caller limited to one subscription lists its clusters and
// rejections and reads its counts with one request each, counted at the wire, whether the rest of
// the fleet holds 10 or 150 clusters and rejections.
func TestScopedReadsCostFollowThePage(t *testing.T) {
	const mine, other = "aaaaaaaa-0000-4000-8000-00000000000a", "bbbbbbbb-0000-4000-8000-00000000000b"
	cp := &CountingPolicy{}
	ctx := context.Background()
	s, err := New(ctx, Config{ConnectionString: azurite.Start(t)}, &Options{PerCallPolicies: []policy.Policy{cp}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	add := func(count int, sub string) {
		t.Helper()
		for range count {
			n++
			id := fmt.Sprintf("c%04d", n)
			c := &domain.Cluster{ID: id, SubscriptionID: sub, RegistrationStatus: domain.StatusRegistered, ClusterStatus: domain.StatusClustered,
				ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone, Version: 1}
			rj := &domain.Rejection{At: time.Unix(int64(n), 0).UTC(), MessageID: "m-" + id, ClusterID: id, Code: domain.CodeNotRegistered,
				Reason: "x", SubscriptionID: sub}
			if _, err := s.Commit(ctx, domain.Change{Partition: id, Cluster: c, MessageID: rj.MessageID, Rejection: rj, Project: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	scope := domain.InSubscriptions(mine)
	type cost struct{ List, Counts, Rejections int64 }
	measure := func() cost {
		t.Helper()
		var c cost
		cp.Reset()
		pg, err := s.ListClusters(ctx, domain.ClusterFilter{Scope: &scope, RegistrationStatus: domain.StatusRegistered}, domain.Page{Limit: 2})
		if err != nil || len(pg.Items) != 2 || pg.NextCursor == "" {
			t.Fatalf("first page of 3: %+v, %v", pg, err)
		}
		c.List = cp.Count()
		if _, err := s.Pending(ctx, 1000); err != nil { // the counts take in the commits (docs/storage.md, "Counts")
			t.Fatal(err)
		}
		cp.Reset()
		fc, err := s.CountsIn(ctx, []string{mine})
		if err != nil || fc.Clusters != 3 {
			t.Fatalf("CountsIn = %+v, %v", fc, err)
		}
		c.Counts = cp.Count()
		cp.Reset()
		rj, err := s.RejectionsIn(ctx, []string{mine}, domain.Page{Limit: 2})
		if err != nil || len(rj.Items) != 2 || rj.NextCursor == "" {
			t.Fatalf("first page of 3 rejections: %+v, %v", rj, err)
		}
		c.Rejections = cp.Count()
		return c
	}
	add(5, other)
	add(3, mine)
	add(5, other)
	small := measure()
	add(140, other)
	large := measure()
	t.Logf("round trips of a scoped first page, fleet of 13 / 153: %+v / %+v", small, large)
	want := cost{List: 1, Counts: 1, Rejections: 1}
	for name, got := range map[string]cost{"13 clusters": small, "153 clusters": large} {
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trips with a fleet of %s (-want +got):\n%s", name, diff)
		}
	}
}
