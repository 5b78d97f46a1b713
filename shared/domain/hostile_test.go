package domain_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// A MachineInstalled dated at the edges (year 9999 overflowed a due key and failed every
// delivery; 1600 and the zero time switched the windows off) is rejected InvalidField and
// recorded, writes no due row, and a later ClusterCreated naming the machine still applies
// (docs/messages.md, "Validation").
func TestHostileDatesAreRejectedAndRecorded(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		dates := []string{"9999-12-30T00:00:00Z", "1600-01-01T00:00:00Z", "0001-01-01T00:00:00Z"}
		for i, at := range dates {
			for _, cluster := range []string{`"clusterId":"` + cA + `",`, ""} { // in a cluster, and standalone
				body := `{"type":"MachineInstalled",` + cluster + `"machine":"node1","installedAt":"` + at + `"}`
				res, err := h.svc.HandleMessage(ctx, domain.QueueMachineEvents, []byte(body), domain.Meta{MessageID: at + cluster, EnqueuedAt: h.clk.Now()})
				if err != nil {
					t.Fatalf("installedAt %s (%d): transient error %v: the message would be redelivered and dead-lettered", at, i, err)
				}
				if res.Outcome != domain.Rejected || res.Problem == nil || res.Problem.Code != domain.CodeInvalidField || res.Problem.Field != "installedAt" {
					t.Fatalf("installedAt %s: outcome %s problem %v, want rejected InvalidField installedAt", at, res.Outcome, res.Problem)
				}
			}
		}
		rj, err := h.svc.Rejections(ctx, domain.Everywhere(), domain.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rj.Items) != 2*len(dates) {
			t.Fatalf("%d rejections recorded, want %d", len(rj.Items), 2*len(dates))
		}
		if due, err := h.st.DueBy(ctx, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), 10); err != nil || len(due) != 0 {
			t.Fatalf("due rows after rejected messages: %+v (%v)", due, err)
		}
		expect(t, h.fact("", map[string]any{"type": "ClusterCreated", "clusterId": cA, "nodes": []string{"node1"}}), domain.Created, "")
		h.clk.Advance(31 * 24 * time.Hour)
		if _, err := h.svc.CheckPolicies(ctx, domain.SweepRun{}); err != nil {
			t.Fatalf("sweep after the hostile dates: %v", err)
		}
	})
}

// An enqueue time outside the range (a body field shadowing the host's, or none) never reaches
// the state: the receive time stands in.
func TestHostileEnqueueTimeIsReplaced(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		expect(t, h.cmd("", register(cA, "hci-01", "node1")), domain.Created, "")
		h.clk.Advance(time.Hour)
		for _, at := range []time.Time{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), {}} {
			body := `{"type":"Sync","clusterId":"` + cA + `","machine":"node1"}`
			if _, err := h.svc.HandleMessage(ctx, domain.QueueMachineEvents, []byte(body), domain.Meta{MessageID: "s" + at.String(), EnqueuedAt: at}); err != nil {
				t.Fatalf("Sync enqueued at %v: %v", at, err)
			}
			if got := h.view(cA).LastConnected; got == nil || !got.Equal(h.clk.Now()) {
				t.Fatalf("Sync enqueued at %v: lastConnected %v, want the receive time %v", at, got, h.clk.Now())
			}
		}
		h.clk.Advance(2 * 24 * time.Hour)
		if _, err := h.svc.CheckPolicies(ctx, domain.SweepRun{}); err != nil {
			t.Fatal(err)
		}
	})
}

// faultyStore fails Load and LoadState of chosen clusters, and every Commit when commitErr is set.
type faultyStore struct {
	domain.Store
	mu        sync.Mutex
	loadErr   map[string]error
	commitErr error
}

