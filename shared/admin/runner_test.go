package admin_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/testkit/localrun"
)

// startRunner runs the local runner in-process (see localrun: timers only on request, so the
// OutboxRelay never runs) and returns its base URL.
func startRunner(t *testing.T) string {
	t.Helper()
	return localrun.Start(t, nil).URL
}

func send(t *testing.T, method, url, header, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if header != "" {
		req.Header.Set("BrokerProperties", header)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s = %d %s", method, url, res.StatusCode, b)
	}
	return string(b)
}

func enqueue(t *testing.T, base, queue, id, body string) {
	t.Helper()
	send(t, http.MethodPost, base+"/dev/servicebus/"+queue+"/messages", `{"MessageId":"`+id+`"}`, body)
}

// published lists the subjects (event types) of cluster's events on the runner's topic, in order.
func published(t *testing.T, base, cluster string) []string {
	t.Helper()
	var v struct {
		Items []struct{ Subject, SessionID string }
	}
	if err := json.Unmarshal([]byte(send(t, http.MethodGet, base+"/dev/events", "", "")), &v); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range v.Items {
		if e.SessionID == cluster {
			out = append(out, e.Subject)
		}
	}
	return out
}

// until polls the API path until it answers 200 with want in the body (a 404 means not yet);
// the test's deadline bounds it.
func until(t *testing.T, base, path, want string) {
	t.Helper()
	for {
		res, err := http.Get(base + "/api/v1" + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusOK && strings.Contains(string(b), want):
			return
		case res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNotFound:
			t.Fatalf("GET %s = %d %s", path, res.StatusCode, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestAdminEventsPublishedInOrderWithoutOutboxRelay: an admin command's events are published
// by the command itself, so a queue handler's later event of the same cluster never overtakes
// them, and no OutboxRelay run is needed.
func TestAdminEventsPublishedInOrderWithoutOutboxRelay(t *testing.T) {
	const id = "3d5e7f90-1a2b-4c3d-8e4f-5a6b7c8d9e01"
	base := startRunner(t)
	enqueue(t, base, "registration-requests", "reg-1", `{"type":"Register","clusterId":"`+id+`","clusterName":"hci-07","region":"East US",
		"tenantId":"11111111-1111-4111-8111-111111111111","subscriptionId":"22222222-2222-4222-8222-222222222222",
		"osVersion":"2508","createResourceGroup":true,"nodes":[{"name":"node1"},{"name":"node2"}]}`)
	until(t, base, "/clusters/"+id, `"registrationStatus":"Registered"`)

	send(t, http.MethodPost, base+"/api/v1/machines/"+id+"/node1/reset", "", "")
	if got := published(t, base, id); !slices.Contains(got, "MachineResetRequested") {
		t.Fatalf("after the reset call the topic holds %v; want MachineResetRequested published by the call", got)
	}
	var st struct{ OperationID string }
	if err := json.Unmarshal([]byte(send(t, http.MethodGet, base+"/api/v1/machines/"+id+"/node1/reset", "", "")), &st); err != nil || st.OperationID == "" {
		t.Fatalf("reset status: %+v %v", st, err)
	}
	enqueue(t, base, "machine-events", "rc-1", `{"type":"ResetCompleted","clusterId":"`+id+`","operationId":"`+st.OperationID+`","machine":"node1","result":"Failed","error":"disk"}`)
	for !slices.Contains(published(t, base, id), "MachineResetFailed") {
		time.Sleep(5 * time.Millisecond)
	}
	got := published(t, base, id)
	if req, failed := slices.Index(got, "MachineResetRequested"), slices.Index(got, "MachineResetFailed"); req > failed {
		t.Fatalf("published %v: MachineResetFailed overtook MachineResetRequested", got)
	}

	send(t, http.MethodPost, base+"/api/v1/clusters/"+id+"/unregister?dryRun=false", "", "")
	got = published(t, base, id)
	if !slices.Contains(got, "ClusterUnregistered") || !slices.Contains(got, "CleanupRequested") {
		t.Fatalf("after unregister the topic holds %v; want ClusterUnregistered and CleanupRequested", got)
	}
}
