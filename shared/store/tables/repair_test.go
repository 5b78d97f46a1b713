package tables_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// outage fails every request to the named tables while on, like a crash after the partition's
// transaction: the requests never reach the service.
type outage struct {
	on     atomic.Bool
	tables []string
}

func (o *outage) Do(req *policy.Request) (*http.Response, error) {
	if o.on.Load() {
		for _, t := range o.tables {
			if strings.Contains(req.Raw().URL.Path, "/"+t) {
				return nil, errors.New("simulated outage")
			}
		}
	}
	return req.Next()
}

// TestPendingRepairsInterruptedCommit: the transaction lands but the projection and the
// rejection row are lost; Pending still finds the events and repairs both.
func TestPendingRepairsInterruptedCommit(t *testing.T) {
	ctx := context.Background()
	o := &outage{tables: []string{"Fleet", "Rejections"}}
	s, err := tables.New(ctx, tables.Config{ConnectionString: azurite.Start(t)}, &tables.Options{PerCallPolicies: []policy.Policy{o}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := &domain.Cluster{ID: "c1", RegistrationStatus: domain.StatusRegistered, ClusterStatus: domain.StatusClustered,
		ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone, Version: 1}
	rj := &domain.Rejection{At: at, MessageID: "m1", Code: domain.CodeInvalidField, Reason: "bad"}
	ev := domain.NewEvent("m1", 0, domain.EvRequestRejected, "c1", "", at, nil)
	o.on.Store(true)
	_, err = s.Commit(ctx, domain.Change{Partition: "c1", Cluster: c, MessageID: "m1", Rejection: rj, Events: []domain.Event{ev}, Project: true})
	if !errors.Is(err, domain.ErrTransient) {
		t.Fatalf("commit with the projection failing: %v, want ErrTransient (the platform retries)", err)
	}
	o.on.Store(false)
	if rec, _ := s.Load(ctx, "c1", "m1"); !rec.Seen || rec.Cluster == nil {
		t.Fatalf("the transaction should have landed: %+v", rec)
	}
	if n, _ := s.Counts(ctx); n.Clusters != 0 {
		t.Fatalf("projection unexpectedly present before repair: %+v", n)
	}
	p, err := s.Pending(ctx, 10)
	if err != nil || len(p) != 1 || p[0].ID != ev.ID {
		t.Fatalf("Pending = %+v, %v; want the committed event", p, err)
	}
	n, err := s.Counts(ctx)
	if err != nil || n.Clusters != 1 || n.RegistrationStatus[domain.StatusRegistered] != 1 {
		t.Fatalf("counts after repair: %+v, %v", n, err)
	}
	rs, err := s.Rejections(ctx, domain.Page{})
	if err != nil || len(rs.Items) != 1 || rs.Items[0].MessageID != "m1" {
		t.Fatalf("rejections after repair: %+v, %v", rs.Items, err)
	}
	// A second repair changes nothing.
	if _, err := s.Pending(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if n2, _ := s.Counts(ctx); n2.Clusters != 1 {
		t.Fatalf("repeat repair double counted: %+v", n2)
	}
	if rs, _ := s.Rejections(ctx, domain.Page{}); len(rs.Items) != 1 {
		t.Fatalf("repeat repair duplicated the rejection: %d", len(rs.Items))
	}
}

// TestTooLargeChange: more rows than one transaction holds fails clearly, writing nothing.
func TestTooLargeChange(t *testing.T) {
	ctx := context.Background()
	s, err := tables.New(ctx, tables.Config{ConnectionString: azurite.Start(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := domain.Change{Partition: "c1", Cluster: &domain.Cluster{ID: "c1", Version: 1}, MessageID: "m1", History: make([]domain.HistoryEntry, 99)}
	if _, err := s.Commit(ctx, ch); !errors.Is(err, tables.ErrTooLarge) {
		t.Fatalf("101-row change: %v, want ErrTooLarge", err)
	}
	if rec, _ := s.Load(ctx, "c1", "m1"); rec.Seen || rec.Cluster != nil {
		t.Fatalf("a refused change left rows: %+v", rec)
	}
	ch.History = ch.History[:98]
	if _, err := s.Commit(ctx, ch); err != nil {
		t.Fatalf("100-row change: %v", err)
	}
}
