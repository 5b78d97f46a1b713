package tables_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// A commit whose due row was not written (the process died right after the transaction) gets it
// from Pending's repair once its commit marker is past the grace period: the check is not lost.
func TestDueRowRepairedAfterInterruptedCommit(t *testing.T) {
	ctx := context.Background()
	s, cr, clk := crashingStore(t)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := &domain.Cluster{ID: "c1", RegistrationStatus: domain.StatusNotYet, Orphan: domain.OrphanNone, Version: 1, ScheduledCheck: at}
	cr.armed.Store(true)
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: c, MessageID: "m1", Due: &domain.Due{ClusterID: "c1", At: at}}); err == nil {
		t.Fatal("Commit succeeded through the crash")
	}
	cr.recover()
	if rec, err := s.Load(ctx, "c1", "m1"); err != nil || !rec.Seen {
		t.Fatalf("the transaction did not land (%+v, %v): the test needs it to", rec, err)
	}
	if due, err := s.DueBy(ctx, at, 10); err != nil || len(due) != 0 {
		t.Fatalf("DueBy before the repair = %+v, %v; want nothing", due, err)
	}
	clk.advance(3 * time.Minute)
	if _, err := s.Pending(ctx, 100); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueBy(ctx, at, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Due{{ClusterID: "c1", At: at}}
	if diff := cmp.Diff(want, due, cmpopts.IgnoreFields(domain.Due{}, "Row")); diff != "" {
		t.Fatalf("DueBy after Pending (-want +got):\n%s", diff)
	}
}

// A commit that fails (its transaction conflicts) writes no due row, also not after Pending.
func TestNoDueRowForAFailedCommit(t *testing.T) {
	ctx := context.Background()
	clk := &skew{}
	s, err := tables.New(ctx, tables.Config{ConnectionString: azurite.Start(t)}, &tables.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := &domain.Cluster{ID: "c1", RegistrationStatus: domain.StatusNotYet, Orphan: domain.OrphanNone, Version: 1}
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: c, MessageID: "m1"}); err != nil {
		t.Fatal(err)
	}
	late := *c
	late.ScheduledCheck = at
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: &late, MessageID: "m2", Due: &domain.Due{ClusterID: "c1", At: at}}); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("a second insert of the state = %v, want ErrConflict", err)
	}
	clk.advance(3 * time.Minute)
	if _, err := s.Pending(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if due, err := s.DueBy(ctx, at.Add(time.Hour), 10); err != nil || len(due) != 0 {
		t.Fatalf("DueBy = %+v, %v; want no row for the failed commit", due, err)
	}
}

// A due row written unreadable by an older version (year 9999 overflowed its key to a negative
// number, which sorts first, and its Data was empty) is listed with what its key says, and
// Unschedule removes exactly it: it no longer fails every DueBy.
func TestLegacyBrokenDueRow(t *testing.T) {
	ctx := context.Background()
	conn := azurite.Start(t)
	s, err := tables.New(ctx, tables.Config{ConnectionString: conn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Schedule(ctx, domain.Due{ClusterID: "bbbbbbbb-0000-4000-8000-000000000002", At: now}); err != nil {
		t.Fatal(err)
	}
	const cluster = "aaaaaaaa-0000-4000-8000-000000000001"
	PutLegacyDueRow(t, conn, "-4850301831933722624|"+cluster)
	due, err := s.DueBy(ctx, now, 10)
	if err != nil {
		t.Fatalf("DueBy with a broken row: %v", err)
	}
	want := []domain.Due{
		{ClusterID: cluster, At: time.Unix(0, -4850301831933722624).UTC(), Row: "d|-4850301831933722624|" + cluster},
		{ClusterID: "bbbbbbbb-0000-4000-8000-000000000002", At: now},
	}
	if diff := cmp.Diff(want, due, cmpopts.IgnoreFields(domain.Due{}, "Row")); diff != "" || due[0].Row != want[0].Row {
		t.Fatalf("DueBy (-want +got):\n%s\nrow %q", diff, due[0].Row)
	}
	if err := s.Unschedule(ctx, due[0]); err != nil {
		t.Fatal(err)
	}
	if due, err := s.DueBy(ctx, now, 10); err != nil || len(due) != 1 || due[0].ClusterID != want[1].ClusterID {
		t.Fatalf("after Unschedule DueBy = %+v, %v; want only the good row", due, err)
	}
}

// PutLegacyDueRow writes a due row as versions before docs/storage.md's "Due index" rules did
// for a time past 2262: RowKey "d|" + rk (the due index's prefix in the Fleet partition), no Data.
func PutLegacyDueRow(t testing.TB, conn, rk string) {
	t.Helper()
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := svc.NewClient("Fleet")
	if _, err := c.CreateTable(context.Background(), nil); err != nil {
		t.Logf("create table: %v (it may exist)", err)
	}
	if _, err := c.UpsertEntity(context.Background(), []byte(`{"PartitionKey":"summary","RowKey":"d|`+rk+`"}`), nil); err != nil {
		t.Fatal(err)
	}
}

// A commit's deadline-index rows ride in its landed batch: when the process dies right after the
// transaction, Pending's repair writes them from the committed state's Attention once the commit
// marker is past the grace period, so no listed deadline loses its row.
func TestAttentionRowsRepairedAfterInterruptedCommit(t *testing.T) {
	ctx := context.Background()
	s, cr, clk := crashingStore(t)
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rows := []domain.AttentionRow{{At: at, ClusterID: "c1", Slot: "credential"}, {At: at.Add(time.Hour), ClusterID: "c1", Slot: "registration"}}
	c := &domain.Cluster{ID: "c1", RegistrationStatus: domain.StatusNotYet, Orphan: domain.OrphanNone, Version: 1,
		Attention: map[string]time.Time{"credential": at, "registration": at.Add(time.Hour)}}
	cr.armed.Store(true)
	if _, err := s.Commit(ctx, domain.Change{Partition: "c1", Cluster: c, MessageID: "m1", Attention: rows}); err == nil {
		t.Fatal("Commit succeeded through the crash")
	}
	cr.recover()
	if rec, err := s.Load(ctx, "c1", "m1"); err != nil || !rec.Seen {
		t.Fatalf("the transaction did not land (%+v, %v): the test needs it to", rec, err)
	}
	if got, err := s.AttentionBy(ctx, domain.AttentionRow{}, at.Add(time.Hour), 10); err != nil || len(got) != 0 {
		t.Fatalf("AttentionBy before the repair = %+v, %v; want nothing", got, err)
	}
	clk.advance(3 * time.Minute)
	if _, err := s.Pending(ctx, 100); err != nil {
		t.Fatal(err)
	}
	got, err := s.AttentionBy(ctx, domain.AttentionRow{}, at.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rows, got); diff != "" {
		t.Fatalf("AttentionBy after Pending (-want +got):\n%s", diff)
	}
}
