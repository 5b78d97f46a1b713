package main

import (
	"context"
	"os"
	"syscall"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/relay"
)

// envKillBeforePublish names a test hook of the scale-out suite (test/scaleout): set to a
// MessageId, it makes the process kill itself (SIGKILL) when it is about to publish an event that
// message caused, that is after the commit and before the publish, so the suite can show the
// OutboxRelay timer still publishes the event once (docs/architecture.md#events-and-the-outbox).
// Unset, as in production, nothing is wrapped.
const envKillBeforePublish = "REGISTRAR_TESTHOOK_KILL_BEFORE_PUBLISH"

// publisherHook returns the app.Options.WrapPublisher the environment asks for; nil when none.
func publisherHook(getenv func(string) string) func(relay.Publisher) relay.Publisher {
	id := getenv(envKillBeforePublish)
	if id == "" {
		return nil
	}
	return func(next relay.Publisher) relay.Publisher {
		return killBefore{next: next, messageID: id, kill: killSelf}
	}
}

// killBefore calls kill instead of publishing a batch that holds an event caused by messageID.
type killBefore struct {
	next      relay.Publisher
	messageID string
	kill      func()
}

func (k killBefore) Publish(ctx context.Context, events []domain.Event) error {
	for _, e := range events {
		if e.Correlation() == k.messageID {
			k.kill()
		}
	}
	return k.next.Publish(ctx, events)
}

// killSelf ends the process at once, as SIGKILL from outside would: nothing after it runs.
func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
