package azurite

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

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
