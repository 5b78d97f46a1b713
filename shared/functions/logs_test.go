package functions

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
)

// A rejected message's reply carries, in its Logs, the rejection's code and reason and then the
// invocation's line with its outcome: what the host attaches to the invocation's operation_Id
// (docs/operations.md). The logger is wrapped as app.New wraps it.
func TestRejectionReachesTheReplysLogs(t *testing.T) {
	log := slog.New(invoke.LogHandler(slog.DiscardHandler))
	dom := &fakeDomain{res: domain.Result{Outcome: domain.Rejected, Problem: domain.Reject("NotRegistered", "cluster is not registered")}}
	srv := invoke.NewServer(New(Deps{Domain: dom, Logger: log, MachineEventsQueue: "machine-events"}), &invoke.ServerOptions{Logger: log})
	env := `{"Data":{"message":"{\"type\":\"Sync\"}"},"Metadata":{"MessageId":"m-1","CorrelationId":"c-1","DeliveryCount":"1"}}`
	r := httptest.NewRequest(http.MethodPost, "/"+MachineEvents, strings.NewReader(env))
	r.Header.Set(invoke.HeaderInvocationID, "inv-1")
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	var reply struct{ Logs []string }
	if err := json.Unmarshal(w.Body.Bytes(), &reply); err != nil || w.Code != http.StatusOK {
		t.Fatalf("reply %d %s (%v)", w.Code, w.Body, err)
	}
	// The invocation line's trace ID and duration change with every run.
	varying := regexp.MustCompile(`traceId=[0-9a-f]{32}|durationMs=[0-9.]+`)
	var got []string
	for _, l := range reply.Logs {
		got = append(got, varying.ReplaceAllStringFunc(l, func(s string) string { return s[:strings.IndexByte(s, '=')+1] + "X" }))
	}
	want := []string{
		`level=INFO msg="message rejected" messageId=m-1 queue=machine-events code=NotRegistered reason="NotRegistered: cluster is not registered"`,
		`level=INFO msg=invocation function=MachineEvents invocationId=inv-1 traceId=X messageId=m-1 correlationId=c-1 deliveryCount=1 outcome=rejected durationMs=X`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("reply Logs (-want +got):\n%s", d)
	}
}
