package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/testkit/azurite"
)

// wire is the whole app on Table Storage (Azurite) behind a counting proxy, so a test counts the
// Table requests one message costs at the wire: host envelope → domain → commit → publishing.
type wire struct {
	app   *App
	proxy *azurite.Proxy
	clk   *clock.Manual
	pub   *publisher
	conn  string // Azurite's own connection string (not counted)
	n     int    // messages posted
	last  int    // the proxy's count before the last message or timer
}

const wireSub = "11111111-1111-4111-8111-111111111111"

var wireT0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newWire(t testing.TB) *wire { return newWireVia(t, true) }

// newWireVia is newWire; counted false connects the app to Azurite directly (the proxy costs
// time, so throughput is measured without it; Count is then 0).
func newWireVia(t testing.TB, counted bool) *wire {
	t.Helper()
	w := &wire{conn: azurite.Start(t), clk: clock.NewManual(wireT0), pub: &publisher{}}
	w.proxy = azurite.NewProxy(t, w.conn)
	conn := w.conn
	if counted {
		conn = w.proxy.ConnString
	}
	st, err := tables.New(context.Background(), tables.Config{ConnectionString: conn}, &tables.Options{Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvPort: "7072", config.EnvStorage: "memory"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	w.app, err = New(context.Background(), cfg, &Options{Store: st, Publisher: w.pub, Clock: w.clk, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// envelopeAt is a host envelope (strings encoded twice, as current hosts send them) of a message
// enqueued at `at`.
func envelopeAt(messageID string, body any, at time.Time) string {
	raw, _ := json.Marshal(body)
	twice := func(s string) string {
		once, _ := json.Marshal(s)
		again, _ := json.Marshal(string(once))
		return string(again)
	}
	return `{"Data":{"message":` + twice(string(raw)) + `},"Metadata":{"MessageId":` + twice(messageID) +
		`,"DeliveryCount":"1","EnqueuedTimeUtc":"` + at.UTC().Format("2006-01-02T15:04:05") +
		`","EnqueuedTime":"` + at.UTC().Format("2006-01-02T15:04:05+00:00") + `"}}`
}

// post sends one message (a new MessageId unless id is given) enqueued at the clock's time and
// returns the Table requests it cost.
func (w *wire) post(t testing.TB, function string, body map[string]any, id ...string) int {
	t.Helper()
	msgID := fmt.Sprintf("m%d", w.n+1)
	if len(id) > 0 {
		msgID = id[0]
	} else {
		w.n++
	}
	before := w.proxy.Count()
	w.last = before
	rec := httptest.NewRecorder()
	w.app.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+function, strings.NewReader(envelopeAt(msgID, body, w.clk.Now()))))
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "rejected") {
		t.Fatalf("%s %s: %d %s", function, msgID, rec.Code, rec.Body.String())
	}
	return w.proxy.Count() - before
}

// timer runs a timer function now and returns the Table requests it cost.
func (w *wire) timer(t testing.TB, function string) int {
	t.Helper()
	before := w.proxy.Count()
	w.last = before
	rec := httptest.NewRecorder()
	w.app.Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+function, strings.NewReader(`{"Data":{"timer":{"IsPastDue":false}},"Metadata":{}}`)))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", function, rec.Code, rec.Body.String())
	}
	return w.proxy.Count() - before
}

