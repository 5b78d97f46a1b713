package azurite

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

func TestStartServesTables(t *testing.T) {
	conn := Start(t)
	svc, err := aztables.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.CreateTable(ctx, "Probe", nil); err != nil {
		t.Fatalf("create table: %v", err)
	}
	pager := svc.NewListTablesPager(nil)
	page, err := pager.NextPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tables) != 1 || *page.Tables[0].Name != "Probe" {
		t.Fatalf("tables = %v, want [Probe]", page.Tables)
	}
}

// fatalTB records the first Fatal message and stops the calling goroutine like testing.T does.
type fatalTB struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.mu.Lock()
	f.msg = fmt.Sprint(args...)
	f.mu.Unlock()
	runtime.Goexit()
}
func (f *fatalTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

func TestMissingAzuriteFailsWithHint(t *testing.T) {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		startIn(f, t.TempDir())
	}()
	<-done
	if want := "azurite not installed: run npm ci (make test does)"; f.msg != want {
		t.Fatalf("fatal message = %q, want %q", f.msg, want)
	}
}

// A server started on disk keeps its tables and entities across Stop and Restart, and
// refuses connections while stopped.
func TestServerKeepsTablesAcrossRestart(t *testing.T) {
	s := StartServer(t, &ServerOptions{OnDisk: true})
	svc, err := aztables.NewServiceClientFromConnectionString(s.ConnString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := svc.CreateTable(ctx, "Probe", nil); err != nil {
		t.Fatalf("create table: %v", err)
	}
	c := svc.NewClient("Probe")
	if _, err := c.AddEntity(ctx, []byte(`{"PartitionKey":"p","RowKey":"r","V":"kept"}`), nil); err != nil {
		t.Fatalf("add entity: %v", err)
	}
	s.Stop()
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second); err == nil {
		conn.Close()
		t.Fatal("a stopped server still accepts connections")
	}
	s.Restart()
	got, err := c.GetEntity(ctx, "p", "r", nil)
	if err != nil {
		t.Fatalf("the entity written before the restart: %v", err)
	}
	if !strings.Contains(string(got.Value), `"V":"kept"`) {
		t.Fatalf("entity after restart = %s, want V kept", got.Value)
	}
}

// The proxy forwards every request to Azurite and counts each one, naming its table.
func TestProxyCountsEveryRequest(t *testing.T) {
	p := NewProxy(t, Start(t))
	svc, err := aztables.NewServiceClientFromConnectionString(p.ConnString, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := svc.NewClient("Probe")
	if _, err := c.CreateTable(ctx, nil); err != nil {
		t.Fatal(err)
	}
	ent := []byte(`{"PartitionKey":"p","RowKey":"r1"}`)
	if _, err := c.AddEntity(ctx, ent, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubmitTransaction(ctx, []aztables.TransactionAction{
		{ActionType: aztables.TransactionTypeAdd, Entity: []byte(`{"PartitionKey":"p","RowKey":"r2"}`)},
		{ActionType: aztables.TransactionTypeAdd, Entity: []byte(`{"PartitionKey":"p","RowKey":"r3"}`)},
	}, nil); err != nil {
		t.Fatal(err)
	}
	filter := "PartitionKey eq 'p'"
	page, err := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter}).NextPage(ctx)
	if err != nil || len(page.Entities) != 3 {
		t.Fatalf("query through the proxy: %d rows, %v; want 3 (requests not forwarded whole)", len(page.Entities), err)
	}
	got := fmt.Sprint(p.Since(0))
	want := "[POST Tables POST Probe POST $batch Probe GET Probe()?$filter=PartitionKey eq 'p']"
	if got != want || p.Count() != 4 {
		t.Fatalf("recorded %s (count %d), want %s", got, p.Count(), want)
	}
	if d := p.Describe(3); d != "   1. GET Probe()?$filter=PartitionKey eq 'p'\n" {
		t.Fatalf("Describe(3) = %q", d)
	}
}
