package tables_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// landThenFail lets the first entity-group transaction of interest land, then answers 500 as a
// storage timeout would: the SDK retries it, and the retry meets the rows the first wrote.
type landThenFail struct{ armed atomic.Bool }

func (p *landThenFail) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if err == nil && strings.HasSuffix(req.Raw().URL.Path, "$batch") && p.armed.CompareAndSwap(true, false) {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Operation timed out",
			Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req.Raw()}, nil
	}
	return resp, err
}

// A commit whose transaction landed but whose answer was lost (the SDK's retry then conflicts
// with it) is the commit it is: the message is created, not taken for its own duplicate.
func TestLandedTransactionRetriedIsNotAConflict(t *testing.T) {
	ctx := context.Background()
	p := &landThenFail{}
	st, err := tables.New(ctx, tables.Config{ConnectionString: azurite.Start(t)}, &tables.Options{PerRetryPolicies: []policy.Policy{p}})
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	svc := domain.NewService(st, clk, &domain.Options{Logger: slog.New(slog.DiscardHandler)})
	body := `{"type":"Register","clusterId":"0b7e1d2c-3f4a-4b5c-8d6e-7f8091a2b3c4","clusterName":"a","region":"eastus",
		"tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":"22222222-2222-4222-8222-222222222222","nodes":[{"name":"n1"}]}`
	p.armed.Store(true)
	res, err := svc.HandleMessage(ctx, domain.QueueRegistrationRequests, []byte(body), domain.Meta{MessageID: "r1", EnqueuedAt: clk.Now()})
	if err != nil || res.Outcome != domain.Created || len(res.Events) == 0 {
		t.Fatalf("first delivery: %s, %d events, %v; want created with its events", res.Outcome, len(res.Events), err)
	}
	if p.armed.Load() {
		t.Fatal("no transaction was answered 500: the test did not exercise the retry")
	}
	res, err = svc.HandleMessage(ctx, domain.QueueRegistrationRequests, []byte(body), domain.Meta{MessageID: "r1", EnqueuedAt: clk.Now()})
	if err != nil || res.Outcome != domain.Duplicate {
		t.Fatalf("redelivery: %s, %v; want duplicate", res.Outcome, err)
	}
}