func wireCluster(i int) string { return fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", i) }

func wireRegister(i int) map[string]any {
	return map[string]any{"type": "Register", "clusterId": wireCluster(i), "clusterName": fmt.Sprintf("hci-%d", i),
		"tenantId": wireSub, "subscriptionId": wireSub, "region": "eastus", "osVersion": "2508",
		"nodes": []map[string]any{{"name": fmt.Sprintf("c%d-n1", i)}, {"name": fmt.Sprintf("c%d-n2", i)}, {"name": fmt.Sprintf("c%d-n3", i)}}}
}

func wireSync(i int) map[string]any {
	return map[string]any{"type": "Sync", "clusterId": wireCluster(i), "machine": fmt.Sprintf("c%d-n1", i), "biosConfigHash": "h"}
}

// requestTargets are the Table requests per message held to (docs/storage.md, "Requests per message").
var requestTargets = []struct {
	name string
	max  int
	// send prepares (untimed, uncounted) and sends the measured message, returning its cost.
	send func(t testing.TB, w *wire, i int) int
}{
	{"Register, new 3-node cluster", 8, func(t testing.TB, w *wire, i int) int {
		return w.post(t, "RegistrationRequests", wireRegister(1000+i))
	}},
	{"Register, new 3-node cluster with an Arc SPN credential", 8, func(t testing.TB, w *wire, i int) int {
		m := wireRegister(2000 + i)
		m["arcSpn"] = map[string]any{"appId": wireSub, "credentialExpiresAt": w.clk.Now().Add(90 * 24 * time.Hour).Format(time.RFC3339)}
		return w.post(t, "RegistrationRequests", m)
	}},
	{"Sync moving lastConnected", 2, func(t testing.TB, w *wire, i int) int {
		if i == 0 {
			w.post(t, "RegistrationRequests", wireRegister(1))
			w.post(t, "MachineEvents", wireSync(1)) // the guard's newest sync is noted once a minute per process
		}
		w.clk.Advance(time.Second)
		return w.post(t, "MachineEvents", wireSync(1))
	}},
	{"redelivered (duplicate) message", 1, func(t testing.TB, w *wire, i int) int {
		w.clk.Advance(time.Second)
		w.post(t, "MachineEvents", wireSync(1), fmt.Sprintf("dup-%d", i))
		return w.post(t, "MachineEvents", wireSync(1), fmt.Sprintf("dup-%d", i))
	}},
}

// TestTableRequestsPerMessage counts, at the wire, the Table requests of one message through the
// whole app, publishing included, against the targets of docs/storage.md. Counts are
// deterministic: on failure the test lists the requests made.
func TestTableRequestsPerMessage(t *testing.T) {
	w := newWire(t)
	w.post(t, "RegistrationRequests", wireRegister(0)) // creates the tables: a process's first use only
	for _, tc := range requestTargets {
		for i := range 2 {
			if got := tc.send(t, w, i); got > tc.max {
				t.Errorf("%s (#%d): %d Table requests, want at most %d; made:\n%s", tc.name, i+1, got, tc.max, w.proxy.Describe(w.last))
			}
		}
	}
	if left, err := w.app.Store.PendingIn(context.Background(), wireCluster(1000), 10); err != nil || len(left) != 0 {
		t.Fatalf("a Register's events are still pending after its flush: %d (%v)", len(left), err)
	}
	var types []string
	for _, e := range w.pub.sent {
		if e.ClusterID == wireCluster(1000) {
			types = append(types, e.Type)
		}
	}
	if got, want := strings.Join(types, ","), domain.EvClusterRegistered+","+domain.EvArcEnabled; got != want {
		t.Fatalf("published for the measured Register: %s, want %s", got, want)
	}
}

// TestSweepCostDoesNotGrowWithTheFleet: a PolicyExpiryCheck run with nothing due makes the same
// Table requests in a fleet of 20 clusters and of 200 (docs/storage.md, "Targets").
func TestSweepCostDoesNotGrowWithTheFleet(t *testing.T) {
	w := newWire(t)
	seedFleet(t, w, 0, 20)
	w.timer(t, "PolicyExpiryCheck") // the first run creates the tables it reads
	small := w.timer(t, "PolicyExpiryCheck")
	smallReqs := w.proxy.Describe(w.last)
	seedFleet(t, w, 20, 200)
	if large := w.timer(t, "PolicyExpiryCheck"); large != small {
		t.Fatalf("PolicyExpiryCheck with nothing due: %d Table requests with 200 clusters, %d with 20; want the same.\n20:\n%s200:\n%s",
			large, small, smallReqs, w.proxy.Describe(w.last))
	}
}
