package scaleout

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/azlocal/registrar/shared/domain"
)

// One of 3 instances is killed (SIGKILL) while it has deliveries in flight, mid-way through the
// same lifecycle run as TestDuplicateDeliveries (every message delivered twice), and a
// replacement starts: the broken deliveries are redelivered elsewhere and the outcome is exactly
// the run with no crash. Then an instance is killed between its commit and its publish (its test
// hook), and the OutboxRelay timer still publishes the events, once.
func TestKillMidRun(t *testing.T) {
	w := newWorkload(t, 0xd0000001, lifecycleClusters)
	f := newFleet(t, instances, fleetOptions{})
	f.emu.setDup(true)
	ctx := context.Background()
	relay := f.emu.every(ctx, "OutboxRelay", 2*time.Second)
	defer relay.close()

	g := newGate()
	done := make(chan map[string]result, 1)
	go func() { done <- w.run(ctx, f.emu, instances*perInstance/2, g) }()
	victim := f.instances[0]
	inFlight := 0
	deadline := time.Now().Add(2 * time.Minute)
	for inFlight == 0 || g.completed.Load() < int64(w.messages()/3) {
		if g.completed.Load() > int64(w.messages()*9/10) {
			t.Fatalf("%d of %d messages completed and %s never had a delivery in flight: no kill mid-run", g.completed.Load(), w.messages(), victim.name)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 minutes: %d of %d messages completed, %d in flight on %s; the run is stuck", g.completed.Load(), w.messages(), inFlight, victim.name)
		}
		time.Sleep(5 * time.Millisecond)
		inFlight = f.emu.inFlight(victim)
	}
	f.kill(victim)
	t.Logf("killed %s (SIGKILL) with %d deliveries in flight, %d of %d messages completed", victim.name, inFlight, g.completed.Load(), w.messages())
	f.emu.add(f.start(nil))
	results := <-done
	checkAllCompleted(t, f, results)
	broken := 0
	for _, d := range f.emu.deliveries() {
		if d.Instance == victim.name && d.Status == 0 {
			broken++
		}
	}
	if broken == 0 {
		t.Fatalf("no delivery to %s broke: it was killed with none in flight", victim.name)
	}
	got := f.waitOutcome(w, time.Minute)
	if d := diffOutcome(w.reference, got); d != "" {
		t.Fatalf("after a SIGKILL mid-run the outcome differs from one process applying each message once (-want +got):\n%s", d)
	}
	if noCrashRun != nil {
		if d := diffOutcome(*noCrashRun, got); d != "" {
			t.Fatalf("after a SIGKILL mid-run the outcome differs from the run with no crash (-want +got):\n%s", d)
		}
	}
	_, resent := f.events.snapshot()
	t.Logf("FIGURE kill: SIGKILL of 1 of %d instances with %d deliveries in flight (%d broken, all redelivered elsewhere), replacement started; %d messages, %d events, 0 lost, 0 doubled (%d re-sends of a MessageId on the wire), 0 dead-lettered",
		instances, inFlight, broken, w.messages(), got.eventCount(), resent)

	t.Run("BetweenCommitAndPublish", func(t *testing.T) { killBetweenCommitAndPublish(t, f, relay) })
}

// killBetweenCommitAndPublish registers a new cluster on an instance whose test hook kills it
// after the commit, before the publish: the delivery breaks, the redelivery elsewhere is a
// duplicate (it publishes nothing), the events wait in the outbox, and the OutboxRelay timer
// publishes them once.
func killBetweenCommitAndPublish(t *testing.T, f *fleet, relay *ticker) {
	ctx := context.Background()
	id := clusterID(0xe0000001, 0)
	raw, _ := json.Marshal(registerBody(id, "hci-e0000001", "2508", "n1", "n2"))
	m := message{Queue: string(domain.QueueRegistrationRequests), MessageID: "hci-e0000001-m0", Body: raw, EnqueuedAt: epoch.Add(-time.Hour).Truncate(time.Second)}
	hooked := f.start([]string{"REGISTRAR_TESTHOOK_KILL_BEFORE_PUBLISH=" + m.MessageID})
	relay.setPaused(true)
	res := f.emu.send(ctx, m, hooked)
	if !hooked.killedBySIGKILL() {
		t.Fatalf("the instance with the hook was not killed (state %v): the hook did not fire", hooked.state)
	}
	if !res.Completed || !res.FirstFailed || res.FinalOutcome != string(domain.Duplicate) {
		t.Fatalf("message %+v: want its first delivery broken and the redelivery answered duplicate", res)
	}
	pending, err := f.store.PendingIn(ctx, id, 10)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range pending {
		types = append(types, e.Type)
	}
	if len(types) != 2 || types[0] != domain.EvClusterRegistered || types[1] != domain.EvArcEnabled {
		t.Fatalf("pending after the kill: %v, want [ClusterRegistered ArcEnabled] committed and unpublished", types)
	}
	for _, e := range pending {
		if n := f.events.copiesOf(e.ID); n != 0 {
			t.Fatalf("event %s (%s) reached the topic before the OutboxRelay ran (%d copies)", e.ID, e.Type, n)
		}
	}
	relay.setPaused(false)
	ids := map[string]bool{}
	for _, e := range pending {
		ids[e.ID] = true
	}
	if n := f.waitEvents(ids, time.Minute); n > 0 {
		t.Fatalf("%d of the 2 pending events did not reach the topic within a minute of the OutboxRelay resuming", n)
	}
	for _, e := range pending {
		if n := f.events.copiesOf(e.ID); n != 1 {
			t.Errorf("event %s (%s) reached the topic %d times, want once", e.ID, e.Type, n)
		}
	}
}
