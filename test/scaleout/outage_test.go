package scaleout

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// outage is how long storage and the bus are away: the 30 s.
const outage = 30 * time.Second

// Storage, then the bus, goes away for 30 s under load and comes back. While Azurite is down every
// delivery is answered transiently (non-2xx: Service Bus redelivers), and nothing is
// dead-lettered; while the Service Bus double is down, messages land and their events wait in the
// outbox. Afterwards the outcome is exactly the reference: nothing lost, nothing doubled. Each
// message is delivered once per round here: a 30 s outage costs a message about 3 to 5 of its 10
// deliveries (each failing delivery lasts the storage client's ~9 s of retries); a lost-lock
// duplicate on every round would double that.
func TestOutages(t *testing.T) {
	f := newFleet(t, instances, fleetOptions{onDisk: true})
	ctx := context.Background()
	relay := f.emu.every(ctx, "OutboxRelay", 2*time.Second)
	defer relay.close()
	t.Run("StorageAway", func(t *testing.T) { storageAway(t, f) })
	t.Run("BusAway", func(t *testing.T) { busAway(t, f) })
}

func storageAway(t *testing.T, f *fleet) {
	w := newWorkload(t, 0x50000001, lifecycleClusters)
	g := newGate()
	done := make(chan map[string]result, 1)
	go func() { done <- w.run(context.Background(), f.emu, instances*perInstance/2, g) }()
	waitCompleted(t, g, w.messages()/4)
	f.azurite.Stop()
	down := time.Now()
	time.Sleep(outage)
	f.azurite.Restart()
	up := time.Now()
	results := <-done
	checkAllCompleted(t, f, results)

	during, recovered, drained, most := 0, time.Duration(-1), time.Duration(0), 0
	for _, d := range f.emu.deliveries() {
		switch {
		case d.Start.After(down) && d.End.Before(up):
			during++
			if d.ok() {
				t.Errorf("delivery %d of %s to %s answered %d (%s) while storage was away: want a transient failure", d.Count, d.MessageID, d.Instance, d.Status, d.Outcome)
			}
		case d.ok() && d.End.After(up):
			if recovered < 0 || d.End.Sub(up) < recovered {
				recovered = d.End.Sub(up)
			}
			if d.Count > 1 {
				drained = max(drained, d.End.Sub(up))
			}
		}
		most = max(most, d.Count)
	}
	if during == 0 {
		t.Fatal("no delivery started and ended while storage was away: the outage did not meet the load")
	}
	repaired := f.waitCounts(w.reference.Counts, time.Minute)
	got := f.waitOutcome(w, time.Minute)
	if d := diffOutcome(w.reference, got); d != "" {
		t.Fatalf("after a 30 s storage outage the outcome differs from the reference (-want +got):\n%s", d)
	}
	t.Logf("FIGURE storage outage: Azurite stopped %v under load; %d deliveries during it, all answered transiently; at most %d deliveries of a message (of %d); first message landed %.1f s after Azurite was back, every message failed during the outage landed within %.1f s (fleet counts caught up %.1f s later); %d messages, %d events, 0 lost, 0 doubled, 0 dead-lettered",
		outage, during, most, maxDeliveryCount, recovered.Seconds(), drained.Seconds(), repaired.Seconds(), w.messages(), got.eventCount())
}

func busAway(t *testing.T, f *fleet) {
	ctx := context.Background()
	w := newWorkload(t, 0x5b000001, lifecycleClusters)
	f.baseline = f.counts()
	g := newGate()
	done := make(chan map[string]result, 1)
	go func() { done <- w.run(ctx, f.emu, instances*perInstance/2, g) }()
	waitCompleted(t, g, w.messages()/4)
	// Hold the load while the double still runs, so the events it holds have reached the
	// subscriber (a stopped double loses what it holds), then stop it and let the load go on.
	g.hold()
	if n := f.waitEvents(w.reference.eventsOf(g.settled()), time.Minute); n > 0 {
		t.Fatalf("%d events of the messages completed before the outage did not reach the topic", n)
	}
	f.double.Stop()
	down := time.Now()
	g.release()
	time.Sleep(outage)
	pending, err := f.store.Pending(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) == 0 {
		t.Fatal("no event pending in the outbox after 30 s of the bus away under load")
	}
	f.double.Restart()
	up := time.Now()
	landed := g.settled()
	if n := f.waitEvents(w.reference.eventsOf(landed), 2*time.Minute); n > 0 {
		t.Fatalf("%d events of messages landed during the outage were not published within 2 minutes of the bus coming back", n)
	}
	recovered := time.Since(up)
	results := <-done
	checkAllCompleted(t, f, results)
	answered := 0
	for _, d := range f.emu.deliveries() {
		if d.Start.After(down) && d.End.Before(up) && d.ok() && d.Outcome != "" {
			answered++
		}
	}
	got := f.waitOutcome(w, time.Minute)
	if d := diffOutcome(w.reference, got); d != "" {
		t.Fatalf("after a 30 s Service Bus outage the outcome differs from the reference (-want +got):\n%s", d)
	}
	_, resent := f.events.snapshot()
	t.Logf("FIGURE bus outage: Service Bus double stopped %v under load; %d messages landed meanwhile (%d events pending in the outbox at the end); all published %.1f s after it was back; %d messages, %d events, 0 lost, 0 doubled (%d re-sends of a MessageId on the wire), 0 dead-lettered",
		outage, answered, len(pending), recovered.Seconds(), w.messages(), got.eventCount(), resent)
}

// waitCompleted waits until n messages of a workload completed.
func waitCompleted(t *testing.T, g *gate, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for g.completed.Load() < int64(n) {
		if time.Now().After(deadline) {
			t.Fatal(fmt.Sprintf("only %d of %d messages completed in 2 minutes", g.completed.Load(), n))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
