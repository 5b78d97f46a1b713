package scaleout

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/devhost"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/testkit/repo"
)

// fakeInstance answers every invocation with status and records the DeliveryCount of each
// envelope, as the host sends it (a string, "DeliveryCount":"1").
type fakeInstance struct {
	*instance
	mu     sync.Mutex
	counts []string
	status func(count string) int
}

func newFakeInstance(t *testing.T, name string, status func(count string) int) *fakeInstance {
	f := &fakeInstance{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env struct{ Metadata map[string]any }
		if err := json.NewDecoder(r.Body).Decode(&env); err != nil {
			t.Errorf("%s: envelope is not JSON: %v", name, err)
		}
		count, _ := env.Metadata["DeliveryCount"].(string)
		f.mu.Lock()
		f.counts = append(f.counts, count)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status(count))
		_, _ = w.Write([]byte(`{"Outputs":{},"Logs":["level=INFO msg=invocation function=RegistrationRequests outcome=created"],"ReturnValue":null}`))
	}))
	t.Cleanup(srv.Close)
	f.instance = &instance{name: name, url: srv.URL}
	return f
}

func (f *fakeInstance) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.counts)
}

func testEmulator(t *testing.T) *emulator {
	t.Helper()
	fns, err := devhost.LoadFunctions(repo.Root(t), settings)
	if err != nil {
		t.Fatal(err)
	}
	return newEmulator(fns, 1)
}

var testMessage = message{Queue: string(domain.QueueRegistrationRequests), MessageID: "m-1", Body: []byte(`{"type":"Register"}`), EnqueuedAt: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}

// The emulator redelivers after a non-2xx with DeliveryCount+1 (sent as the host sends it, a
// string) and dead-letters after the 10th delivery.
func TestEmulatorRedeliversThenDeadLetters(t *testing.T) {
	e := testEmulator(t)
	in := newFakeInstance(t, "f1", func(string) int { return http.StatusInternalServerError })
	e.setPool(in.instance)
	res := e.send(context.Background(), testMessage, nil)
	want := []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}
	if got := in.seen(); !slices.Equal(got, want) {
		t.Fatalf("DeliveryCounts sent %v, want %v", got, want)
	}
	if res.Completed || res.Deliveries != maxDeliveryCount || !slices.Equal(e.deadLetters(), []string{"m-1"}) {
		t.Fatalf("result %+v, dead letters %v: want dead-lettered after %d deliveries", res, e.deadLetters(), maxDeliveryCount)
	}
}

// With duplicates on, each round posts the message to two different instances at once with
// consecutive DeliveryCounts; the later one holds the lock: its 2xx completes the message even
// when the other failed, and its failure redelivers the message even when the other succeeded.
func TestEmulatorDuplicatesGoToTwoInstances(t *testing.T) {
	e := testEmulator(t)
	// The instance that gets DeliveryCount 2 fails; 3 and 4 succeed.
	fail2 := func(c string) int {
		if c == "2" {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	a, b := newFakeInstance(t, "a", fail2), newFakeInstance(t, "b", fail2)
	e.setPool(a.instance, b.instance)
	e.setDup(true)
	res := e.send(context.Background(), testMessage, nil)
	all := append(a.seen(), b.seen()...)
	slices.Sort(all)
	if !slices.Equal(all, []string{"1", "2", "3", "4"}) || len(a.seen()) != 2 || len(b.seen()) != 2 {
		t.Fatalf("a saw %v, b saw %v: want each round's two copies on different instances, counts 1-4", a.seen(), b.seen())
	}
	if !res.Completed || !res.FirstFailed || res.Deliveries != 4 || res.FinalOutcome != "created" {
		t.Fatalf("result %+v: want the lock holder's failure in round 1 to redeliver, round 2 to complete", res)
	}
}
