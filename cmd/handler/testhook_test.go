package main

import (
	"context"
	"testing"

	"github.com/azlocal/registrar/shared/domain"
)

type recordingPublisher struct{ batches int }

func (r *recordingPublisher) Publish(context.Context, []domain.Event) error {
	r.batches++
	return nil
}

// Without the variable (production) the publisher is not wrapped.
func TestPublisherHookIsInertUnset(t *testing.T) {
	if h := publisherHook(func(string) string { return "" }); h != nil {
		t.Fatal("a publisher hook without " + envKillBeforePublish)
	}
}

// With it, a batch holding an event caused by the named message kills before publishing; others
// are published.
func TestPublisherHookKillsBeforeTheNamedMessagesEvents(t *testing.T) {
	h := publisherHook(func(k string) string {
		if k == envKillBeforePublish {
			return "m-1"
		}
		return ""
	})
	if h == nil {
		t.Fatal("no hook with " + envKillBeforePublish + " set")
	}
	next := &recordingPublisher{}
	killed := 0
	k := h(next).(killBefore)
	k.kill = func() { killed++ }
	_ = k.Publish(context.Background(), []domain.Event{{ID: "e1", CorrelationID: "m-0"}})
	if killed != 0 || next.batches != 1 {
		t.Fatalf("another message's event: killed %d, published %d batches; want 0, 1", killed, next.batches)
	}
	_ = k.Publish(context.Background(), []domain.Event{{ID: "e2", CorrelationID: "m-0"}, {ID: "e3", CorrelationID: "m-1"}})
	if killed != 1 {
		t.Fatalf("the named message's event: killed %d times, want 1 (before publishing)", killed)
	}
}
