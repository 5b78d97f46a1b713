package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/user"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/azlocal/registrar/shared/testkit/sbdouble"
)

// TestRegisterSendsThroughServiceBus checks that with ServiceBusConnection set, register sends
// the Register message with azservicebus (here to the project's AMQP test double), not to the
// endpoint.
func TestRegisterSendsThroughServiceBus(t *testing.T) {
	conn := sbdouble.Start(t)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	env := map[string]string{"REGISTRAR_ENDPOINT": srv.URL, "ServiceBusConnection": conn}
	args := registerArgs[:len(registerArgs)-1] // without --wait
	code, out, stderr := runCLI(t, App{Getenv: func(k string) string { return env[k] }}, srv.URL, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("register: exit %d %s", code, stderr)
	}
	var sent struct{ MessageID, ClusterID string }
	if err := json.Unmarshal([]byte(out), &sent); err != nil || sent.MessageID == "" {
		t.Fatalf("register -o json = %q (%v)", out, err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("register called the endpoint %d times; want Service Bus only", n)
	}

	client, err := azservicebus.NewClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close(context.Background())
	rcv, err := client.NewReceiverForQueue("registration-requests", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := rcv.ReceiveMessages(ctx, 1, nil)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: %d messages, %v", len(msgs), err)
	}
	m := msgs[0]
	if m.MessageID != sent.MessageID {
		t.Errorf("MessageId = %q, want %q", m.MessageID, sent.MessageID)
	}
	var body map[string]any
	if err := json.Unmarshal(m.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["type"] != "Register" || body["clusterId"] != e2eCluster || body["region"] != "East US" || body["osVersion"] != "23H2" {
		t.Errorf("body = %v", body)
	}
	if nodes, _ := json.Marshal(body["nodes"]); string(nodes) != `[{"name":"node1"},{"name":"node2"}]` {
		t.Errorf("nodes = %s", nodes)
	}
	if u, err := user.Current(); err == nil && body["requestedBy"] != u.Username {
		t.Errorf("requestedBy = %v, want the local user %q", body["requestedBy"], u.Username)
	}
	if _, ok := body["resourceGroup"]; ok {
		t.Errorf("an unset --resource-group was sent: %v", body)
	}
}

// TestResetWaitOnTerminal checks the live view on a terminal (redrawn in place) and that a
// failed reset exits 1 with its error.
func TestResetWaitOnTerminal(t *testing.T) {
	answers := []string{
		`{"machine":"node1","status":"InProgress","elapsed":"1s","stages":[{"name":"ExtensionCleanup","status":"InProgress"},{"name":"GatewayCleanup","status":"NotStarted"}]}`,
		`{"machine":"node1","status":"Failed","elapsed":"2s","error":"gateway unreachable","stages":[{"name":"ExtensionCleanup","status":"Succeeded"},{"name":"GatewayCleanup","status":"Failed"}]}`,
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Write([]byte(`{"outcome":"created","clusterId":"00000000-0000-4000-8000-000000000001"}`))
			return
		}
		w.Write([]byte(answers[min(int(n.Add(1))-1, len(answers)-1)]))
	}))
	defer srv.Close()
	code, out, stderr := runCLI(t, App{StdoutTerminal: true}, srv.URL, "reset", "start", "00000000-0000-4000-8000-000000000001", "node1", "--wait")
	if code != 1 || !strings.Contains(stderr, "ResetFailed") || !strings.Contains(stderr, "gateway unreachable") {
		t.Errorf("failed reset: exit %d, stderr %q; want 1 with ResetFailed", code, stderr)
	}
	if !strings.Contains(out, "\x1b[3A\x1b[J") {
		t.Errorf("the stages were not redrawn in place:\n%q", out)
	}
	if !strings.Contains(out, "GatewayCleanup     \x1b[31mFailed\x1b[0m") {
		t.Errorf("the failed stage is not highlighted:\n%q", out)
	}
}

