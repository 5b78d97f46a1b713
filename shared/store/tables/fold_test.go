package tables_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// beforeBatch runs hook once, right before the first entity-group transaction it sees is sent.
type beforeBatch struct {
	once sync.Once
	hook func()
}

func (p *beforeBatch) Do(req *policy.Request) (*http.Response, error) {
	if strings.HasSuffix(req.Raw().URL.Path, "$batch") {
		p.once.Do(p.hook)
	}
	return req.Next()
}

// TestFoldsAtOnceNeitherFails: two OutboxRelay runs (two instances' timers) fold the same clusters
// at once. The one whose transaction finds the other's work done, its fold pointers already
// removed, leaves it to that one and does not fail; each cluster is counted once (docs/storage.md,
// "Counts").
func TestFoldsAtOnceNeitherFails(t *testing.T) {
	ctx := context.Background()
	conn := azurite.Start(t)
	first, err := tables.New(ctx, tables.Config{ConnectionString: conn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c := &domain.Cluster{ID: fmt.Sprintf("c%d", i), RegistrationStatus: domain.StatusRegistered, ClusterStatus: domain.StatusClustered,
			ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone, Version: 1}
		if _, err := first.Commit(ctx, domain.Change{Partition: c.ID, Cluster: c, Project: true}); err != nil {
			t.Fatal(err)
		}
	}
	var firstErr error
	race := &beforeBatch{hook: func() { _, firstErr = first.Pending(ctx, 10) }}
	second, err := tables.New(ctx, tables.Config{ConnectionString: conn}, &tables.Options{PerCallPolicies: []policy.Policy{race}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := second.Pending(ctx, 10); err != nil {
		t.Fatalf("the second of two folds at once: %v", err)
	}
	if firstErr != nil {
		t.Fatalf("the first of two folds at once: %v", firstErr)
	}
	got, err := second.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Clusters != 3 || got.RegistrationStatus[domain.StatusRegistered] != 3 {
		t.Fatalf("counts after two folds at once: %+v, want 3 clusters, 3 Registered", got)
	}
}

// TestFoldOfAClusterChangedMoreThanOneTransactionHolds: a cluster whose summary changed about a
// hundred times between two OutboxRelay runs leaves more fold pointers than one transaction
// takes (100 operations). The fold takes one transaction's worth and the next run the rest: no
// run fails, and the cluster is counted once.
func TestFoldOfAClusterChangedMoreThanOneTransactionHolds(t *testing.T) {
	ctx := context.Background()
	s, err := tables.New(ctx, tables.Config{ConnectionString: azurite.Start(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	etag := ""
	for v := int64(1); v <= 110; v++ {
		status := domain.StatusConnected
		if v%2 == 0 {
			status = domain.StatusDisconnect
		}
		c := &domain.Cluster{ID: "c1", RegistrationStatus: domain.StatusRegistered, ClusterStatus: domain.StatusClustered,
			ConnectionStatus: status, Orphan: domain.OrphanNone, Version: v}
		if etag, err = s.Commit(ctx, domain.Change{Partition: c.ID, Cluster: c, ETag: etag, Project: true}); err != nil {
			t.Fatalf("commit %d: %v", v, err)
		}
	}
	for run := range 2 {
		if _, err := s.Pending(ctx, 10); err != nil {
			t.Fatalf("OutboxRelay run %d: %v", run+1, err)
		}
	}
	got, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Clusters != 1 || got.ConnectionStatus[domain.StatusDisconnect] != 1 {
		t.Fatalf("counts = %+v, want 1 cluster, Disconnected", got)
	}
}
