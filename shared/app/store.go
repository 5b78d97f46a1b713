package app

import (
	"context"
	"fmt"
	"time"

	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
	"github.com/azlocal/registrar/shared/store/tables"
	"github.com/azlocal/registrar/shared/telemetry"
)

// openStore builds the store RegistrarStorage selects, on the service's clock (so marker ages and
// the sweeps' prune cutoff agree, also when the local runner moves its clock).
// Table Storage clients are built, not connected: tables are created on first use.
func openStore(ctx context.Context, cfg config.Config, now func() time.Time, tr *telemetry.Tracing) (domain.Store, error) {
	switch st := cfg.Storage; st.Kind {
	case config.StorageMemory:
		return memory.New(&memory.Options{Now: now}), nil
	case config.StorageConnection, config.StorageServiceURI:
		s, err := tables.New(ctx, tables.Config{ConnectionString: st.ConnectionString, ServiceURI: st.ServiceURI, ClientID: st.ClientID},
			&tables.Options{Now: now, Tracing: tr.Azure()})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvStorage, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("%s: unknown storage kind %q", config.EnvStorage, cfg.Storage.Kind)
}

// openBus builds the Service Bus client ServiceBusConnection selects (no connection is opened);
// nil when none is configured. With tracing on, each send is a span.
func openBus(cfg config.Config, tr *telemetry.Tracing) (*bus.Client, error) {
	sb := cfg.ServiceBus
	if !sb.Configured() {
		return nil, nil
	}
	return bus.New(bus.Config{
		ConnectionString: sb.ConnectionString,
		Namespace:        sb.FullyQualifiedNamespace,
		ClientID:         sb.ClientID,
		Topic:            cfg.EventsTopic,
		Queues:           []string{cfg.RegistrationRequestsQueue, cfg.MachineEventsQueue},
	}, &bus.Options{TracerProvider: tr.Provider()})
}