// TestRegisterWaitOnTerminal checks the live line while waiting, the message posted to the
// local runner's queue with its MessageId, and the end of the wait at that message's history.
func TestRegisterWaitOnTerminal(t *testing.T) {
	var gets atomic.Int32
	var posted atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/dev/servicebus/registration-requests/messages":
			posted.Store(r.Header.Get("BrokerProperties"))
			w.WriteHeader(http.StatusCreated)
		case r.URL.Path == "/api/v1/rejections":
			w.Write([]byte(`{"items":[]}`))
		case strings.HasSuffix(r.URL.Path, "/history"):
			var bp struct{ MessageId string }
			s, _ := posted.Load().(string)
			json.Unmarshal([]byte(s), &bp)
			w.Write([]byte(`{"items":[{"at":"2026-01-02T03:04:05Z","what":"registrationStatus","cause":"Register","messageId":"` + bp.MessageId + `"}]}`))
		case gets.Add(1) <= 2: // the mark before the send, then the first poll
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"code":"NotFound"}`))
		default:
			w.Write([]byte(`{"clusterId":"` + e2eCluster + `","clusterName":"hci-01","registrationStatus":"Registered"}`))
		}
	}))
	defer srv.Close()
	code, out, stderr := runCLI(t, App{StdoutTerminal: true, Now: func() time.Time { return fixedNow }}, srv.URL, registerArgs...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, "\r\x1b[Kregistration status: not known yet  elapsed 0s") || !strings.Contains(out, "\r\x1b[Khci-01 ("+e2eCluster+") is Registered") {
		t.Errorf("live output:\n%q", out)
	}
	bp, _ := posted.Load().(string)
	if !strings.Contains(bp, `"MessageId":"`) || !strings.Contains(out, "as message ") {
		t.Errorf("BrokerProperties = %q", bp)
	}
}

func TestRegisterBadConnectionStringNotPrinted(t *testing.T) {
	env := map[string]string{"ServiceBusConnection": "SharedAccessKeyName=k;SharedAccessKey=SECRET-KEY-VALUE"}
	code, out, stderr := runCLI(t, App{Getenv: func(k string) string { return env[k] }}, "", registerArgs...)
	if code != 2 || strings.Contains(out+stderr, "SECRET-KEY-VALUE") {
		t.Errorf("exit %d, output %q %q; want 2 without the key", code, out, stderr)
	}
}

// TestRegisterWaitReadsOnlyNewEntries: each poll reads the rejections and history newest first
// and stops at entries older than the send, never following every page. The service is one
// without GET /me (404): the wait goes on as before it had one.
func TestRegisterWaitReadsOnlyNewEntries(t *testing.T) {
	var (
		mu      sync.Mutex
		msgID   string
		polls   int
		cursors []string
	)
	page := func(newest string) string {
		items := `{"at":"2026-01-02T03:00:00Z","messageId":"old-1","code":"InvalidField","reason":"x"},` +
			`{"at":"2026-01-02T02:00:00Z","messageId":"old-2","code":"InvalidField","reason":"x"}`
		if newest != "" {
			items = newest + "," + items
		}
		return `{"items":[` + items + `],"nextCursor":"older"}`
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if c := r.URL.Query().Get("cursor"); c != "" {
			cursors = append(cursors, r.URL.Path+"?cursor="+c)
		}
		switch {
		case r.URL.Path == "/api/v1/me":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"type":"about:blank","title":"No such route","status":404,"code":"NotFound"}`))
		case r.Method == http.MethodPost:
			var bp struct{ MessageId string }
			json.Unmarshal([]byte(r.Header.Get("BrokerProperties")), &bp)
			msgID = bp.MessageId
			w.WriteHeader(http.StatusCreated)
		case r.URL.Path == "/api/v1/rejections":
			if msgID != "" {
				polls++
			}
			if polls < 3 {
				w.Write([]byte(page("")))
				return
			}
			w.Write([]byte(page(`{"at":"2026-01-02T03:00:01Z","messageId":"` + msgID + `","code":"UnregisterFirst","number":9107,"reason":"resource move is not supported"}`)))
		case strings.HasSuffix(r.URL.Path, "/history"):
			w.Write([]byte(`{"items":[{"at":"2026-01-02T03:00:00Z","what":"registrationStatus","after":"Registered","cause":"Register","messageId":"first"}],"nextCursor":"older"}`))
		default:
			w.Write([]byte(`{"clusterId":"` + e2eCluster + `","clusterName":"hci-01","registrationStatus":"Registered","lastConnected":"2026-01-02T03:00:00Z"}`))
		}
	}))
	defer srv.Close()
	code, _, stderr := runCLI(t, App{}, srv.URL, registerArgs...)
	if code != 1 || !strings.Contains(stderr, "UnregisterFirst") {
		t.Errorf("exit %d, stderr %q; want 1 with UnregisterFirst (the cluster was Registered all along)", code, stderr)
	}
	if polls != 3 || len(cursors) != 0 {
		t.Errorf("%d polls; older pages read: %v", polls, cursors)
	}
}
