// Package functions adapts the host adapter (shared/invoke) to the domain: one file per function
// of docs/architecture.md#functions. Queue functions apply a message and publish what it committed at once; timers run
// the sweeps and the outbox relay; Admin is the admin API's http.Handler.
package functions

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/invoke"
)

// Function names: the functions/ folder names and the paths the host POSTs to.
const (
	RegistrationRequests = "RegistrationRequests"
	MachineEvents        = "MachineEvents"
	PolicyExpiryCheck    = "PolicyExpiryCheck"
	OrphanSweep          = "OrphanSweep"
	OutboxRelay          = "OutboxRelay"
	Admin                = "Admin"
)

// Domain is the part of *domain.Service the functions call.
type Domain interface {
	HandleMessage(ctx context.Context, queue domain.QueueKind, body []byte, meta domain.Meta) (domain.Result, error)
	CheckPolicies(ctx context.Context, run domain.SweepRun) (domain.SweepReport, error)
	SweepOrphans(ctx context.Context, run domain.SweepRun) (domain.SweepReport, error)
}

// Relay publishes committed events (shared/relay's *Relay satisfies it).
type Relay interface {
	// Flush publishes events just committed and marks them published.
	Flush(ctx context.Context, events []domain.Event) error
	// Run publishes up to limit pending events from the outbox and returns how many it published.
	Run(ctx context.Context, limit int) (int, error)
}

// Deps are what the functions need. Relay nil means no publisher is configured: events stay in
// the outbox. Admin nil answers every admin request 503.
type Deps struct {
	Domain Domain
	Relay  Relay
	Admin  http.Handler
	// Queue names as configured (RegistrationRequestsQueue, MachineEventsQueue): recorded with
	// rejections. Empty means the defaults.
	RegistrationRequestsQueue string
	MachineEventsQueue        string
	RelayBatch                int          // events per OutboxRelay run; <= 0 means DefaultRelayBatch
	Logger                    *slog.Logger // nil: slog.Default()
}

// DefaultRelayBatch is how many pending events one OutboxRelay run publishes at most.
const DefaultRelayBatch = 500

// New returns the six functions, keyed by name, for invoke.NewServer.
func New(d Deps) invoke.Functions {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.RegistrationRequestsQueue == "" {
		d.RegistrationRequestsQueue = string(domain.QueueRegistrationRequests)
	}
	if d.MachineEventsQueue == "" {
		d.MachineEventsQueue = string(domain.QueueMachineEvents)
	}
	if d.RelayBatch <= 0 {
		d.RelayBatch = DefaultRelayBatch
	}
	return invoke.Functions{
		Queues: map[string]invoke.QueueHandler{
			RegistrationRequests: registrationRequests(d),
			MachineEvents:        machineEvents(d),
		},
		Timers: map[string]invoke.TimerHandler{
			PolicyExpiryCheck: policyExpiryCheck(d),
			OrphanSweep:       orphanSweep(d),
			OutboxRelay:       outboxRelay(d),
		},
		HTTP: map[string]http.Handler{Admin: adminFunction(d)},
	}
}
