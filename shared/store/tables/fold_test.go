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
