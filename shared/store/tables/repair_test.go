package tables_test

import (
	"context"
	"errors"
	"io"
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

// crash fails every request once a transaction on the Clusters table has landed, while armed:
// the process died right after a commit's transaction, so nothing after it reaches the service.
type crash struct {
	armed, crashed atomic.Bool
}

func (c *crash) Do(req *policy.Request) (*http.Response, error) {
	if c.crashed.Load() {
		return nil, errors.New("simulated crash")
	}
	clusters := false
	if c.armed.Load() && strings.HasSuffix(req.Raw().URL.Path, "$batch") && req.Raw().Body != nil {
		body, _ := io.ReadAll(req.Raw().Body)
		if err := req.RewindBody(); err != nil {
			return nil, err
		}
		clusters = strings.Contains(string(body), "/Clusters(") || strings.Contains(string(body), "/Clusters?")
	}
	resp, err := req.Next()
	if clusters && err == nil && resp.StatusCode == http.StatusAccepted {
		c.crashed.Store(true)
	}
	return resp, err
}

// recover ends the simulated crash: a fresh process.
func (c *crash) recover() { c.armed.Store(false); c.crashed.Store(false) }

// crashingStore is a store on a fresh Azurite whose requests crash (when armed) and whose clock
// skews.
func crashingStore(t *testing.T) (*tables.Store, *crash, *skew) {
	t.Helper()
	cr, clk := &crash{}, &skew{}
	s, err := tables.New(context.Background(), tables.Config{ConnectionString: azurite.Start(t)}, &tables.Options{PerRetryPolicies: []policy.Policy{cr}, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, cr, clk
}

// skew is a store clock that a test moves on (past the commit markers' grace period).
type skew struct{ off atomic.Int64 }

func (c *skew) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *skew) advance(d time.Duration) { c.off.Add(int64(d)) }

// TestPendingRepairsInterruptedCommit: the transaction lands, then the process dies before the
// rejection row and the landed batch (list row, due row, publish marker); Pending still finds
// the events and repairs it all from what was committed, once, however often it runs.
func TestPendingRepairsInterruptedCommit(t *testing.T) {
	ctx := context.Background()
	s, cr, clk := crashingStore(t)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := &domain.Cluster{ID: "c1", RegistrationStatus: domain.StatusRegistered, ClusterStatus: domain.StatusClustered,
		ConnectionStatus: domain.StatusConnected, Orphan: domain.OrphanNone, Version: 1, ScheduledCheck: at}
	rj := &domain.Rejection{At: at, MessageID: "m1", Code: domain.CodeInvalidField, Reason: "bad"}
	ev := domain.NewEvent("m1", 0, domain.EvRequestRejected, "c1", "", at, nil)
	cr.armed.Store(true)
	_, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: c, MessageID: "m1", Rejection: rj, Events: []domain.Event{ev}, Project: true,
		Due: &domain.Due{ClusterID: "c1", At: at}})
	if err == nil {
		t.Fatal("commit succeeded through the crash")
	}
	cr.recover()
	if rec, _ := s.Load(ctx, "c1", "m1"); !rec.Seen || rec.Cluster == nil {
		t.Fatalf("the transaction should have landed: %+v", rec)
	}
	if l, _ := s.ListClusters(ctx, domain.ClusterFilter{}, domain.Page{}); len(l.Items) != 0 {
		t.Fatalf("list row unexpectedly present before repair: %+v", l.Items)
	}
	p, err := s.Pending(ctx, 10)
	if err != nil || len(p) != 1 || p[0].ID != ev.ID {
		t.Fatalf("Pending = %+v, %v; want the committed event", p, err)
	}
	checkRepaired := func(when string) {
		t.Helper()
		n, err := s.Counts(ctx)
		if err != nil || n.Clusters != 1 || n.RegistrationStatus[domain.StatusRegistered] != 1 {
			t.Fatalf("%s: counts %+v, %v; want the cluster counted once", when, n, err)
		}
		if rs, err := s.Rejections(ctx, domain.Page{}); err != nil || len(rs.Items) != 1 || rs.Items[0].MessageID != "m1" {
			t.Fatalf("%s: rejections %+v, %v; want m1's once", when, rs.Items, err)
		}
		if due, err := s.DueBy(ctx, at, 10); err != nil || len(due) != 1 || due[0].ClusterID != "c1" {
			t.Fatalf("%s: due rows %+v, %v; want c1's", when, due, err)
		}
		if l, err := s.ListClusters(ctx, domain.ClusterFilter{}, domain.Page{}); err != nil || len(l.Items) != 1 {
			t.Fatalf("%s: list %+v, %v; want c1", when, l.Items, err)
		}
	}
	checkRepaired("after the repair")
	clk.advance(3 * time.Minute) // past the grace period: the commit marker goes
	if _, err := s.Pending(ctx, 10); err != nil {
		t.Fatal(err)
	}
	checkRepaired("after a second Pending")
	if err := s.MarkPublished(ctx, p); err != nil {
		t.Fatal(err)
	}
	if left, err := s.Pending(ctx, 10); err != nil || len(left) != 0 {
		t.Fatalf("after publishing: %d pending, %v", len(left), err)
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