func (f *faultyStore) Load(ctx context.Context, id, msg string) (domain.ClusterRecord, error) {
	f.mu.Lock()
	err := f.loadErr[id]
	f.mu.Unlock()
	if err != nil {
		return domain.ClusterRecord{}, err
	}
	return f.Store.Load(ctx, id, msg)
}

func (f *faultyStore) LoadState(ctx context.Context, id string) (domain.ClusterRecord, error) {
	f.mu.Lock()
	err := f.loadErr[id]
	f.mu.Unlock()
	if err != nil {
		return domain.ClusterRecord{}, err
	}
	return f.Store.LoadState(ctx, id)
}

func (f *faultyStore) Commit(ctx context.Context, ch domain.Change) (string, error) {
	if f.commitErr != nil {
		return "", f.commitErr
	}
	return f.Store.Commit(ctx, ch)
}

// A commit that fails leaves no due row behind (before, the row was written first).
func TestNoDueRowForAFailedCommit(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		f := &faultyStore{Store: h.st, commitErr: errors.New("refused")}
		svc := domain.NewService(f, h.clk, nil)
		body := `{"type":"MachineInstalled","clusterId":"` + cA + `","machine":"node1","installedAt":"` + t0.Format(time.RFC3339) + `"}`
		if _, err := svc.HandleMessage(ctx, domain.QueueMachineEvents, []byte(body), domain.Meta{MessageID: "m1", EnqueuedAt: t0}); err == nil {
			t.Fatal("HandleMessage succeeded with every commit failing")
		}
		if due, err := h.st.DueBy(ctx, t0.Add(365*24*time.Hour), 10); err != nil || len(due) != 0 {
			t.Fatalf("a failed commit left due rows %+v (%v)", due, err)
		}
	})
}

// installBoth installs cA/node1 and cB/node2 now, so both are due after 31 days.
func installBoth(h *harness) {
	for _, m := range []struct{ id, node string }{{cA, "node1"}, {cB, "node2"}} {
		expect(h.t.(*testing.T), h.fact("", map[string]any{"type": "MachineInstalled", "clusterId": m.id, "machine": m.node, "installedAt": t0}), domain.Created, "")
	}
}

