package domain_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

func ids(events []domain.Event) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, e.Type+" "+e.ID)
	}
	return out
}

// Result.Publish puts the partition's events still pending when the change read it ahead of the
// change's own, so a flush keeps the cluster's order without reading the outbox again; a change
// that commits no event publishes nothing, and a rejection's event goes behind its cluster's.
func TestPublishCarriesOlderPendingEvents(t *testing.T) {
	h := newHarness(t, func(testing.TB) domain.Store { return memory.New(nil) })
	first := h.cmd("", register(cA, "hci-01", "n1", "n2"))
	if len(first.Events) != 2 || cmp.Diff(ids(first.Events), ids(first.Publish)) != "" {
		t.Fatalf("first Register: events %v, publish %v; want the same two", ids(first.Events), ids(first.Publish))
	}
	// Not published (no relay here): a Sync commits no event and publishes nothing.
	if res := h.fact("", map[string]any{"type": "Sync", "clusterId": cA, "machine": "n1", "biosConfigHash": "h"}); len(res.Publish) != 0 {
		t.Fatalf("a Sync that commits no event publishes %v", ids(res.Publish))
	}
	unreg := h.cmd("", map[string]any{"type": "Unregister", "clusterId": cA})
	want := append(ids(first.Events), ids(unreg.Events)...)
	if diff := cmp.Diff(want, ids(unreg.Publish)); diff != "" {
		t.Fatalf("Unregister's Publish (-want +got):\n%s", diff)
	}
	rej := h.cmd("", map[string]any{"type": "Unregister", "clusterId": cA}) // not registered any more
	if rej.Outcome != domain.Rejected {
		t.Fatalf("second Unregister: %s, want rejected", rej.Outcome)
	}
	want = append(want, ids(rej.Events)...)
	if diff := cmp.Diff(want, ids(rej.Publish)); diff != "" {
		t.Fatalf("rejection's Publish (-want +got):\n%s", diff)
	}
	if err := h.st.MarkPublished(context.Background(), rej.Publish); err != nil {
		t.Fatal(err)
	}
	again := h.cmd("", register(cA, "hci-01", "n1", "n2"))
	if diff := cmp.Diff(ids(again.Events), ids(again.Publish)); diff != "" || len(again.Events) == 0 {
		t.Fatalf("after publishing, Publish is the change's own events (-events +publish):\n%s", diff)
	}
}
