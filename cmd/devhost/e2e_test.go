package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// startDevhost runs the runner as `devhost -addr 127.0.0.1:0 args...` (the function app of this
// repository, the memory store) and returns its base URL; the runner stops with the test.
func startDevhost(t *testing.T, args ...string) string {
	t.Helper()
	base, _ := startDevhostWith(t, os.Stderr, noEnv, args...)
	return base
}

// startDevhostWith is startDevhost with the runner's log going to logs and the environment
// getenv; stop stops the runner (the test's cleanup then only waits for it).
func startDevhostWith(t *testing.T, logs io.Writer, getenv func(string) string, args ...string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw, logs, getenv)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("devhost printed nothing: %v", <-done)
	}
	first := lines.Text()
	base = first[strings.Index(first, "http://"):]
	banner := []string{first}
	for lines.Scan() {
		banner = append(banner, lines.Text())
		if strings.HasPrefix(lines.Text(), "try:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	text := strings.Join(banner, "\n")
	for _, want := range []string{"RegistrationRequests", "queue registration-requests", "OrphanSweep", "timer 0 0 * * * *", "/api/v1/{*path}", "store:  memory", "bus:"} {
		if !strings.Contains(text, want) {
			t.Errorf("banner does not mention %q:\n%s", want, text)
		}
	}
	var stopped error
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			stopped = <-done
		})
	}
	t.Cleanup(func() {
		if stop(); stopped != nil {
			t.Errorf("devhost stopped with %v", stopped)
		}
	})
	return base, stop
}

// eventually polls get until ok says the answer is the one awaited (delivery is asynchronous).
// It gives up only near the test binary's own deadline (go test -timeout), reporting the last answer.
func eventually(t *testing.T, url string, header http.Header, ok func(status int, body []byte) bool) []byte {
	t.Helper()
	var status int
	var body []byte
	deadline, hasDeadline := t.Deadline()
	for !hasDeadline || time.Until(deadline) > 5*time.Second {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if header != nil {
			req.Header = header.Clone()
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if status = res.StatusCode; ok(status, body) {
			return body
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("GET %s never answered as awaited; last %d %s", url, status, body)
	return nil
}

const clusterID = "6f1c1a52-6f7e-4a5e-9a43-2d1f0c0b9e11"

func TestRegisterThroughTheRunner(t *testing.T) {
	base := startDevhost(t, "-timers=false")
	msg := `{"type":"Register","clusterId":"` + clusterID + `","clusterName":"hci-01","cloud":"AzureCloud",
	  "tenantId":"0d3c6f5e-1b2a-4c3d-8e9f-112233445566","subscriptionId":"a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d",
	  "region":"East US","osVersion":"23H2","nodes":[{"name":"node1"},{"name":"node2"}]}`
	req, _ := http.NewRequest(http.MethodPost, base+"/dev/servicebus/registration-requests/messages", strings.NewReader(msg))
	req.Header.Set("BrokerProperties", `{"MessageId":"reg-1","CorrelationId":"corr-1"}`)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("enqueue = %d", res.StatusCode)
	}

	body := eventually(t, base+"/api/v1/clusters/"+clusterID, nil, func(s int, _ []byte) bool { return s == http.StatusOK })
	var view struct {
		ClusterID, RegistrationStatus, Region string
	}
	if err := json.Unmarshal(body, &view); err != nil || view.RegistrationStatus != "Registered" || view.Region != "eastus" {
		t.Errorf("cluster view = %s (%v)", body, err)
	}

	body = eventually(t, base+"/dev/events", nil, func(_ int, b []byte) bool { return strings.Contains(string(b), "ArcEnabled") })
	var events struct {
		Items []struct{ MessageID, Subject, SessionID, CorrelationID string }
	}
	if err := json.Unmarshal(body, &events); err != nil {
		t.Fatalf("events %s: %v", body, err)
	}
	seen := map[string]int{}
	for _, e := range events.Items {
		seen[e.Subject]++
		if e.SessionID != clusterID || e.CorrelationID != "corr-1" {
			t.Errorf("event %+v", e)
		}
	}
	if seen["ClusterRegistered"] != 1 || seen["ArcEnabled"] != 1 {
		t.Errorf("events = %s", body)
	}

	// The admin dead-letter route reads the runner's dead-letter queue.
	eventually(t, base+"/api/v1/deadletters/registration-requests", nil, func(s int, b []byte) bool {
		if s != http.StatusOK || !strings.Contains(string(b), `"items":[]`) {
			t.Fatalf("dead letters = %d %s", s, b)
		}
		return true
	})

	// A caller's own principal passes through: a reader may read but not repair.
	p, _ := json.Marshal(map[string]any{"auth_typ": "aad", "name_typ": "name", "role_typ": "roles",
		"claims": []map[string]string{{"typ": "name", "val": "reader"}, {"typ": "roles", "val": "Registrar.Reader"}}})
	req, _ = http.NewRequest(http.MethodPost, base+"/api/v1/clusters/"+clusterID+"/repair", nil)
	req.Header.Set("X-MS-CLIENT-PRINCIPAL", base64.StdEncoding.EncodeToString(p))
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("reader's repair = %d, want 403", res.StatusCode)
	}
}