// One bad row in a sweep's due list (a row naming no cluster, a cluster whose evaluation fails)
// is logged and skipped; the run goes on for every other cluster and the failing row is retried
// an hour on. A transient error still stops the run, for the platform to retry.
func TestSweepSkipsABadDueRow(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		installBoth(h)
		var logs bytes.Buffer
		var mu sync.Mutex
		f := &faultyStore{Store: h.st, loadErr: map[string]error{cB: errors.New("unreadable cluster row")}}
		svc := domain.NewService(f, h.clk, &domain.Options{Logger: slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))})
		if err := h.st.Schedule(ctx, domain.Due{ClusterID: "not a cluster \x1b[2J", At: t0}); err != nil {
			t.Fatal(err)
		}
		h.clk.Advance(31 * 24 * time.Hour)
		now := h.clk.Now()
		rep, err := svc.CheckPolicies(ctx, domain.SweepRun{})
		if err != nil {
			t.Fatalf("one bad row failed the whole run: %v", err)
		}
		if rep.Skipped != 2 || rep.Examined != 1 {
			t.Errorf("report %+v, want 2 skipped (junk row, cB) and 1 examined (cA)", rep)
		}
		if v := h.view(cA); v.RegistrationStatus != domain.StatusOutOfPolicy {
			t.Errorf("cA after the run: registrationStatus %s, want OutOfPolicy (the run did not go on)", v.RegistrationStatus)
		}
		due, err := h.st.DueBy(ctx, now.Add(2*time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		var cB1h []domain.Due
		for _, d := range due {
			if d.ClusterID == cB {
				cB1h = append(cB1h, d)
			}
			if !domain.IsGUID(d.ClusterID) {
				t.Errorf("the junk row is still due: %+v", d)
			}
		}
		if diff := cmp.Diff([]domain.Due{{ClusterID: cB, At: now.Add(time.Hour)}}, cB1h, cmpopts.IgnoreFields(domain.Due{}, "Row")); diff != "" {
			t.Errorf("cB's row (-want +got):\n%s", diff)
		}
		mu.Lock()
		out := logs.String()
		mu.Unlock()
		if strings.Count(out, "due row skipped") != 2 || strings.Contains(out, "\x1b") {
			t.Errorf("log: want two skipped rows logged, control characters escaped:\n%s", out)
		}
		f.mu.Lock()
		f.loadErr[cB] = domain.ErrTransient
		f.mu.Unlock()
		h.clk.Advance(2 * time.Hour)
		if _, err := svc.CheckPolicies(ctx, domain.SweepRun{}); !errors.Is(err, domain.ErrTransient) {
			t.Errorf("a transient error: run err %v, want it returned (the platform retries)", err)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// On Table Storage, a due row an older version wrote for year 9999 (negative key: sorts first;
// no Data) no longer stops PolicyExpiryCheck and OrphanSweep for the fleet: the row is read from
// its key, the cluster it names evaluated, the row removed.
func TestSweepSurvivesLegacyBrokenDueRow(t *testing.T) {
	ctx := context.Background()
	conn := azurite.Start(t)
	st, err := tables.New(ctx, tables.Config{ConnectionString: conn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, clk: clock.NewManual(t0)}
	h.svc = domain.NewService(st, h.clk, &domain.Options{Logger: slog.New(slog.DiscardHandler)})
	installBoth(h)
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The table and layout of docs/storage.md's due index; this row is what the old Schedule wrote.
	entity := `{"PartitionKey":"summary","RowKey":"d|-4850301831933722624|` + cA + `"}`
	if _, err := svc.NewClient("Fleet").UpsertEntity(ctx, []byte(entity), nil); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(31 * 24 * time.Hour)
	for _, run := range []func(context.Context, domain.SweepRun) (domain.SweepReport, error){h.svc.CheckPolicies, h.svc.SweepOrphans} {
		if _, err := run(ctx, domain.SweepRun{}); err != nil {
			t.Fatalf("sweep with a legacy broken row: %v", err)
		}
	}
	for _, id := range []string{cA, cB} {
		if v := h.view(id); v.RegistrationStatus != domain.StatusOutOfPolicy {
			t.Errorf("%s: registrationStatus %s, want OutOfPolicy", id, v.RegistrationStatus)
		}
	}
	due, err := st.DueBy(ctx, h.clk.Now(), 10)
	if err != nil || len(due) != 0 {
		t.Errorf("due rows left: %+v (%v)", due, err)
	}
}

// A standalone-machine record dated year 9999 by an earlier version (which did not check) no
// longer fails the ClusterCreated that adopts the machine, nor a later install of it.
func TestLegacyStandaloneRecordOutOfRange(t *testing.T) {
	forEachStore(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		for _, m := range []string{"node1", "node2"} {
			e := domain.IndexEntry{Kind: "standalone", Name: m, Value: `{"installedAt":"9999-12-30T00:00:00Z"}`}
			if err := h.st.PutIndex(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		expect(t, h.fact("", map[string]any{"type": "ClusterCreated", "clusterId": cA, "nodes": []string{"node1"}}), domain.Created, "")
		expect(t, h.fact("", map[string]any{"type": "MachineInstalled", "machine": "node2", "installedAt": t0}), domain.Updated, "")
		expect(t, h.fact("", map[string]any{"type": "ClusterCreated", "clusterId": cB, "nodes": []string{"node2"}}), domain.Created, "")
		v := h.view(cB)
		if len(v.Deadlines) == 0 || !v.Deadlines[0].Deadline.Equal(t0.Add(30*24*time.Hour)) {
			t.Errorf("cB's deadlines %+v, want the registration window from the valid install (%v)", v.Deadlines, t0)
		}
	})
}
