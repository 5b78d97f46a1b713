package app

import (
	"context"
	"fmt"

	"github.com/azlocal/registrar/shared/bus"
	"github.com/azlocal/registrar/shared/config"
	"github.com/azlocal/registrar/shared/domain"
	"github.com/azlocal/registrar/shared/store/memory"
)

// openStore builds the store RegistrarStorage selects.
func openStore(_ context.Context, cfg config.Config) (domain.Store, error) {
	switch cfg.Storage.Kind {
	case config.StorageMemory:
		return memory.New(), nil
	}
	return nil, fmt.Errorf("%s: storage kind %q is not supported by this build", config.EnvStorage, cfg.Storage.Kind)
}

// openBus builds the Service Bus client ServiceBusConnection selects (no connection is opened);
// nil when none is configured.
func openBus(cfg config.Config) (*bus.Client, error) {
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
	}, nil)
}
