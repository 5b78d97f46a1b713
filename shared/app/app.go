// Package app is Registrar's composition root: from a config.Config it builds the store, the
// domain service, the outbox relay, the admin API and the functions, and serves them through
// the host adapter. cmd/handler and the local runner (shared/devhost) both use it.
package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/azlocal/registrar/shared/admin"
	"github.com/azlocal/registrar/shared/auth"
	"github.com/azlocal/registrar/shared/clock"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/dashboard"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/functions"
	"github.com/azlocal/registrar/shared/invoke"
	"github.com/azlocal/registrar/shared/relay"
	"github.com/azlocal/registrar/shared/telemetry"
)

// Options override parts New would otherwise build from the config; nil fields are built.
type Options struct {
	Clock domain.Clock // nil: the system clock
	Store domain.Store // nil: from cfg.Storage
	// Publisher: nil builds it from cfg.ServiceBus; none configured: events stay in the outbox.
	Publisher relay.Publisher
	// WrapPublisher, when set, wraps the publisher (given or built) before the relay uses it:
	// fault injection for tests (cmd/handler's test hook). Not called without a publisher.
	WrapPublisher func(relay.Publisher) relay.Publisher
	// DeadLetters lists and replays dead letters for the admin API; nil: the Service Bus client
	// built from cfg.ServiceBus (none configured: no dead-letter access).
	DeadLetters admin.DeadLetterQueue
	Admin       http.Handler // nil: from the admin API package
	// Logger: nil is slog.Default(). It is wrapped with invoke.LogHandler, so what is logged about
	// an envelope invocation also goes into its reply's Logs (docs/operations.md).
	Logger *slog.Logger
	// Tracing: the OpenTelemetry set-up (telemetry.New); nil is off: no spans, but the trace
	// context still flows onto the logs and every event.
	Tracing *telemetry.Tracing
}

// App is the assembled function app.
type App struct {
	Handler   http.Handler     // the custom-handler surface: GET / and POST /{FunctionName}
	Functions invoke.Functions // the functions behind Handler, by name
	Service   *domain.Service  // the domain rules over Store
	Store     domain.Store
	Relay     *relay.Relay // publishes the outbox (keeps it when no publisher is configured)
	// Admin is the Admin API's router (nil when Options.Admin replaced it).
	Admin *admin.Router
	// DeadLetters is the dead-letter access for the admin API; nil without Service Bus.
	DeadLetters admin.DeadLetterQueue
	closers     []func(context.Context) error
}

// New assembles the app. It performs no network I/O: clients are created, not connected, so a
// misconfigured backend shows up as transient failures of the invocations that use it.
func New(ctx context.Context, cfg config.Config, o *Options) (*App, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.Logger = slog.New(invoke.LogHandler(opts.Logger.Handler()))
	a := &App{Store: opts.Store}
	pub, err := a.open(ctx, cfg, opts)
	if err != nil {
		return nil, err
	}
	a.Relay = relay.New(a.Store, pub, &relay.Options{Logger: opts.Logger, Now: opts.Clock.Now})
	policy := cfg.Policy
	a.Service = domain.NewService(a.Store, opts.Clock, &domain.Options{Policy: &policy, Logger: opts.Logger,
		Traceparent: telemetry.Traceparent, InvocationID: invoke.InvocationID})
	adminAPI := opts.Admin
	if adminAPI == nil {
		if adminAPI, err = a.adminAPI(cfg, opts); err != nil {
			return nil, err
		}
	}
	a.Functions = functions.New(functions.Deps{
		Domain:                    a.Service,
		Relay:                     a.Relay,
		Admin:                     adminAPI,
		RegistrationRequestsQueue: cfg.RegistrationRequestsQueue,
		MachineEventsQueue:        cfg.MachineEventsQueue,
		Logger:                    opts.Logger,
	})
	a.Handler = invoke.NewServer(a.Functions, &invoke.ServerOptions{Logger: opts.Logger, TracerProvider: opts.Tracing.Provider()})
	return a, nil
}

// open builds the store and the Service Bus client the options do not provide, sets
// a.DeadLetters, and returns the publisher (nil: none configured).
func (a *App) open(ctx context.Context, cfg config.Config, opts Options) (relay.Publisher, error) {
	if a.Store == nil {
		st, err := openStore(ctx, cfg, opts.Clock.Now, opts.Tracing)
		if err != nil {
			return nil, err
		}
		a.Store = st
		a.closeLater(st)
	}
	pub, dl := opts.Publisher, opts.DeadLetters
	if pub == nil || dl == nil {
		c, err := openBus(cfg, opts.Tracing)
		if err != nil {
			return nil, err
		}
		if c != nil {
			a.closeLater(c)
			if pub == nil {
				pub = c
			}
			if dl == nil {
				dl = c
			}
		}
	}
	a.DeadLetters = dl
	if pub != nil && opts.WrapPublisher != nil {
		pub = opts.WrapPublisher(pub)
	}
	return pub, nil
}

// adminAPI builds the Admin API with the dashboard on it and sets a.Admin.
func (a *App) adminAPI(cfg config.Config, opts Options) (http.Handler, error) {
	authz, err := auth.New(auth.Config{EasyAuthEnabled: cfg.AuthEnabled, Roles: cfg.Roles})
	if err != nil {
		return nil, err
	}
	queues := []string{cfg.RegistrationRequestsQueue, cfg.MachineEventsQueue}
	a.Admin = admin.New(admin.Deps{
		Service: a.Service, Auth: authz, DeadLetters: a.DeadLetters, Clock: opts.Clock, Logger: opts.Logger, Relay: a.Relay,
		Queues: queues, CursorKeys: cfg.CursorKeys, RequestID: invoke.InvocationID,
	})
	dashboard.Register(a.Admin, dashboard.Deps{Service: a.Service, Clock: opts.Clock, DeadLetters: a.DeadLetters,
		Queues: queues, Syncs: a.Store}, &dashboard.Options{Logger: opts.Logger})
	return a.Admin, nil
}

// closeLater registers v to be closed by Close when it has a Close method.
func (a *App) closeLater(v any) {
	switch c := v.(type) {
	case interface{ Close(context.Context) error }:
		a.closers = append(a.closers, c.Close)
	case io.Closer:
		a.closers = append(a.closers, func(context.Context) error { return c.Close() })
	}
}

// Close releases the clients New created (not the ones passed in Options), newest first.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i](ctx))
	}
	a.closers = nil
	return errors.Join(errs...)
}
