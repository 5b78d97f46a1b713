package domain

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/azlocal/registrar/shared/api"
	"github.com/azlocal/registrar/shared/logs"
)

// Outcome is how one message, command or sweep item ended (docs/messages.md#outcomes).
type Outcome = api.Outcome

// Outcomes.
const (
	Created   = api.Created
	Updated   = api.Updated
	Unchanged = api.Unchanged
	Duplicate = api.Duplicate
	Rejected  = api.Rejected
)

// Clock tells the time; inject a fake in tests and in the local runner.
type Clock interface{ Now() time.Time }

// Policy holds the windows and lists of docs/policy.md and docs/settings.md (each a setting).
type Policy struct {
	RegisterWindow       time.Duration   // Policy__RegisterWindow, 720h
	ClusterWindow        time.Duration   // Policy__ClusterWindow, 720h
	OfflineWindow        time.Duration   // Policy__OfflineWindow, 720h
	ConnectedWindow      time.Duration   // Policy__ConnectedWindow, 24h
	SyncInterval         time.Duration   // Policy__SyncInterval, 12h
	WarnBefore           []time.Duration // Policy__WarnBefore, 168h,24h
	CredentialWarnBefore []time.Duration // Policy__CredentialWarnBefore, 720h,168h,24h
	OrphanSilence        time.Duration   // Orphan__SilenceWindow, 2160h
	OrphanGrace          time.Duration   // Orphan__Grace, 168h
	ResetStallAfter      time.Duration   // Reset__StallAfter, 24h
	Regions              []string        // Regions: the AzureCloud allow-list, normalised
}

// DefaultPolicy returns the defaults of docs/settings.md.
func DefaultPolicy() Policy {
	return Policy{
		RegisterWindow: 720 * time.Hour, ClusterWindow: 720 * time.Hour, OfflineWindow: 720 * time.Hour,
		ConnectedWindow: 24 * time.Hour, SyncInterval: 12 * time.Hour,
		WarnBefore:           []time.Duration{168 * time.Hour, 24 * time.Hour},
		CredentialWarnBefore: []time.Duration{720 * time.Hour, 168 * time.Hour, 24 * time.Hour},
		OrphanSilence:        2160 * time.Hour, OrphanGrace: 168 * time.Hour, ResetStallAfter: 24 * time.Hour,
		Regions: []string{"eastus", "westeurope", "australiaeast", "southeastasia", "centralindia",
			"canadacentral", "japaneast", "southcentralus"},
	}
}

// Result is what one message, command or sweep item did.
type Result struct {
	Outcome   Outcome  `json:"outcome"`
	ClusterID string   `json:"clusterId,omitempty"`
	Problem   *Problem `json:"-"` // set when Outcome is Rejected
	Events    []Event  `json:"-"` // events this call committed
	// Publish is what to publish right after the commit, in order: the partition's events still
	// pending when it was read, then Events (relay.Flush). Empty when nothing was committed, or
	// when a backlog is left to the OutboxRelay (ClusterRecord.PendingMore).
	Publish []Event `json:"-"`
	Plan    *Plan   `json:"plan,omitempty"`
	Detail  any     `json:"detail,omitempty"` // e.g. the reset operation started
}

// Service applies the rules. It is safe for concurrent use.
type Service struct {
	store  Store
	clock  Clock
	policy Policy
	retry  Retry
	log    *slog.Logger

	syncMu   sync.Mutex
	lastNote time.Time // when NoteSync was last called by this process
}

// Options are optional settings of NewService; nil means defaults.
type Options struct {
	Policy *Policy      // nil: DefaultPolicy()
	Logger *slog.Logger // nil: slog.Default()
	Retry  *Retry       // nil: DefaultRetry()
	// Traceparent returns the W3C trace context of the work ctx belongs to ("" for none); every
	// event committed under ctx is stored with it and published with it (docs/events.md).
	// nil: events carry none.
	Traceparent func(ctx context.Context) string
	// InvocationID returns the id of the invocation ctx belongs to ("" for none); every line the
	// domain logs under ctx carries it as invocationId (docs/operations.md). nil: none.
	InvocationID func(ctx context.Context) string
}

// NewService returns a Service over store and clock.
func NewService(store Store, clock Clock, opts *Options) *Service {
	s := &Service{store: store, clock: clock, policy: DefaultPolicy(), retry: DefaultRetry().withDefaults(), log: slog.Default()}
	if opts != nil {
		if opts.Retry != nil {
			s.retry = opts.Retry.withDefaults()
		}
		if opts.Traceparent != nil {
			s.store = traced{Store: store, traceparent: opts.Traceparent}
		}
		if opts.Policy != nil {
			s.policy = *opts.Policy
		}
		if opts.Logger != nil {
			s.log = opts.Logger
		}
		s.log = slog.New(logs.WithInvocationID(s.log.Handler(), opts.InvocationID))
	}
	return s
}

// Policy returns the service's policy settings.
func (s *Service) Policy() Policy { return s.policy }

// traced stamps every event a Commit carries with the traceparent of the work committing it
// (Options.Traceparent), so each commit path, present or future, stores its events with their
// cause's trace (docs/events.md). The caller's events are stamped in place: it publishes them.
type traced struct {
	Store
	traceparent func(context.Context) string
}

func (t traced) Commit(ctx context.Context, ch Change) (string, error) {
	if len(ch.Events) > 0 {
		tp := t.traceparent(ctx)
		for i := range ch.Events {
			if ch.Events[i].Traceparent == "" {
				ch.Events[i].Traceparent = tp
			}
		}
	}
	return t.Store.Commit(ctx, ch)
}
